"""What the dashboard's views share for the life of the app: its settings, database, cipher,
session policy, login throttle and the daily retention purge.

Kept apart from the app factory (``web.py``) and the views (``views.py``) so that each imports
this and neither imports the other, as in Flask's tutorial application.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app

from dit_assistant.settings import Settings
from dit_assistant.store.accounts import SessionPolicy, purge_sessions
from dit_assistant.store.conversations import purge_conversations
from dit_assistant.store.crypto import EnquiryCipher
from dit_assistant.store.database import Database
from dit_assistant.store.management import purge_expired
from dit_assistant.store.models import utcnow
from dit_assistant.store.unanswered import purge_unanswered

logger = logging.getLogger(__name__)

PURGE_EVERY = timedelta(hours=24)

EXTENSION_KEY = "dit_dashboard"
"""Where the app keeps its ``Dashboard`` (``app.extensions``)."""


class LoginThrottle:
    """After ``limit`` failures for one account name within ``window``, refuse further tries
    for that name until the window has passed (correct passwords included)."""

    def __init__(self, limit: int = 5, window_s: float = 900) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        failures = self._failures[key]
        while failures and now - failures[0] > self.window_s:
            failures.popleft()
        return failures

    def blocked(self, name: str) -> bool:
        with self._lock:
            return len(self._recent(name.lower(), time.monotonic())) >= self.limit

    def failed(self, name: str) -> None:
        with self._lock:
            now = time.monotonic()
            self._recent(name.lower(), now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(name.lower(), None)


@dataclass
class Dashboard:
    """What the views need, kept on the app rather than in module globals."""

    settings: Settings
    database: Database
    cipher: EnquiryCipher
    policy: SessionPolicy
    throttle: LoginThrottle = field(default_factory=LoginThrottle)
    clock: Callable[[], datetime] = utcnow
    """The time sessions are checked against (tests move it on)."""
    last_purge: datetime | None = None
    _purge_lock: threading.Lock = field(default_factory=threading.Lock)

    def purge_if_due(self, now: datetime) -> None:
        """Apply the retention period at most once a day, on whichever request comes first."""
        with self._purge_lock:
            if self.last_purge and now - self.last_purge < PURGE_EVERY:
                return
            self.last_purge = now
        try:
            purged = purge_expired(self.database, self.settings.retention_days, "retention")
            questions = purge_unanswered(
                self.database, self.settings.unanswered_retention_days, "retention"
            )
            chats = purge_conversations(
                self.database, self.settings.conversation_retention_days, "retention"
            )
            purge_sessions(self.database, self.policy, now)
        except Exception as error:  # noqa: BLE001 - retention must not take the dashboard down
            logger.error("retention purge failed (%s)", type(error).__name__)
            return
        if purged:
            logger.info("retention purge deleted %d closed enquiries", len(purged))
        if questions:
            logger.info("retention purge deleted %d unanswered questions", questions)
        if chats:
            logger.info("retention purge deleted %d conversations", chats)


def current_dashboard() -> Dashboard:
    """The running app's dashboard state (inside a request or app context)."""
    dashboard: Dashboard = current_app.extensions[EXTENSION_KEY]
    return dashboard
