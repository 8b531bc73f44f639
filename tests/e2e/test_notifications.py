"""Staff notifications on a real SMTP server (aiosmtpd) and a real webhook receiver, both on
127.0.0.1, with enquiries stored through the real store on SQLite and PostgreSQL: the notice
arrives, says nothing personal, is signed, never delays or loses the enquiry when the servers are
down, shows as "not notified" meanwhile, and is sent when they are back."""

from __future__ import annotations

import json
import logging
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest

from dit_assistant.notify import delivery, transport
from dit_assistant.notify.delivery import start_notifier, stop_notifier
from dit_assistant.notify.messages import SIGNATURE_HEADER, verify_signature
from dit_assistant.settings import get_settings
from dit_assistant.store import (
    get_enquiry,
    open_database,
    replay_spool,
    set_status,
    submit_enquiry,
)
from dit_assistant.store.database import Database
from dit_assistant.store.models import utcnow
from tests.fixtures.mail import (
    SMTP_PASSWORD,
    WEBHOOK_SECRET,
    SmtpServer,
    WebhookReceiver,
    smtp_server,
    webhook_receiver,
)
from tests.fixtures.store import assert_no_personal_data, draft, sqlite_down

DIT_STAFF = Path(sys.executable).parent / "dit-staff"
DASHBOARD = "https://staff.example-clinic.org/dashboard"
SECRETS = (SMTP_PASSWORD, WEBHOOK_SECRET)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, store_env) -> str:
    if request.param == "sqlite":
        return store_env.database_url
    url = request.getfixturevalue("postgres").create_database()
    store_env.set(DATABASE_URL=url)
    return url


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    with smtp_server() as server:
        yield server


