"""The enquiry form through the trained bot and the real action server, into a real database.

Each test reads the database afterwards: what a person was told must match what was stored
(or, after a cancel, a refusal or an under-18 answer, that nothing was). The conversation is kept
by the Rasa server's store, and once the enquiry has ended none of its details stay in it.
"""

from __future__ import annotations

import re

import pytest

from dit_assistant.store import open_database, replay_spool
from dit_assistant.store.management import list_enquiries
from tests.fixtures.actions import IntakeSetting, action_server
from tests.fixtures.bot import Bot, Conversation, Turn

REFERENCE = re.compile(r"\bDIT-[A-Z0-9]{5}\b")


@pytest.fixture()
def person(intake: IntakeSetting) -> Conversation:
    return intake.bot.new_conversation()


def start(person: Conversation) -> Turn:
    turn = person.say("I'd like to book an assessment")
    assert turn.responses == ["utter_intake_start", "utter_ask_intake_adult"], turn.responses
    return turn


def answer_up_to_contact(person: Conversation, name: str = "Sam", method: str = "email") -> None:
    start(person)
    assert person.say("/affirm").responses == ["utter_ask_intake_name"]
    assert person.say(name).responses == ["utter_ask_intake_contact_method"]
    assert person.say(method).responses == ["utter_ask_intake_contact_detail"]


def finish_from_times(person: Conversation, help_with: str = "skip") -> Turn:
    assert person.say("weekday mornings").responses == ["utter_ask_intake_help_with"]
    consent = person.say(help_with)
    assert consent.responses == ["utter_ask_intake_consent"], consent.responses
    return consent


def test_happy_path_by_email_is_stored_encrypted_with_consent(intake, person, settings):
    before = len(intake.enquiries())
    answer_up_to_contact(person, name="Sam", method="by email please")
    assert person.say("Sam.Example@Example.ORG").responses == ["utter_ask_intake_best_times"]
    consent = finish_from_times(person, help_with="I keep falling out with people at work")
    assert settings.clinic.privacy_notice_url in consent.text
    assert consent.buttons, "consent needs a clear yes and a clear no"
    summary = person.say("/affirm")
    assert "Sam.Example@example.org" in summary.text and "weekday mornings" in summary.text
    saved = person.say("/affirm")
    assert saved.responses == ["utter_intake_saved"]
    reference = REFERENCE.search(saved.text).group(0)
    assert settings.clinic.response_time in saved.text
    assert settings.helplines.emergency in saved.text  # what to do if things get worse

    enquiries = intake.enquiries()
    assert len(enquiries) == before + 1
    stored = next(e for e in enquiries if e.reference == reference)
    assert (stored.preferred_name, stored.contact_method, stored.contact_detail) == (
        "Sam",
        "email",
        "Sam.Example@example.org",
    )
    assert stored.best_times == "weekday mornings"
    assert stored.help_with == "I keep falling out with people at work"
    assert stored.privacy_notice_version == settings.clinic.privacy_notice_version
    assert stored.consent_at is not None and stored.status == "new"
    assert stored.priority is False
    conversation = str(intake.stored_conversation(person.sender)).lower()
    for detail in ("sam.example@", "falling out with people at work", "weekday mornings"):
        assert detail not in conversation, detail
    assert reference.lower() in conversation


@pytest.mark.parametrize("name", ["Widget Tester", "Mohammed", "siobhan", "Jo", "Alex Smith"])
def test_unfamiliar_names_are_taken_as_names(person, name):
    start(person)
    person.say("yes")
    turn = person.say(name)
    assert turn.responses == ["utter_ask_intake_contact_method"], turn.responses


def test_phone_numbers_are_stored_in_international_form(intake, person):
    answer_up_to_contact(person, name="Priya", method="phone")
    assert person.say("07911 123456").responses == ["utter_ask_intake_best_times"]
    finish_from_times(person)
    person.say("yes")
    reference = REFERENCE.search(person.say("yes").text).group(0)
    stored = next(e for e in intake.enquiries() if e.reference == reference)
    assert (stored.contact_method, stored.contact_detail) == ("phone", "+447911123456")
    assert stored.help_with is None


def test_text_messages_need_a_mobile_number(intake, person):
    answer_up_to_contact(person, name="Jo", method="text")
    landline = person.say("020 7946 0000")
    assert landline.responses[0] == "utter_intake_landline_for_text"
    assert person.say("+44 7911 123457").responses == ["utter_ask_intake_best_times"]
    finish_from_times(person)
    person.say("/affirm")
    reference = REFERENCE.search(person.say("/affirm").text).group(0)
    stored = next(e for e in intake.enquiries() if e.reference == reference)
    assert (stored.contact_method, stored.contact_detail) == ("text", "+447911123457")


