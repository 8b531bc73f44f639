"""Delivering notices after the enquiry is safe, and retrying those that failed.

Design. Storing an enquiry comes first and never waits on a mail server: ``submit_enquiry`` adds
one ``pending`` row per configured way (email, webhook) to ``enquiry_notifications`` in the
enquiry's own transaction (spool replays do the same), and only after the commit wakes the
background ``Notifier``. So a mail server that is down, slow or refusing cannot delay the reply
to the person or lose the enquiry, and a process that stops between the commit and the sending
leaves a pending row that is sent when it runs again.

The ``Notifier`` is one daemon thread in the action server, the long-running process that stores
enquiries (started from ``bot/actions/__init__.py``). It wakes at once when an enquiry is stored
(``wakeup.notify_soon``) and otherwise every ``POLL_S`` seconds, sends every notice that is due,
and sends the daily digest once a day from ``NOTIFY_DIGEST_HOUR`` in the clinic's time zone. The
clinic's daily jobs (the dashboard's purge, or cron) are too coarse for retries measured in
minutes, hence a thread; ``dit-staff notify --retry`` and ``dit-staff digest --if-due`` do the
same by hand, or from cron where the action server does not run.

A failed notice is marked ``failed`` (the dashboard shows "not notified") and tried again after
``BACKOFF`` (1 minute, 5, 15, an hour, then less often) until ``MAX_ATTEMPTS``; then it waits for
``dit-staff notify --retry``. Before sending, a process claims a row by moving its next try past
the sending time in one conditional UPDATE, so two processes (the action server and a cron job)
never send the same due notice together (``--retry`` takes every unsent one), and a process
that dies mid-send only delays it by ``LEASE``. Logs name references, ways and error types
only: never a secret, never personal data.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from dit_assistant.clinic_time import clinic_date, clinic_time, day_start
from dit_assistant.notify import messages, transport, wakeup
from dit_assistant.settings import Settings, get_settings
from dit_assistant.store.audit import audit
from dit_assistant.store.database import Database
from dit_assistant.store.models import AuditEvent, Enquiry, EnquiryNotification, utcnow

logger = logging.getLogger(__name__)

BACKOFF = tuple(timedelta(minutes=m) for m in (1, 5, 15, 60, 180, 360, 360, 720, 720, 720, 720))
"""Wait after the 1st, 2nd, ... failed try: about four days in all before giving up."""
MAX_ATTEMPTS = len(BACKOFF) + 1
LEASE = timedelta(minutes=5)
"""How long a claimed notice is left to its sender (sending times out well before)."""
BATCH = 50
POLL_S = 60.0
DIGEST_RETRY = timedelta(minutes=30)
DIGEST_ACTION = "digest_sent"


def next_try(attempts: int, now: datetime) -> datetime | None:
    """When a notice that failed ``attempts`` times is tried again; None: retries used up."""
    if attempts >= MAX_ATTEMPTS:
        return None
    return now + BACKOFF[max(attempts, 1) - 1]


@dataclass(frozen=True)
class DeliveryResult:
    sent: int = 0
    failed: int = 0


def _send(target: str, notice: messages.Notice, settings: Settings) -> None:
    if target == "email":
        transport.send_email(messages.notice_email(notice, settings), settings.notifications)
    elif target == "webhook":
        transport.post_webhook(messages.notice_payload(notice, settings), settings.notifications)
    else:
        raise ValueError(f"unknown notification target {target!r}")


def _claim(database: Database, row_id: int, now: datetime, force: bool) -> messages.Notice | None:
    """Take one notice for sending; None if it is not (or no longer) due or was sent."""
    claim = update(EnquiryNotification).where(
        EnquiryNotification.id == row_id, EnquiryNotification.state != "sent"
    )
    if not force:
        claim = claim.where(EnquiryNotification.next_attempt_at <= now)
    with database.session() as session:
        claimed = session.execute(
            claim.values(
                next_attempt_at=now + LEASE, attempts=EnquiryNotification.attempts + 1
            ).execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            return None
        row = session.execute(
            select(Enquiry.reference, Enquiry.channel, Enquiry.priority, Enquiry.created_at)
            .join(EnquiryNotification, EnquiryNotification.enquiry_id == Enquiry.id)
            .where(EnquiryNotification.id == row_id)
        ).one()
        return messages.Notice(row.reference, row.channel, row.priority, row.created_at)


def _record(database: Database, row_id: int, error: Exception | None, now: datetime) -> int:
    with database.session() as session:
        row = session.get(EnquiryNotification, row_id)
        if row is None:  # the enquiry was deleted meanwhile
            return 0
        if error is None:
            row.state, row.sent_at, row.next_attempt_at, row.last_error = "sent", now, None, None
        else:
            row.state, row.last_error = "failed", type(error).__name__[:80]
            row.next_attempt_at = next_try(row.attempts, now)
        return row.attempts


def deliver_due(
    database: Database,
    settings: Settings | None = None,
    now: datetime | None = None,
    force: bool = False,
) -> DeliveryResult:
    """Send every notice that is due; ``force`` also those not yet due or given up on.

    Never raises for a failed notice (it is recorded and retried); raises the database's error
    if the database cannot be read.
    """
    settings = settings or get_settings()
    targets = settings.notifications.targets
    now = now or utcnow()
    statement = select(EnquiryNotification.id, EnquiryNotification.target).where(
        EnquiryNotification.state != "sent", EnquiryNotification.target.in_(targets)
    )
    if not force:
        statement = statement.where(EnquiryNotification.next_attempt_at <= now)
    with database.session() as session:
        due = list(session.execute(statement.order_by(EnquiryNotification.id).limit(BATCH)))
    sent = failed = 0
    for row_id, target in due:
        notice = _claim(database, row_id, now, force)
        if notice is None:
            continue
        error: Exception | None = None
        try:
            _send(target, notice, settings)
        except Exception as caught:  # noqa: BLE001 - any failure is recorded and retried
            error = caught
        attempts = _record(database, row_id, error, utcnow())
        if error is None:
            sent += 1
            logger.info("enquiry %s: staff notified by %s", notice.reference, target)
        else:
            failed += 1
            retry = next_try(attempts, now)
            logger.warning(
                "enquiry %s: notice by %s failed (%s), attempt %d; %s",
                notice.reference,
                target,
                type(error).__name__,
                attempts,
                f"tried again at {clinic_time(retry, settings.zone)}"
                if retry
                else "retries used up",
            )
    return DeliveryResult(sent=sent, failed=failed)


# ----------------------------------------------------------------------------------- status
@dataclass(frozen=True)
class NotificationStatus:
    """Counts by state, and the enquiries staff were not told of (references only)."""

    counts: dict[str, int]
    not_notified: list[tuple[str, str, int, str | None]]  # reference, target, attempts, error


def notification_status(database: Database) -> NotificationStatus:
    with database.session() as session:
        counts = dict(
            session.execute(
                select(EnquiryNotification.state, func.count()).group_by(EnquiryNotification.state)
            ).all()
        )
        failed = session.execute(
            select(
                Enquiry.reference,
                EnquiryNotification.target,
                EnquiryNotification.attempts,
                EnquiryNotification.last_error,
            )
            .join(EnquiryNotification, EnquiryNotification.enquiry_id == Enquiry.id)
            .where(EnquiryNotification.state == "failed")
            .order_by(Enquiry.created_at, EnquiryNotification.target)
        ).all()
    return NotificationStatus(counts, [(r[0], r[1], r[2], r[3]) for r in failed])


# ----------------------------------------------------------------------------------- digest
def build_digest(database: Database, now: datetime | None = None) -> messages.Digest:
    now = now or utcnow()
    with database.session() as session:
        counts = dict(
            session.execute(select(Enquiry.status, func.count()).group_by(Enquiry.status)).all()
        )
        priority_new = session.execute(
            select(func.count()).where(Enquiry.status == "new", Enquiry.priority.is_(True))
        ).scalar_one()
        oldest = session.execute(
            select(func.min(Enquiry.created_at)).where(Enquiry.status == "new")
        ).scalar_one()
        not_notified = session.execute(
            select(func.count(func.distinct(EnquiryNotification.enquiry_id))).where(
                EnquiryNotification.state == "failed"
            )
        ).scalar_one()
    return messages.Digest(
        counts={status: int(counts.get(status, 0)) for status in ("new", "contacted", "closed")},
        priority_new=int(priority_new),
        not_notified=int(not_notified),
        oldest_new_at=_aware(oldest),
        now=now,
    )


def _aware(value: datetime | str | None) -> datetime | None:
    """min()/max() of a UTC column, read back aware whatever the driver returned."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _clinic_day_start(settings: Settings, now: datetime) -> datetime:
    return day_start(clinic_date(now, settings.zone), settings.zone)