@pytest.fixture()
def webhook() -> Iterator[WebhookReceiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture()
def notify_env(store_env, smtp: SmtpServer, webhook: WebhookReceiver):
    store_env.set(**smtp.env(), **webhook.env(), DASHBOARD_PUBLIC_URL=DASHBOARD)
    return store_env


@pytest.fixture()
def database(database_url: str, notify_env) -> Database:
    return open_database(database_url)


@pytest.fixture()
def notifier(database: Database) -> Iterator[delivery.Notifier]:
    started = start_notifier(get_settings(), lambda: database, poll_s=0.2)
    assert started is not None
    yield started
    stop_notifier()


def wait_until(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def assert_no_secrets(where: str, text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret in {where}"


# ------------------------------------------------------------------------------ delivered
def test_a_stored_enquiry_is_announced_by_email_and_webhook_without_personal_data(
    database: Database, notifier, smtp: SmtpServer, webhook: WebhookReceiver, caplog
):
    caplog.set_level(logging.DEBUG)
    result = submit_enquiry(draft(), database)
    assert result.stored

    email = smtp.wait_for(1)[0]
    message = email.message
    assert message["Subject"] == f"New enquiry {result.reference}"
    assert sorted(email.recipients) == ["lead@example-clinic.org", "team@example-clinic.org"]
    assert email.mail_from == "assistant@example-clinic.org"
    body = message.get_content()
    assert f"Reference: {result.reference}" in body
    assert "Channel:   rest" in body and "Priority:  no" in body
    assert f"{DASHBOARD}/enquiries/{result.reference}" in body
    assert ("GMT" in body) or ("BST" in body)  # the clinic's time zone, Europe/London
    assert_no_personal_data("the email", email.raw.decode("utf-8", "replace"))

    posted = webhook.wait_for(1)[0]
    assert posted.path == "/hooks/staff"
    assert verify_signature(posted.body, WEBHOOK_SECRET, posted.headers[SIGNATURE_HEADER.lower()])
    assert not verify_signature(
        posted.body + b" ", WEBHOOK_SECRET, posted.headers[SIGNATURE_HEADER.lower()]
    )
    payload = json.loads(posted.body)
    assert payload["reference"] == result.reference and payload["priority"] is False
    assert payload["url"] == f"{DASHBOARD}/enquiries/{result.reference}"
    assert payload["received_at"].endswith(("+00:00", "+01:00"))
    assert_no_personal_data("the webhook body", posted.body.decode("utf-8"))

    wait_until(lambda: delivery.notification_status(database).counts.get("sent") == 2)
    assert get_enquiry(database, result.reference).not_notified is False
    assert_no_personal_data("the logs", caplog.text)
    assert_no_secrets("the logs", caplog.text)


def test_a_priority_enquiry_says_so_in_the_subject(
    database: Database, notifier, smtp: SmtpServer, webhook: WebhookReceiver
):
    result = submit_enquiry(draft(priority=True), database)
    message = smtp.wait_for(1)[0].message
    assert message["Subject"].startswith(f"PRIORITY: new enquiry {result.reference}")
    assert message["X-Priority"] == "1"
    assert "Please contact this person first" in message.get_content()
    assert json.loads(webhook.wait_for(1)[0].body)["priority"] is True


# ------------------------------------------------------------------------- servers down
def test_servers_down_the_enquiry_is_kept_shown_not_notified_and_sent_later(
    database: Database, store_env, smtp: SmtpServer, webhook: WebhookReceiver, caplog
):
    caplog.set_level(logging.DEBUG)
    smtp.stop()
    webhook.status = 503
    settings = get_settings()
    result = submit_enquiry(draft(), database)
    assert result.stored
    outcome = delivery.deliver_due(database, settings)
    assert (outcome.sent, outcome.failed) == (0, 2)
    record = get_enquiry(database, result.reference)
    assert record.preferred_name and record.not_notified is True
    status = delivery.notification_status(database)
    assert {(ref, target) for ref, target, _, _ in status.not_notified} == {
        (result.reference, "email"),
        (result.reference, "webhook"),
    }
    assert {error for _, _, _, error in status.not_notified} == {
        "ConnectionRefusedError",
        "WebhookRefused",
    }
    assert "not notified" in dashboard_list(store_env, database)

    # Not due again before its back-off...
    assert delivery.deliver_due(database, settings) == delivery.DeliveryResult()
    # ...then sent once the servers are back.
    smtp.start()
    webhook.status = 200
    later = utcnow() + timedelta(minutes=2)
    assert delivery.deliver_due(database, settings, now=later) == delivery.DeliveryResult(sent=2)
    assert smtp.wait_for(1)[0].message["Subject"] == f"New enquiry {result.reference}"
    assert get_enquiry(database, result.reference).not_notified is False
    assert "not notified" not in dashboard_list(store_env, database)
    assert_no_personal_data("the logs", caplog.text)
    assert_no_secrets("the logs", caplog.text)


def test_a_mail_server_that_hangs_does_not_delay_the_enquiry(
    database: Database, store_env, monkeypatch
):
    with socket.socket() as silent:  # accepts connections, never says a word
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        store_env.set(SMTP_PORT=str(silent.getsockname()[1]), NOTIFY_WEBHOOK_URL=None)
        monkeypatch.setattr(transport, "TIMEOUT_S", 2)
        start_notifier(get_settings(), lambda: database, poll_s=0.2)
        try:
            started = time.monotonic()
            result = submit_enquiry(draft(), database)
            assert time.monotonic() - started < 1.5
            assert result.stored and get_enquiry(database, result.reference).preferred_name
            wait_until(lambda: get_enquiry(database, result.reference).not_notified)
        finally:
            stop_notifier()


def test_an_enquiry_replayed_from_the_spool_is_announced(
    database_url: str, database: Database, smtp: SmtpServer, webhook: WebhookReceiver
):
    if not database_url.startswith("sqlite"):
        pytest.skip("the outage is played with the SQLite file; PostgreSQL's in test_enquiry_store")
    with sqlite_down(database_url):
        spooled = submit_enquiry(draft(), database)
    assert spooled.stored is False and smtp.inbox == []
    assert replay_spool(database) == 1
    delivery.deliver_due(database, get_settings())
    assert smtp.wait_for(1)[0].message["Subject"] == f"New enquiry {spooled.reference}"
    assert json.loads(webhook.wait_for(1)[0].body)["reference"] == spooled.reference


# ------------------------------------------------------------------------------- digest
def test_the_daily_digest_counts_without_personal_data(
    database: Database, store_env, smtp: SmtpServer, webhook: WebhookReceiver
):
    store_env.set(NOTIFY_DIGEST="true", NOTIFY_DIGEST_HOUR="0")
    settings = get_settings()
    first = submit_enquiry(draft(priority=True), database)
    submit_enquiry(draft(), database)
    set_status(database, submit_enquiry(draft(), database).reference, "contacted", "tester")
    assert delivery.digest_due(database, settings)
    assert delivery.send_digest(database, settings) == ["email", "webhook"]
    assert not delivery.digest_due(database, settings)  # once a day
    message = smtp.wait_for(1)[-1].message
    text = message.get_content()
    assert "2 not yet contacted" in message["Subject"]
    assert "Not yet contacted (new): 2, of which priority: 1" in text
    assert "Contacted:               1" in text and "Oldest not yet contacted: " in text
    assert first.reference not in text
    assert_no_personal_data("the digest", smtp.inbox[-1].raw.decode("utf-8", "replace"))
    payload = json.loads(webhook.received[-1].body)
    assert payload["event"] == "daily_digest" and payload["counts"]["new"] == 2
    assert payload["oldest_new_age_seconds"] >= 0


# ---------------------------------------------------------------------------- dit-staff
def test_dit_staff_notify_retry_and_digest(
    database_url: str, database: Database, store_env, smtp: SmtpServer
):
    if not database_url.startswith("sqlite"):
        pytest.skip("the command line is tested once, on SQLite")
    store_env.set(NOTIFY_WEBHOOK_URL=None)
    smtp.stop()
    reference = submit_enquiry(draft(), database).reference
    delivery.deliver_due(database, get_settings())

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [str(DIT_STAFF), "--staff-user", "tester", "-v", *args],
            capture_output=True,
            text=True,
            env=store_env.subprocess_env(),
            timeout=60,
        )

    shown = run("notify")
    assert shown.returncode == 0, shown.stderr
    assert f"not notified: {reference} by email, 1 tries" in shown.stdout
    assert run("notify", "--retry").returncode == 1  # still down: said so, non-zero
    smtp.start()
    retried = run("notify", "--retry")
    assert retried.returncode == 0, retried.stderr
    assert "Sent 1 notices; 0 failed." in retried.stdout and "not notified" not in retried.stdout
    assert smtp.wait_for(1)[0].message["Subject"] == f"New enquiry {reference}"
    digest = run("digest")
    assert digest.returncode == 0 and "Digest sent by email." in digest.stdout
    for result in (shown, retried, digest):
        assert_no_personal_data("dit-staff's output", result.stdout + result.stderr)
        assert_no_secrets("dit-staff's output", result.stdout + result.stderr)


# ----------------------------------------------------------------------------- dashboard
def dashboard_list(store_env, database: Database) -> str:
    """The enquiry list as a signed-in member of staff sees it."""
    from dit_assistant.staff.web import create_app
    from dit_assistant.store import accounts

    if not accounts.usernames(database):
        accounts.create_user(database, "reviewer", "correct horse battery staple")
    app = create_app(get_settings(), database)
    app.config.update(WTF_CSRF_ENABLED=False, SESSION_COOKIE_SECURE=False)
    client = app.test_client()
    login = client.post(
        "/login", data={"username": "reviewer", "password": "correct horse battery staple"}
    )
    assert login.status_code == 302
    return client.get("/enquiries").get_data(as_text=True)
