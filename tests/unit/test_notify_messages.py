"""Building staff notices and the digest, and reading the notification settings: no personal
data can get in (only reference, channel, priority and time are given), times are the clinic's,
the webhook signature verifies, and half a configuration is refused."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from dit_assistant.notify import delivery, messages
from dit_assistant.settings import ConfigurationError, Settings, load_settings

SMTP = {
    "SMTP_HOST": "mail.example-clinic.org",
    "SMTP_USERNAME": "assistant",
    "SMTP_PASSWORD": "s3cret-smtp-password",
    "NOTIFY_EMAIL_FROM": "assistant@example-clinic.org",
    "NOTIFY_EMAIL_TO": "team@example-clinic.org",
    "DASHBOARD_PUBLIC_URL": "https://staff.example-clinic.org/",
}
WINTER = datetime(2026, 1, 14, 9, 5, tzinfo=timezone.utc)
SUMMER = datetime(2026, 7, 14, 9, 5, tzinfo=timezone.utc)


def configured(**extra: str) -> Settings:
    return load_settings({**SMTP, **extra})


def notice(priority: bool = False, when: datetime = WINTER) -> messages.Notice:
    return messages.Notice("DIT-7K3Q9", "socketio", priority, when)


def test_the_notice_holds_reference_channel_priority_time_and_link():
    settings = configured()
    text = messages.notice_text(notice(), settings)
    assert "Reference: DIT-7K3Q9" in text and "Channel:   socketio" in text
    assert "Priority:  no" in text
    assert "Received:  Wednesday 14 January 2026, 09:05 GMT" in text
    assert "https://staff.example-clinic.org/enquiries/DIT-7K3Q9" in text
    assert "no personal details" in text
    assert messages.notice_subject(notice()) == "New enquiry DIT-7K3Q9"


def test_times_are_in_the_clinic_time_zone():
    assert "10:05 BST" in messages.notice_text(notice(when=SUMMER), configured())
    sydney = configured(CLINIC_TIMEZONE="Australia/Sydney")
    assert "20:05 AEDT" in messages.notice_text(notice(), sydney)
    payload = messages.notice_payload(notice(when=SUMMER), configured())
    assert payload["received_at"] == "2026-07-14T10:05:00+01:00"


def test_a_priority_enquiry_says_so_in_the_subject_and_headers():
    settings = configured()
    email = messages.notice_email(notice(priority=True), settings)
    assert email["Subject"].startswith("PRIORITY: new enquiry DIT-7K3Q9")
    assert email["X-Priority"] == "1" and email["Importance"] == "high"
    assert "contact this person first" in email.get_content()
    assert messages.notice_email(notice(), settings)["X-Priority"] is None


def test_the_email_is_addressed_and_marked_automatic():
    email = messages.notice_email(notice(), configured(NOTIFY_EMAIL_TO="a@x.org, b@x.org"))
    assert email["From"] == "assistant@example-clinic.org"
    assert email["To"] == "a@x.org, b@x.org"
    assert email["Auto-Submitted"] == "auto-generated"
    assert email["Message-ID"].endswith("@example-clinic.org>")


def test_the_webhook_body_is_json_with_text_and_its_signature_verifies():
    settings = configured()
    body = messages.webhook_body(messages.notice_payload(notice(priority=True), settings))
    payload = json.loads(body)
    assert payload["text"].startswith("PRIORITY: new enquiry DIT-7K3Q9")
    assert payload["priority"] is True and payload["event"] == "enquiry_received"
    assert payload["url"] == "https://staff.example-clinic.org/enquiries/DIT-7K3Q9"
    header = messages.signature(body, "k")
    assert header.startswith("sha256=") and len(header) == 7 + 64
    assert messages.verify_signature(body, "k", header)
    assert not messages.verify_signature(body, "other", header)
    assert not messages.verify_signature(body.replace(b"true", b"false"), "k", header)


def test_without_a_public_url_the_link_is_the_local_dashboard():
    settings = load_settings({**SMTP, "DASHBOARD_PUBLIC_URL": ""})
    assert (
        messages.enquiry_url(settings, "DIT-7K3Q9") == "http://127.0.0.1:5010/enquiries/DIT-7K3Q9"
    )


def test_the_digest_counts_and_ages():
    digest = messages.Digest(
        counts={"new": 3, "contacted": 2, "closed": 7},
        priority_new=1,
        not_notified=1,
        oldest_new_at=WINTER - timedelta(days=2, hours=3, minutes=10),
        now=WINTER,
    )
    settings = configured()
    text = messages.digest_text(digest, settings)
    assert "Not yet contacted (new): 3, of which priority: 1" in text
    assert "Oldest not yet contacted: 2 days 3 hours" in text
    assert "Not notified (notice failed): 1" in text
    assert messages.digest_subject(digest, settings) == (
        "Enquiries on 14 January 2026: 3 not yet contacted"
    )
    payload = messages.digest_payload(digest, settings)
    assert payload["oldest_new_age_seconds"] == (2 * 24 * 60 + 3 * 60 + 10) * 60
    empty = messages.Digest({"new": 0}, 0, 0, None, WINTER)
    assert "every enquiry has been contacted" in messages.digest_text(empty, settings)


@pytest.mark.parametrize(
    ("delta", "words"),
    [
        (timedelta(minutes=1), "1 minute"),
        (timedelta(minutes=59), "59 minutes"),
        (timedelta(hours=1, minutes=1), "1 hour 1 minute"),
        (timedelta(days=1), "1 day 0 hours"),
        (timedelta(seconds=-5), "0 minutes"),
    ],
)
def test_ages_read_naturally(delta: timedelta, words: str):
    assert messages.age(delta) == words


def test_back_off_grows_and_ends():
    now = WINTER
    waits = [delivery.next_try(n, now) for n in range(1, delivery.MAX_ATTEMPTS + 1)]
    assert waits[0] == now + timedelta(minutes=1) and waits[1] == now + timedelta(minutes=5)
    assert all(a < b for a, b in zip(waits[:4], waits[1:5], strict=True))
    assert waits[-1] is None  # retries used up: dit-staff notify --retry


# -------------------------------------------------------------------------------- settings
def test_notifications_are_off_unless_configured():
    settings = load_settings({})
    assert settings.notifications.targets == () and not settings.notifications.enabled
    assert settings.timezone == "Europe/London"


def test_email_and_webhook_are_enabled_each_by_its_own_settings():
    assert configured().notifications.targets == ("email",)
    both = configured(NOTIFY_WEBHOOK_URL="https://hooks.example.org/x")
    assert both.notifications.targets == ("email", "webhook")
    hook = load_settings({"NOTIFY_WEBHOOK_URL": "https://hooks.example.org/x"})
    assert hook.notifications.targets == ("webhook",)


def test_secrets_stay_out_of_repr():
    settings = configured(
        NOTIFY_WEBHOOK_URL="https://hooks.example.org/T000/B000/XXXX",
        NOTIFY_WEBHOOK_SECRET="hook-secret-value",
    )
    shown = repr(settings)
    for secret in ("s3cret-smtp-password", "hook-secret-value", "T000/B000/XXXX"):
        assert secret not in shown


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"SMTP_HOST": "mail.example.org"}, "missing: NOTIFY_EMAIL_FROM, NOTIFY_EMAIL_TO"),
        ({**SMTP, "SMTP_PORT": "0"}, "SMTP_PORT"),
        ({**SMTP, "SMTP_STARTTLS": "maybe"}, "SMTP_STARTTLS"),
        ({**SMTP, "SMTP_STARTTLS": "false"}, "unencrypted"),
        ({"NOTIFY_WEBHOOK_URL": "ftp://x"}, "NOTIFY_WEBHOOK_URL"),
        ({"NOTIFY_DIGEST": "true"}, "NOTIFY_DIGEST needs"),
        ({**SMTP, "NOTIFY_DIGEST_HOUR": "25"}, "NOTIFY_DIGEST_HOUR"),
        ({"CLINIC_TIMEZONE": "Mars/Olympus"}, "IANA time zone"),
    ],
)
def test_half_or_wrong_configurations_are_refused(env: dict[str, str], message: str):
    with pytest.raises(ConfigurationError, match=message):
        load_settings(env)


def test_plain_smtp_login_is_allowed_to_a_local_relay_and_over_implicit_tls():
    local = {**SMTP, "SMTP_HOST": "127.0.0.1", "SMTP_STARTTLS": "false"}
    assert load_settings(local).notifications.smtp_starttls is False
    implicit = {**SMTP, "SMTP_PORT": "465", "SMTP_STARTTLS": "false"}
    assert load_settings(implicit).notifications.smtp_port == 465
