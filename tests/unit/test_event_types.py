"""The table lookup of Rasa's event types answers exactly as Rasa's own walk of the classes."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rasa.shared.core.events import (
    ActionExecuted,
    Event,
    SlotSet,
    UserUttered,
    deserialise_events,
)
from rasa.shared.utils.common import all_subclasses

from dit_assistant import event_types


@pytest.fixture()
def installed() -> Iterator[None]:
    was_installed = event_types.PATCH.installed
    event_types.install()
    yield
    if not was_installed:
        event_types.uninstall()


def _rasa_answer(type_name: str, default: type[Event] | None = None) -> object:
    lookup = event_types.rasa_lookup()
    try:
        return lookup(type_name, default)
    except ValueError as error:
        return ("ValueError", str(error))


def _our_answer(type_name: str, default: type[Event] | None = None) -> object:
    try:
        return Event.resolve_by_type(type_name, default)
    except ValueError as error:
        return ("ValueError", str(error))


NAMES = sorted({cls.type_name for cls in all_subclasses(Event)})


def test_every_name_gives_the_class_rasa_gives(installed: None) -> None:
    assert Event.resolve_by_type is event_types.resolve_by_type
    assert len(NAMES) >= 20
    for name in NAMES:
        assert _our_answer(name) is _rasa_answer(name), name


@pytest.mark.parametrize("name", ["topic", "no_such_event", ""])
def test_unknown_names_get_rasas_answers(installed: None, name: str) -> None:
    assert _our_answer(name) == _rasa_answer(name)
    assert _our_answer(name, SlotSet) == _rasa_answer(name, SlotSet)


def test_stored_events_come_back_the_same(installed: None) -> None:
    stored = [
        UserUttered("hi", {"name": "greet", "confidence": 1.0}).as_dict(),
        ActionExecuted("utter_greet").as_dict(),
        SlotSet("name", "Sam").as_dict(),
    ]
    ours = deserialise_events(stored)
    event_types.uninstall()
    try:
        rasas = deserialise_events(stored)
    finally:
        event_types.install()
    assert ours == rasas
    assert [type(event) for event in ours] == [UserUttered, ActionExecuted, SlotSet]


def test_an_event_class_defined_later_is_found(installed: None) -> None:
    class LateEvent(SlotSet):
        type_name = "late_event_for_a_test"

    assert Event.resolve_by_type("late_event_for_a_test") is LateEvent
    assert event_types._table["late_event_for_a_test"] is LateEvent


def test_install_is_idempotent_and_uninstall_restores_rasas_lookup() -> None:
    was_installed = event_types.PATCH.installed
    event_types.install()
    event_types.install()
    assert Event.resolve_by_type is event_types.resolve_by_type
    event_types.uninstall()
    assert Event.resolve_by_type is not event_types.resolve_by_type
    assert Event.resolve_by_type("slot") is SlotSet
    if was_installed:
        event_types.install()
