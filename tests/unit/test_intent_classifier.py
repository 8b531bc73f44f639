"""Which messages the intent classifier reads, and which go straight to the fallback."""

from __future__ import annotations

import numpy as np
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, FEATURE_TYPE_SEQUENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from scipy.sparse import coo_matrix

from dit_assistant.nlu.intent_classifier import _has_features


def message_with(*features: Features) -> Message:
    message = Message(data={TEXT: "what is DIT"})
    for feature in features:
        message.add_features(feature)
    return message


def test_only_sentence_features_of_the_text_count():
    sparse = Features(coo_matrix(np.ones((1, 5))), FEATURE_TYPE_SENTENCE, TEXT, "words")
    dense = Features(np.ones((1, 384)), FEATURE_TYPE_SENTENCE, TEXT, "encoder")
    sequence = Features(coo_matrix(np.ones((3, 5))), FEATURE_TYPE_SEQUENCE, TEXT, "words")
    of_intent = Features(coo_matrix(np.ones((1, 5))), FEATURE_TYPE_SENTENCE, "intent", "words")
    empty = Features(coo_matrix((1, 0)), FEATURE_TYPE_SENTENCE, TEXT, "nothing")

    assert _has_features(message_with(sparse))
    assert _has_features(message_with(dense))
    assert _has_features(message_with(empty, dense))
    assert not _has_features(message_with())
    assert not _has_features(message_with(sequence, of_intent))
    assert not _has_features(message_with(empty))
