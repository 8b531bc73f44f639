"""Properties of the safety net over generated input (hypothesis).

- No text raises, in the detector or the NLU component: arbitrary code points, control and
  format characters, lone surrogates, other scripts, markup, up to ``MAX_MESSAGE_CHARS``.
- A risk message keeps its verdict wherever it stands: every reviewed risk phrasing of
  ``tests/safety/risk_phrasings.yml`` and a generated example of every phrase in
  ``patterns.yml`` still fire their category with random text around them, in other sentences
  or before them in the same one, in any letter case.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from dit_assistant.safety.component import SafetyNet, is_contact_detail
from dit_assistant.safety.detector import RiskDetector, get_detector, load_spec
from tests.fixtures.data import load_yaml
from tests.fixtures.strategies import FRAGMENTS, ODD_CHARACTERS, WORDS, hostile_text

RISK_PHRASINGS = [
    (category, text)
    for category, texts in load_yaml("safety/risk_phrasings.yml").items()
    for text in texts
]
SPEC = load_spec()
REVIEWED_PHRASES = [
    (category, phrase) for category, phrases in SPEC["categories"].items() for phrase in phrases
]
PRIORITY = SPEC["priority"]
SENTENCE_BREAKS = (". ", "! ", "? ", "\n", "; ", "... ", ".\n\n", ".")
FILLERS = ("really", "very", "honestly", "maybe")
"""Words that stand for ``...`` in a generated example: common words that are in no phrase."""

# Hostile input, property by property: enough examples to cover the character classes, few
# enough to keep the unit tier quick.
QUICK = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


BENIGN_MESSAGES = [
    m["text"]
    for m in load_yaml("safety/benign_practical.yml")["messages"]
    if m.get("kind") != "risky_words"
]
SURROUNDING_TEXT = st.one_of(
    st.just(""),
    st.sampled_from(BENIGN_MESSAGES),
    st.lists(
        st.one_of(WORDS, st.sampled_from(FRAGMENTS), st.sampled_from(ODD_CHARACTERS)),
        max_size=12,
    ).map(" ".join),
    hostile_text(max_size=300),
)
"""Text around a risk message: benign words and sentences, other scripts, odd characters."""

PREFIX_TEXT = st.lists(
    st.one_of(
        st.sampled_from([f for f in FRAGMENTS if not re.search(r"[A-Za-z.!?;]", f)]),
        st.sampled_from([c for c in ODD_CHARACTERS if not re.search(r"[\n\r\x85\u2028]", c)]),
        st.integers(min_value=0, max_value=10**6).map(str),
    ),
    max_size=6,
).map(" ".join)
"""Text before a risk message in the same sentence: no sentence break, no English words
(which could legitimately form one of the reviewed exceptions, "thoughts about ...")."""

LETTER_CASE = st.sampled_from([str, str.upper, str.title, str.swapcase, str.capitalize])


@pytest.fixture(scope="module")
def detector() -> RiskDetector:
    return get_detector()


@pytest.fixture(scope="module")
def safety_net(detector: RiskDetector) -> SafetyNet:
    return SafetyNet(detector)


def no_parent_before(text: str) -> bool:
    """Whether ``text`` is free of "my" and "our": the reviewed under-18 exceptions read "my son
    ... under 18" as a parent writing, across a sentence break too, which is no miss."""
    return not {"my", "our"} & set(re.findall(r"[^\W\d_]+", text.lower()))


def embedded(draw: st.DrawFn, text: str) -> str:
    """``text`` with random text around it: another sentence before and after, or words
    before it in the same sentence."""
    before = draw(SURROUNDING_TEXT.filter(no_parent_before))
    after = draw(SURROUNDING_TEXT)
    text = draw(LETTER_CASE)(text)
    if draw(st.booleans()):
        return (
            before
            + draw(st.sampled_from(SENTENCE_BREAKS))
            + text
            + draw(st.sampled_from(SENTENCE_BREAKS))
            + after
        )
    return draw(PREFIX_TEXT) + " " + text + draw(st.sampled_from(SENTENCE_BREAKS)) + after


