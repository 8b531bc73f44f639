"""The phrase syntax of the safety net's ``patterns.yml`` (documented at the top of that file),
checked on a small phrase list of its own: dictionary forms, ``a|b``, ``=word``, ``word?``,
``...``, number ranges, ``$``, typo tolerance, protected words and the priority order."""

from __future__ import annotations

from typing import Any

import pytest
import spacy
from spacy.language import Language

from dit_assistant.nlu.spacy_pipeline import PIPELINE_PACKAGE
from dit_assistant.safety.detector import RiskDetector, load_spec

SPEC = {
    "priority": ["urgent", "risk"],
    "categories": {
        "risk": [
            "walk into the sea",
            "=dont want to wake up",
            "feel|feeling hopeless $",
            "im 13-17",
            "going to ... jump",
            "very? tired of living",
        ],
        "urgent": ["jump off|from the bridge"],
    },
}


@pytest.fixture(scope="module")
def nlp() -> Language:
    return spacy.load(PIPELINE_PACKAGE)


@pytest.fixture(scope="module")
def detector(nlp: Language) -> RiskDetector:
    return RiskDetector(nlp, SPEC)


@pytest.mark.parametrize(
    ("text", "phrase"),
    [
        ("I walked into the sea", "walk into the sea"),  # dictionary forms
        ("walking into the sea", "walk into the sea"),
        ("WALK INTO THE SEA", "walk into the sea"),
        ("wlak into the sea", "walk into the sea"),  # a typo of a word of four letters or more
        ("I don't want to wake up", "=dont want to wake up"),  # apostrophes dropped
        ("I feel hopeless", "feel|feeling hopeless $"),
        ("feeling hopeless. really", "feel|feeling hopeless $"),  # $: the end of a sentence
        ("im 15", "im 13-17"),
        ("I'm going to go and jump", "going to ... jump"),
        ("I'm going to go out and then jump", "going to ... jump"),  # up to four words
        ("tired of living", "very? tired of living"),
        ("very tired of living", "very? tired of living"),
    ],
)
def test_phrases_match(detector, text, phrase):
    assert [d.phrase for d in detector.detect_all(text)] == [phrase]


@pytest.mark.parametrize(
    "text",
    [
        "I do not want to wake up",  # =dont: that word form only, not its dictionary form "do"
        "I feel hopeless about my maths",  # $: not at the end
        "im 12",
        "im 18",
        "going to a b c d e jump",  # five words where "..." allows four
        "walk into the sae",  # typos of words under four letters are not corrected
        "I love walking by the sea",
    ],
)
def test_phrases_do_not_match(detector, text):
    assert detector.detect_all(text) == []


def test_the_most_urgent_category_comes_first(detector):
    found = detector.detect_all("I'm going to jump off the bridge")
    assert [d.intent for d in found] == ["urgent", "risk"]
    assert detector.detect("I'm going to jump off the bridge").intent == "urgent"


def test_protected_words_are_never_read_as_typos(nlp):
    spec: dict[str, Any] = {"categories": {"risk": ["ipat"]}}
    assert RiskDetector(nlp, spec).detect("iapt") is not None  # one transposition away
    protected = RiskDetector(nlp, {**spec, "protected_words": ["IAPT"]})
    assert protected.detect("iapt") is None
    assert protected.detect("ipat") is not None


def test_common_english_words_are_never_read_as_typos(nlp):
    detector = RiskDetector(nlp, {"categories": {"risk": ["kill myself"]}})
    assert detector.detect("I need to improve my skill myself") is None
    assert detector.detect("kil myslef") is None  # "kil" is under four letters: listed if wanted
    assert detector.detect("kill myslef") is not None


@pytest.mark.parametrize("phrase", ["...", "x? y?", "!!"])
def test_a_phrase_without_a_required_word_is_refused(nlp, phrase):
    with pytest.raises(ValueError, match="safety phrase"):
        RiskDetector(nlp, {"categories": {"risk": [phrase]}})


def test_a_phrase_file_without_categories_is_refused(tmp_path):
    path = tmp_path / "patterns.yml"
    path.write_text("priority: [risk_suicide]\n")
    with pytest.raises(ValueError, match="categories"):
        load_spec(path)


def test_categories_missing_from_the_priority_list_come_last(nlp):
    detector = RiskDetector(nlp, {"priority": ["b"], "categories": {"a": ["one"], "b": ["two"]}})
    assert list(detector.intents) == ["b", "a"]
    assert [d.intent for d in detector.detect_all("one two")] == ["b", "a"]
