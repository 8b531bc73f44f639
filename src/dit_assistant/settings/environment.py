"""Turning the text of environment variables into checked values.

Every value a clinic sets in ``.env`` is text; each parser here either returns a value of the
right type or raises :class:`ConfigurationError` naming the variable, so a typo stops start-up
with a clear message instead of surfacing later as a crash or a silent default. Secrets (keys,
tokens, URLs that may hold a password) are never repeated in those messages.
"""

from __future__ import annotations

import base64
import ipaddress
from typing import Any, TypeAlias
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dit_assistant.errors import ConfigurationError

IPNetwork: TypeAlias = ipaddress.IPv4Network | ipaddress.IPv6Network

MAX_PORT = 65535
MIN_REST_TOKEN_CHARS = 32
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")
REDIS_SCHEMES = ("redis", "rediss")


def parse_port(raw: Any, name: str) -> int:
    """A TCP port number, 1 to 65535: the one check for every port the servers listen on or
    connect to, so they all accept and refuse the same values."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_PORT:
        raise ConfigurationError(
            f"{name} must be a port number between 1 and {MAX_PORT}, not {str(raw).strip()!r}"
        )
    return value


def parse_positive_int(raw: Any, name: str, maximum: int | None = None) -> int:
    """A whole number from 1 up to ``maximum`` (no upper limit when it is None)."""
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise ConfigurationError(f"{name} must be a whole number, not {raw!r}") from None
    if value < 1 or (maximum is not None and value > maximum):
        raise ConfigurationError(f"{name} must be between 1 and {maximum or 'any'}, not {value}")
    return value


def parse_flag(raw: str, name: str) -> bool:
    """A yes/no value, in any of the spellings people write in ``.env`` files."""
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off"):
        return False
    raise ConfigurationError(f"{name} must be true or false, not {raw!r}")


def parse_origins(raw: str) -> tuple[str, ...]:
    """``WIDGET_ORIGINS``: comma-separated ``scheme://host[:port]``, as browsers send them."""
    origins = []
    for part in (p.strip().rstrip("/") for p in raw.split(",")):
        if not part:
            continue
        parts = urlsplit(part)
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
            raise ConfigurationError(
                f"WIDGET_ORIGINS entries look like https://www.example-clinic.org, not {part!r}"
            )
        origins.append(part)
    return tuple(origins)


def parse_networks(raw: str) -> tuple[IPNetwork, ...]:
    """``TRUSTED_PROXIES``: comma-separated addresses or networks (``10.0.0.5``, ``10.0.0.0/24``,
    ``::1``)."""
    networks = []
    for part in (p.strip() for p in raw.split(",")):
        if not part:
            continue
        try:
            networks.append(ipaddress.ip_network(part, strict=False))
        except ValueError:
            raise ConfigurationError(
                "TRUSTED_PROXIES entries are addresses or networks such as 10.0.0.5 or "
                f"10.0.0.0/24, not {part!r}"
            ) from None
    return tuple(networks)


def parse_http_url(raw: str, name: str) -> str:
    """An http(s) URL, or empty when unset."""
    value = raw.strip()
    if value and (urlsplit(value).scheme not in ("http", "https") or not urlsplit(value).netloc):
        raise ConfigurationError(f"{name} must be an http(s) URL")  # the URL may hold a secret
    return value


def parse_rest_token(raw: str) -> str:
    """``REST_TOKEN``: long enough that it cannot be guessed (``openssl rand -hex 32``)."""
    token = raw.strip()
    if token and len(token) < MIN_REST_TOKEN_CHARS:
        raise ConfigurationError(
            f"REST_TOKEN must be at least {MIN_REST_TOKEN_CHARS} characters "
            "(make one with: openssl rand -hex 32)"
        )
    return token


def parse_log_level(raw: str) -> str:
    """``LOG_LEVEL``: one of Python's level names, in capitals."""
    level = raw.strip().upper()
    if level not in LOG_LEVELS:
        raise ConfigurationError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, not {raw!r}")
    return level


def parse_redis_url(raw: str) -> str:
    """``REDIS_URL``: ``redis://[[user]:password@]host[:port][/db]`` (``rediss://`` for TLS)."""
    url = raw.strip()
    if not url:
        return ""
    # The URL itself is never repeated: it may hold a password.
    problem = "REDIS_URL must look like redis://[:password@]host:6379/0 (rediss:// for TLS)"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ConfigurationError(problem) from None
    database = parts.path.strip("/")
    if (
        parts.scheme not in REDIS_SCHEMES
        or not parts.hostname
        or (database and not database.isdigit())
        or parts.query
        or port == 0
    ):
        raise ConfigurationError(problem)
    return url


def parse_timezone(raw: str) -> str:
    """An IANA time zone name that this machine's time zone database knows."""
    name = raw.strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"timezone must be an IANA time zone such as Europe/London, not {raw!r}"
        ) from None
    return name


def parse_hour(raw: str, name: str) -> int:
    """An hour of the day, 0 to 23."""
    if not raw.isdigit() or not 0 <= int(raw) <= 23:
        raise ConfigurationError(f"{name} must be an hour from 0 to 23, not {raw!r}")
    return int(raw)


def parse_fernet_keys(raw: str) -> tuple[str, ...]:
    """Split and check ``ENQUIRY_KEYS`` without ever putting a key into an error message."""
    keys = tuple(part.strip() for part in raw.split(",") if part.strip())
    for position, key in enumerate(keys, start=1):
        try:
            valid = len(base64.urlsafe_b64decode(key.encode("ascii"))) == 32
        except (ValueError, UnicodeEncodeError):
            valid = False
        if not valid:
            raise ConfigurationError(
                f"ENQUIRY_KEYS: key number {position} is not a Fernet key (32 url-safe "
                "base64-encoded bytes); make one with `dit-staff generate-key`"
            )
    return keys
