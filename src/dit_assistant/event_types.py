"""Rasa's event types looked up by name in a table, not by walking every class each time.

Whenever Rasa turns stored events back into objects (a conversation read from memory or a
database, several times a turn; the events in each reply of the action server) it calls
``Event.resolve_by_type`` for every event. In Rasa 3.6 that walks the whole tree of ``Event``
subclasses, checking each for abstract methods: about 30 microseconds an event, 4.3 ms for a
conversation of 150 events. In process (the in-memory store the bot-tier tests use) a turn late
in a conversation cost up to 8 ms more for this alone.

:func:`install` puts a table lookup in its place, built from the same walk in the same order
(the first class with a name wins, as in Rasa's loop). A name the table does not know goes to
Rasa's own lookup, which keeps Rasa's answers for unknown names (``None`` for the retired
``topic`` events, the default when one is given, ``ValueError`` otherwise); the table is then
built again, so an event class defined later is found from then on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from dit_assistant.rasa_patches import ClassPatch

if TYPE_CHECKING:
    from rasa.shared.core.events import Event

_table: dict[str, type[Event]] = {}


def event_types() -> dict[str, type[Event]]:
    """Each event type name and the class Rasa's own lookup returns for it."""
    from rasa.shared.core.events import Event
    from rasa.shared.utils.common import all_subclasses

    table: dict[str, type[Event]] = {}
    for cls in all_subclasses(Event):
        table.setdefault(cls.type_name, cls)
    return table


def table() -> dict[str, type[Event]]:
    """The table, built on first use (installed or not): the conversation store reads its rows
    with it too."""
    global _table
    if not _table:
        _table = event_types()
    return _table


def resolve_by_type(type_name: str, default: type[Event] | None = None) -> type[Event] | None:
    """``Event.resolve_by_type`` from the table: same arguments, same answers."""
    global _table
    found = table().get(type_name)
    if found is not None:
        return found
    answer = rasa_lookup()(type_name, default)
    _table = event_types()
    return answer


def _event() -> type:
    from rasa.shared.core.events import Event

    return Event


PATCH = ClassPatch(_event, "resolve_by_type", staticmethod(resolve_by_type))


def rasa_lookup() -> Callable[..., type[Event] | None]:
    """Rasa's own ``Event.resolve_by_type``, installed over or not."""
    return PATCH.original()


def install() -> None:
    """Look event types up in the table in this process (idempotent). The Rasa server calls
    it when its response generator (``dit_assistant.nlg``) is created."""
    table()
    PATCH.install()


uninstall = PATCH.uninstall
"""Rasa's own lookup back in place (for comparing the two)."""
