"""Unanswered questions are grouped by topic: one group per gap, never two topics in one."""

from __future__ import annotations

import pytest

from dit_assistant.similarity import group_texts, normalise

PARAPHRASES = {
    "dog": [
        "can I bring my dog?",
        "Can I bring my dog to my sessions",
        "is it ok to bring my dogg with me",
    ],
    "parking": ["is there parking", "is there parking nearby?"],
    "gift": [
        "is it ok to give my therapist a gift at christmas",
        "should I buy my therapist a gift",
    ],
    "training": [
        "how can I train to be a therapist",
        "what training do I need to become a therapist",
    ],
    "insurance": ["does my insurance cover this", "can I claim on my health insurance"],
    "autism": [
        "how do I get an adult autism assessment",
        "how long does it take to get an adult autism assessment",
    ],
    "weather": ["what's the weather tomorrow"],
    "guitar": ["what's the best way to learn the guitar"],
    "hairdresser": ["can you recommend a good hairdresser"],
}


def _topics(groups: list[list[int]], labels: list[str]) -> list[set[str]]:
    return [{labels[i] for i in group} for group in groups]


def test_paraphrases_share_a_group_and_topics_stay_apart():
    texts = [text for questions in PARAPHRASES.values() for text in questions]
    labels = [topic for topic, questions in PARAPHRASES.items() for _ in questions]
    groups = group_texts(texts)
    assert all(len(topics) == 1 for topics in _topics(groups, labels)), "two topics in one group"
    assert len(groups) == len(PARAPHRASES), [[texts[i] for i in g] for g in groups]


def test_groups_come_in_the_order_of_their_first_text_newest_first_by_convention():
    texts = ["is there parking", "can I bring my dog", "is there parking nearby", "my dog?"]
    assert group_texts(texts) == [[0, 2], [1, 3]]


@pytest.mark.parametrize(
    ("texts", "expected"),
    [
        ([], []),
        (["only one"], [[0]]),
        (["🙂🙂", "🙂🙂", "?!"], [[0, 1], [2]]),
        (["the", "the"], [[0, 1]]),
        (["call me on [phone]", "Call me on [phone]!"], [[0, 1]]),
    ],
    ids=["none", "one", "no-words", "stop-words-only", "placeholders"],
)
def test_edge_cases(texts, expected):
    assert group_texts(texts) == expected


def test_normalise_drops_case_punctuation_and_placeholders():
    assert normalise("Email me at [email], OK?") == "email me at ok"
