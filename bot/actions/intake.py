"""The enquiry form: checks each answer, answers questions asked mid-form, and saves the enquiry.

The form (``intake_form`` in ``bot/domain/intake.yml``) takes every answer as text; this module
decides what it means. Risk messages and "cancel" never reach it: rules in
``bot/data/rules/intake.yml`` handle them, keeping what was already given (crisis) or forgetting it
(cancel).

Nothing personal is logged: log lines carry the enquiry reference at most.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, TypeAlias

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
from .forms import (
    INTERRUPTION_CONFIDENCE,
    already_accepted,
    interruption_response,
    latest_intent,
    validates,
)
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


# ------------------------------------------------------------------ what a reply means
@dataclass(frozen=True)
class Accept:
    """The reply answers the question: ``value`` is kept, ``say`` is a reply sent with it."""

    value: Any
    say: str | None = None


@dataclass(frozen=True)
class Retry:
    """No answer: ``response`` says what was wrong and asks again."""

    response: str


@dataclass(frozen=True)
class Close:
    """The enquiry ends here (under 18, consent refused) and everything given is forgotten.

    ``route`` names a safety route to record, a statistic without personal data.
    """

    response: str
    route: str | None = None


@dataclass(frozen=True)
class ChangeField:
    """The person wants to correct an earlier answer rather than answer this question."""


@dataclass(frozen=True)
class AskAgain:
    """Neither an answer nor a mistake worth pointing out: the question is asked again."""


Verdict: TypeAlias = Accept | Retry | Close | ChangeField | AskAgain
Reader: TypeAlias = Callable[[Any, Tracker, DomainDict], Verdict | None]
"""A question's reading of a reply: (value, tracker, domain) -> a verdict, or None for none."""


