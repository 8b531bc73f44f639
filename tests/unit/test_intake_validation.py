"""The enquiry form's answer checking (bot/actions/intake.py), called the way the action server
calls it: each ``validate_<slot>`` method with a rasa-sdk ``Tracker`` and ``CollectingDispatcher``.

No server, model or database: the under-18 statistic is captured instead of stored, and the
clinic configuration is the shipped profile (not a developer's ``.env``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest
from rasa_sdk.events import ActiveLoop, SlotSet
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import intake
from bot.actions.forms import already_accepted, interruption_response
from bot.actions.intake import (
    EDITABLE_FIELDS,
    FORM_SLOTS,
    MAX_FAILURES,
    ActionAskIntakeConfirmed,
    ActionCancelIntake,
    ActionSubmitIntake,
    ValidateIntakeForm,
    forgotten,
    had_safety_route,
    reads_as_question,
)
from dit_assistant.settings import load_settings
from tests.fixtures.trackers import domain, responses, run, tracker

FORM = ValidateIntakeForm()


@pytest.fixture(autouse=True)
def shipped_profile(monkeypatch: pytest.MonkeyPatch) -> None:
    """The clinic profile in config/ (a UK clinic), whatever the developer's .env says."""
    settings = load_settings(env={})
    monkeypatch.setattr(intake, "get_settings", lambda: settings)


@pytest.fixture()
def recorded_routes(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Safety routes the form records, captured instead of written to a database."""
    routes: list[str] = []

    async def record(route: str, _tracker: Any) -> None:
        routes.append(route)

    monkeypatch.setattr(intake, "record_route", record)
    return routes


def validate(slot: str, text: str, **conversation: Any) -> tuple[dict[str, Any], list[str]]:
    """The form's verdict on ``text`` as the answer for ``slot``, and the responses it sent."""
    dispatcher = CollectingDispatcher()
    method = getattr(FORM, f"validate_{slot}")
    result = run(method(text, dispatcher, tracker(text, **conversation), domain()))
    return result, responses(dispatcher)


# ------------------------------------------------------------------------------- the age
@pytest.mark.parametrize(
    ("text", "intent"),
    [("yes", None), ("Yep!", None), ("I am", None), ("/affirm", "affirm"), ("of course", "affirm")],
)
def test_an_adult_is_accepted(text, intent):
    assert validate("intake_adult", text, intent=intent) == (
        {"intake_adult": True, "intake_failures": 0},
        [],
    )


@pytest.mark.parametrize(
    ("text", "intent"), [("no", None), ("nope", None), ("I'm 16", "under_18"), ("not yet", None)]
)
def test_under_18_closes_the_form_keeps_nothing_and_records_the_route(
    recorded_routes, text, intent
):
    result, said = validate("intake_adult", text, intent=intent)
    assert said == ["utter_intake_under_18"]
    assert result == {**forgotten(), "intake_closed": True}
    assert all(result[slot] is None for slot in FORM_SLOTS)
    assert recorded_routes == ["under_18"]


def test_a_weak_affirm_or_deny_is_not_taken_as_an_answer():
    result, said = validate("intake_adult", "hmm", intent="deny", confidence=0.3)
    assert said == ["utter_intake_invalid_yes_no"]
    assert result == {"intake_adult": None, "intake_failures": 1}


# ------------------------------------------------------------------ re-prompts and failures
@pytest.mark.parametrize("failures_before", range(MAX_FAILURES))
def test_the_third_failure_in_a_row_offers_the_clinic_directly(failures_before):
    result, said = validate("intake_adult", "purple", slots={"intake_failures": failures_before})
    if failures_before + 1 < MAX_FAILURES:
        assert said == ["utter_intake_invalid_yes_no"]
        assert result["intake_failures"] == failures_before + 1
    else:
        assert said == ["utter_intake_invalid_yes_no", "utter_intake_too_many_failures"]
        assert result["intake_failures"] == 0  # counted afresh after the offer
    assert result["intake_adult"] is None


def test_a_value_accepted_earlier_is_kept_when_the_form_resumes():
    # The form re-validates filled slots when it resumes: the value is no longer the latest text.
    conversation = tracker("I'd like to carry on with my enquiry")
    assert already_accepted("+447911123456", conversation)
    assert not already_accepted("I'd like to carry on with my enquiry", conversation)
    assert not already_accepted(None, conversation)
    dispatcher = CollectingDispatcher()
    result = run(
        FORM.validate_intake_contact_detail("+447911123456", dispatcher, conversation, domain())
    )
    assert result == {"intake_contact_detail": "+447911123456"}
    assert dispatcher.messages == []


# ---------------------------------------------------------------------------- the name
@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("Sam", "Sam"),
        ("my name is Priya", "Priya"),
        ("call me Alex Smith", "Alex Smith"),
        ("It's Mohammed.", "Mohammed"),
        ("siobhan", "siobhan"),
        ("Zoë O'Brien-Hughes", "Zoë O'Brien-Hughes"),
    ],
)
def test_names_are_accepted_as_people_would_like_to_be_called(text, name):
    assert validate("intake_name", text) == ({"intake_name": name, "intake_failures": 0}, [])


