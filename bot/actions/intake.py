"""The enquiry form: checks each answer, answers questions asked mid-form, and saves the enquiry.

The form (``intake_form`` in domain.yml) takes every answer as text; this module decides what it
means. Risk messages and "cancel" never reach it: rules in ``bot/data/rules/intake.yml`` handle
them, keeping what was already given (crisis) or forgetting it (cancel).

Nothing personal is logged: log lines carry the enquiry reference at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable
from datetime import datetime, timezone
from typing import Any

from rasa_sdk import Action, FormValidationAction, Tracker
from rasa_sdk.events import ActiveLoop, EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from dit_assistant.contact_details import (
    MAX_HELP_TEXT,
    MAX_SHORT_TEXT,
    can_receive_texts,
    is_skip,
    normalise_email,
    normalise_free_text,
    normalise_name,
    normalise_phone,
    parse_contact_method,
)
from dit_assistant.enquiry_form import FORM_SLOTS
from dit_assistant.settings import get_settings
from dit_assistant.store import EnquiryDraft
from dit_assistant.store.enquiries import (
    new_record,
    replay_opportunistically,
    spool_record,
    store_record,
)

from .contained import contained
from .database import DatabaseUnavailable, in_thread, store
from .safety import record_route

logger = logging.getLogger(__name__)

# Fields a person can correct at the summary, in the order they are shown.
EDITABLE_FIELDS = {
    "intake_name": "Name",
    "intake_contact_method": "How to contact me",
    "intake_contact_detail": "Contact detail",
    "intake_best_times": "Best times",
    "intake_help_with": "What I'd like help with",
}
METHOD_LABELS = {"phone": "phone call", "email": "email", "text": "text message"}
NO_ANSWER = ""  # stored for the optional question when someone skips it
MAX_FAILURES = 3
# Below this confidence a message is taken as an answer, not as a question about DIT.
INTERRUPTION_CONFIDENCE = 0.5
_YES_WORDS = frozenset({"yes", "y", "yeah", "yep", "yup", "ok", "okay", "sure", "correct", "i am"})
_NO_WORDS = frozenset({"no", "n", "nope", "nah", "not yet", "i'm not", "im not"})


def forgotten() -> dict[str, Any]:
    """Slot values that clear everything the form was told."""
    return {
        **dict.fromkeys(FORM_SLOTS),
        "intake_field": None,
        "intake_failures": 0,
        "requested_slot": None,
    }


def forget_enquiry() -> list[EventType]:
    """The same, as events for an action's return value."""
    return [SlotSet(slot, value) for slot, value in forgotten().items()]


def latest_intent(tracker: Tracker) -> tuple[str | None, float]:
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


def route_response(tracker: Tracker, domain: DomainDict) -> str | None:
    """The reply for a person DIT may not suit first (``route_*`` intents), if it is one.

    Used where describing such a difficulty is itself the answer ("what would you like help
    with?"): the person still gets the route's reply and its specialist services.
    """
    name, confidence = latest_intent(tracker)
    if not name or confidence < INTERRUPTION_CONFIDENCE or not name.startswith("route_"):
        return None
    response = f"utter_{name}"
    return response if response in domain.get("responses", {}) else None


# Openings of a question. "when" is left out: "when I'm off work" answers "when can we call?".
_QUESTION_OPENINGS = frozenset(
    {
        "what",
        "whats",
        "what's",
        "how",
        "hows",
        "how's",
        "is",
        "are",
        "am",
        "can",
        "could",
        "do",
        "does",
        "did",
        "will",
        "would",
        "should",
        "who",
        "why",
        "where",
        "which",
    }
)


def reads_as_question(text: Any) -> bool:
    """True for a message written as a question: a question mark, or a question's first word.

    At a free-text question ("when is a good time to contact you?") an answer such as "weekday
    evenings" can look like a DIT topic to the classifier ("how often are sessions"); only a
    message that reads as a question is answered as one there.
    """
    words = str(text or "").strip().lower()
    if "?" in words:
        return True
    first = words.split(maxsplit=1)[0] if words else ""
    return first.strip(",.!") in _QUESTION_OPENINGS


def already_accepted(value: Any, tracker: Tracker) -> bool:
    """True for a value validated earlier (the form re-validates filled slots when it resumes).

    A fresh answer is the text of the latest message; an accepted one has been normalised
    (True, an E.164 number, a timestamp) or was typed in an earlier turn.
    """
    if value is None:
        return False
    return str(value) != (tracker.latest_message.get("text") or "")


