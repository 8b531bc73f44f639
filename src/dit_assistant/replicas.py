"""What several Rasa replicas share when ``REDIS_URL`` is set: one Redis server for the lock store
and for the message gate's rate limits and delivery ids.

**The lock.** Rasa handles one conversation's messages one at a time through its lock store
(``lock_store`` in the endpoints file): a ticket per message, served in order. Without
``REDIS_URL`` the lock is Rasa's in-memory one, which holds within one process only. With it,
:func:`lock_store_endpoint` adds a Redis lock store (:class:`AtomicRedisLockStore`, Rasa's
``RedisLockStore`` made atomic) to the endpoints file the Rasa server reads
(``serve.runtime_endpoints``), so the tickets live in Redis.

Rasa's own Redis lock store is not atomic across processes: issuing a ticket, and giving one
back after a turn, each read the lock and write it back as two commands. Two replicas doing so
for one conversation at the same instant lose one of the two changes: both get the same ticket,
or a finished ticket comes back and holds every later message until it expires (a minute). So
the endpoints file names :class:`AtomicRedisLockStore`, which makes each change in one Redis
transaction (``WATCH``, read, ``MULTI``/``EXEC``; again if another replica wrote first). The
load balancer still sends one conversation to one replica (sticky sessions by sender), so
messages are rarely shared; the lock covers what stickiness cannot: a replica that restarts or
is removed, and requests that arrive while the routing changes.

**The password** is never written to the endpoints file: the file names environment variables
(``${DIT_REDIS_PASSWORD}``, which Rasa fills in when it reads the file), and
``dit_assistant.rasa_cli`` sets them from ``REDIS_URL`` in the Rasa server's own environment.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote, urlsplit

from rasa.core.lock import TicketLock
from rasa.core.lock_store import LOCK_LIFETIME, LockError, RedisLockStore
from rasa.utils.endpoints import EndpointConfig

LOCK_KEY_PREFIX = "dit"
"""Rasa's lock keys become ``dit:lock:<conversation>`` (Rasa allows letters and digits only)."""
PASSWORD_VARIABLE = "DIT_REDIS_PASSWORD"
USERNAME_VARIABLE = "DIT_REDIS_USERNAME"
SOCKET_TIMEOUT_S = 2.0
"""How long a Redis command may take before it counts as failed (lock store and limits)."""


def lock_store_endpoint(redis_url: str) -> dict[str, Any] | None:
    """The ``lock_store`` section of the endpoints file for ``redis_url``; None without one
    (Rasa's in-memory lock, one process)."""
    if not redis_url:
        return None
    parts = urlsplit(redis_url)
    config: dict[str, Any] = {
        "type": f"{__name__}.{AtomicRedisLockStore.__name__}",
        "url": parts.hostname,
        "port": parts.port or 6379,
        "db": int(parts.path.strip("/") or 0),
        "key_prefix": LOCK_KEY_PREFIX,
        "use_ssl": parts.scheme == "rediss",
        "socket_timeout": SOCKET_TIMEOUT_S,
    }
    if parts.username:
        config["username"] = "${" + USERNAME_VARIABLE + "}"
    if parts.password:
        config["password"] = "${" + PASSWORD_VARIABLE + "}"
    return config


def credentials_environment(redis_url: str) -> dict[str, str]:
    """The variables the endpoints file names for the credentials in ``redis_url``."""
    if not redis_url:
        return {}
    parts = urlsplit(redis_url)
    env = {}
    if parts.username:
        env[USERNAME_VARIABLE] = unquote(parts.username)
    if parts.password:
        env[PASSWORD_VARIABLE] = unquote(parts.password)
    return env


class AtomicRedisLockStore(RedisLockStore):
    """Rasa's Redis lock store, with every change to a conversation's lock made atomic across
    processes (the module docstring says why). Keys, values and ticket rules are Rasa's own, so
    replicas of this store and of Rasa's can share one Redis during an upgrade."""

    def __init__(self, endpoint_config: EndpointConfig) -> None:
        # Rasa builds a lock store named by its module path with the endpoint config alone.
        super().__init__(host=endpoint_config.url, **endpoint_config.kwargs)

    def issue_ticket(self, conversation_id: str, lock_lifetime: float = LOCK_LIFETIME) -> int:
        def issue(lock: TicketLock | None) -> TicketLock:
            lock = lock or TicketLock(conversation_id)
            lock.issue_ticket(lock_lifetime)
            return lock

        try:
            issued = self._change(conversation_id, issue)
        except Exception as error:  # as Rasa's: the message then fails, and nothing else
            raise LockError(f"Error while acquiring lock. Error:\n{error}") from error
        assert issued is not None  # ``issue`` always returns a lock
        return issued.last_issued  # the ticket this change added, as written

    def update_lock(self, conversation_id: str) -> None:
        def expire(lock: TicketLock | None) -> TicketLock | None:
            if lock is not None:
                lock.remove_expired_tickets()
            return lock

        self._change(conversation_id, expire)

    def cleanup(self, conversation_id: str, ticket_number: int) -> None:
        """Give back ``ticket_number``; the lock goes once no ticket is left (Rasa's rule), in
        the same transaction, so a ticket issued meanwhile is never deleted with it."""

        def finish(lock: TicketLock | None) -> TicketLock | None:
            if lock is None:
                return None
            lock.remove_ticket_for(ticket_number)
            return lock if lock.is_someone_waiting() else None

        self._change(conversation_id, finish)

    def _change(
        self, conversation_id: str, change: Callable[[TicketLock | None], TicketLock | None]
    ) -> TicketLock | None:
        """Read the lock, apply ``change`` and write the result (None: delete the lock) in one
        optimistic transaction, retried from the read when another client changed the key;
        returns the lock as written by the attempt that succeeded."""
        key = self.key_prefix + conversation_id

        def attempt(pipe: Any) -> TicketLock | None:
            stored = pipe.get(key)
            changed = change(TicketLock.from_dict(json.loads(stored)) if stored else None)
            pipe.multi()
            if changed is None:
                pipe.delete(key)
            else:
                pipe.set(key, changed.dumps())
            return changed

        return self.red.transaction(attempt, key, value_from_callable=True)
