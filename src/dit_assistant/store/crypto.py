"""Encryption of personal data at rest, and the development fallbacks for secrets.

Names, contact details, free text and staff notes are stored (in the database and in the spool)
only as Fernet tokens. ``ENQUIRY_KEYS`` lists the keys newest first: the newest encrypts, all of
them decrypt, which is what lets keys be rotated without downtime (``dit-staff rotate-keys``
re-encrypts everything with the newest key; the old key can then be removed).

In development, where nobody should have to invent a key to try the assistant, a key is
generated once into ``DEV_ENQUIRY_KEY_FILE`` (by default ``~/.config/dit-assistant/``, never
beside the database in ``var/``: a copy of ``var/`` alone must not be readable) and a warning
says so; production refuses to start without keys (``settings.load_settings`` raises
``ConfigurationError``). A development key left in ``var/enquiry.key`` by an older version still
decrypts what it encrypted, after the new key, until ``dit-staff rotate-keys`` has moved
everything to the new key and the old file is deleted.
"""

from __future__ import annotations

import logging
import os
import secrets
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from dit_assistant.settings import ConfigurationError, Settings, get_settings, parse_fernet_keys

logger = logging.getLogger(__name__)

LEGACY_DEV_KEY_FILE = "enquiry.key"
"""The development key's old place, in ``var/`` beside the database: read, never created."""
DEV_SECRET_FILE = "dashboard-secret"

__all__ = ["EnquiryCipher", "InvalidToken", "generate_key", "load_cipher", "secret_from_file"]


def generate_key() -> str:
    """A new random Fernet key, as text for ``ENQUIRY_KEYS``."""
    return Fernet.generate_key().decode("ascii")


class EnquiryCipher:
    """Encrypts with the newest key; decrypts with any configured key."""

    def __init__(self, keys: tuple[str, ...]) -> None:
        if not keys:
            raise ConfigurationError("no encryption key configured")
        self.key_count = len(keys)
        self._fernet = MultiFernet([Fernet(key.encode("ascii")) for key in keys])

    def encrypt(self, text: str) -> str:
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def encrypt_optional(self, text: str | None) -> str | None:
        return None if text is None else self.encrypt(text)

    def decrypt(self, token: str) -> str:
        """Plain text of ``token``; raises ``InvalidToken`` when no configured key fits."""
        return self._fernet.decrypt(token.encode("ascii")).decode("utf-8")

    def decrypt_optional(self, token: str | None) -> str | None:
        return None if token is None else self.decrypt(token)

    def encrypt_bytes(self, data: bytes) -> bytes:
        return self._fernet.encrypt(data)

    def decrypt_bytes(self, token: bytes) -> bytes:
        return self._fernet.decrypt(token)

    def rotate(self, token: str) -> str:
        """The same plain text, encrypted again with the newest key."""
        return self._fernet.rotate(token.encode("ascii")).decode("ascii")

    def rotate_bytes(self, token: bytes) -> bytes:
        return self._fernet.rotate(token)


def secret_from_file(path: Path, make: Callable[[], str], what: str) -> str:
    """Read a development secret from ``path``, creating it (mode 0600) on first use.

    Creation is exclusive, so processes starting together (action server, dashboard, CLI)
    agree on one secret instead of overwriting each other's. A directory it has to create is
    readable by this user only.
    """
    try:
        existing = path.read_text("ascii").strip()
    except FileNotFoundError:
        existing = ""
    if existing:
        return existing
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _written_by_another(path)
    with os.fdopen(descriptor, "w", encoding="ascii") as handle:
        handle.write(make() + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    logger.warning(
        "generated a development %s in %s: set it in the environment for production", what, path
    )
    return path.read_text("ascii").strip()


def _written_by_another(path: Path, wait_s: float = 2.0) -> str:
    """The secret another process has just created, once it has finished writing it."""
    deadline = time.monotonic() + wait_s
    while not (text := path.read_text("ascii").strip()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return text


@lru_cache(maxsize=8)
def _cipher(keys: tuple[str, ...]) -> EnquiryCipher:
    return EnquiryCipher(keys)


def development_keys(settings: Settings) -> tuple[tuple[str, ...], Path | None]:
    """The development keys, newest first, and the legacy ``var/`` key file if one was found.

    The key in ``settings.dev_key_file`` is created (mode 0600) on first use and encrypts; a key
    an older version generated into ``var/`` is kept after it, so what it encrypted stays
    readable until ``dit-staff rotate-keys`` re-encrypts it with the new key.
    """
    keys = parse_fernet_keys(
        secret_from_file(settings.dev_key_file, generate_key, "enquiry encryption key")
    )
    legacy = settings.var_dir / LEGACY_DEV_KEY_FILE
    try:
        legacy_text = legacy.read_text("ascii").strip()
    except (FileNotFoundError, NotADirectoryError):
        return keys, None
    legacy_keys = tuple(key for key in parse_fernet_keys(legacy_text) if key not in keys)
    return (*keys, *legacy_keys), legacy if legacy_keys else None


def load_cipher(settings: Settings | None = None) -> EnquiryCipher:
    """The cipher for the configured keys, or the development key (with a warning)."""
    settings = settings or get_settings()
    keys = settings.enquiry_keys
    if not keys:
        if settings.production:
            raise ConfigurationError("DIT_ENV=production needs ENQUIRY_KEYS")
        keys, legacy = development_keys(settings)
        _warn_development_key_once(str(settings.dev_key_file), str(legacy) if legacy else "")
    return _cipher(keys)


@lru_cache(maxsize=4)
def _warn_development_key_once(path: str, legacy: str) -> None:
    """One line per process and key file: loud, and without any key material."""
    also = (
        f"; the older development key in {legacy} (beside the database) still decrypts what it "
        "encrypted: run `dit-staff rotate-keys`, then delete that file"
        if legacy
        else ""
    )
    logger.warning(
        "DEVELOPMENT KEY: ENQUIRY_KEYS is not set, so personal data is encrypted with the "
        "development key in %s%s. Never use it for real enquiries: production needs ENQUIRY_KEYS.",
        path,
        also,
    )


def dashboard_secret(settings: Settings | None = None) -> str:
    """The key that signs dashboard sessions and CSRF tokens."""
    settings = settings or get_settings()
    if settings.dashboard_secret_key:
        return settings.dashboard_secret_key
    if settings.production:
        raise ConfigurationError(
            "DIT_ENV=production needs DASHBOARD_SECRET_KEY (a long random string) for the "
            "staff dashboard's sessions"
        )
    return secret_from_file(
        settings.var_dir / DEV_SECRET_FILE, lambda: secrets.token_urlsafe(48), "dashboard secret"
    )