def digest_due(database: Database, settings: Settings, now: datetime | None = None) -> bool:
    """The digest is on, its hour of the clinic's day has come, and none was sent today."""
    now = now or utcnow()
    config = settings.notifications
    if not (config.digest and config.enabled):
        return False
    if now.astimezone(settings.zone).hour < config.digest_hour:
        return False
    with database.session() as session:
        last = session.execute(
            select(func.max(AuditEvent.occurred_at)).where(AuditEvent.action == DIGEST_ACTION)
        ).scalar_one()
    last = _aware(last)
    return last is None or last < _clinic_day_start(settings, now)


def send_digest(
    database: Database,
    settings: Settings | None = None,
    now: datetime | None = None,
    staff_user: str | None = None,
) -> list[str]:
    """Send the digest by every configured way; returns the ways it went by (audited).

    Raises the last error if it could be sent by none.
    """
    settings = settings or get_settings()
    digest = build_digest(database, now)
    sent: list[str] = []
    last_error: Exception | None = None
    for target in settings.notifications.targets:
        try:
            if target == "email":
                transport.send_email(
                    messages.digest_email(digest, settings), settings.notifications
                )
            else:
                transport.post_webhook(
                    messages.digest_payload(digest, settings), settings.notifications
                )
        except Exception as error:  # noqa: BLE001 - the other way may still work
            logger.warning("daily digest by %s failed (%s)", target, type(error).__name__)
            last_error = error
            continue
        sent.append(target)
    if not sent:
        if last_error is not None:
            raise last_error
        return sent
    with database.session() as session:
        audit(session, DIGEST_ACTION, None, staff_user, f"by {', '.join(sent)}")
    return sent


