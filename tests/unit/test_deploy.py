"""The deployment templates of ``deploy/`` filled in (``dit_assistant.deploy``): every
placeholder given a value, values that would break out of an nginx directive refused, and the
nginx site forwarding only what the clinic exposes. nginx itself runs this file in
``tests/e2e/test_replicas.py``."""

from __future__ import annotations

import re

import pytest

from dit_assistant.deploy import NGINX_TEMPLATE, TemplateError, main, nginx_config, render

VALUES = {
    "server_name": "assistant.example-clinic.org",
    "certificate": "/etc/ssl/certs/assistant.pem",
    "certificate_key": "/etc/ssl/private/assistant.key",
    "replicas": ["127.0.0.1:5005", "10.0.0.6:5005"],
}


def test_the_nginx_site_is_filled_in_for_every_replica():
    config = nginx_config(**VALUES)
    assert "{{" not in config and "}}" not in config
    assert "server_name assistant.example-clinic.org;" in config
    for upstream in ("dit_rasa_widget", "dit_rasa_platforms"):
        block = config.split(f"upstream {upstream} {{", 1)[1].split("}", 1)[0]
        assert "server 127.0.0.1:5005" in block and "server 10.0.0.6:5005" in block


def test_only_the_widget_the_platforms_and_the_assets_are_forwarded():
    config = nginx_config(**VALUES)
    locations = re.findall(r"^\s*location\s+(.+?)\s*\{", config, re.M)
    assert locations == [
        "/socket.io/",
        "~ ^/webhooks/(telegram|twilio|facebook|slack)/webhook$",
        "/assets/",
        "/vendor/",
        "/",
    ]
    assert "return 404;" in config.split("location / {", 1)[1]
    assert "/webhooks/rest" not in config.split("server {", 1)[1]
    assert "5010" not in config and "5055" not in config  # no dashboard, no action server


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("server_name", "example.org; include /etc/passwd"),
        ("certificate", "/etc/ssl/a cert.pem"),
        ("certificate_key", "/etc/ssl/key}"),
        ("server_name", ""),
    ],
)
def test_values_that_would_break_the_directive_are_refused(field, value):
    with pytest.raises(TemplateError):
        nginx_config(**{**VALUES, field: value})


@pytest.mark.parametrize("replica", ["127.0.0.1", "http://127.0.0.1:5005", "a b:5005", "x:5;"])
def test_replicas_must_be_host_and_port(replica):
    with pytest.raises(TemplateError):
        nginx_config(**{**VALUES, "replicas": [replica]})
    with pytest.raises(TemplateError):
        nginx_config(**{**VALUES, "replicas": []})


def test_a_placeholder_without_a_value_is_refused():
    with pytest.raises(TemplateError, match="no value for listen"):
        render("listen {{listen}};", {})
    assert "{{" in NGINX_TEMPLATE.read_text()


def test_the_command_line_prints_the_site_or_says_what_is_wrong(capsys):
    arguments = ["nginx", "--server-name", "a.example", "--certificate", "/c.pem"]
    arguments += ["--certificate-key", "/k.pem", "--replica", "127.0.0.1:5005"]
    assert main(arguments) == 0
    assert "server 127.0.0.1:5005" in capsys.readouterr().out
    assert main([*arguments[:-1], "nowhere"]) == 2
    assert "Not rendered" in capsys.readouterr().err


def test_the_endpoints_file_for_a_rasa_server_is_written_where_asked(tmp_path, monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://:pw@10.0.0.9:6379/0")
    monkeypatch.setenv("ACTION_PORT", "5077")
    from dit_assistant.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["endpoints", "--out", str(tmp_path / "rasa-5005.yml")]) == 0
    finally:
        get_settings.cache_clear()
    written = (tmp_path / "rasa-5005.yml").read_text()
    assert "http://127.0.0.1:5077/webhook" in written
    assert "type: dit_assistant.replicas.AtomicRedisLockStore" in written
    assert "10.0.0.9" in written and "pw" not in written
