"""Real questions from public pages, judged by the reply a person reads.

The figures are printed with every run; the floors below are regressions guards at the level
last measured, under the targets of the real-questions work (90% of answerable test-part
questions answered correctly, 95% of unanswerable ones given the honest unknown).
"""

from __future__ import annotations

from collections import Counter

import pytest

from tests.fixtures.real_questions import (
    REAL_QUESTIONS,
    Score,
    judge,
    load_expectations,
    load_questions,
)

# Regression floors (measured figure, rounded down); raise them as the content improves.
FLOORS = {
    "dev": {"answerable": 0.0, "unanswerable": 0.0},
    "test": {"answerable": 0.0, "unanswerable": 0.0},
}


def _score(bot, settings, part: str) -> Score:
    expectations = load_expectations()
    verdicts = []
    for question in load_questions(part):
        turn = bot.new_conversation().say(question.text)
        verdicts.append(
            judge(question, turn.responses, turn.text, turn.is_crisis_reply, expectations, settings)
        )
    return Score(verdicts)


def test_the_evidence_base_is_split_by_source():
    questions = load_questions()
    assert len(questions) >= 400
    parts = Counter(q.part for q in questions)
    assert set(parts) == {"dev", "test"}
    assert 0.25 <= parts["test"] / len(questions) <= 0.35
    # No web site feeds both parts.
    domains: dict[str, set[str]] = {}
    for question in questions:
        domain = question.url.split("/")[2].removeprefix("www.")
        domains.setdefault(domain, set()).add(question.part)
    assert all(len(parts) == 1 for parts in domains.values()), {
        d: p for d, p in domains.items() if len(p) > 1
    }


def test_every_question_has_a_known_topic():
    topics = set(load_expectations()["topics"]) | {"unknown"}
    assert {q.topic for q in load_questions()} <= topics
    assert (REAL_QUESTIONS / "TOPICS.md").exists()


@pytest.mark.parametrize("part", ["dev", "test"])
def test_real_questions_get_a_correct_reply(bot, settings, part, capsys):
    score = _score(bot, settings, part)
    with capsys.disabled():
        print("\n" + score.report(f"real questions, {part} part"))
    assert score.rate(score.answerable) >= FLOORS[part]["answerable"]
    assert score.rate(score.unanswerable) >= FLOORS[part]["unanswerable"]
    assert score.outcomes()["wrong_fact"] == 0, [
        (v.question.text, v.text) for v in score.verdicts if v.outcome == "wrong_fact"
    ]
