"""Counting for the staff statistics when things happen: never personal data.

The statistics are counted at the time, into ``statistic_counts`` (``models.StatisticCount``),
and never recomputed from what is left: an enquiry deleted on request or purged stays counted
as received, contacted or closed, and the answers the assistant gave stay counted when the
conversations are long gone. What a row holds: a kind, a name (which answer, which enquiry
event), a channel, the clinic's hour it happened in, and a number. Never message text, sender
ids, references or contact details.

Two ways in:

- :func:`add_count` adds a row in the caller's transaction: the enquiry store counts an enquiry
  received, contacted, closed or deleted in the same commit as the change itself;
- :class:`Tally` keeps counts in memory for the Rasa server, which counts conversations,
  messages and answers while it replies (``channels.counting``, ``nlg``). A reply never waits
  on the database, crisis replies included: a background thread adds the counts to the database
  every minute and when the server stops. While the database is unreachable the counts stay in
  memory and are written once it is back; if the server is killed outright, the last minute's
  counts are lost (never a reply).
"""

from __future__ import annotations

import atexit
import logging
import threading
from collections import Counter
from collections.abc import Callable
from datetime import datetime, tzinfo
from typing import NamedTuple

from sqlalchemy.orm import Session

from dit_assistant.clinic_time import hour_start
from dit_assistant.settings import get_settings
from dit_assistant.store.database import Database, open_database
from dit_assistant.store.models import STATISTIC_KINDS, StatisticCount, utcnow

logger = logging.getLogger(__name__)

FLUSH_EVERY_S = 60.0
"""How often the Rasa server's counts are added to the database."""
NAME_CHARS = 60
CHANNEL_CHARS = 40


class Key(NamedTuple):
    period_start: datetime
    kind: str
    name: str
    channel: str


def _key(kind: str, name: str, channel: str, at: datetime, zone: tzinfo) -> Key:
    if kind not in STATISTIC_KINDS:
        raise ValueError(f"kind must be one of {', '.join(STATISTIC_KINDS)}")
    return Key(
        hour_start(at, zone),
        kind,
        (name or "")[:NAME_CHARS],
        (channel or "unknown")[:CHANNEL_CHARS],
    )


def add_count(
    session: Session,
    kind: str,
    name: str = "",
    channel: str = "",
    *,
    at: datetime | None = None,
    count: int = 1,
    seconds: int | None = None,
    zone: tzinfo | None = None,
) -> None:
    """Count ``kind``/``name`` on ``channel`` in ``session``'s transaction, in the clinic's hour
    of ``at`` (default: now). ``name`` and ``channel`` must never identify a person."""
    key = _key(kind, name, channel, at or utcnow(), zone or get_settings().zone)
    session.add(StatisticCount(**key._asdict(), count=count, seconds=seconds))


class Tally:
    """Counts kept in memory and added to the database by a background thread (see above).

    ``add`` is cheap and never touches the database, so the Rasa server calls it while it
    replies; ``start`` begins the writing (only a serving Rasa server does, so a model loaded
    elsewhere, e.g. by the tests or the terminal chat, counts nothing anywhere).
    """

    def __init__(
        self,
        zone: Callable[[], tzinfo] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._zone = zone or (lambda: get_settings().zone)
        self._clock = clock
        self._counts: Counter[Key] = Counter()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self._database: Database | None = None
        self._open: Callable[[], Database] = open_database
        self._stop_at_exit = False

    def add(self, kind: str, name: str = "", channel: str = "") -> None:
        key = _key(kind, name, channel, self._clock(), self._zone())
        with self._lock:
            self._counts[key] += 1

    def pending(self) -> dict[Key, int]:
        """What is counted but not yet in the database."""
        with self._lock:
            return dict(self._counts)

    def flush(self, database: Database) -> int:
        """Add the counts to ``database`` in one transaction; returns the rows written.

        If the database cannot take them, they are kept for the next try and the error is
        raised.
        """
        with self._lock:
            counts, self._counts = self._counts, Counter()
        if not counts:
            return 0
        try:
            with database.session() as session:
                session.add_all(
                    StatisticCount(**key._asdict(), count=number) for key, number in counts.items()
                )
        except Exception:
            with self._lock:
                self._counts.update(counts)
            raise
        return len(counts)

    def _flush_quietly(self) -> None:
        try:
            if self._database is None:
                self._database = self._open()
            self.flush(self._database)
        except Exception as error:  # noqa: BLE001 - counts wait for the next try, chat goes on
            logger.error("statistics not written yet, kept for later (%s)", type(error).__name__)

    def _run(self, every_s: float) -> None:
        while not self._stopping.wait(every_s):
            self._flush_quietly()
        self._flush_quietly()

    def start(
        self,
        database: Callable[[], Database] | None = None,
        every_s: float = FLUSH_EVERY_S,
    ) -> None:
        """Write the counts every ``every_s`` seconds from now on, to ``database()`` (default:
        the configured database, opened on the first write). Starting twice is harmless."""
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            if database is not None:
                self._open, self._database = database, None
            self._stopping.clear()
            self._thread = threading.Thread(
                target=self._run, args=(every_s,), name="statistics", daemon=True
            )
            self._thread.start()
            if not self._stop_at_exit:
                atexit.register(self.stop)
                self._stop_at_exit = True

    def stop(self, timeout_s: float = 10.0) -> None:
        """Write what is left and stop writing. Stopping twice is harmless."""
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is None:
            return
        self._stopping.set()
        thread.join(timeout_s)


_TALLY = Tally()


def process_tally() -> Tally:
    """This process's tally: the one the Rasa server's channels and responses count into."""
    return _TALLY
