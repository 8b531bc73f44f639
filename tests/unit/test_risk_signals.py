"""The safety net's risk-signal gate and phrase exceptions, on the component alone."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from dit_assistant.safety.component import SAFETY_NET_KEY, SafetyNet
from dit_assistant.safety.detector import RiskDetector, get_detector


@pytest.fixture(scope="module")
def detector() -> RiskDetector:
    return get_detector()


def classified(text: str, ranking: list[tuple[str, float]]) -> Message:
    message = Message(data={TEXT: text})
    name, confidence = ranking[0]
    message.set(INTENT, {"name": name, "confidence": confidence})
    message.set(INTENT_RANKING_KEY, [{"name": n, "confidence": c} for n, c in ranking])
    return message


@pytest.mark.parametrize(
    "text",
    [
        "I don't want to be alive",
        "im so tired of living",
        "I keep thinking about dying",
        "he hits me when he's drunk",
        "I took all of them",
        "I feel like a burden to everyone",
        "i wana dissapear",  # typos of signal words still count
        "my daughter is 14 and she's scared",
    ],
)
def test_risk_signal_words_are_found_in_any_form(detector, text):
    assert detector.has_signal(text)


@pytest.mark.parametrize(
    "text",
    [
        "can I bring my baby?",
        "do you have evening appointments?",
        "if I miss a session because I'm ill do I get kicked off?",
        "my GP has referred me, what happens now?",
        "can I have sessions in Polish?",
        "I'm going to be late, sorry",  # "going" is not "gone"
        "I've taken the afternoon off work",
    ],
)
def test_ordinary_questions_hold_no_risk_signal(detector, text):
    if "taken" in text:
        # "taken" is a signal (overdose: "I've taken them all"): the gate lets the classifier
        # decide, which is the safe side.
        assert detector.has_signal(text)
    else:
        assert not detector.has_signal(text)


@pytest.mark.parametrize(
    ("text", "phrase_intent"),
    [
        ("what happens if I'm 10 minutes late?", None),
        ("I'm 15 minutes away, is that ok", None),
        ("i'm 15", "under_18"),
        ("I am only 16 years old", "under_18"),
        ("I nearly had a heart attack when I saw the date", None),
        ("I think I'm having a heart attack", "risk_overdose"),
    ],
)
def test_exceptions_excuse_only_the_innocent_reading(detector, text, phrase_intent):
    detection = detector.detect(text)
    assert (detection.intent if detection else None) == phrase_intent


def test_a_classifier_only_risk_verdict_without_a_signal_becomes_the_ordinary_runner_up(
    detector,
):
    net = SafetyNet(detector, confirm_threshold=0.8, require_risk_signal=True)
    message = classified(
        "can I bring my baby?", [("risk_other_person", 0.41), ("ask_bring_someone", 0.33)]
    )
    net.process([message])
    assert message.get(INTENT)["name"] == "ask_bring_someone"
    assert message.get(SAFETY_NET_KEY)["overrode"] == "risk_other_person"


def test_a_weak_runner_up_becomes_the_honest_fallback(detector):
    net = SafetyNet(detector, require_risk_signal=True, fallback_threshold=0.2)
    message = classified("blah di blah", [("risk_abuse", 0.3), ("ask_cost", 0.1)])
    net.process([message])
    assert message.get(INTENT)["name"] == "nlu_fallback"


@pytest.mark.parametrize(("confidence", "expected"), [(0.5, "risk_check"), (0.9, "risk_suicide")])
def test_a_classifier_only_risk_verdict_with_a_signal_is_graded_as_before(
    detector, confidence, expected
):
    net = SafetyNet(detector, confirm_threshold=0.8, require_risk_signal=True)
    message = classified(
        "everything feels pointless lately", [("risk_suicide", confidence), ("greet", 0.05)]
    )
    net.process([message])
    assert message.get(INTENT)["name"] == expected


def test_without_the_gate_the_verdict_stands(detector):
    net = SafetyNet(detector, confirm_threshold=0.8, require_risk_signal=False)
    message = classified("can I bring my baby?", [("risk_other_person", 0.41)])
    net.process([message])
    assert message.get(INTENT)["name"] == "risk_check"


def test_reviewed_phrases_still_win_over_any_verdict(detector):
    net = SafetyNet(detector, require_risk_signal=True)
    message = classified("I want to kill myself", [("ask_cost", 0.99)])
    net.process([message])
    assert message.get(INTENT)["name"] == "risk_suicide"
