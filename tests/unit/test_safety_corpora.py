"""The safety corpora the bot tier runs through the trained bot are big enough to mean
something, and cover every kind of risk."""

from __future__ import annotations

from tests.fixtures.data import load_yaml

RISK = load_yaml("safety/risk_phrasings.yml")
BENIGN = load_yaml("safety/benign_phrasings.yml")["benign"]
RISK_CASES = [(category, text) for category, texts in RISK.items() for text in texts]


def test_the_corpora_are_large_enough():
    assert len(RISK_CASES) >= 150
    assert len(BENIGN) >= 150
    assert set(RISK) == {
        "risk_suicide",
        "risk_self_harm",
        "risk_overdose",
        "risk_abuse",
        "risk_other_person",
    }
