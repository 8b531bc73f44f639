"""Clinic configuration: the profile file, overrides from the environment, and clear errors."""

from __future__ import annotations

import pytest

from dit_assistant.settings import (
    DEFAULT_DATABASE_URL,
    DEFAULT_PROFILE,
    PROJECT_ROOT,
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


# ------------------------------------------------------------- values read from the environment
@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"WEB_PORT": "0"}, "WEB_PORT must be a port number"),
        ({"WEB_PORT": "web"}, "WEB_PORT must be a port number"),
        ({"ACTION_PORT": "-1"}, "ACTION_PORT must be a port number between 1 and 65535"),
        ({"DASHBOARD_PORT": "65536"}, "DASHBOARD_PORT must be a port number between 1 and 65535"),
        ({"SMTP_PORT": "smtp"}, "SMTP_PORT must be a port number between 1 and 65535"),
        ({"RETENTION_DAYS": "0"}, "RETENTION_DAYS"),
        ({"MAX_MESSAGES_PER_MINUTE": "lots"}, "MAX_MESSAGES_PER_MINUTE must be a whole number"),
        ({"DIT_ENV": "staging"}, "DIT_ENV must be one of development, production"),
        ({"DASHBOARD_SECURE_COOKIES": "maybe"}, "DASHBOARD_SECURE_COOKIES must be true or false"),
        ({"WIDGET_ORIGINS": "www.example-clinic.org"}, "WIDGET_ORIGINS entries look like"),
        ({"WIDGET_ORIGINS": "https://example.org/page"}, "WIDGET_ORIGINS entries look like"),
        ({"TWILIO_SMS_MAX_LENGTH": "0"}, "TWILIO_SMS_MAX_LENGTH must be a positive whole number"),
        ({"TELEGRAM_API_BASE": "ftp://example.org"}, "TELEGRAM_API_BASE must be an http"),
        ({"SLACK_API_BASE": "slack.com/api"}, "SLACK_API_BASE must be an http"),
        ({"REST_TOKEN": "short-and-guessable"}, "REST_TOKEN must be at least 32 characters"),
    ],
)
def test_a_bad_value_is_a_clear_error_naming_the_variable(env, message):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env=env)


@pytest.mark.parametrize(
    ("raw", "secure"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), ("on", True)]
    + [("false", False), ("0", False), ("No", False), ("off", False)],
)
def test_secure_cookie_flag(raw, secure):
    assert load_settings(env={"DASHBOARD_SECURE_COOKIES": raw}).dashboard_secure_cookies is secure


def test_ports_origins_and_platform_values():
    settings = load_settings(
        env={
            "WEB_PORT": "8081",
            "ACTION_PORT": "5056",
            "WIDGET_ORIGINS": "https://www.example-clinic.org/, http://127.0.0.1:3000",
            "TWILIO_SMS_MAX_LENGTH": "480",
            "DASHBOARD_SECRET_KEY": "   ",
        }
    )
    assert (settings.web_port, settings.action_port) == (8081, 5056)
    assert settings.widget_origins == ("https://www.example-clinic.org", "http://127.0.0.1:3000")
    assert settings.channels.twilio.sms_max_length == 480
    assert settings.dashboard_secret_key is None  # blank is unset, not a secret
    assert settings.allowed_widget_origins == (
        "http://127.0.0.1:8081",
        "http://localhost:8081",
        "https://www.example-clinic.org",
        "http://127.0.0.1:3000",
    )
    assert settings.rest_token == ""
    token = "f" * 64
    assert load_settings(env={"REST_TOKEN": f" {token} "}).rest_token == token
    assert token not in repr(load_settings(env={"REST_TOKEN": token}))


def test_relative_directories_are_inside_the_checkout():
    settings = load_settings(env={"DIT_VAR_DIR": "relative/var"})
    assert settings.var_dir == PROJECT_ROOT / "relative" / "var"
    assert settings.spool_dir == settings.var_dir / "spool"
    assert settings.database_url == f"sqlite:///{settings.var_dir / 'dit-assistant.sqlite'}"
    assert load_settings(env={}).database_url == DEFAULT_DATABASE_URL


def test_the_project_root_is_the_checkout():
    assert (PROJECT_ROOT / "pyproject.toml").is_file()
    assert (PROJECT_ROOT / "src" / "dit_assistant" / "settings").is_dir()
    assert DEFAULT_PROFILE == PROJECT_ROOT / "config" / "clinic.yml"


@pytest.mark.parametrize("raw", ["0", "rasa", "70000"])
def test_the_rasa_port_is_checked_like_every_other_port(monkeypatch, raw):
    from dit_assistant import serve

    monkeypatch.setenv("RASA_PORT", raw)
    with pytest.raises(ConfigurationError, match="RASA_PORT must be a port number between 1 and"):
        serve.main(["--chat"])


def test_the_region_may_be_written_in_capitals():
    assert load_settings(env={"CLINIC_REGION": "US"}).helplines.key == "us"


def test_crisis_lines_are_one_bullet_per_helpline_in_order():
    settings = load_settings(env={})
    lines = settings.template_variables()["crisis_lines"].splitlines()
    assert lines == [f"• {service.as_line()}" for service in settings.helplines.helplines]