@pytest.mark.parametrize(
    ("method", "bad", "reprompt", "good"),
    [
        ("email", "sam@", "utter_intake_invalid_email", "sam@example.org"),
        ("email", "it's sam at example dot org", "utter_intake_invalid_email", "sam@example.org"),
        ("phone", "12345", "utter_intake_invalid_phone", "07911 123458"),
        ("phone", "0791 12", "utter_intake_invalid_phone", "+44 7911 123458"),
    ],
)
def test_invalid_contact_details_get_a_specific_reprompt(person, method, bad, reprompt, good):
    answer_up_to_contact(person, method=method)
    turn = person.say(bad)
    assert turn.responses[0] == reprompt, turn.responses
    assert turn.responses[-1] == "utter_ask_intake_contact_detail"
    assert person.say(good).responses == ["utter_ask_intake_best_times"]


def test_repeated_failures_offer_the_clinic_directly(person, settings):
    answer_up_to_contact(person, method="email")
    person.say("nope")
    person.say("still no")
    third = person.say("not telling")
    assert "utter_intake_too_many_failures" in third.responses
    assert settings.clinic.phone in third.text


def test_a_field_can_be_corrected_at_the_summary(intake, person):
    answer_up_to_contact(person, name="Alex", method="email")
    person.say("alex@example.org")
    finish_from_times(person)
    summary = person.say("/affirm")
    assert "alex@example.org" in summary.text
    change = [b for b in summary.buttons if "intake_contact_detail" in b["payload"]]
    assert change, summary.buttons
    assert person.say(change[0]["payload"]).responses == ["utter_ask_intake_contact_detail"]
    corrected = person.say("alex.new@example.org")
    assert "alex.new@example.org" in corrected.text  # the summary again, corrected
    reference = REFERENCE.search(person.say("/affirm").text).group(0)
    stored = next(e for e in intake.enquiries() if e.reference == reference)
    assert stored.contact_detail == "alex.new@example.org"


def test_saying_what_to_change_in_words_works_too(intake, person):
    answer_up_to_contact(person, name="Alex", method="email")
    person.say("alex@example.org")
    finish_from_times(person)
    person.say("yes")
    assert person.say("I typed my name wrong").responses == ["utter_ask_intake_name"]
    assert "Alexandra" in person.say("Alexandra").text


@pytest.mark.parametrize("stop_word", ["cancel", "never mind", "stop", "forget it"])
def test_cancel_mid_way_keeps_nothing(intake, person, stop_word):
    before = len(intake.enquiries())
    answer_up_to_contact(person, name="Casey", method="email")
    person.say("casey@example.org")
    turn = person.say(stop_word)
    assert turn.responses == ["utter_intake_cancelled"], turn.responses
    assert len(intake.enquiries()) == before
    conversation = str(intake.stored_conversation(person.sender))
    assert "Casey" not in conversation and "casey@" not in conversation
    # The form is gone: the next message is a question like any other.
    assert person.say("how many sessions are there?").responses == ["utter_ask_number_of_sessions"]
    # Starting again starts from the beginning: nothing was kept.
    start(person)
    person.say("yes")
    assert person.say("Casey").responses == ["utter_ask_intake_contact_method"]


def test_consent_refused_keeps_nothing(intake, person):
    before = len(intake.enquiries())
    answer_up_to_contact(person, name="Robin", method="email")
    person.say("robin@example.org")
    finish_from_times(person)
    refused = person.say("/deny")
    assert refused.responses[0] == "utter_intake_consent_refused"
    assert "utter_ask_intake_confirmed" not in refused.responses
    assert len(intake.enquiries()) == before
    conversation = str(intake.stored_conversation(person.sender))
    assert "Robin" not in conversation and "robin@" not in conversation
    assert person.say("what is DIT?").responses == ["utter_ask_what_is_dit"]


@pytest.mark.parametrize(
    "times", ["weekday evenings", "weekends", "tuesday afternoon", "any time", "mornings please"]
)
def test_contact_times_are_taken_as_answers_not_questions(person, times):
    """Times can sound like DIT topics ("weekends" ~ "how often"); they are still answers."""
    answer_up_to_contact(person)
    person.say("sam@example.org")
    assert person.say(times).responses == ["utter_ask_intake_help_with"]
    assert person.say("skip it").responses == ["utter_ask_intake_consent"]


def test_a_correction_at_the_contact_times_prompt_is_still_honoured(person):
    answer_up_to_contact(person)
    person.say("sam@example.org")
    assert person.say("I typed my name wrong").responses[-1] == "utter_ask_intake_name"


def test_a_question_at_the_contact_times_prompt_is_still_answered(person):
    answer_up_to_contact(person)
    person.say("sam@example.org")
    turn = person.say("how often are the sessions")
    assert turn.responses == ["utter_ask_session_frequency", "utter_ask_intake_best_times"]


