"""The routes for people DIT may not suit first, through the trained bot.

Held-out phrasings (tests/safety/routes_heldout.yml, never in the training data) are scored:
the share that gets its route's kind reply is printed and held to a floor; a route reply always
carries the configured specialist services and a person, and the harms the routes removed (the
overdose reply to eating difficulties, the abuse reply to thoughts of harming) never come.
Inside the enquiry form the reply comes and the form asks its question again; danger now still
gets the crisis reply; a parent and a friend get answers written for them.
"""

from __future__ import annotations

import pytest

from dit_assistant.settings import SPECIALIST_FALLBACK, get_settings
from tests.fixtures.actions import IntakeSetting
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


# Held-out phrasings are a measure, not a list to pass one by one: the classifier never saw them,
# so a miss is a figure to report and improve with new training phrasings written from the route
# descriptions (never from these texts). Floors at the level measured when the set was written:
# 91 of 96 (docs/routes.md lists the misses); every route at least 10 of its 12.
ROUTE_HELD_OUT_FLOOR = 91 / 96
ROUTE_FLOOR_EACH = 10 / 12
# Replies that must never answer a route's phrasing (the harms the route work removed).
NEVER_FOR_ROUTE = {
    "route_eating": {"utter_crisis_overdose"},
    "route_harm_thoughts": {"utter_crisis_abuse"},
}


@pytest.fixture(scope="module")
def route_turns(bot: Bot) -> dict[tuple[str, str], Turn]:
    """Each held-out route phrasing's first turn in a new conversation, said once for the module."""
    return {(intent, text): bot.new_conversation().say(text) for intent, text in ROUTE_CASES}


def test_held_out_route_phrasings_get_their_route_reply(route_turns, capsys):
    right: dict[str, int] = {}
    misses = []
    for (intent, text), turn in route_turns.items():
        hit = turn.responses[:1] == [f"utter_{intent}"]
        right[intent] = right.get(intent, 0) + hit
        if not hit:
            misses.append((intent, text, turn.responses[:1]))
    with capsys.disabled():
        total = sum(right.values())
        print(f"\nroutes, held-out phrasings: {total}/{len(route_turns)} got their route's reply")
        for intent, count in sorted(right.items()):
            print(f"  {intent}: {count}/{len(HELD_OUT['routes'][intent])}")
        for miss in misses:
            print("  missed:", *miss)
    assert total / len(route_turns) >= ROUTE_HELD_OUT_FLOOR, misses
    for intent, count in right.items():
        assert count / len(HELD_OUT["routes"][intent]) >= ROUTE_FLOOR_EACH, (intent, misses)


@pytest.mark.parametrize(("intent", "text"), ROUTE_CASES)
def test_a_route_reply_carries_its_services_and_a_person(route_turns, intent, text):
    turn = route_turns[(intent, text)]
    assert not set(turn.responses) & NEVER_FOR_ROUTE.get(intent, set()), (text, turn.responses)
    if turn.responses[:1] != [f"utter_{intent}"]:
        pytest.skip(f"missed, counted by the held-out measure: {turn.responses[:1]}")
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
