"""Where the message gate keeps its rate-limit windows and the delivery ids it has handled.

In one Rasa process they live in its memory (the ``limits`` library's ``MemoryStorage``). With
``REDIS_URL`` set, several Rasa replicas share them through Redis (``limits``' ``RedisStorage``,
the same moving windows), so a sender's 30 messages a minute are 30 whichever replica answers
them, and an update a platform delivers again is handled once even when the second delivery
reaches another replica.

What goes to Redis is no sender id, address or delivery id itself: each identifier is a keyed
hash (BLAKE2b with a key derived from ``ENQUIRY_KEYS``, which every replica shares), so
Redis, its log and its snapshots hold no phone numbers or addresses.

**When Redis fails** (unreachable, too slow), the gate does not stand in the way of a reply,
crisis replies above all: the checks fall back to this process's own memory (logged at ERROR,
at most once a minute), and Redis is tried again ``RETRY_AFTER_S`` later, so a Redis that hangs
costs one timeout every few seconds, not one per check.
"""

from __future__ import annotations

import hashlib
import logging
import time

from limits import RateLimitItem
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

from dit_assistant.replicas import SOCKET_TIMEOUT_S
from dit_assistant.settings import Settings

logger = logging.getLogger(__name__)

REPORT_EVERY_S = 60.0
RETRY_AFTER_S = 5.0


def _hash_key(settings: Settings) -> bytes:
    """A key for the identifiers' hashes that every replica derives alike: from the enquiry keys
    (or the development key), never stored anywhere itself."""
    keys = settings.enquiry_keys
    if not keys:
        from dit_assistant.store.crypto import development_keys

        keys = development_keys(settings)[0]
    return hashlib.blake2b(
        ",".join(keys).encode(), person=b"dit-ratelimits", digest_size=32
    ).digest()


class GateLimiter:
    """``limits``' moving-window limiter over Redis (with ``REDIS_URL``) or memory, with the
    fall-back to memory described in the module text. The gate holds the storages: the limiter
    keeps only weak references to them."""

    def __init__(self, settings: Settings, shared: Storage | None = None) -> None:
        self._local_storage = MemoryStorage()
        self._local = MovingWindowRateLimiter(self._local_storage)
        self._shared_storage: Storage | None = shared
        if shared is None and settings.redis_url:
            self._shared_storage = storage_from_string(
                settings.redis_url,
                socket_timeout=SOCKET_TIMEOUT_S,
                socket_connect_timeout=SOCKET_TIMEOUT_S,
            )
        self._shared = (
            MovingWindowRateLimiter(self._shared_storage) if self._shared_storage else None
        )
        self._hash_key = _hash_key(settings) if self._shared is not None else b""
        self._reported_at = float("-inf")
        self._down_until = float("-inf")

    @property
    def shared(self) -> bool:
        return self._shared is not None

    def _identifiers(self, identifiers: tuple[str, ...]) -> tuple[str, ...]:
        kind, *rest = identifiers
        digest = hashlib.blake2b(
            "\0".join(rest).encode("utf-8", "surrogatepass"), key=self._hash_key, digest_size=16
        ).hexdigest()
        return (kind, digest)

    def _call(self, method: str, item: RateLimitItem, identifiers: tuple[str, ...]) -> bool:
        if self._shared is not None and time.monotonic() >= self._down_until:
            try:
                result: bool = getattr(self._shared, method)(item, *self._identifiers(identifiers))
                return result
            except Exception as error:  # noqa: BLE001 - any failure of Redis or its client
                self._down_until = time.monotonic() + RETRY_AFTER_S
                self._report(error)
        local: bool = getattr(self._local, method)(item, *identifiers)
        return local

    def _report(self, error: BaseException) -> None:
        now = time.monotonic()
        if now - self._reported_at >= REPORT_EVERY_S:
            self._reported_at = now
            logger.error(
                "the shared rate limits (REDIS_URL) cannot be reached (%s): this replica "
                "counts in its own memory meanwhile",
                type(error).__name__,
            )

    def hit(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Count one against ``item`` for ``identifiers``; False if that was over the limit."""
        return self._call("hit", item, identifiers)

    def test(self, item: RateLimitItem, *identifiers: str) -> bool:
        """Whether one more would be within ``item``'s limit, without counting it."""
        return self._call("test", item, identifiers)
