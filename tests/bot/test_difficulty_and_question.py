"""A message that shares a difficulty and asks a question gets the answer, and is heard
(``src/dit_assistant/nlu/companions.py`` reads its question apart; ``nlg.py`` opens the answer
with an acknowledgement), judged with the key-fact patterns of the real questions.

``tests/conversations/difficulty_and_question_dev.yml`` was read while building it;
``difficulty_and_question_held_out.yml`` was written apart, without the training data, and is
only scored.
"""

from __future__ import annotations

import pytest

from tests.fixtures.data import load_yaml
from tests.fixtures.domain import domain_yaml
from tests.fixtures.real_questions import RealQuestion, judge, load_expectations

# Regression floors at the level measured (docs/real-questions.md, "A difficulty, then a
# question"): answered correctly, and of those, opened with the acknowledgement. Measured: dev
# 22/25 answered (16/25 before the question was read apart), 21 of them opened with it; held out
# 53/60 (49/60 before), 40 of them. With the fourth round of training data: dev 23/25, 22 of them;
# held out 54/60, 41 of them.
FLOORS = {"dev": {"answered": 0.92, "heard": 0.95}, "held_out": {"answered": 0.9, "heard": 0.75}}


def acknowledgement() -> str:
    (variant,) = domain_yaml()["responses"]["utter_acknowledge_difficulty"]
    return str(variant["text"])


@pytest.mark.parametrize("part", ["dev", "held_out"])
def test_the_question_after_a_difficulty_is_answered_warmly(bot, settings, part, capsys):
    messages = load_yaml(f"conversations/difficulty_and_question_{part}.yml")["messages"]
    expectations, opener = load_expectations(), acknowledgement()
    correct, warm, misses = 0, 0, []
    for message in messages:
        turn = bot.new_conversation().say(message["text"])
        question = RealQuestion(message["text"], message["topic"], "", "", "difficulty", part)
        verdict = judge(
            question, turn.responses, turn.text, turn.is_crisis_reply, expectations, settings
        )
        correct += verdict.correct
        warm += verdict.correct and turn.text.startswith(opener)
        if not verdict.correct:
            misses.append((verdict.outcome, message["topic"], turn.responses, message["text"]))
    answered, heard = correct / len(messages), warm / max(correct, 1)
    with capsys.disabled():
        print(
            f"\ndifficulty then question ({part}): {answered:.1%} of {len(messages)} answered, "
            f"{heard:.1%} of those opened with the acknowledgement"
        )
        if part == "dev":
            for miss in misses:
                print("  ", *miss)
    assert answered >= FLOORS[part]["answered"]
    assert heard >= FLOORS[part]["heard"]


def test_the_acknowledgement_opens_only_such_answers_and_only_once(bot):
    opener = acknowledgement()
    plain = bot.new_conversation().say("how long is the waiting list?")
    assert plain.responses == ["utter_ask_waiting_time"] and opener not in plain.text
    shared = bot.new_conversation().say(
        "I've been feeling really low since my divorce, how long is the waiting list?"
    )
    assert shared.responses == ["utter_ask_waiting_time"]
    assert shared.text.startswith(opener) and shared.text.count(opener) == 1
    # a difficulty shared on its own keeps its own reply, without the opener
    alone = bot.new_conversation().say("I've been feeling really low since my divorce")
    assert alone.responses[:1] == ["utter_share_difficulty"] and opener not in alone.text
