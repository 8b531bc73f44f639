"""The confidence gate: intents whose consequences are hard to undo need a confident classifier."""

from __future__ import annotations

from rasa.shared.nlu.constants import INTENT

from dit_assistant.nlu.intent_gate import IntentConfidenceGate
from tests.fixtures.messages import classified


def test_a_weak_stop_verdict_becomes_the_fallback():
    gate = IntentConfidenceGate({"stop_form": 0.6})
    weak = classified("Widget Tester", "stop_form", confidence=0.35)
    sure = classified("cancel", "stop_form", confidence=0.95)
    other = classified("hello", "greet", confidence=0.3)
    gate.process([weak, sure, other])
    assert weak.get(INTENT)["name"] == "nlu_fallback"
    assert sure.get(INTENT)["name"] == "stop_form"
    assert other.get(INTENT)["name"] == "greet"