def _yes_or_no(tracker: Tracker, value: Any) -> bool | None:
    name, confidence = latest_intent(tracker)
    if name == "under_18" or (name == "deny" and confidence >= INTERRUPTION_CONFIDENCE):
        return False
    if name == "affirm" and confidence >= INTERRUPTION_CONFIDENCE:
        return True
    words = str(value or "").strip(" .!").lower()
    if words in _YES_WORDS:
        return True
    if words in _NO_WORDS:
        return False
    return None


@contained
class ValidateIntakeForm(FormValidationAction):
    """Interprets each answer; an invalid one gets a specific re-prompt, never a dead end."""

    def name(self) -> str:
        return "validate_intake_form"

    async def required_slots(
        self,
        domain_slots: list[str],
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> list[str]:
        # A closed enquiry (under 18, consent refused) ends the form with nothing left to ask.
        return [] if tracker.get_slot("intake_closed") else domain_slots

    # ------------------------------------------------------------------ shared handling
    def _retry(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker, response: str
    ) -> dict[str, Any]:
        failures = int(tracker.get_slot("intake_failures") or 0) + 1
        dispatcher.utter_message(response=response)
        if failures >= MAX_FAILURES:
            dispatcher.utter_message(response="utter_intake_too_many_failures")
            failures = 0
        return {slot: None, "intake_failures": failures}

    def _accept(self, slot: str, value: Any) -> dict[str, Any]:
        return {slot: value, "intake_failures": 0}

    def _interrupted(
        self,
        slot: str,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
        free_text: bool = False,
    ) -> dict[str, Any] | None:
        """Handles a correction request or a question instead of an answer; None otherwise.

        ``free_text``: the question takes any words as its answer, so only a message that reads
        as a question is answered as one (see ``reads_as_question``); a correction request
        ("I need to change my email") is still honoured.
        """
        name, confidence = latest_intent(tracker)
        if name == "intake_change" and confidence >= INTERRUPTION_CONFIDENCE:
            return self._change_field(slot, dispatcher, tracker)
        if free_text and not reads_as_question(tracker.latest_message.get("text")):
            return None
        response = interruption_response(tracker, domain)
        if response is None:
            return None
        dispatcher.utter_message(response=response)
        return {slot: None}

    def _change_field(
        self, slot: str, dispatcher: CollectingDispatcher, tracker: Tracker
    ) -> dict[str, Any]:
        named = tracker.get_slot("intake_field")  # from a button; any other type is ignored
        text = tracker.latest_message.get("text")
        field = (named if isinstance(named, str) else None) or _field_named_in(
            text if isinstance(text, str) else ""
        )
        if field not in EDITABLE_FIELDS:
            dispatcher.utter_message(response="utter_intake_choose_field")
            return {slot: None, "intake_field": None, "intake_confirmed": None}
        changes: dict[str, Any] = {slot: None, field: None, "intake_field": None}
        if field == "intake_contact_method":
            changes["intake_contact_detail"] = None  # the detail must match the new method
        changes["intake_confirmed"] = None
        return changes

    # ------------------------------------------------------------------ one method per slot
    async def validate_intake_adult(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_adult": value}
        answer = _yes_or_no(tracker, value)
        if answer is True:
            return self._accept("intake_adult", True)
        if answer is False:
            dispatcher.utter_message(response="utter_intake_under_18")
            await record_route("under_18", tracker)
            return {**forgotten(), "intake_closed": True}
        interrupted = self._interrupted("intake_adult", dispatcher, tracker, domain)
        if interrupted is not None:
            return interrupted
        return self._retry("intake_adult", dispatcher, tracker, "utter_intake_invalid_yes_no")

    async def validate_intake_name(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_name": value}
        interrupted = self._interrupted("intake_name", dispatcher, tracker, domain)
        if interrupted is not None:
            return interrupted
        intent, confidence = latest_intent(tracker)
        if intent == "request_appointment" and confidence >= INTERRUPTION_CONFIDENCE:
            return {"intake_name": None}  # "I want to book" while booking: just ask again
        name = normalise_name(value)
        if name is None or "?" in name or len(name.split()) > 5:
            return self._retry("intake_name", dispatcher, tracker, "utter_intake_invalid_name")
        return self._accept("intake_name", name)

    async def validate_intake_contact_method(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_contact_method": value}
        method = parse_contact_method(value)
        if method is not None:
            return self._accept("intake_contact_method", method)
        interrupted = self._interrupted("intake_contact_method", dispatcher, tracker, domain)
        if interrupted is not None:
            return interrupted
        return self._retry(
            "intake_contact_method", dispatcher, tracker, "utter_intake_invalid_contact_method"
        )

    async def validate_intake_contact_detail(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_contact_detail": value}
        method = tracker.get_slot("intake_contact_method")
        if method == "email":
            detail = normalise_email(value)
            problem = "utter_intake_invalid_email"
        else:
            detail = normalise_phone(value, get_settings().helplines.country)
            problem = "utter_intake_invalid_phone"
            if detail is not None and method == "text" and not can_receive_texts(detail):
                return self._retry(
                    "intake_contact_detail", dispatcher, tracker, "utter_intake_landline_for_text"
                )
        if detail is not None:
            return self._accept("intake_contact_detail", detail)
        interrupted = self._interrupted("intake_contact_detail", dispatcher, tracker, domain)
        if interrupted is not None:
            return interrupted
        return self._retry("intake_contact_detail", dispatcher, tracker, problem)

    async def validate_intake_best_times(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_best_times": value}
        interrupted = self._interrupted(
            "intake_best_times", dispatcher, tracker, domain, free_text=True
        )
        if interrupted is not None:
            return interrupted
        times = normalise_free_text(value, MAX_SHORT_TEXT)
        if times is None:
            return self._retry(
                "intake_best_times", dispatcher, tracker, "utter_intake_invalid_text"
            )
        return self._accept("intake_best_times", times)

    async def validate_intake_help_with(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_help_with": value}
        if is_skip(value) or latest_intent(tracker)[0] == "deny":
            return self._accept("intake_help_with", NO_ANSWER)
        # Describing a difficulty is the answer here, even when it names a DIT topic
        # ("help with my anxiety"); only an actual question is answered as one.
        interrupted = self._interrupted(
            "intake_help_with", dispatcher, tracker, domain, free_text=True
        )
        if interrupted is not None:
            return interrupted
        text = normalise_free_text(value, MAX_HELP_TEXT)
        if text is None:
            return self._retry("intake_help_with", dispatcher, tracker, "utter_intake_invalid_text")
        # The route intents are taken as this answer (domain.yml): asking again would loop.
        route = route_response(tracker, domain)
        if route is not None:
            dispatcher.utter_message(response=route)
        return self._accept("intake_help_with", text)

    async def validate_intake_consent(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_consent": value}
        answer = _yes_or_no(tracker, value)
        if answer is True:
            return self._accept("intake_consent", datetime.now(timezone.utc).isoformat())
        if answer is False:
            dispatcher.utter_message(response="utter_intake_consent_refused")
            return {**forgotten(), "intake_closed": True}
        interrupted = self._interrupted("intake_consent", dispatcher, tracker, domain)
        if interrupted is not None:
            return interrupted
        return self._retry("intake_consent", dispatcher, tracker, "utter_intake_invalid_yes_no")

    async def validate_intake_confirmed(
        self, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> dict[str, Any]:
        if already_accepted(value, tracker):
            return {"intake_confirmed": value}
        answer = _yes_or_no(tracker, value)
        if answer is True:
            return self._accept("intake_confirmed", True)
        name, confidence = latest_intent(tracker)
        if answer is False or (name == "intake_change" and confidence >= INTERRUPTION_CONFIDENCE):
            return self._change_field("intake_confirmed", dispatcher, tracker)
        interrupted = self._interrupted("intake_confirmed", dispatcher, tracker, domain)
        if interrupted is not None:
            return interrupted
        field = _field_named_in(str(value or ""))
        if field is not None:
            return self._change_field("intake_confirmed", dispatcher, tracker)
        return self._retry("intake_confirmed", dispatcher, tracker, "utter_intake_invalid_yes_no")


def _field_named_in(text: str) -> str | None:
    """'can I change my email' -> 'intake_contact_detail'."""
    words = text.lower()
    cues = (
        (
            "intake_contact_method",
            (
                "contact method",
                "how to contact",
                "call me instead",
                "email me instead",
                "text me instead",
                "method",
            ),
        ),
        ("intake_contact_detail", ("email", "e-mail", "address", "number", "phone", "mobile")),
        ("intake_best_times", ("time", "when", "morning", "afternoon", "evening")),
        ("intake_help_with", ("help with", "what i'd like", "reason", "about me")),
        ("intake_name", ("name", "called")),
    )
    for field, field_cues in cues:
        if any(cue in words for cue in field_cues):
            return field
    return None


@contained
class ActionAskIntakeConfirmed(Action):
    """Shows what will be sent, with a button to correct each field or to send it."""

    def name(self) -> str:
        return "action_ask_intake_confirmed"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        method = tracker.get_slot("intake_contact_method") or "phone"
        help_with = tracker.get_slot("intake_help_with") or "(not given)"
        lines = [
            "Here is what I'll send to the team:",
            f"• Name: {tracker.get_slot('intake_name')}",
            f"• Contact by: {METHOD_LABELS.get(method, method)}",
            f"• {'Email' if method == 'email' else 'Number'}: "
            f"{tracker.get_slot('intake_contact_detail')}",
            f"• Best times: {tracker.get_slot('intake_best_times')}",
            f"• What you'd like help with: {help_with}",
            "Is this right?",
        ]
        buttons = (
            [{"title": "Yes, send it", "payload": "/affirm"}]
            + [
                {
                    "title": f"Change: {label}",
                    "payload": f'/intake_change{{"intake_field": "{field}"}}',
                }
                for field, label in EDITABLE_FIELDS.items()
            ]
            + [{"title": "Cancel", "payload": "/stop_form"}]
        )
        dispatcher.utter_message(text="\n".join(lines), buttons=buttons)
        return []


@contained
class ActionSubmitIntake(Action):
    """Saves a confirmed enquiry, and says so only once it is safely stored or spooled.

    The database is used off the event loop with a short timeout (:mod:`.database`): when it is
    down, slow, or failed moments ago, the enquiry goes to the spool and the person is told so.
    """

    def name(self) -> str:
        return "action_submit_intake"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        if tracker.get_slot("intake_closed") or tracker.get_slot("intake_confirmed") is not True:
            # Closed (under 18 or consent refused): already answered, nothing to store.
            return [*forget_enquiry(), SlotSet("intake_closed", False)]
        settings = get_settings()
        method = tracker.get_slot("intake_contact_method")
        draft = EnquiryDraft(
            preferred_name=tracker.get_slot("intake_name"),
            contact_method=method,
            contact_detail=tracker.get_slot("intake_contact_detail"),
            best_times=tracker.get_slot("intake_best_times"),
            help_with=tracker.get_slot("intake_help_with") or None,
            channel=tracker.get_latest_input_channel() or "unknown",
            consent_at=datetime.fromisoformat(tracker.get_slot("intake_consent")),
            privacy_notice_version=settings.clinic.privacy_notice_version,
            priority=had_safety_route(tracker),
        )
        try:
            reference, stored = await keep_enquiry(draft)
        except Exception as error:  # noqa: BLE001 - the person must always get an honest answer
            logger.error("enquiry could not be stored or spooled: %s", type(error).__name__)
            dispatcher.utter_message(response="utter_intake_failed")
            return [SlotSet("intake_confirmed", None)]
        logger.info("enquiry %s %s", reference, "stored" if stored else "spooled")
        dispatcher.utter_message(
            response="utter_intake_saved" if stored else "utter_intake_spooled",
            intake_reference=reference,
            intake_contact_method_label=METHOD_LABELS.get(method, method),
        )
        return forget_enquiry()


async def keep_enquiry(draft: EnquiryDraft) -> tuple[str, bool]:
    """Store the enquiry, or spool it when the database cannot take it now: (reference, stored).

    Raises ``ValueError`` for an invalid draft and ``OSError`` if even the spool cannot be
    written. After a store, enquiries spooled earlier are moved in, in the background.
    """
    record = new_record(draft)
    try:
        reference = await store.run(lambda database: store_record(database, record), "an enquiry")
    except DatabaseUnavailable as error:
        # A copy: work that timed out may still be running in its thread with the original.
        spooled, reason = dict(record), str(error)
        return await in_thread(lambda: spool_record(spooled, reason)), False
    _in_background(store.run(replay_opportunistically, "the spool's replay"))
    return reference, True


_background: set[asyncio.Task] = set()


def _in_background(work: Awaitable[Any]) -> None:
    """Run ``work`` without waiting for it; it fails quietly (its own log lines say why)."""

    async def quietly() -> None:
        with contextlib.suppress(Exception):  # logged where it failed, without personal data
            await work

    task = asyncio.get_running_loop().create_task(quietly())
    _background.add(task)  # the loop keeps only a weak reference to its tasks
    task.add_done_callback(_background.discard)


def had_safety_route(tracker: Tracker) -> bool:
    """True when this conversation took a safety route: staff see such enquiries first."""
    return any(
        event.get("event") == "action" and event.get("name") == "action_record_safety_route"
        for event in tracker.events
    )


@contained
class ActionCancelIntake(Action):
    """Stops the form and forgets everything it was told."""

    def name(self) -> str:
        return "action_cancel_intake"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        return [ActiveLoop(None), *forget_enquiry(), SlotSet("intake_closed", False)]