def test_a_question_mid_form_is_answered_and_the_form_carries_on(intake, person):
    start(person)
    person.say("yes")
    person.say("Morgan")
    turn = person.say("how much does it cost?")
    assert turn.responses == ["utter_ask_cost", "utter_ask_intake_contact_method"]
    assert person.say("email").responses == ["utter_ask_intake_contact_detail"]
    person.say("morgan@example.org")
    finish_from_times(person)
    person.say("yes")
    reference = REFERENCE.search(person.say("yes").text).group(0)
    stored = next(e for e in intake.enquiries() if e.reference == reference)
    assert stored.preferred_name == "Morgan"


def test_under_18_at_the_age_question_is_routed_and_nothing_kept(intake, person, settings):
    before = len(intake.enquiries())
    routes_before = intake.safety_routes().get("under_18", 0)
    start(person)
    turn = person.say("no")
    assert turn.responses[0] == "utter_intake_under_18"
    young = settings.helplines.young_people
    assert young and young[0].contact.split()[0] in turn.text
    assert len(intake.enquiries()) == before
    assert intake.safety_routes().get("under_18", 0) == routes_before + 1
    assert person.say("what is DIT?").responses == ["utter_ask_what_is_dit"]


@pytest.mark.parametrize(
    "crisis",
    [
        "I want to kill myself",
        "i cant go on anymore, i want to end it",
        "I've taken too many pills",
    ],
)
def test_crisis_mid_form_pauses_it_and_keeps_what_was_given(intake, person, settings, crisis):
    answer_up_to_contact(person, name="Kit", method="email")
    turn = person.say(crisis)
    assert turn.is_crisis_reply, turn.responses
    assert not any(r.startswith("utter_ask_intake") for r in turn.responses)
    assert settings.helplines.emergency in turn.text
    # The form is not pushed: questions are answered as usual afterwards.
    assert person.say("what is DIT?").responses == ["utter_ask_what_is_dit"]
    # Carrying on later asks only for what is still missing; the enquiry is marked priority.
    resumed = person.say("I'd like to carry on with my enquiry")
    assert resumed.responses[-1] == "utter_ask_intake_contact_detail", resumed.responses
    person.say("kit@example.org")
    finish_from_times(person)
    person.say("yes")
    reference = REFERENCE.search(person.say("yes").text).group(0)
    stored = next(e for e in intake.enquiries() if e.reference == reference)
    assert stored.preferred_name == "Kit" and stored.priority is True


def test_crisis_twice_during_the_form(person):
    answer_up_to_contact(person)
    assert person.say("i want to die").is_crisis_reply
    person.say("I'd like to carry on with my enquiry")
    assert person.say("i'm going to hurt myself").is_crisis_reply


def test_a_callback_request_after_the_handoff_starts_the_form(person):
    handoff = person.say("can I talk to a real person")
    callback = [b for b in handoff.buttons if b["payload"] == "/request_appointment"]
    assert callback, handoff.buttons
    turn = person.say(callback[0]["payload"])
    assert turn.responses == ["utter_intake_start", "utter_ask_intake_adult"]


def test_database_outage_mid_conversation_spools_and_replays_once(postgres, store_env, tmp_path):
    """PostgreSQL stops while someone is filling in the form: the enquiry is spooled, the person
    is told so honestly, and once the database is back it arrives exactly once."""
    store_env.set(DATABASE_URL=postgres.create_database())
    url = store_env.database_url
    open_database(url)  # migrated while the server is up
    with action_server(tmp_path, store_env.subprocess_env()) as endpoint:
        person = Bot(action_endpoint=endpoint).new_conversation()
        answer_up_to_contact(person, name="Rowan", method="phone")
        person.say("07911 123459")
        finish_from_times(person)
        person.say("yes")
        postgres.stop()
        try:
            spooled = person.say("yes")
        finally:
            postgres.start()
    assert spooled.responses == ["utter_intake_spooled"], spooled.responses
    reference = REFERENCE.search(spooled.text).group(0)
    spool_files = [f for f in store_env.spool_dir.rglob("*") if f.is_file()]
    assert spool_files, "the enquiry must be kept on disk while the database is down"
    for file in spool_files:
        assert b"Rowan" not in file.read_bytes() and b"7911" not in file.read_bytes()

    database = open_database(url)
    assert replay_spool(database) == 1
    assert replay_spool(database) == 0
    stored = [e for e in list_enquiries(database) if e.reference == reference]
    assert len(stored) == 1
    assert (stored[0].preferred_name, stored[0].contact_detail) == ("Rowan", "+447911123459")


def test_an_unclear_reply_at_the_summary_never_sends_the_enquiry(intake, person):
    before = len(intake.enquiries())
    answer_up_to_contact(person, name="Quinn", method="email")
    person.say("quinn@example.org")
    finish_from_times(person)
    person.say("yes")
    turn = person.say("purple")
    assert "utter_intake_saved" not in turn.responses
    assert turn.responses[0] == "utter_intake_invalid_yes_no"
    assert len(intake.enquiries()) == before