@pytest.mark.parametrize(
    "text",
    [
        "<script>alert(1)</script>",
        "sam@example.org",
        "12345",
        "what do you need my name for?",
        "who's asking?",
        "I would rather not give you my name",
        "x" * 61,
    ],
)
def test_what_cannot_be_a_name_is_asked_again(text):
    result, said = validate("intake_name", text)
    assert said == ["utter_intake_invalid_name"]
    assert result == {"intake_name": None, "intake_failures": 1}


def test_asking_to_book_while_booking_just_asks_again():
    result, said = validate("intake_name", "I want to book", intent="request_appointment")
    assert (result, said) == ({"intake_name": None}, [])


# ---------------------------------------------------------------- how and where to contact
@pytest.mark.parametrize(
    ("text", "method"),
    [
        ("email", "email"),
        ("by email please", "email"),
        ("give me a call", "phone"),
        ("ring my mobile", "phone"),
        ("text me on my phone", "text"),
        ("WhatsApp", "text"),
    ],
)
def test_contact_methods_in_peoples_words(text, method):
    assert validate("intake_contact_method", text) == (
        {"intake_contact_method": method, "intake_failures": 0},
        [],
    )


@pytest.mark.parametrize("text", ["carrier pigeon", "call or email", "whatever"])
def test_no_method_or_two_methods_is_asked_again(text):
    result, said = validate("intake_contact_method", text)
    assert said == ["utter_intake_invalid_contact_method"]
    assert result["intake_contact_method"] is None


@pytest.mark.parametrize(
    ("method", "text", "detail"),
    [
        ("email", "Sam.Example@Example.ORG", "Sam.Example@example.org"),
        ("email", "my email is sam@example.org", "sam@example.org"),
        ("phone", "07911 123456", "+447911123456"),
        ("phone", "020 7946 0000", "+442079460000"),  # a landline is fine for a call
        ("phone", "+44 (0)161 496 0999", "+441614960999"),
        ("text", "+44 7911 123457", "+447911123457"),
    ],
)
def test_contact_details_are_normalised(method, text, detail):
    result, said = validate("intake_contact_detail", text, slots={"intake_contact_method": method})
    assert (result, said) == ({"intake_contact_detail": detail, "intake_failures": 0}, [])


@pytest.mark.parametrize(
    ("method", "text", "reprompt"),
    [
        ("email", "sam@", "utter_intake_invalid_email"),
        ("email", "it's sam at example dot org", "utter_intake_invalid_email"),
        ("email", "sam@example.org or jo@example.org", "utter_intake_invalid_email"),
        ("phone", "12345", "utter_intake_invalid_phone"),
        ("phone", "0791 12", "utter_intake_invalid_phone"),
        ("text", "020 7946 0000", "utter_intake_landline_for_text"),
    ],
)
def test_invalid_contact_details_get_a_specific_reprompt(method, text, reprompt):
    result, said = validate("intake_contact_detail", text, slots={"intake_contact_method": method})
    assert said == [reprompt]
    assert result == {"intake_contact_detail": None, "intake_failures": 1}


def test_phone_numbers_are_read_for_the_clinics_country(monkeypatch):
    australia = load_settings(env={"CLINIC_REGION": "australia"})
    monkeypatch.setattr(intake, "get_settings", lambda: australia)
    result, _ = validate(
        "intake_contact_detail", "0412 345 678", slots={"intake_contact_method": "phone"}
    )
    assert result["intake_contact_detail"] == "+61412345678"


# ------------------------------------------------------------------- times and free text
@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("weekday evenings", "ask_session_frequency"),
        ("weekends", "ask_session_frequency"),
        ("when I'm off work", "ask_how_to_start"),
        ("any time", None),
    ],
)
def test_contact_times_are_answers_even_when_they_sound_like_a_topic(text, intent):
    assert validate("intake_best_times", text, intent=intent) == (
        {"intake_best_times": text, "intake_failures": 0},
        [],
    )


