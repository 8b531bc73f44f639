"""The store's way to wake the background notifier, without either importing the other.

``submit_enquiry`` calls ``notify_soon`` after its commit; ``start_notifier`` registers the
running notifier here. In a process without one (the command line, tests) it does nothing: the
notices stay pending in the database until a notifier or ``dit-staff notify --retry`` sends them.
"""

from __future__ import annotations

from collections.abc import Callable

_wake: Callable[[], None] | None = None


def register(wake: Callable[[], None] | None) -> None:
    global _wake
    _wake = wake


def notify_soon() -> None:
    """Send the notices just committed, in the background. Never blocks, never raises."""
    wake = _wake
    if wake is not None:
        wake()
