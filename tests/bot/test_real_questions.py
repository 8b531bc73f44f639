"""Real questions from public pages, judged by the reply a person reads.

The figures are printed with every run; the floors below are regressions guards at the level
last measured, under the targets of the real-questions work (90% of answerable test-part
questions answered correctly, 95% of unanswerable ones given the honest unknown).
"""

from __future__ import annotations

import pytest

from tests.fixtures.real_questions import (
    Score,
    judge,
    load_expectations,
    load_questions,
)

# Regression floors at the level last measured (rounded down); raise them as the content
# improves. Targets: 0.90 answerable and 0.95 unanswerable on the test part.
# Measured on the classifier trained to convergence (bot/config.yml, max_iter), the same on any
# machine: dev 176/210 answerable (84.8% had been measured on a model stopped at 300 iterations,
# whose figures depended on the CPU it was trained on) and 34/42 unanswerable; test 118/172 and
# 31/45 (docs/nlu-evaluation.md, "A model that is the same on every machine"); then 119/172 once
# a question asked after sharing a difficulty was read apart (src/dit_assistant/nlu/companions.py);
# then, with real questions of 336 other sites and ordinary phrasings that use risk-looking words
# trained in (docs/real-questions.md, "A fourth round"), dev 178/210 and 34/42, test 124/172 and
# 31/45; then, with replies that answer the neighbouring question too ("Replies that answer the
# question next door"), dev 183/210 and test 125/172. With the sixth round (near-subject questions
# for the honest unknown, ordinary phrasings for accidents and everyday difficulties:
# docs/real-questions.md, "A sixth round"), dev 182/210 and 36/42 (34 before), test 126/172 and
# 38/45 (31 before): one development question ("can I ask her to explain how therapy works?")
# now gets the honest unknown, traded for two more development and seven more test-part
# questions given it, and one more test-part question answered. With everyday remarks
# (docs/risk-precision.md, "Everyday remarks, landed"): dev 181/210 and 37/42, test unchanged.
FLOORS = {
    "dev": {"answerable": 0.861, "unanswerable": 0.88},
    "test": {"answerable": 0.732, "unanswerable": 0.84},
}
# Crisis replies and check-ins to real questions (all ordinary): 1 of 252 dev, 1 of 217 test (2
# and 3 before the fourth round); 1 and 0 with the sixth.
CRISIS_CEILING = 0.005


def _score(bot, settings, part: str) -> Score:
    expectations = load_expectations()
    verdicts = []
    for question in load_questions(part):
        turn = bot.new_conversation().say(question.text)
        verdicts.append(
            judge(question, turn.responses, turn.text, turn.is_crisis_reply, expectations, settings)
        )
    return Score(verdicts)


@pytest.mark.parametrize("part", ["dev", "test"])
def test_real_questions_get_a_correct_reply(bot, settings, part, capsys):
    score = _score(bot, settings, part)
    with capsys.disabled():
        print("\n" + score.report(f"real questions, {part} part"))
    assert score.rate(score.answerable) >= FLOORS[part]["answerable"]
    assert score.rate(score.unanswerable) >= FLOORS[part]["unanswerable"]
    assert score.outcomes()["crisis"] / len(score.verdicts) <= CRISIS_CEILING
    assert score.outcomes()["wrong_fact"] == 0, [
        (v.question.text, v.text) for v in score.verdicts if v.outcome == "wrong_fact"
    ]
