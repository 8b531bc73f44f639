"""Short follow-ups read in the light of the question before them
(``src/dit_assistant/nlu/companions.py``), judged by the reply a person reads, with the same
key-fact patterns as the real questions.

``tests/conversations/follow_ups_dev.yml`` was read while building the mechanism, and
``follow_ups_second_dev.yml`` (written apart, later) while widening it;
``follow_ups_held_out.yml`` was written apart, without the training data, and is only scored.
Each pair is also scored without its first question, to show what the context adds.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from tests.fixtures.data import load_yaml
from tests.fixtures.real_questions import RealQuestion, judge, load_expectations

# Regression floors at the level measured with the mechanism (docs/real-questions.md,
# "Follow-ups in context").
# Measured: dev 28/30 (93.3%; 66.7% read alone), held out 50/70 (71.4%; 58.6% read alone); with
# the fourth round of training data and the continuation margin, dev 28/30 (73.3% alone), held
# out 52/70 (74.3%; 62.9% alone).
# Then, with short messages read as follow-ups and a follow-up read alone as out of scope
# continuing the question before it: dev 28/30, second dev 49/80 (44 before), held out 53/70
# (75.7%). With everyday remarks (docs/risk-precision.md, "Everyday remarks, landed"): held out
# 51/70 (72.9%), dev and second dev unchanged.
FLOORS = {"dev": 0.93, "second_dev": 0.61, "held_out": 0.728}

ORDINARY_QUESTION = "how much does it cost?"
HELD_OUT_RISK = load_yaml("safety/heldout_risk.yml")
FRESH_RISK = load_yaml("safety/fresh_risk.yml")["messages"]


@dataclass(frozen=True)
class Pair:
    first: str
    then: str
    topic: str


def load_pairs(part: str) -> list[Pair]:
    raw = load_yaml(f"conversations/follow_ups_{part}.yml")["pairs"]
    return [Pair(str(p["first"]), str(p["then"]), str(p["topic"])) for p in raw]


def _correct(
    bot, settings, expectations, pair: Pair, part: str, in_context: bool
) -> tuple[bool, str]:
    conversation = bot.new_conversation()
    if in_context:
        conversation.say(pair.first)
    turn = conversation.say(pair.then)
    question = RealQuestion(pair.then, pair.topic, "follow-ups", "", "follow-up", part)
    verdict = judge(
        question, turn.responses, turn.text, turn.is_crisis_reply, expectations, settings
    )
    return verdict.correct, verdict.outcome


@pytest.mark.parametrize("part", ["dev", "second_dev", "held_out"])
def test_follow_ups_get_the_answer_their_context_asks_for(bot, settings, part, capsys):
    pairs, expectations = load_pairs(part), load_expectations()
    in_context = [_correct(bot, settings, expectations, p, part, True) for p in pairs]
    alone = [_correct(bot, settings, expectations, p, part, False) for p in pairs]
    rate = sum(correct for correct, _ in in_context) / len(pairs)
    alarmed = {p for p, (_, outcome) in zip(pairs, in_context, strict=True) if outcome == "crisis"}
    alarmed_alone = {p for p, (_, outcome) in zip(pairs, alone, strict=True) if outcome == "crisis"}
    with capsys.disabled():
        print(
            f"\nfollow-ups ({part}): {rate:.1%} of {len(pairs)} correct in context, "
            f"{sum(c for c, _ in alone) / len(pairs):.1%} read alone; "
            f"{len(alarmed)} check-ins or crisis replies in context, {len(alarmed_alone)} alone"
        )
        if part != "held_out":
            for pair, (correct, outcome) in zip(pairs, in_context, strict=True):
                if not correct:
                    print(f"  {outcome}: {pair.first!r} -> {pair.then!r} ({pair.topic})")
    assert rate >= FLOORS[part]
    # A weak reading of risk is never replaced by the context (a risky follow-up to a practical
    # question must keep its check-in), so the context adds no alarm and removes none.
    assert alarmed == alarmed_alone


def test_risk_said_as_a_follow_up_keeps_its_reply(bot):
    """A weak risk reading is never replaced by a joint topic reading: "what if I'm gone by
    then" after a question about the waiting list reads as that question when read with it."""
    risky = load_yaml("conversations/follow_ups_dev.yml")["risky"]
    # The first two test the resolver's rule: read alone they are risk, read with the question
    # before them the waiting time. At least one must be a pair the joint reading would win by
    # the resolver's margin if risk could be replaced, or this test would not test the rule
    # (a pair whose own reading of risk is confident enough has no need of it).
    readings = []
    for pair in risky[:2]:
        own = bot.parse(pair["then"])["intent"]
        joint = bot.parse(f"{pair['first']} {pair['then']}")["intent"]
        assert own["name"].startswith("risk_") and joint["name"] == "ask_waiting_time"
        readings.append((own, joint))
    assert any(j["confidence"] >= o["confidence"] + 0.3 for o, j in readings), readings
    for pair in risky:
        alone = bot.new_conversation().say(pair["then"])
        assert alone.is_alarm, pair["then"]
        conversation = bot.new_conversation()
        conversation.say(pair["first"])
        assert conversation.say(pair["then"]).responses[:1] == alone.responses[:1], pair


def test_a_risk_message_after_an_ordinary_question_gets_the_reply_it_gets_alone(bot):
    """The context never takes a crisis reply or check-in away: every held-out and fresh risk
    message, sent after an ordinary question, gets the same first response as sent alone."""
    texts = [t for texts in HELD_OUT_RISK.values() for t in texts]
    texts += [m["text"] for m in FRESH_RISK]
    changed = []
    for text in texts:
        alone = bot.new_conversation().say(text)
        conversation = bot.new_conversation()
        conversation.say(ORDINARY_QUESTION)
        after = conversation.say(text)
        if alone.is_alarm and after.responses[:1] != alone.responses[:1]:
            changed.append((text, alone.responses[:1], after.responses[:1]))
    assert not changed