def _adult(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    answer = _yes_or_no(tracker, value)
    if answer is None:
        return None
    return Accept(True) if answer else Close("utter_intake_under_18", route="under_18")


def _name(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    intent, confidence = latest_intent(tracker)
    if intent == "request_appointment" and confidence >= INTERRUPTION_CONFIDENCE:
        return AskAgain()  # "I want to book" while booking
    name = normalise_name(value)
    if name is None or "?" in name or len(name.split()) > 5:
        return None
    return Accept(name)


def _contact_method(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    method = parse_contact_method(value)
    return None if method is None else Accept(method)


def _contact_detail(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    """An email address or a phone number, whichever the chosen method needs."""
    method = tracker.get_slot("intake_contact_method")
    if method == "email":
        detail = normalise_email(value)
    else:
        detail = normalise_phone(value, get_settings().helplines.country)
        if detail is not None and method == "text" and not can_receive_texts(detail):
            return Retry("utter_intake_landline_for_text")
    return None if detail is None else Accept(detail)


def _contact_detail_hint(tracker: Tracker) -> str:
    if tracker.get_slot("intake_contact_method") == "email":
        return "utter_intake_invalid_email"
    return "utter_intake_invalid_phone"


def _best_times(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    times = normalise_free_text(value, MAX_SHORT_TEXT)
    return None if times is None else Accept(times)


def _help_skipped(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    """The optional question may be skipped; a "no" is a skip there, whatever else it says."""
    if is_skip(value) or latest_intent(tracker)[0] == "deny":
        return Accept(NO_ANSWER)
    return None


def _help_with(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    """Describing a difficulty is the answer, even when it names a DIT topic or a route.

    The route intents are taken as this answer (``bot/domain/intake.yml``), with the route's
    reply: asking again would loop.
    """
    text = normalise_free_text(value, MAX_HELP_TEXT)
    return None if text is None else Accept(text, say=route_response(tracker, domain))


def _consent(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    answer = _yes_or_no(tracker, value)
    if answer is None:
        return None
    if answer:
        return Accept(datetime.now(timezone.utc).isoformat())  # when consent was given
    return Close("utter_intake_consent_refused")


def _confirmed(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    answer = _yes_or_no(tracker, value)
    if answer is True:
        return Accept(True)
    name, confidence = latest_intent(tracker)
    if answer is False or (name == "intake_change" and confidence >= INTERRUPTION_CONFIDENCE):
        return ChangeField()
    return None


def _field_to_change(value: Any, tracker: Tracker, domain: DomainDict) -> Verdict | None:
    """'the times are wrong' at the summary: that field is asked again."""
    return ChangeField() if _field_named_in(str(value or "")) is not None else None


@dataclass(frozen=True)
class Question:
    """How one question of the form reads a reply; every question follows the same steps.

    A reply is read by ``before_questions``, then checked for a question about DIT or a
    correction request, then read by ``after_questions``; when neither reading gives a verdict,
    ``hint`` (a response, or one chosen from the conversation) asks again. A reading before the
    check wins over the classifier (a plain "yes" stays a yes); a question whose answer can be
    anything (``free_text``) answers only messages that read as questions.
    """

    hint: str | Callable[[Tracker], str]
    before_questions: Reader | None = None
    after_questions: Reader | None = None
    free_text: bool = False

    def retry(self, tracker: Tracker) -> Retry:
        return Retry(self.hint if isinstance(self.hint, str) else self.hint(tracker))


QUESTIONS: dict[str, Question] = {
    "intake_adult": Question("utter_intake_invalid_yes_no", before_questions=_adult),
    "intake_name": Question("utter_intake_invalid_name", after_questions=_name),
    "intake_contact_method": Question(
        "utter_intake_invalid_contact_method", before_questions=_contact_method
    ),
    "intake_contact_detail": Question(_contact_detail_hint, before_questions=_contact_detail),
    "intake_best_times": Question(
        "utter_intake_invalid_text", after_questions=_best_times, free_text=True
    ),
    "intake_help_with": Question(
        "utter_intake_invalid_text",
        before_questions=_help_skipped,
        after_questions=_help_with,
        free_text=True,
    ),
    "intake_consent": Question("utter_intake_invalid_yes_no", before_questions=_consent),
    "intake_confirmed": Question(
        "utter_intake_invalid_yes_no",
        before_questions=_confirmed,
        after_questions=_field_to_change,
    ),
}
"""The form's questions by slot, in the order they are asked (``FORM_SLOTS``)."""


# ------------------------------------------------------------------ the validation action
@contained
@validates(QUESTIONS)
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

    async def check_answer(
        self,
        slot: str,
        value: Any,
        dispatcher: CollectingDispatcher,
        tracker: Tracker,
        domain: DomainDict,
    ) -> dict[str, Any]:
        """The slot values for a reply to ``slot``'s question, following ``QUESTIONS``."""
        if already_accepted(value, tracker):
            return {slot: value}
        question = QUESTIONS[slot]
        verdict = _read(question.before_questions, value, tracker, domain)
        if verdict is None:
            interrupted = _interrupted(slot, dispatcher, tracker, domain, question.free_text)
            if interrupted is not None:
                return interrupted
            verdict = _read(question.after_questions, value, tracker, domain)
        if verdict is None:
            verdict = question.retry(tracker)
        return await _settle(slot, verdict, dispatcher, tracker)


def _read(
    reader: Reader | None, value: Any, tracker: Tracker, domain: DomainDict
) -> Verdict | None:
    return None if reader is None else reader(value, tracker, domain)


async def _settle(
    slot: str, verdict: Verdict, dispatcher: CollectingDispatcher, tracker: Tracker
) -> dict[str, Any]:
    """What a verdict says to the person and does to the slots."""
    if isinstance(verdict, Accept):
        if verdict.say is not None:
            dispatcher.utter_message(response=verdict.say)
        return {slot: verdict.value, "intake_failures": 0}
    if isinstance(verdict, Retry):
        return _retry(slot, dispatcher, tracker, verdict.response)
    if isinstance(verdict, Close):
        dispatcher.utter_message(response=verdict.response)
        if verdict.route is not None:
            await record_route(verdict.route, tracker)
        return {**forgotten(), "intake_closed": True}
    if isinstance(verdict, ChangeField):
        return _change_field(slot, dispatcher, tracker)
    return {slot: None}


def _retry(
    slot: str, dispatcher: CollectingDispatcher, tracker: Tracker, response: str
) -> dict[str, Any]:
    """Asks again; after ``MAX_FAILURES`` in a row, also offers the clinic's own contacts."""
    failures = int(tracker.get_slot("intake_failures") or 0) + 1
    dispatcher.utter_message(response=response)
    if failures >= MAX_FAILURES:
        dispatcher.utter_message(response="utter_intake_too_many_failures")
        failures = 0
    return {slot: None, "intake_failures": failures}


def _interrupted(
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
        return _change_field(slot, dispatcher, tracker)
    if free_text and not reads_as_question(tracker.latest_message.get("text")):
        return None
    response = interruption_response(tracker, domain)
    if response is None:
        return None
    dispatcher.utter_message(response=response)
    return {slot: None}


def _change_field(slot: str, dispatcher: CollectingDispatcher, tracker: Tracker) -> dict[str, Any]:
    """Clears the field the person wants to correct, or asks which one when it is unclear."""
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
