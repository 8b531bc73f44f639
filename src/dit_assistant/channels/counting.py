"""Counts conversations and the messages people type, for the staff statistics.

Every message reaches the bot through :class:`~dit_assistant.channels.guard.MessageGate`, which
hands it on through :func:`counted`. What is counted (into the Rasa server's
:class:`~dit_assistant.store.tally.Tally`, written to the database in the background, so a reply
never waits on it):

- a **conversation** when a person writes after a silence of at least the domain's
  ``session_expiration_time`` (an hour), the same rule by which Rasa starts a new session: the
  widget's automatic ``/greet`` when it opens is not the person writing, so a chat opened and
  left unused is not counted;
- a **message** for each one the person typed (not a button they pressed): the denominator of
  the unknown-answer rate.

Both by channel only. Which conversations were seen lately is kept in this process's memory, as
keyed hashes that cannot be turned back into sender ids, and forgotten after the silence.
Messages the gate refused (too long, too many) were never read, and are not counted.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from rasa.core.channels.channel import UserMessage

from dit_assistant.store.tally import Tally

logger = logging.getLogger(__name__)

DEFAULT_SILENCE_MINUTES = 60.0
"""Rasa's default ``session_expiration_time``, used when the domain's is unknown or never ends."""

Handler = Callable[[UserMessage], Awaitable[Any]]


class ConversationCounter:
    """Which conversations were active lately, and the counting of new ones (see the module)."""

    def __init__(
        self,
        tally: Tally,
        silence_minutes: Callable[[], float | None],
        automatic: Collection[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._tally = tally
        self._silence_minutes = silence_minutes
        self._automatic = frozenset(automatic)
        self._clock = clock
        self._salt = secrets.token_bytes(16)
        self._last_seen: dict[bytes, float] = {}
        self._forgotten_at = clock()
        self._lock = threading.Lock()

    def _silence_s(self) -> float:
        minutes = self._silence_minutes()
        return 60.0 * (minutes if minutes and minutes > 0 else DEFAULT_SILENCE_MINUTES)

    def _hash(self, conversation_id: str) -> bytes:
        return hashlib.blake2b(
            conversation_id.encode("utf-8", "replace"), key=self._salt, digest_size=16
        ).digest()

    def seen(self, conversation_id: str, channel: str, text: str) -> None:
        """Count the message ``text`` of ``conversation_id`` on ``channel``."""
        text = text.strip()
        if text in self._automatic:
            return
        now, silence = self._clock(), self._silence_s()
        key = self._hash(conversation_id)
        with self._lock:
            last = self._last_seen.get(key)
            self._last_seen[key] = now
            if now - self._forgotten_at >= silence:
                self._forget(now - silence)
        if last is None or now - last >= silence:
            self._tally.add("conversation", channel=channel)
        if not text.startswith("/"):  # the gate lets a "/..." through only as a pressed button
            self._tally.add("message", channel=channel)

    def _forget(self, before: float) -> None:
        self._last_seen = {k: seen for k, seen in self._last_seen.items() if seen >= before}
        self._forgotten_at = self._clock()

    def __len__(self) -> int:
        return len(self._last_seen)


def counted(handler: Handler, counter: ConversationCounter) -> Handler:
    """``handler``, counting each message it is given first."""

    async def count_then_handle(message: UserMessage) -> Any:
        try:
            counter.seen(
                str(message.sender_id), message.input_channel or "unknown", message.text or ""
            )
        except Exception as error:  # noqa: BLE001 - a statistic never stands in a reply's way
            logger.error("a message could not be counted (%s)", type(error).__name__)
        return await handler(message)

    return count_then_handle
