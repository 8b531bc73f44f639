"""Configuration of the enquiry store: keys in production, development keys (outside var/),
ports, retention, dashboard session limits and where the spool and the default database live."""

from __future__ import annotations

import logging
import shutil
import stat
from dataclasses import replace
from pathlib import Path

import pytest

from dit_assistant.settings import DEFAULT_PROFILE, ConfigurationError, load_settings
from dit_assistant.store.crypto import EnquiryCipher, InvalidToken, generate_key, load_cipher


def test_production_without_keys_is_a_clear_error():
    with pytest.raises(ConfigurationError, match="DIT_ENV=production needs ENQUIRY_KEYS"):
        load_settings(env={"DIT_ENV": "production"})
    settings = load_settings(env={"DIT_ENV": "production", "ENQUIRY_KEYS": generate_key()})
    assert settings.production


def test_a_bad_key_is_named_by_position_and_never_echoed():
    bad = "not-a-key-but-a-secret"
    with pytest.raises(ConfigurationError, match="key number 2") as error:
        load_settings(env={"ENQUIRY_KEYS": f"{generate_key()},{bad}"})
    assert bad not in str(error.value)


def _dev_env(tmp_path: Path, **more: str) -> dict[str, str]:
    """A development configuration without ENQUIRY_KEYS, its home and var/ under tmp_path."""
    return {"HOME": str(tmp_path / "home"), "DIT_VAR_DIR": str(tmp_path / "var"), **more}


def _key_warnings(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if "DEVELOPMENT KEY" in r.getMessage()]


def test_development_key_lives_in_the_users_config_directory_not_in_var(tmp_path, caplog):
    settings = load_settings(env=_dev_env(tmp_path))
    key_file = tmp_path / "home" / ".config" / "dit-assistant" / "dev-enquiry.key"
    assert settings.dev_key_file == key_file
    with caplog.at_level(logging.WARNING):
        token = load_cipher(settings).encrypt("hello")
        load_cipher(settings)  # again in the same process: no second warning
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) == 0o700
    assert not (tmp_path / "var").exists() or not any((tmp_path / "var").iterdir())
    key = key_file.read_text()
    assert load_cipher(load_settings(env=_dev_env(tmp_path))).decrypt(token) == "hello"
    assert key_file.read_text() == key  # generated once, then reused

    # One loud line, naming the file and never the key.
    (warning,) = _key_warnings(caplog)
    assert warning.levelno == logging.WARNING
    assert str(key_file) in warning.getMessage() and "ENQUIRY_KEYS" in warning.getMessage()
    assert key.strip() not in caplog.text and key.strip()[:12] not in caplog.text


def test_development_key_location_follows_xdg_and_can_be_chosen(tmp_path):
    xdg = load_settings(env=_dev_env(tmp_path, XDG_CONFIG_HOME=str(tmp_path / "xdg")))
    assert xdg.dev_key_file == tmp_path / "xdg" / "dit-assistant" / "dev-enquiry.key"
    chosen = tmp_path / "keys" / "mine.key"
    settings = load_settings(env=_dev_env(tmp_path, DEV_ENQUIRY_KEY_FILE=str(chosen)))
    assert settings.dev_key_file == chosen
    load_cipher(settings)
    assert stat.S_IMODE(chosen.stat().st_mode) == 0o600
    assert not (tmp_path / "home").exists()


def test_an_old_development_key_in_var_still_decrypts(tmp_path, caplog):
    """A developer's enquiries encrypted with the key an older version put into var/ stay
    readable; new data is encrypted with the key outside var/, and the warning says what to do."""
    legacy = tmp_path / "var" / "enquiry.key"
    legacy.parent.mkdir(parents=True)
    legacy_key = generate_key()
    legacy.write_text(legacy_key + "\n")
    old_token = EnquiryCipher((legacy_key,)).encrypt("an enquiry from before")
    settings = load_settings(env=_dev_env(tmp_path))

    with caplog.at_level(logging.WARNING):
        cipher = load_cipher(settings)
    assert cipher.decrypt(old_token) == "an enquiry from before"
    new_key = settings.dev_key_file.read_text().strip()
    new_token = cipher.encrypt("a new enquiry")
    assert EnquiryCipher((new_key,)).decrypt(new_token) == "a new enquiry"
    with pytest.raises(InvalidToken):
        EnquiryCipher((legacy_key,)).decrypt(new_token)
    assert legacy.read_text().strip() == legacy_key  # left in place, never overwritten
    (warning,) = _key_warnings(caplog)
    assert str(legacy) in warning.getMessage() and "rotate-keys" in warning.getMessage()
    assert legacy_key not in caplog.text and new_key not in caplog.text

    # Once rotated and deleted, the new key alone reads everything.
    rotated = cipher.rotate(old_token)
    legacy.unlink()
    assert load_cipher(load_settings(env=_dev_env(tmp_path))).decrypt(rotated) == (
        "an enquiry from before"
    )


