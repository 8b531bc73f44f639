"""What several Rasa replicas share when ``REDIS_URL`` is set: one Redis server for Rasa's own
lock store and for the message gate's rate limits and delivery ids.

**The lock.** Rasa handles one conversation's messages one at a time through its lock store
(``lock_store`` in the endpoints file): a ticket per message, served in order. Without
``REDIS_URL`` the lock is Rasa's in-memory one, which holds within one process only. With it,
:func:`lock_store_endpoint` adds Rasa's ``RedisLockStore`` (``type: redis``) to the endpoints
file the Rasa server reads (``serve.runtime_endpoints``), so the tickets live in Redis.

Rasa's open-source Redis lock is not atomic across processes: issuing a ticket reads the lock
and writes it back as two commands, so two replicas issuing a ticket for one conversation at the
same instant can both get the same one. Within one process it is safe (the event loop does not
switch between the two commands). So the load balancer must send one conversation to one
replica (sticky sessions by sender); the Redis lock then covers what stickiness cannot: a
replica that restarts or is removed, and requests that arrive while the routing changes.

**The password** is never written to the endpoints file: the file names environment variables
(``${DIT_REDIS_PASSWORD}``, which Rasa fills in when it reads the file), and
``dit_assistant.rasa_cli`` sets them from ``REDIS_URL`` in the Rasa server's own environment.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote, urlsplit

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
        "type": "redis",
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
