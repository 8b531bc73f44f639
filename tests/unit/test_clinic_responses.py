"""Clinic facts in the answers (dit_assistant.nlg): every placeholder in ``bot/domain/`` is
filled from the configuration, for every region, without the model."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from dit_assistant.nlg import ClinicResponseGenerator
from dit_assistant.settings import Settings, load_region_presets, load_settings
from tests.fixtures.domain import load_domain

# Values the enquiry form's submit action passes with its response (bot/actions/intake.py).
ACTION_VALUES = {"intake_reference": "DIT-7K3Q9", "intake_contact_method_label": "email"}
PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


@pytest.fixture(scope="module")
def domain() -> Domain:
    return load_domain()


def generate(domain: Domain, settings: Settings, response: str, **values: Any) -> str:
    generator = ClinicResponseGenerator(domain=domain, settings=settings)
    tracker = DialogueStateTracker.from_events("unit-test", [], slots=domain.slots)
    message = asyncio.run(generator.generate(response, tracker, "rest", **values))
    assert message is not None, response
    return str(message.get("text") or "")


def test_every_placeholder_is_a_clinic_fact_a_slot_or_given_by_an_action(domain):
    known = (
        set(load_settings(env={}).template_variables())
        | {slot.name for slot in domain.slots}
        | set(ACTION_VALUES)
    )
    used = {
        name
        for variants in domain.responses.values()
        for variant in variants
        for name in PLACEHOLDER.findall(variant.get("text") or "")
    }
    assert used and used <= known, used - known


def test_every_response_is_filled_completely(domain):
    settings = load_settings(env={})
    unfilled = [
        name
        for name in domain.responses
        if "{" in generate(domain, settings, name, **ACTION_VALUES)
    ]
    assert unfilled == []


def test_clinic_facts_come_from_the_configuration_and_win_over_other_values(domain):
    settings = load_settings(env={"CLINIC_PHONE": "01632 960 123", "CLINIC_NAME": "Testwood"})
    cost = generate(domain, settings, "utter_ask_cost", clinic_phone="not from configuration")
    assert "01632 960 123" in cost and "Testwood" in cost
    assert settings.clinic.cost.split(".")[0] in cost
    assert "not from configuration" not in cost


@pytest.mark.parametrize("region", sorted(load_region_presets()))
def test_crisis_replies_give_the_regions_emergency_route_and_helplines(domain, region):
    settings = load_settings(env={"CLINIC_REGION": region})
    text = generate(domain, settings, "utter_crisis")
    assert settings.helplines.emergency in text
    lines = text.splitlines()
    for service in settings.helplines.helplines:
        assert f"• {service.name}: {service.contact}" in lines
    young = generate(domain, settings, "utter_under_18")
    for service in settings.helplines.young_people:
        assert service.contact in young


def test_the_young_persons_reply_starts_with_their_safety_not_a_rejection(domain):
    """A child may be disclosing abuse: the reply opens with safety and never turns them away."""
    settings = load_settings(env={})
    text = generate(domain, settings, "utter_under_18")
    opening = " ".join(text.splitlines()[:2])
    assert settings.helplines.emergency in opening
    assert "not your fault" in opening
    assert "not the right service" not in text
