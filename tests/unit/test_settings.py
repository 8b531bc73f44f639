"""Clinic configuration: the profile file, overrides from the environment, and clear errors."""

from __future__ import annotations

import pytest

from dit_assistant.settings import (
    DEFAULT_PROFILE,
    ConfigurationError,
    load_region_presets,
    load_settings,
)


def test_example_profile_loads_with_england_helplines():
    settings = load_settings(env={})
    assert settings.clinic.name == "Example Psychotherapy Clinic"
    assert settings.helplines.key == "uk-england"
    assert "999" in settings.helplines.emergency
    assert any("116 123" in line.contact for line in settings.helplines.helplines)


def test_environment_overrides_single_values():
    settings = load_settings(env={"CLINIC_PHONE": "01632 960 123", "CLINIC_REGION": "australia"})
    assert settings.clinic.phone == "01632 960 123"
    assert settings.helplines.emergency == "call 000"
    assert settings.template_variables()["clinic_phone"] == "01632 960 123"


def test_local_services_are_listed_after_regional_helplines(tmp_path):
    profile = tmp_path / "clinic.yml"
    profile.write_text(
        DEFAULT_PROFILE.read_text()
        + "\nlocal_services:\n  - name: Riverside crisis café\n    contact: call 01632 960 555\n"
    )
    variables = load_settings(env={"CLINIC_PROFILE": str(profile)}).template_variables()
    lines = variables["crisis_lines"].splitlines()
    assert lines[-1] == "• Riverside crisis café: call 01632 960 555"
    assert "Samaritans" in lines[0]


def test_unknown_region_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="unknown region 'mars'.*uk-england"):
        load_settings(env={"CLINIC_REGION": "mars"})


def test_missing_fact_is_a_clear_error(tmp_path):
    profile = tmp_path / "clinic.yml"
    profile.write_text("name: Somewhere\nregion: us\n")
    with pytest.raises(ConfigurationError, match="missing: .*phone"):
        load_settings(env={"CLINIC_PROFILE": str(profile)})


def test_missing_profile_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigurationError, match="not found"):
        load_settings(env={"CLINIC_PROFILE": str(tmp_path / "nope.yml")})


def test_every_region_names_the_country_whose_phone_numbers_it_uses():
    import phonenumbers

    for key, preset in load_region_presets().items():
        assert preset.country in phonenumbers.SUPPORTED_REGIONS, key