# ------------------------------------------------------------------------------- background
class Notifier:
    """The background thread: due notices at once when woken, every ``poll_s`` otherwise."""

    def __init__(
        self,
        database: Callable[[], Database],
        settings: Settings,
        poll_s: float = POLL_S,
    ) -> None:
        self._database = database
        self.settings = settings
        self.poll_s = poll_s
        self._wake = threading.Event()
        self._stopped = threading.Event()
        self._digest_not_before: datetime | None = None
        self.pid = os.getpid()
        self.thread = threading.Thread(target=self._run, name="dit-notifier", daemon=True)

    def start(self) -> Notifier:
        self._wake.set()  # first look at once: notices left pending by a previous run
        self.thread.start()
        return self

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10) -> None:
        self._stopped.set()
        self._wake.set()
        self.thread.join(timeout)

    @property
    def alive(self) -> bool:
        return self.thread.is_alive() and self.pid == os.getpid()

    def _run(self) -> None:
        while not self._stopped.is_set():
            self._wake.wait(self.poll_s)
            self._wake.clear()
            if not self._stopped.is_set():
                self.tick()

    def tick(self, now: datetime | None = None) -> None:
        """One round; never raises (the thread must outlive a database or mail outage)."""
        now = now or utcnow()
        try:
            database = self._database()
            if self.settings.notifications.enabled:
                deliver_due(database, self.settings, now)
            if (self._digest_not_before is None or now >= self._digest_not_before) and digest_due(
                database, self.settings, now
            ):
                try:
                    send_digest(database, self.settings, now)
                except Exception:  # noqa: BLE001 - logged by send_digest; tried again later
                    self._digest_not_before = now + DIGEST_RETRY
        except Exception as error:  # noqa: BLE001
            logger.warning("notifications postponed (%s)", type(error).__name__)


_lock = threading.Lock()
_notifier: Notifier | None = None


def start_notifier(
    settings: Settings | None = None,
    database: Callable[[], Database] | None = None,
    poll_s: float = POLL_S,
) -> Notifier | None:
    """Start this process's notifier if notifications are configured (once per process)."""
    global _notifier
    settings = settings or get_settings()
    if not settings.notifications.enabled:
        return None
    if database is None:
        from dit_assistant.store.enquiries import default_database

        database = default_database
    with _lock:
        if _notifier is None or not _notifier.alive:
            _notifier = Notifier(database, settings, poll_s).start()
            wakeup.register(_notifier.wake)
            logger.info("staff notifications on, by %s", ", ".join(settings.notifications.targets))
        return _notifier


def stop_notifier() -> None:
    global _notifier
    with _lock:
        notifier, _notifier = _notifier, None
        wakeup.register(None)
    if notifier is not None:
        notifier.stop()
