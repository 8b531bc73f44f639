"""A durable local spool for enquiries that could not reach the database.

A person who asked to be contacted must not be lost because the database was down for a
moment. Each enquiry becomes one file named after its reference, encrypted with the same keys
as the database columns, written to a temporary file, fsynced and atomically renamed (then the
directory is fsynced), so a crash leaves either a whole file or none. ``replay_spool`` in
``store/enquiries.py`` moves the files into the database and deletes each only after its commit.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from dit_assistant.settings import Settings, get_settings
from dit_assistant.store.crypto import EnquiryCipher, load_cipher

logger = logging.getLogger(__name__)

SUFFIX = ".enquiry"
STALE_TEMP_S = 3600
"""Temporary files older than this were left by a crash before their rename: never spooled."""


class Spool:
    """One directory of encrypted enquiry files."""

    def __init__(self, directory: Path, cipher: EnquiryCipher) -> None:
        self.directory = directory
        self.cipher = cipher

    def path_for(self, reference: str) -> Path:
        return self.directory / f"{reference}{SUFFIX}"

    def write(self, reference: str, record: dict[str, Any]) -> Path:
        """Store ``record`` durably; raises ``FileExistsError`` if ``reference`` is spooled."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        final = self.path_for(reference)
        if final.exists():
            raise FileExistsError(final.name)
        token = self.cipher.encrypt_bytes(json.dumps(record, sort_keys=True).encode("utf-8"))
        self._write_atomically(final, token)
        return final

    def _write_atomically(self, final: Path, data: bytes) -> None:
        descriptor, temporary = tempfile.mkstemp(
            dir=self.directory, prefix=f".{final.stem}.", suffix=".tmp"
        )
        try:
            with os.fdopen(descriptor, "wb") as handle:
                handle.write(data)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, final)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
        self._sync_directory()

    def _sync_directory(self) -> None:
        """Make the rename or unlink itself durable, not only the file's contents."""
        descriptor = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(descriptor)
        finally:
            os.close(descriptor)

    def pending(self) -> list[Path]:
        """Spooled files, oldest first."""
        if not self.directory.is_dir():
            return []
        files = [p for p in self.directory.glob(f"*{SUFFIX}") if not p.name.startswith(".")]
        return sorted(files, key=lambda p: (p.stat().st_mtime, p.name))

    def has_pending(self) -> bool:
        return bool(self.pending())

    def read(self, path: Path) -> dict[str, Any]:
        """The record in ``path``; raises ``InvalidToken`` if no configured key can read it."""
        return json.loads(self.cipher.decrypt_bytes(path.read_bytes()).decode("utf-8"))

    def remove(self, path: Path) -> None:
        """Delete a spooled file once its enquiry is committed (another process may have)."""
        path.unlink(missing_ok=True)
        self._sync_directory()

    def remove_stale_temporaries(self, now: float | None = None) -> int:
        if not self.directory.is_dir():
            return 0
        now = time.time() if now is None else now
        removed = 0
        for path in self.directory.glob(".*.tmp"):
            if now - path.stat().st_mtime > STALE_TEMP_S:
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def rotate(self) -> int:
        """Re-encrypt every spooled file with the newest key (part of ``rotate-keys``)."""
        rotated = 0
        for path in self.pending():
            self._write_atomically(path, self.cipher.rotate_bytes(path.read_bytes()))
            rotated += 1
        return rotated


def default_spool(settings: Settings | None = None) -> Spool:
    """The spool in the configured directory (``ENQUIRY_SPOOL_DIR``, default ``var/spool``)."""
    settings = settings or get_settings()
    return Spool(settings.spool_dir, load_cipher(settings))