def test_a_question_at_the_contact_times_prompt_is_answered_then_asked_again():
    result, said = validate(
        "intake_best_times", "how often are the sessions", intent="ask_session_frequency"
    )
    assert (result, said) == ({"intake_best_times": None}, ["utter_ask_session_frequency"])


@pytest.mark.parametrize(
    ("text", "intent"),
    [("skip", None), ("I'd rather not", None), ("no thanks", None), ("not really", "deny")],
)
def test_the_optional_question_can_be_skipped(text, intent):
    assert validate("intake_help_with", text, intent=intent) == (
        {"intake_help_with": intake.NO_ANSWER, "intake_failures": 0},
        [],
    )


def test_describing_a_difficulty_that_names_a_topic_is_the_answer():
    text = "my anxiety, it's been bad since the winter"
    assert validate("intake_help_with", text, intent="ask_anxiety") == (
        {"intake_help_with": text, "intake_failures": 0},
        [],
    )


@pytest.mark.parametrize(
    "text",
    ["I've been making myself sick after meals", "would DIT help with my drinking?"],
)
def test_a_route_described_as_what_to_help_with_is_the_answer_and_gets_its_reply(text):
    intent = "route_eating" if "sick" in text else "route_substance"
    assert validate("intake_help_with", text, intent=intent) == (
        {"intake_help_with": text, "intake_failures": 0},
        [f"utter_{intent}"],
    )


def test_an_unsure_route_reading_adds_no_route_reply():
    text = "things at home mostly"
    assert validate("intake_help_with", text, intent="route_perinatal", confidence=0.3) == (
        {"intake_help_with": text, "intake_failures": 0},
        [],
    )


@pytest.mark.parametrize(
    ("slot", "limit"), [("intake_best_times", intake.MAX_SHORT_TEXT), ("intake_help_with", 600)]
)
def test_free_text_has_a_length_limit(slot, limit):
    accepted, _ = validate(slot, "a" * limit)
    assert accepted[slot] == "a" * limit
    refused, said = validate(slot, "a" * (limit + 1))
    assert said == ["utter_intake_invalid_text"]
    assert refused[slot] is None


# ---------------------------------------------------------------------- consent and summary
def test_consent_is_stored_as_the_moment_it_was_given():
    before = datetime.now(timezone.utc)
    result, said = validate("intake_consent", "yes")
    given = datetime.fromisoformat(result["intake_consent"])
    assert said == [] and result["intake_failures"] == 0
    assert before <= given <= datetime.now(timezone.utc)


def test_refused_consent_closes_the_form_and_keeps_nothing(recorded_routes):
    result, said = validate("intake_consent", "no", intent="deny")
    assert said == ["utter_intake_consent_refused"]
    assert result == {**forgotten(), "intake_closed": True}
    assert recorded_routes == []  # not a safety route


def test_yes_at_the_summary_sends_it():
    assert validate("intake_confirmed", "yes, send it", intent="affirm") == (
        {"intake_confirmed": True, "intake_failures": 0},
        [],
    )


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("I typed my name wrong", "intake_name"),
        ("can I change my email", "intake_contact_detail"),
        ("wrong number", "intake_contact_detail"),
        ("the times are wrong", "intake_best_times"),
        ("I'd rather you text me instead", "intake_contact_method"),
    ],
)
def test_naming_a_field_at_the_summary_asks_for_it_again(text, field):
    filled = {slot: "something" for slot in EDITABLE_FIELDS}
    result, said = validate("intake_confirmed", text, slots=filled)
    assert said == []
    assert result[field] is None
    assert result["intake_confirmed"] is None and result["intake_field"] is None
    untouched = set(EDITABLE_FIELDS) - {field}
    if field == "intake_contact_method":  # the detail must match the new method
        untouched.discard("intake_contact_detail")
        assert result["intake_contact_detail"] is None
    assert not untouched & set(result)


def test_a_change_button_names_its_field_in_a_slot():
    result, said = validate(
        "intake_confirmed",
        '/intake_change{"intake_field": "intake_best_times"}',
        intent="intake_change",
        slots={"intake_field": "intake_best_times"},
    )
    assert said == [] and result["intake_best_times"] is None


@pytest.mark.parametrize("field", [{"a": 1}, ["intake_name"], 3, True])
def test_a_change_request_naming_a_field_of_the_wrong_type_asks_which_one(field):
    result, said = validate(
        "intake_confirmed",
        '/intake_change{"intake_field": {"a": 1}}',
        intent="intake_change",
        slots={"intake_field": field},
    )
    assert said == ["utter_intake_choose_field"]
    assert result == {"intake_confirmed": None, "intake_field": None}


