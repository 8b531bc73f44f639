"""The routes for people DIT may not suit first, checked without a model: every route has its
intent, rules (also inside both forms), reply and specialist services; every region renders them
without a placeholder or an empty list; the held-out test phrasings stay out of training; and
the safety net leaves route and parent phrasings to the routes while still catching danger."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from rasa.shared.core.domain import Domain
from rasa.shared.core.trackers import DialogueStateTracker

from dit_assistant.nlg import ClinicResponseGenerator
from dit_assistant.safety.detector import RiskDetector, get_detector
from dit_assistant.serve import BOT_DIR
from dit_assistant.settings import (
    SPECIALIST_FALLBACK,
    SPECIALIST_ROUTES,
    ConfigurationError,
    Settings,
    _specialist_services,
    load_region_presets,
    load_settings,
)
from tests.fixtures.data import load_yaml
from tests.fixtures.domain import domain_yaml, load_domain

ROUTE_INTENTS = [f"route_{key}" for key in SPECIALIST_ROUTES if key != "parents"]
ASKING_FOR_OTHERS = ["ask_for_my_child", "ask_for_someone_else"]
# The specialist-services key each reply names ({specialist_<key>}).
SERVICES_OF = {**{intent: intent.removeprefix("route_") for intent in ROUTE_INTENTS}}
SERVICES_OF["ask_for_my_child"] = "parents"
HELD_OUT = load_yaml("safety/routes_heldout.yml")
FORMS = ("intake_form", "fit_check_form")


def _examples(path: Path) -> dict[str, list[str]]:
    blocks = yaml.safe_load(path.read_text("utf-8")).get("nlu") or []
    return {
        block["intent"]: [
            line.strip()[2:].strip()
            for line in block["examples"].splitlines()
            if line.strip().startswith("- ")
        ]
        for block in blocks
        if "intent" in block
    }


def _normal(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.lower()).split())


@pytest.fixture(scope="module")
def domain() -> Domain:
    return load_domain()


@pytest.fixture(scope="module")
def raw_domain() -> dict[str, Any]:
    return domain_yaml()


@pytest.fixture(scope="module")
def rules() -> list[dict[str, Any]]:
    loaded = yaml.safe_load((BOT_DIR / "data" / "rules" / "routes.yml").read_text("utf-8"))
    return list(loaded["rules"])


@pytest.fixture(scope="module")
def detector() -> RiskDetector:
    return get_detector()


def generate(domain: Domain, settings: Settings, response: str) -> str:
    generator = ClinicResponseGenerator(domain=domain, settings=settings)
    tracker = DialogueStateTracker.from_events("unit-test", [], slots=domain.slots)
    message = asyncio.run(generator.generate(response, tracker, "rest"))
    assert message is not None, response
    return str(message.get("text") or "")


def region_settings(region: str) -> Settings:
    return load_settings(env={"CLINIC_REGION": region})


# ------------------------------------------------------------------------------ the bot data
@pytest.mark.parametrize("intent", ROUTE_INTENTS + ASKING_FOR_OTHERS)
def test_every_route_has_an_intent_a_reply_and_a_rule(domain, rules, intent):
    assert intent in domain.intents
    assert f"utter_{intent}" in domain.responses
    plain = [r for r in rules if "condition" not in r and r["steps"][0] == {"intent": intent}]
    assert plain and plain[0]["steps"][1] == {"action": f"utter_{intent}"}


@pytest.mark.parametrize("intent", ROUTE_INTENTS)
@pytest.mark.parametrize("form", FORMS)
def test_a_route_inside_a_form_gets_its_reply_and_the_form_goes_on(rules, intent, form):
    expected = [
        {"intent": intent},
        {"action": f"utter_{intent}"},
        {"action": form},
        {"active_loop": form},
    ]
    assert any(
        r.get("condition") == [{"active_loop": form}] and r["steps"] == expected for r in rules
    ), f"no rule continues {form} after {intent}"


def test_routes_are_never_taken_as_form_answers_except_what_to_help_with(raw_domain):
    for slot, spec in raw_domain["slots"].items():
        mapping = spec["mappings"][0]
        if mapping.get("type") != "from_text":
            continue
        not_intent = set(mapping.get("not_intent") or [])
        assert {"risk_suicide", "risk_check", "stop_form"} <= not_intent, slot
        if slot == "intake_help_with":
            # describing the difficulty is the answer there; validate_intake_form adds the reply
            assert not not_intent & set(ROUTE_INTENTS), slot
        else:
            assert set(ROUTE_INTENTS) <= not_intent, slot


@pytest.mark.parametrize("intent", ROUTE_INTENTS + ["ask_for_my_child"])
def test_each_reply_offers_a_person_and_names_its_specialist_services(domain, intent):
    (variant,) = domain.responses[f"utter_{intent}"]
    assert f"{{specialist_{SERVICES_OF[intent]}}}" in variant["text"]
    assert {"title": "Talk to a person", "payload": "/request_human"} in variant["buttons"]


@pytest.mark.parametrize("intent", ROUTE_INTENTS)
def test_each_reply_is_kind_and_never_a_rejection(domain, intent):
    (variant,) = domain.responses[f"utter_{intent}"]
    text = variant["text"]
    assert "not the right service" not in text
    assert "GP" in text and "team" in text
    assert "isn't a no" in text or "may still be an option" in text


def test_each_route_has_25_to_40_training_phrasings():
    examples = _examples(BOT_DIR / "data" / "nlu" / "routes.yml")
    for intent in ROUTE_INTENTS + ASKING_FOR_OTHERS:
        assert 25 <= len(examples[intent]) <= 40, (intent, len(examples[intent]))


# ---------------------------------------------------------------------- held-out phrasings
def test_the_held_out_set_covers_every_route_with_12_phrasings():
    assert set(HELD_OUT["routes"]) == set(ROUTE_INTENTS)
    assert set(HELD_OUT["mid_form"]) == set(ROUTE_INTENTS)
    for intent, texts in HELD_OUT["routes"].items():
        assert len(set(map(_normal, texts))) >= 12, intent


def test_held_out_phrasings_are_not_in_the_training_data():
    trained = {
        _normal(text)
        for path in (BOT_DIR / "data" / "nlu").glob("*.yml")
        for texts in _examples(path).values()
        for text in texts
    }
    held_out = [
        *(t for texts in HELD_OUT["routes"].values() for t in texts),
        *HELD_OUT["mid_form"].values(),
        *HELD_OUT["danger"],
        *HELD_OUT["parent"],
        *HELD_OUT["someone_else"],
    ]
    assert [t for t in held_out if _normal(t) in trained] == []


# -------------------------------------------------------------------------- the safety net
def test_the_safety_net_leaves_route_parent_and_friend_phrasings_to_the_routes(detector):
    texts = [
        *(t for texts in HELD_OUT["routes"].values() for t in texts),
        *HELD_OUT["mid_form"].values(),
        *HELD_OUT["parent"],
        *HELD_OUT["someone_else"],
    ]
    caught = {t: d.intent for t in texts if (d := detector.detect(t)) is not None}
    assert caught == {}


def test_danger_with_a_routes_words_is_still_caught(detector):
    assert [t for t in HELD_OUT["danger"] if detector.detect(t) is None] == []


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # the person writing is under 18, or describes abuse: still caught
        ("I'm still at school", "under_18"),
        ("im under 18", "under_18"),
        ("can you help me, I'm under 18", "under_18"),
        ("do you see under 18s? I'm 16", "under_18"),
        ("my friend is under 18 and wants therapy", "under_18"),
        ("do you see people under 18? my dad hits me", "risk_abuse"),
        ("I'm in sixth form", "under_18"),
        ("he hurts my kids", "risk_abuse"),
        ("thoughts about how he will hurt my kids", "risk_abuse"),
        ("my partner is violent", "risk_abuse"),
        ("I have urges to hurt myself", "risk_self_harm"),
        ("my son keeps having thoughts about killing himself", "risk_other_person"),
        ("my friend is stabbing people", "risk_other_person"),
    ],
)
def test_the_new_exceptions_keep_real_risk(detector, text, intent):
    detection = detector.detect(text)
    assert detection is not None and detection.intent == intent, detection


@pytest.mark.parametrize(
    "text",
    [
        "my son is under 18, can he see one of your therapists",
        "Do you see people under 18?",
        "do you take under-18s?",
        "do you offer therapy to anyone under 18",
        "do you treat anyone who is under 18",
        "my daughter is still at school and has bad anxiety",
        "our girl is in sixth form and very low",
        "I get horrible thoughts about harming my baby",
        "i have thoughts of stabbing someone and they terrify me",
        "sometimes i have urges to hurt people and it scares me",
        "i'm worried i could be violent towards someone",
    ],
)
def test_a_parent_or_intrusive_thoughts_are_not_read_as_risk(detector, text):
    assert detector.detect(text) is None


# ------------------------------------------------------------------- services by region
@pytest.mark.parametrize("region", sorted(load_region_presets()))
def test_every_region_renders_every_route_reply_completely(domain, region):
    settings = region_settings(region)
    for intent in ROUTE_INTENTS + ASKING_FOR_OTHERS:
        text = generate(domain, settings, f"utter_{intent}")
        assert "{" not in text, (region, intent)
        assert "•\n" not in text and not text.rstrip().endswith("•"), (region, intent)
        if intent not in SERVICES_OF:
            continue
        services = settings.helplines.specialist_services.get(SERVICES_OF[intent], ())
        if services:
            for service in services:
                assert f"{service.name}: {service.contact}" in text, (region, intent)
            assert SPECIALIST_FALLBACK not in text
        else:
            assert SPECIALIST_FALLBACK in text, (region, intent)


def test_england_has_the_uk_defaults_of_the_safety_guidance():
    services = load_region_presets()["uk-england"].specialist_services
    numbers = {key: " ".join(s.contact for s in found) for key, found in services.items()}
    assert "0808 801 0677" in numbers["eating"]  # Beat
    assert "0300 123 3393" in numbers["psychosis"]  # Mind
    assert "0300 123 6600" in numbers["substance"] and "0300 123 1110" in numbers["substance"]
    assert "0300 123 3393" in numbers["bipolar"]
    assert "0808 1961 776" in numbers["perinatal"]  # PANDAS
    assert "116 123" in numbers["harm_thoughts"]  # Samaritans
    assert "0808 802 5544" in numbers["parents"]  # Young Minds parents helpline


def test_a_region_without_entries_falls_back_to_the_gp_or_the_team():
    variables = region_settings("us").template_variables()
    for key in SPECIALIST_ROUTES:
        if not load_region_presets()["us"].specialist_services.get(key):
            assert variables[f"specialist_{key}"] == SPECIALIST_FALLBACK


def test_an_unknown_route_is_skipped_and_a_missing_one_is_absent(caplog):
    raw = {
        "eatting": [{"name": "Typo service", "contact": "call 1"}],
        "eating": [{"name": "Real service", "contact": "call 2"}],
        "psychosis": [],
    }
    services = _specialist_services(raw, "test-region")
    assert list(services) == ["eating"]
    assert services["eating"][0].name == "Real service"
    assert "eatting" in caplog.text


@pytest.mark.parametrize("raw", [["eating"], {"eating": "Beat"}, {"eating": [{"name": "Beat"}]}])
def test_a_malformed_entry_is_a_clear_error(raw):
    with pytest.raises(ConfigurationError, match="specialist_services"):
        _specialist_services(raw, "test-region")
