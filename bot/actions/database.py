"""The action server's database work: off its event loop, with a short timeout and a breaker.

rasa-sdk runs every action on one asyncio event loop. A database call made there directly (a
connection to an unreachable PostgreSQL waits for its timeout) would hold up every other
person's actions meanwhile, form answers included. So the actions hand their database work to
:data:`store`, which:

- runs it in a small pool of worker threads (``WORKERS``), so the event loop stays free;
- opens the database with a short timeout (``ACTION_DB_TIMEOUT_S``, 2 s by default): for a
  connection, for a connection from the pool, and on PostgreSQL for each statement; and waits
  at most ``DEADLINE_FACTOR`` times that for one piece of work as a whole, whatever the driver
  does (a connection that hangs after it was made);
- keeps a circuit breaker (:class:`dit_assistant.store.breaker.CircuitBreaker`): after a
  failure the database is left alone for ``ACTION_DB_RETRY_AFTER_S`` (30 s by default), and
  every call in that time gets :class:`DatabaseUnavailable` at once, without trying; then one
  call tries it again.

Callers decide what happens without the database: an enquiry goes to the spool (file work, run
in a thread of its own by :func:`in_thread`, never in the database's pool, so hung connections
cannot hold it up), a statistic or an unanswered question is dropped with a log line. Log lines
name error types and what was being done, never personal data.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from dit_assistant.settings import get_settings
from dit_assistant.store import Database, open_database
from dit_assistant.store.breaker import CLOSED, CircuitBreaker
from dit_assistant.store.enquiries import UNAVAILABLE

logger = logging.getLogger(__name__)

Result = TypeVar("Result")

WORKERS = 4
"""Threads for database work: a few at once is plenty for a clinic's traffic, and a database
that hangs can tie up no more than these."""
DEADLINE_FACTOR = 3
"""One piece of work (a connection and its few statements) may take at most this many times
``ACTION_DB_TIMEOUT_S`` before the action goes on without it."""


class DatabaseUnavailable(Exception):
    """The database was not used, failed or did not answer in time; ``str()`` says which,
    without personal data."""


class ActionStore:
    """The action server's database: opened once, on first success, and used off the loop."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(WORKERS, thread_name_prefix="dit-database")
        self._lock = threading.Lock()
        self._database: Database | None = None
        self._breaker: CircuitBreaker | None = None

    @property
    def breaker(self) -> CircuitBreaker:
        if self._breaker is None:
            self._breaker = CircuitBreaker(get_settings().action_db_retry_after_s)
        return self._breaker

    def reset(self) -> None:
        """Forget the opened database and any failure (the settings may have changed)."""
        with self._lock:
            self._database = None
            self._breaker = None

    def _open(self) -> Database:
        """The database, opened and migrated with the short timeout on first use. A failure is
        not kept: the next call (the breaker's trial) opens it again."""
        with self._lock:
            if self._database is None:
                settings = get_settings()
                self._database = open_database(
                    settings.database_url, timeout_s=settings.action_db_timeout_s
                )
            return self._database

    def _work(self, work: Callable[[Database], Result], breaker: CircuitBreaker) -> Result:
        """In a worker thread: the work, and its outcome told to the breaker, even when the
        action stopped waiting for it long ago."""
        try:
            result = work(self._open())
        except UNAVAILABLE:
            breaker.failed()
            raise
        except Exception:
            breaker.succeeded()  # not the database's doing (a bug, a refused value)
            raise
        was = breaker.state
        breaker.succeeded()
        if was != CLOSED:
            logger.info("the database answers again")
        return result

    async def run(self, work: Callable[[Database], Result], what: str) -> Result:
        """``work(database)`` in a worker thread; :class:`DatabaseUnavailable` if the breaker
        is open, the database fails or the work takes too long (``what`` names it in logs).

        Work the action stopped waiting for still runs to its end in its thread, and tells the
        breaker how it went: a trial call always settles the breaker.
        """
        breaker = self.breaker
        if not breaker.allow():
            logger.info(
                "database skipped for %s: it failed less than %d s ago",
                what,
                breaker.retry_after_s,
            )
            raise DatabaseUnavailable("skipped after a recent failure")
        deadline = get_settings().action_db_timeout_s * DEADLINE_FACTOR
        future = asyncio.get_running_loop().run_in_executor(
            self._executor, self._work, work, breaker
        )
        future.add_done_callback(_retrieve)
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout=deadline)
        except asyncio.TimeoutError as error:
            breaker.failed()
            raise self._unavailable(what, f"no answer within {deadline} s") from error
        except UNAVAILABLE as error:
            raise self._unavailable(what, type(error).__name__) from error

    def _unavailable(self, what: str, reason: str) -> DatabaseUnavailable:
        logger.warning(
            "database unavailable for %s (%s): left alone for %d s",
            what,
            reason,
            self.breaker.retry_after_s,
        )
        return DatabaseUnavailable(reason)


def _retrieve(future: asyncio.Future) -> None:
    """Work finished after the action stopped waiting: its error was handled (the breaker was
    told) and must not be logged as never retrieved, with its traceback."""
    if not future.cancelled():
        future.exception()


async def in_thread(work: Callable[[], Result]) -> Result:
    """File work (the spool) off the event loop, in the default pool, not the database's."""
    return await asyncio.to_thread(work)


store = ActionStore()
"""The action server's one database handle (a process has one event loop and one database)."""