def test_no_at_the_summary_without_a_field_asks_which_one():
    result, said = validate("intake_confirmed", "no", intent="deny")
    assert said == ["utter_intake_choose_field"]
    assert result == {"intake_confirmed": None, "intake_field": None}


def test_an_unclear_reply_at_the_summary_is_never_a_yes():
    result, said = validate("intake_confirmed", "purple")
    assert said == ["utter_intake_invalid_yes_no"]
    assert result["intake_confirmed"] is None


# ---------------------------------------------------------------- questions asked mid-form
@pytest.mark.parametrize(
    ("intent", "confidence", "response"),
    [
        ("ask_cost", 0.9, "utter_ask_cost"),
        ("ask_what_is_dit", 0.5, "utter_ask_what_is_dit"),
        ("bot_challenge", 0.9, "utter_iamabot"),
        ("request_human", 0.9, "utter_intake_contact_directly"),
        ("ask_cost", 0.49, None),  # too unsure: taken as an answer
        ("ask_no_such_topic", 0.9, None),  # no answer in the domain
        ("greet", 0.99, None),
    ],
)
def test_interruptions_that_get_an_answer(intent, confidence, response):
    conversation = tracker("text", intent=intent, confidence=confidence)
    assert interruption_response(conversation, domain()) == response


@pytest.mark.parametrize(
    ("text", "question"),
    [
        ("how often are the sessions", True),
        ("Is it online?", True),
        ("what's the cost", True),
        ("weekday evenings", False),
        ("when I'm off work", False),  # answers "when can we call?"
        ("mornings, ideally", False),
        ("", False),
        ("ok?", True),
    ],
)
def test_what_reads_as_a_question(text, question):
    assert reads_as_question(text) is question


def test_a_closed_form_asks_nothing_more():
    open_form = run(FORM.required_slots(list(FORM_SLOTS), CollectingDispatcher(), tracker(), {}))
    closed = run(
        FORM.required_slots(
            list(FORM_SLOTS), CollectingDispatcher(), tracker(slots={"intake_closed": True}), {}
        )
    )
    assert (open_form, closed) == (list(FORM_SLOTS), [])


# --------------------------------------------------------------------------------- actions
def test_the_summary_shows_every_field_with_a_button_to_change_each():
    slots = {
        "intake_name": "Sam",
        "intake_contact_method": "text",
        "intake_contact_detail": "+447911123456",
        "intake_best_times": "weekday mornings",
        "intake_help_with": "",
    }
    dispatcher = CollectingDispatcher()
    events = ActionAskIntakeConfirmed().run(dispatcher, tracker(slots=slots), domain())
    [message] = dispatcher.messages
    assert events == []
    assert message["text"].splitlines() == [
        "Here is what I'll send to the team:",
        "• Name: Sam",
        "• Contact by: text message",
        "• Number: +447911123456",
        "• Best times: weekday mornings",
        "• What you'd like help with: (not given)",
        "Is this right?",
    ]
    payloads = [button["payload"] for button in message["buttons"]]
    assert payloads[0] == "/affirm" and payloads[-1] == "/stop_form"
    assert payloads[1:-1] == [
        f'/intake_change{{"intake_field": "{field}"}}' for field in EDITABLE_FIELDS
    ]


@pytest.mark.parametrize(
    "slots", [{"intake_closed": True, "intake_confirmed": True}, {"intake_confirmed": None}]
)
def test_nothing_is_stored_unless_confirmed_and_open(slots):
    dispatcher = CollectingDispatcher()
    events = run(ActionSubmitIntake().run(dispatcher, tracker(slots=slots), domain()))
    assert dispatcher.messages == []
    assert events == [*intake.forget_enquiry(), SlotSet("intake_closed", False)]


def test_cancelling_ends_the_form_and_forgets_everything():
    events = ActionCancelIntake().run(CollectingDispatcher(), tracker(), domain())
    assert events[0] == ActiveLoop(None)
    assert {e["name"]: e["value"] for e in events[1:]} == {**forgotten(), "intake_closed": False}


def test_a_conversation_with_a_safety_route_makes_the_enquiry_priority():
    safety = {"event": "action", "name": "action_record_safety_route"}
    other = {"event": "action", "name": "utter_greet"}
    assert had_safety_route(tracker(events=[other, safety]))
    assert not had_safety_route(tracker(events=[other]))
