"""Where the project's files are, and the one address its servers listen on.

Kept apart from the settings and from the server launcher so that anything that only needs a
path (the terminal chat, the demo page, the dashboard) can import it without pulling in either,
and without the two importing each other.
"""

from __future__ import annotations

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
"""The checkout the package is installed from (the project is always installed editable)."""

BOT_DIR = PROJECT_ROOT / "bot"
"""The Rasa project: domain, data, ``endpoints.yml``, ``credentials.yml`` and the actions."""
MODEL = PROJECT_ROOT / "models" / "dit-assistant.tar.gz"
"""The trained model that ``make train`` writes and every server loads."""

HOST = "127.0.0.1"
"""The loopback interface: every server that ``make run`` starts listens on it and nowhere else."""