@st.composite
def phrase_example(draw: st.DrawFn, phrase: str) -> str:
    """A message the reviewed ``phrase`` is written to catch (syntax: top of patterns.yml)."""
    words: list[str] = []
    for slot in phrase.split():
        if slot == "...":
            words.extend(draw(st.lists(st.sampled_from(FILLERS), max_size=4)))
            continue
        if slot.endswith("?"):
            if not draw(st.booleans()):
                continue
            slot = slot[:-1]
        choice = draw(st.sampled_from(slot.split("|"))).lstrip("=")
        number_range = re.fullmatch(r"(\d+)-(\d+)", choice)
        if number_range:
            low, high = int(number_range[1]), int(number_range[2])
            choice = str(draw(st.integers(min_value=low, max_value=high)))
        words.append("." if choice == "$" else choice)
    return " ".join(words)


def categories(detector: RiskDetector, text: str) -> set[str]:
    return {detection.intent for detection in detector.detect_all(text)}


# ------------------------------------------------------------------------ nothing raises
@QUICK
@given(text=hostile_text())
def test_no_text_makes_the_detector_raise(detector, text):
    detections = detector.detect_all(text)
    assert all(d.intent in PRIORITY for d in detections)
    assert [PRIORITY.index(d.intent) for d in detections] == sorted(
        PRIORITY.index(d.intent) for d in detections
    )
    assert isinstance(detector.has_signal(text), bool)
    assert isinstance(is_contact_detail(text), bool)


@settings(QUICK, max_examples=30)
@given(
    text=hostile_text(),
    intent=st.one_of(st.none(), st.sampled_from([*PRIORITY, "ask_cost", "nlu_fallback"])),
    confidence=st.one_of(st.none(), st.floats(min_value=0, max_value=1)),
)
def test_no_text_makes_the_safety_net_component_raise(
    safety_net, detector, text, intent, confidence
):
    message = Message(data={TEXT: text})
    if intent is not None:
        message.set(INTENT, {"name": intent, "confidence": confidence})
        message.set(INTENT_RANKING_KEY, [{"name": intent, "confidence": confidence}])
    safety_net.process([message])
    verdict = (message.get(INTENT) or {}).get("name")
    found = detector.detect(text)
    if found is not None:
        # A reviewed phrase wins, unless the classifier was sure of a more urgent risk.
        assert verdict in PRIORITY
        assert PRIORITY.index(verdict) <= PRIORITY.index(found.intent)


# ------------------------------------------------------- reviewed risk messages still fire
@QUICK
@given(data=st.data(), case=st.sampled_from(RISK_PHRASINGS))
def test_a_reviewed_risk_phrasing_fires_wherever_it_stands(detector, data, case):
    _, text = case
    expected = categories(detector, text)
    assert expected, f"{text!r} does not fire on its own"
    message = embedded(data.draw, text)
    assert expected <= categories(detector, message), message


@settings(QUICK, max_examples=80)
@given(data=st.data(), case=st.sampled_from(REVIEWED_PHRASES))
def test_an_example_of_every_reviewed_phrase_fires_its_category(detector, data, case):
    category, phrase = case
    example = data.draw(phrase_example(phrase), label="example")
    assert category in categories(detector, example), (phrase, example)
    message = embedded(data.draw, example)
    assert category in categories(detector, message), (phrase, message)


@QUICK
@given(data=st.data(), case=st.sampled_from(RISK_PHRASINGS))
def test_the_component_gives_the_verdict_of_the_phrase_in_any_surroundings(
    safety_net, detector, data, case
):
    _, text = case
    expected = detector.detect(text)
    message_text = embedded(data.draw, text)
    message = Message(data={TEXT: message_text})
    message.set(INTENT, {"name": "ask_cost", "confidence": 0.999})
    safety_net.process([message])
    verdict = message.get(INTENT)["name"]
    assert PRIORITY.index(verdict) <= PRIORITY.index(expected.intent), message_text
