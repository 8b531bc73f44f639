"""The clinic's practical facts: read from the profile, quoted, and never guessed when unset."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from dit_assistant.settings import (
    DEFAULT_PROFILE,
    PRACTICAL_FACTS,
    ConfigurationError,
    load_settings,
)


def profile_with(tmp_path: Path, practicalities) -> dict[str, str]:
    raw = yaml.safe_load(DEFAULT_PROFILE.read_text("utf-8"))
    if practicalities is None:
        raw.pop("practicalities", None)
    else:
        raw["practicalities"] = practicalities
    path = tmp_path / "clinic.yml"
    path.write_text(yaml.safe_dump(raw), "utf-8")
    return {"CLINIC_PROFILE": str(path), "DIT_VAR_DIR": str(tmp_path / "var")}


def test_the_example_clinic_sets_every_practical_fact():
    settings = load_settings({"DIT_VAR_DIR": "/tmp/unused"})
    assert set(settings.clinic.practicalities) == set(PRACTICAL_FACTS)
    variables = settings.template_variables()
    for key, value in settings.clinic.practicalities.items():
        assert variables[f"practical_{key}"] == value
        assert "\n" not in value, "folded into one paragraph"


def test_an_unset_fact_says_so_and_offers_the_team(tmp_path):
    settings = load_settings(profile_with(tmp_path, {"waiting_time": "About two weeks."}))
    variables = settings.template_variables()
    assert variables["practical_waiting_time"] == "About two weeks."
    unset = variables["practical_appointment_times"]
    assert unset.startswith("I don't have details of the times and days")
    assert settings.clinic.phone in unset and settings.clinic.email in unset
    assert settings.clinic.hours in unset


@pytest.mark.parametrize("practicalities", [None, {}, {"letters": ""}])
def test_a_profile_without_practicalities_still_loads(tmp_path, practicalities):
    settings = load_settings(profile_with(tmp_path, practicalities))
    assert settings.clinic.practicalities == {}
    assert all(
        settings.template_variables()[f"practical_{key}"].startswith("I don't have details")
        for key in PRACTICAL_FACTS
    )


def test_an_unknown_fact_is_refused_so_a_typo_cannot_hide_one(tmp_path):
    with pytest.raises(ConfigurationError, match="unknown practicalities: apointment_times"):
        load_settings(profile_with(tmp_path, {"apointment_times": "9 to 5"}))


def test_practicalities_must_be_a_mapping(tmp_path):
    with pytest.raises(ConfigurationError, match="must be a mapping"):
        load_settings(profile_with(tmp_path, ["evenings"]))
