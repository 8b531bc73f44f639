"""NLU accuracy on held-out phrasings, never used for training, scored by Rasa's own NLU
evaluation (what ``rasa test nlu`` runs) through the model the bot tier has already loaded.
The figures are printed for the record."""

from __future__ import annotations

import json

import pytest

from tests.fixtures.bot import Bot
from tests.fixtures.data import TESTS
from tests.fixtures.domain import DOMAIN_DIR
from tests.fixtures.evaluation import TARGET_F1, report

# Held-out phrasings must meet the target; every figure is printed.
HELD_OUT_FLOOR = TARGET_F1


@pytest.mark.parametrize(
    "held_out",
    [
        "heldout.yml",  # written with the first training data
        "heldout_fresh.yml",  # written later, blind to the training data and to the first set
    ],
)
def test_held_out_phrasings(bot: Bot, tmp_path, held_out):
    from rasa.nlu.test import run_evaluation

    bot.run(
        run_evaluation(
            str(TESTS / "nlu" / held_out),
            bot.agent.processor,
            output_directory=str(tmp_path),
            errors=True,
            disable_plotting=True,
            domain_path=str(DOMAIN_DIR),
        )
    )
    intent_report = json.loads((tmp_path / "intent_report.json").read_text())
    accuracy = intent_report["accuracy"]
    report(f"{held_out}: intent accuracy", accuracy)
    report(f"{held_out}: intent F1 (weighted)", intent_report["weighted avg"]["f1-score"])
    errors = json.loads((tmp_path / "intent_errors.json").read_text())
    for error in errors:
        print(f"  {error['intent']} <- {error['text']!r} -> {error['intent_prediction']['name']}")
    assert accuracy >= HELD_OUT_FLOOR
