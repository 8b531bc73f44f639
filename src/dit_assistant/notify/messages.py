"""What staff are told: notices of new enquiries and the daily digest, built without personal data.

Only what the enquiry table holds in plain text goes in: the reference, the channel, the priority
flag and the time received (in the clinic's time zone), with a link to the enquiry in the
dashboard. Never the name, contact detail, best times or what the person wrote, which are
encrypted at rest: staff sign in to the dashboard to read those. Email travels through mail
servers and inboxes the clinic does not control, and webhooks into chat tools, so nothing sent
here may identify a person.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from urllib.parse import quote

from dit_assistant.clinic_time import LONG, clinic_time, in_zone
from dit_assistant.settings import Settings

SIGNATURE_HEADER = "X-DIT-Signature"
"""``sha256=<hex>``: HMAC-SHA256 of the exact request body with ``NOTIFY_WEBHOOK_SECRET``."""
NO_PERSONAL_DATA = (
    "This message deliberately holds no personal details: sign in to the dashboard to see them."
)


@dataclass(frozen=True)
class Notice:
    """One new enquiry, as staff are told of it."""

    reference: str
    channel: str
    priority: bool
    received_at: datetime  # aware, UTC


@dataclass(frozen=True)
class Digest:
    """The day's summary: counts only."""

    counts: dict[str, int]  # by status: new, contacted, closed
    priority_new: int
    not_notified: int
    oldest_new_at: datetime | None  # aware UTC: the oldest enquiry nobody has contacted yet
    now: datetime  # aware UTC


def enquiry_url(settings: Settings, reference: str) -> str:
    """The enquiry's page in the dashboard (``/enquiries/<reference>``)."""
    return f"{settings.dashboard_url}/enquiries/{quote(reference, safe='')}"


def notice_subject(notice: Notice) -> str:
    if notice.priority:
        return f"PRIORITY: new enquiry {notice.reference} (safety route in the conversation)"
    return f"New enquiry {notice.reference}"


def notice_text(notice: Notice, settings: Settings) -> str:
    priority = (
        "YES: the conversation included a safety route. Please contact this person first."
        if notice.priority
        else "no"
    )
    return "\n".join(
        [
            f"A new enquiry has arrived for {settings.clinic.name}.",
            "",
            f"Reference: {notice.reference}",
            f"Priority:  {priority}",
            f"Channel:   {notice.channel}",
            f"Received:  {clinic_time(notice.received_at, settings.zone, LONG)}",
            "",
            f"Open it in the dashboard: {enquiry_url(settings, notice.reference)}",
            "",
            NO_PERSONAL_DATA,
        ]
    )


def _email(settings: Settings, subject: str, text: str, high_priority: bool) -> EmailMessage:
    config = settings.notifications
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = config.email_from
    message["To"] = ", ".join(config.email_to)
    message["Date"] = format_datetime(datetime.now().astimezone())
    domain = config.email_from.rpartition("@")[2] or None
    message["Message-ID"] = make_msgid(domain=domain)
    message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies to it
    if high_priority:
        message["X-Priority"] = "1"
        message["Importance"] = "high"
    message.set_content(text)
    return message


def notice_email(notice: Notice, settings: Settings) -> EmailMessage:
    return _email(settings, notice_subject(notice), notice_text(notice, settings), notice.priority)


def notice_payload(notice: Notice, settings: Settings) -> dict[str, object]:
    """The webhook's JSON: ``text`` for Slack and Teams incoming webhooks, fields for others."""
    return {
        "event": "enquiry_received",
        "text": f"{notice_subject(notice)}\n{notice_text(notice, settings)}",
        "reference": notice.reference,
        "channel": notice.channel,
        "priority": notice.priority,
        "received_at": in_zone(notice.received_at, settings.zone).isoformat(),
        "url": enquiry_url(settings, notice.reference),
    }


def age(delta: timedelta) -> str:
    """``2 days 3 hours``, ``5 hours 10 minutes``, ``12 minutes``."""
    minutes = max(0, int(delta.total_seconds() // 60))
    days, minutes = divmod(minutes, 24 * 60)
    hours, minutes = divmod(minutes, 60)

    def unit(count: int, name: str) -> str:
        return f"{count} {name}{'' if count == 1 else 's'}"

    if days:
        return f"{unit(days, 'day')} {unit(hours, 'hour')}"
    if hours:
        return f"{unit(hours, 'hour')} {unit(minutes, 'minute')}"
    return unit(minutes, "minute")


def digest_subject(digest: Digest, settings: Settings) -> str:
    day = in_zone(digest.now, settings.zone)
    return f"Enquiries on {day.day} {day:%B %Y}: {digest.counts.get('new', 0)} not yet contacted"


def digest_text(digest: Digest, settings: Settings) -> str:
    counts = digest.counts
    oldest = (
        f"{age(digest.now - digest.oldest_new_at)} (received "
        f"{clinic_time(digest.oldest_new_at, settings.zone, LONG)})"
        if digest.oldest_new_at
        else "none: every enquiry has been contacted"
    )
    lines = [
        f"Enquiries at {settings.clinic.name}, "
        f"as of {clinic_time(digest.now, settings.zone, LONG)}:",
        "",
        f"Not yet contacted (new): {counts.get('new', 0)}, of which priority: "
        f"{digest.priority_new}",
        f"Contacted:               {counts.get('contacted', 0)}",
        f"Closed:                  {counts.get('closed', 0)}",
        f"Oldest not yet contacted: {oldest}",
    ]
    if digest.not_notified:
        lines.append(f"Not notified (notice failed): {digest.not_notified}")
    lines += ["", f"Dashboard: {settings.dashboard_url}/enquiries", "", NO_PERSONAL_DATA]
    return "\n".join(lines)


def digest_email(digest: Digest, settings: Settings) -> EmailMessage:
    return _email(settings, digest_subject(digest, settings), digest_text(digest, settings), False)


def digest_payload(digest: Digest, settings: Settings) -> dict[str, object]:
    return {
        "event": "daily_digest",
        "text": f"{digest_subject(digest, settings)}\n{digest_text(digest, settings)}",
        "counts": dict(digest.counts),
        "priority_new": digest.priority_new,
        "not_notified": digest.not_notified,
        "oldest_new_age_seconds": (
            int((digest.now - digest.oldest_new_at).total_seconds())
            if digest.oldest_new_at
            else None
        ),
        "url": f"{settings.dashboard_url}/enquiries",
    }


def webhook_body(payload: dict[str, object]) -> bytes:
    """The exact bytes that are sent and signed."""
    return json.dumps(payload, sort_keys=True, ensure_ascii=False).encode("utf-8")


def signature(body: bytes, secret: str) -> str:
    """The value of ``X-DIT-Signature``; a receiver recomputes it and compares in constant time."""
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(body: bytes, secret: str, header: str) -> bool:
    return hmac.compare_digest(signature(body, secret), header)
