"""What the assistant's forms share: the classifier's verdict, questions asked instead of an
answer, and validators that rasa-sdk can find.

Both forms, the enquiry (:mod:`.intake`) and the "Is DIT right for me?" check
(:mod:`.fit_check`), ask one question at a time, and a person may reply with a question about
DIT instead of an answer. Each form answers that question and then asks its own again. So both
forms must decide in the same way how sure the classifier has to be, and which replies answer
such a question.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from typing import Any, Protocol, TypeVar

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

# Below this confidence a message is taken as an answer, not as a question about DIT.
INTERRUPTION_CONFIDENCE = 0.5


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
    """The latest message's intent and the classifier's confidence in it (0 when unknown)."""
    intent = tracker.latest_message.get("intent") or {}
    return intent.get("name"), float(intent.get("confidence") or 0.0)


def interruption_response(tracker: Tracker, domain: DomainDict) -> str | None:
    """The answer to a question asked instead of answering the form, if it was one."""
    name, confidence = latest_intent(tracker)
    if not name or confidence < INTERRUPTION_CONFIDENCE:
        return None
    if name.startswith("ask_") and f"utter_{name}" in domain.get("responses", {}):
        return f"utter_{name}"
    return {
        "bot_challenge": "utter_iamabot",
        "request_human": "utter_intake_contact_directly",
    }.get(name)


def already_accepted(value: Any, tracker: Tracker) -> bool:
    """True for a value validated earlier (the form re-validates filled slots when it resumes).

    A fresh answer is the text of the latest message; an accepted one has been normalised
    (True, an E.164 number, a timestamp) or was typed in an earlier turn.
    """
    if value is None:
        return False
    return str(value) != (tracker.latest_message.get("text") or "")


class AnswerChecker(Protocol):
    """A form validation action that checks every slot's answer in one method."""

    async def check_answer(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]: ...


Validator = Callable[
    [Any, Any, CollectingDispatcher, Tracker, DomainDict], Awaitable[dict[str, Any]]
]
FormClass = TypeVar("FormClass", bound=type)


def validates(slots: Iterable[str]) -> Callable[[FormClass], FormClass]:
    """Class decorator: a ``validate_<slot>`` method for each slot, handing it to ``check_answer``.

    rasa-sdk's ``FormValidationAction`` finds a slot's validator by that name only, so each form
    keeps its checks in one method, and the names come from the form's list of slots.
    """
    names = tuple(slots)

    def add_validators(cls: FormClass) -> FormClass:
        for slot in names:
            setattr(cls, f"validate_{slot}", _validator(slot))
        return cls

    return add_validators


def _validator(slot: str) -> Validator:
    """The ``validate_<slot>`` method: ``check_answer`` for this one slot."""

    async def validate(
        self: AnswerChecker,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        return await self.check_answer(slot, value, dispatcher, tracker, domain)

    validate.__name__ = validate.__qualname__ = f"validate_{slot}"
    return validate
