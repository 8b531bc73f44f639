"""The wordless-message guard: a message without a single real word goes to the fallback (the
person is asked to rephrase); anything with words is left to the classifier."""

from __future__ import annotations

import pytest
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY

from dit_assistant.nlu.message_guard import LONGEST_WORD, WordlessMessageGuard, has_words
from tests.fixtures.messages import classified


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("hi", True),
        ("42", True),  # an age or a number of sessions is an answer
        ("é", True),
        ("你好", True),
        ("is it 🙂?", True),
        ("x" * LONGEST_WORD, True),
        ("x" * (LONGEST_WORD + 1), False),  # a key held down is not a word
        ("x" * (LONGEST_WORD + 1) + " ok", True),
        ("🙂🙂🙂", False),
        ("?!...", False),
        ("___", False),
        ("\x00\x01\x02", False),
        ("   ", False),
        ("", False),
        (None, False),
    ],
)
def test_what_counts_as_words(text, words):
    assert has_words(text) is words


def test_wordless_messages_go_to_the_fallback_and_the_rest_are_left_alone():
    emoji = classified("👍", "affirm", confidence=0.97)
    question = classified("how long is each session", "ask_session_length", confidence=0.9)
    WordlessMessageGuard().process([emoji, question])
    fallback = {"name": "nlu_fallback", "confidence": 1.0}
    assert emoji.get(INTENT) == fallback
    assert emoji.get(INTENT_RANKING_KEY) == [fallback]
    assert question.get(INTENT) == {"name": "ask_session_length", "confidence": 0.9}
    assert question.get(INTENT_RANKING_KEY)[0]["name"] == "ask_session_length"
