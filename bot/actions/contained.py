"""Actions that contain their own failures.

An exception that leaves an action reaches the action server's error handler and then the Rasa
server, which answers the person with nothing and logs what it was handling; with a tracker in
hand that can be personal data. :func:`contained` wraps an action's ``run`` so that any
exception is logged by its type and the action's name only, the person gets an apology with the
clinic's phone and email, and a form does not take the answer it was checking.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from rasa_sdk import Action, Tracker
from rasa_sdk.events import SlotSet
from rasa_sdk.executor import CollectingDispatcher

from dit_assistant.settings import get_settings

logger = logging.getLogger(__name__)

ActionClass = TypeVar("ActionClass", bound=type[Action])


def apology() -> str:
    clinic = get_settings().clinic
    return (
        "Sorry, something went wrong on my side. Please try again, or contact the team: "
        f"call {clinic.phone} or email {clinic.email}."
    )


def _failed(action: Action, error: Exception, dispatcher: Any, tracker: Tracker) -> list[Any]:
    logger.error("action %s failed: %s", action.name(), type(error).__name__)
    dispatcher.utter_message(text=apology())
    requested = tracker.get_slot("requested_slot")
    return [SlotSet(requested, None)] if tracker.active_loop and requested else []


def contained(cls: ActionClass) -> ActionClass:
    """Class decorator: ``cls.run`` never raises (see the module docstring).

    A synchronous ``run`` stays synchronous and an asynchronous one asynchronous, as rasa-sdk
    and the unit tests call them.
    """
    original: Callable[..., Any] = cls.run

    if inspect.iscoroutinefunction(original):

        @wraps(original)
        async def run_async(
            self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
        ) -> list[Any]:
            try:
                return list(await original(self, dispatcher, tracker, domain) or [])
            except Exception as error:  # noqa: BLE001 - logged without content, person answered
                return _failed(self, error, dispatcher, tracker)

        cls.run = run_async
    else:

        @wraps(original)
        def run(
            self: Action, dispatcher: CollectingDispatcher, tracker: Tracker, domain: Any
        ) -> list[Any]:
            try:
                return list(original(self, dispatcher, tracker, domain) or [])
            except Exception as error:  # noqa: BLE001 - logged without content, person answered
                return _failed(self, error, dispatcher, tracker)

        cls.run = run
    cls.contained = True
    return cls
