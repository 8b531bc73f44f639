"""When each file the safety pack covers last changed, from git; "not in git" without a repository.

A clinic may run the assistant from an exported copy with no repository: the pack then says so
for each file instead of failing.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

NOT_IN_GIT = "not in git"
NOT_COMMITTED = "not committed yet"


@dataclass(frozen=True)
class FileHistory:
    path: str
    """As shown in the pack: relative to the checkout where it lies inside it."""
    last_changed: str
    """The date of the last commit that changed it (YYYY-MM-DD), ``NOT_COMMITTED`` for a file
    git does not track yet, or ``NOT_IN_GIT`` without a repository."""
    modified: bool = False
    """Changed since that commit and not committed yet."""


class History:
    """No repository: nothing is known about commits."""

    def head(self) -> str | None:
        return None

    def file(self, path: Path) -> FileHistory:
        return FileHistory(str(path), NOT_IN_GIT)

    def commits_since(self, commit: str, paths: Sequence[str]) -> int | None:
        """How many commits after ``commit`` changed any of ``paths``; None when unknown."""
        return None


class GitHistory(History):
    """Reads the history of the repository ``root`` lies in with the ``git`` command."""

    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _git(self, *args: str) -> str | None:
        try:
            done = subprocess.run(
                ["git", "-C", str(self.root), *args],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return None
        return done.stdout.strip() if done.returncode == 0 else None

    def head(self) -> str | None:
        return self._git("rev-parse", "HEAD") or None

    def _relative(self, path: Path) -> str | None:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return None

    def file(self, path: Path) -> FileHistory:
        relative = self._relative(path)
        if relative is None:
            return FileHistory(str(path), NOT_IN_GIT)
        date = self._git("log", "-1", "--format=%cs", "--", relative)
        if not date:
            return FileHistory(relative, NOT_COMMITTED)
        status = self._git("status", "--porcelain", "--", relative)
        return FileHistory(relative, date, modified=bool(status))

    def commits_since(self, commit: str, paths: Sequence[str]) -> int | None:
        if self._git("cat-file", "-e", f"{commit}^{{commit}}") is None:
            return None
        count = self._git("rev-list", "--count", f"{commit}..HEAD", "--", *paths)
        return int(count) if count and count.isdigit() else None


def history_for(root: Path) -> History:
    """Git's history where ``root`` is a git checkout and git is installed; otherwise none."""
    if shutil.which("git") and (root / ".git").exists():
        return GitHistory(root)
    return History()
