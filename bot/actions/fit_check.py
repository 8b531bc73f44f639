"""The optional "Is DIT right for me?" check: three questions, then who to talk to.

The result is a suggestion, never a verdict: "worth talking to us about" when every answer fits
what the DIT facts sheet describes, otherwise "worth talking to our team or your GP first". The
answers only live in the conversation's slots and are cleared when the check ends.
"""

from __future__ import annotations

from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from dit_assistant.contact_details import clean_text, is_skip

from .contained import contained
from .forms import (
    INTERRUPTION_CONFIDENCE,
    already_accepted,
    interruption_response,
    latest_intent,
    validates,
)

FIT_SLOTS = ("fit_focus", "fit_weekly", "fit_specialist")
YES, NO, UNSURE = "yes", "no", "unsure"
_UNSURE_WORDS = ("not sure", "unsure", "dont know", "don't know", "maybe", "no idea", "idk")


def read_answer(text: Any, intent: str | None) -> str | None:
    """'yes' / 'no' / 'unsure' from a reply, or None when it is none of them."""
    words = clean_text(str(text or "")).lower().strip(" .!")
    if is_skip(words) and words not in ("no", "nope"):
        return UNSURE
    if any(cue in words for cue in _UNSURE_WORDS):
        return UNSURE
    if intent == "affirm" or words in ("yes", "y", "yeah", "yep", "mostly", "i think so"):
        return YES
    if intent == "deny" or words in ("no", "n", "nope", "nah", "not really"):
        return NO
    return None


def suggestion(focus: str | None, weekly: str | None, specialist: str | None) -> str:
    """Which closing response fits the answers: only a clear match says "worth talking to us"."""
    if (focus, weekly, specialist) == (YES, YES, NO):
        return "utter_fit_check_worth_talking"
    return "utter_fit_check_talk_first"


def forget_answers() -> list[EventType]:
    """Clears the answers: they are kept only while the check runs."""
    return [SlotSet(slot, None) for slot in FIT_SLOTS] + [SlotSet("requested_slot", None)]


@contained
@validates(FIT_SLOTS)
class ValidateFitCheckForm(FormValidationAction):
    """Reads each answer; answers a question about DIT asked instead, then asks again.

    Every question takes the same kind of reply, so one method checks them all.
    """

    def name(self) -> str:
        return "validate_fit_check_form"

    async def check_answer(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {slot: value}
        intent, confidence = latest_intent(tracker)
        answer = read_answer(value, intent if confidence >= INTERRUPTION_CONFIDENCE else None)
        if answer is not None:
            return {slot: answer}
        response = interruption_response(tracker, domain)
        dispatcher.utter_message(response=response or "utter_fit_check_unclear")
        return {slot: None}


@contained
class ActionFitCheckResult(Action):
    """Suggests who to talk to, then forgets the answers."""

    def name(self) -> str:
        return "action_fit_check_result"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        answers = [tracker.get_slot(slot) for slot in FIT_SLOTS]
        if all(answer is not None for answer in answers):
            dispatcher.utter_message(response=suggestion(*answers))
        return forget_answers()


@contained
class ActionCancelFitCheck(Action):
    """Ends the check without a suggestion and forgets the answers."""

    def name(self) -> str:
        return "action_cancel_fit_check"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [ActiveLoop(None), *forget_answers()]