def test_production_never_uses_a_development_key(tmp_path):
    key_file = tmp_path / "dev.key"
    key_file.write_text(generate_key())
    env = {"DIT_ENV": "production", "DEV_ENQUIRY_KEY_FILE": str(key_file)}
    with pytest.raises(ConfigurationError, match="DIT_ENV=production needs ENQUIRY_KEYS"):
        load_settings(env=env)
    settings = load_settings(env={**env, "ENQUIRY_KEYS": generate_key()})
    with pytest.raises(ConfigurationError, match="ENQUIRY_KEYS"):
        load_cipher(replace(settings, enquiry_keys=()))


def test_dashboard_session_limits_from_environment():
    default = load_settings(env={})
    assert (default.dashboard_session_hours, default.dashboard_idle_minutes) == (12, 30)
    chosen = load_settings(env={"DASHBOARD_SESSION_HOURS": "8", "DASHBOARD_IDLE_MINUTES": "15"})
    assert (chosen.dashboard_session_hours, chosen.dashboard_idle_minutes) == (8, 15)
    with pytest.raises(ConfigurationError, match="DASHBOARD_SESSION_HOURS"):
        load_settings(env={"DASHBOARD_SESSION_HOURS": "0"})
    with pytest.raises(ConfigurationError, match="DASHBOARD_SESSION_HOURS"):
        load_settings(env={"DASHBOARD_SESSION_HOURS": "1000"})
    with pytest.raises(ConfigurationError, match="DASHBOARD_IDLE_MINUTES"):
        load_settings(env={"DASHBOARD_IDLE_MINUTES": "soon"})


def test_store_settings_from_environment_and_profile(tmp_path):
    settings = load_settings(
        env={"RETENTION_DAYS": "30", "DASHBOARD_PORT": "6001", "ENQUIRY_SPOOL_DIR": "/tmp/s"}
    )
    assert (settings.retention_days, settings.dashboard_port) == (30, 6001)
    assert settings.spool_dir == Path("/tmp/s")
    assert load_settings(env={}).retention_days == 365
    profile = tmp_path / "clinic.yml"
    profile.write_text(DEFAULT_PROFILE.read_text() + "\nretention_days: 90\n")
    assert load_settings(env={"CLINIC_PROFILE": str(profile)}).retention_days == 90
    with pytest.raises(ConfigurationError, match="RETENTION_DAYS"):
        load_settings(env={"RETENTION_DAYS": "forever"})
    with pytest.raises(ConfigurationError, match="DASHBOARD_PORT"):
        load_settings(env={"DASHBOARD_PORT": "70000"})
    with pytest.raises(ConfigurationError, match="DASHBOARD_SECURE_COOKIES"):
        load_settings(
            env={
                "DIT_ENV": "production",
                "ENQUIRY_KEYS": generate_key(),
                "DASHBOARD_SECURE_COOKIES": "false",
            }
        )


def test_unanswered_retention_from_environment_and_profile(tmp_path):
    assert load_settings(env={}).unanswered_retention_days == 90
    assert load_settings(env={"UNANSWERED_RETENTION_DAYS": "30"}).unanswered_retention_days == 30
    profile = tmp_path / "clinic.yml"
    profile.write_text(DEFAULT_PROFILE.read_text() + "\nunanswered_retention_days: 14\n")
    from_profile = load_settings(env={"CLINIC_PROFILE": str(profile)})
    assert (from_profile.unanswered_retention_days, from_profile.retention_days) == (14, 365)
    with pytest.raises(ConfigurationError, match="UNANSWERED_RETENTION_DAYS"):
        load_settings(env={"UNANSWERED_RETENTION_DAYS": "0"})


def test_spool_directory_defaults_to_var(tmp_path):
    settings = load_settings(env={"DIT_VAR_DIR": str(tmp_path)})
    assert settings.spool_dir == tmp_path / "spool"
    assert settings.database_url == f"sqlite:///{tmp_path / 'dit-assistant.sqlite'}"
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_conversation_retention_from_environment_and_profile(tmp_path):
    assert load_settings(env={}).conversation_retention_days == 30
    assert load_settings(env={"CONVERSATION_RETENTION_DAYS": "7"}).conversation_retention_days == 7
    profile = tmp_path / "clinic.yml"
    profile.write_text(
        DEFAULT_PROFILE.read_text().replace(
            "conversation_retention_days: 30", "conversation_retention_days: 14"
        )
    )
    from_profile = load_settings(env={"CLINIC_PROFILE": str(profile)})
    assert from_profile.conversation_retention_days == 14
    assert from_profile.template_variables()["conversation_retention_days"] == "14"
    with pytest.raises(ConfigurationError, match="CONVERSATION_RETENTION_DAYS"):
        load_settings(env={"CONVERSATION_RETENTION_DAYS": "0"})
