"""Configuration of the enquiry store: keys in production, development keys, ports, retention
and where the spool and the default database live."""

from __future__ import annotations

import logging
import shutil
import stat
from pathlib import Path

import pytest

from dit_assistant.settings import DEFAULT_PROFILE, ConfigurationError, load_settings
from dit_assistant.store.crypto import generate_key, load_cipher


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


def test_development_key_is_generated_once_into_var(tmp_path, caplog):
    settings = load_settings(env={"DIT_VAR_DIR": str(tmp_path)})
    with caplog.at_level(logging.WARNING):
        token = load_cipher(settings).encrypt("hello")
    key_file = tmp_path / "enquiry.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert "development" in caplog.text
    key = key_file.read_text()
    assert load_cipher(load_settings(env={"DIT_VAR_DIR": str(tmp_path)})).decrypt(token) == "hello"
    assert key_file.read_text() == key


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
