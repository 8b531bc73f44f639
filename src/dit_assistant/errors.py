"""The error a bad configuration raises, in a module of its own.

Both the settings and the helpline presets in :mod:`dit_assistant.safety` refuse a bad value
with it, and the safety package must stay importable without the settings; one shared class lets
callers catch every configuration problem with one ``except``.
"""

from __future__ import annotations


class ConfigurationError(RuntimeError):
    """Raised at start-up when the configuration cannot describe a usable clinic."""
