"""A circuit breaker: after a failure, leave the database alone for a while.

When the database is down or unreachable, every call that tries it waits for its timeout before
falling back (the enquiry to the spool, the statistic dropped). The breaker remembers the
failure instead: for ``retry_after_s`` seconds calls are refused at once without trying, then
one call is let through as a trial. If it succeeds the circuit closes and everything goes to
the database again; if it fails the circuit stays open for another ``retry_after_s``. While the
trial runs, other calls are still refused, so a database that hangs is never tried by many
callers at once.

A small class of its own rather than a library: ``pybreaker``, the usual choice, holds its lock
for the whole guarded call, which would make every database call of the action server wait for
the one in progress (a hung connection included), and its trial is not limited to one caller.
Here the lock guards only the state, and the caller reports the outcome (it may be decided by a
timeout in another thread than the one that did the work).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

CLOSED, OPEN, TRIAL = "closed", "open", "trial"


class CircuitBreaker:
    """Thread-safe. ``allow()`` before a call; then ``succeeded()`` or ``failed()`` for every
    call that was allowed."""

    def __init__(self, retry_after_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.retry_after_s = retry_after_s
        self._clock = clock
        self._lock = threading.Lock()
        self._state = CLOSED
        self._opened_at = 0.0

    @property
    def state(self) -> str:
        """``closed`` (calls go through), ``open`` (refused) or ``trial`` (one call under way)."""
        with self._lock:
            return self._state

    def allow(self) -> bool:
        """Whether a call may try the database now; True at most once per trial."""
        with self._lock:
            if self._state == CLOSED:
                return True
            if self._state == OPEN and self._clock() - self._opened_at >= self.retry_after_s:
                self._state = TRIAL
                return True
            return False

    def succeeded(self) -> None:
        with self._lock:
            self._state = CLOSED

    def failed(self) -> None:
        with self._lock:
            self._state = OPEN
            self._opened_at = self._clock()

    def reset(self) -> None:
        """Closed again, as new (for a fresh start, e.g. another database)."""
        self.succeeded()
