"""The routes for people DIT may not suit first, through the trained bot.

Held-out phrasings (tests/safety/routes_heldout.yml, never in the training data) must get their
route's kind reply with the configured specialist services, never a crisis reply; inside the
enquiry form the reply comes and the form asks its question again; danger now still gets the
crisis reply; a parent and a friend get answers written for them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dit_assistant.settings import SPECIALIST_FALLBACK, get_settings
from tests.fixtures.actions import IntakeSetting, intake_setting
from tests.fixtures.bot import Bot, Conversation, Turn
from tests.fixtures.data import load_yaml

HELD_OUT = load_yaml("safety/routes_heldout.yml")
ROUTE_CASES = [(intent, text) for intent, texts in HELD_OUT["routes"].items() for text in texts]


def services_of(intent: str) -> list[str]:
    """What the reply must show for this route in the configured region: each service's name,
    or the GP-or-team sentence where the region has none."""
    key = "parents" if intent == "ask_for_my_child" else intent.removeprefix("route_")
    found = get_settings().helplines.specialist_services.get(key, ())
    return [s.name for s in found] or [SPECIALIST_FALLBACK]


@pytest.fixture(scope="module")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntakeSetting]:
    """The bot with the real action server: the enquiry form needs its validation action."""
    yield from intake_setting(tmp_path_factory)


@pytest.mark.parametrize(("intent", "text"), ROUTE_CASES)
def test_each_route_gets_its_own_kind_reply_with_its_services(bot: Bot, intent, text):
    turn = bot.new_conversation().say(text)
    assert not turn.is_crisis_reply, (text, turn.responses)
    assert turn.responses[:1] == [f"utter_{intent}"], (text, turn.responses)
    for name in services_of(intent):
        assert name in turn.text, (text, name)
    assert {"title": "Talk to a person", "payload": "/request_human"} in turn.buttons


@pytest.mark.parametrize("text", HELD_OUT["danger"])
def test_danger_now_with_a_routes_words_still_gets_the_crisis_reply(bot: Bot, text):
    turn = bot.new_conversation().say(text)
    assert turn.is_crisis_reply, (text, turn.responses)
    assert get_settings().helplines.emergency in turn.text


@pytest.mark.parametrize("text", HELD_OUT["parent"])
def test_a_parent_gets_an_answer_written_for_the_parent(bot: Bot, text):
    turn = bot.new_conversation().say(text)
    assert turn.responses == ["utter_ask_for_my_child"], (text, turn.responses)
    assert "your child" in turn.text.lower() and "GP" in turn.text
    for name in services_of("ask_for_my_child"):
        assert name in turn.text


@pytest.mark.parametrize("text", HELD_OUT["someone_else"])
def test_a_friend_or_relative_learns_how_the_other_adult_gets_in_touch(bot: Bot, text):
    turn = bot.new_conversation().say(text)
    assert turn.responses == ["utter_ask_for_someone_else"], (text, turn.responses)
    assert get_settings().clinic.phone in turn.text and "themselves" in turn.text


def start_form_at_the_name_question(person: Conversation) -> None:
    turn = person.say("I'd like to book an assessment")
    assert turn.responses == ["utter_intake_start", "utter_ask_intake_adult"], turn.responses
    assert person.say("/affirm").responses == ["utter_ask_intake_name"]


@pytest.mark.parametrize(("intent", "text"), sorted(HELD_OUT["mid_form"].items()))
def test_a_route_mid_form_gets_its_reply_then_the_form_goes_on(
    intake: IntakeSetting, intent: str, text: str
) -> None:
    person = intake.bot.new_conversation()
    start_form_at_the_name_question(person)
    turn: Turn = person.say(text)
    assert turn.responses == [f"utter_{intent}", "utter_ask_intake_name"], turn.responses
    # The route's words were not kept as a name, and the form carries on from there.
    assert person.say("Sam").responses == ["utter_ask_intake_contact_method"]


def test_a_route_as_what_to_help_with_is_kept_and_gets_its_reply(intake: IntakeSetting):
    person = intake.bot.new_conversation()
    start_form_at_the_name_question(person)
    assert person.say("Sam").responses == ["utter_ask_intake_contact_method"]
    assert person.say("email").responses == ["utter_ask_intake_contact_detail"]
    assert person.say("sam@example.org").responses == ["utter_ask_intake_best_times"]
    assert person.say("weekday mornings").responses == ["utter_ask_intake_help_with"]
    turn = person.say(HELD_OUT["mid_form"]["route_eating"])
    assert turn.responses == ["utter_route_eating", "utter_ask_intake_consent"], turn.responses
