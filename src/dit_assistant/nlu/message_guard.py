"""An NLU component that sends messages without any words to the fallback.

A message of only emoji, punctuation, control characters, whitespace or one endless run of
letters carries nothing the
classifier can read, yet character n-grams would still give it some confident intent. This
component marks such messages as ``nlu_fallback`` so the person is kindly asked to rephrase.
It sits before the safety net, which still has the last word on every message.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
LONGEST_WORD = 40  # longer runs of letters ("xxxxxxxx...") are not words a person typed


def has_words(text: str | None) -> bool:
    return any(len(word) <= LONGEST_WORD for word in _WORD.findall(text or ""))


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class WordlessMessageGuard(GraphComponent):
    """Routes messages without a single real word to the fallback intent."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> WordlessMessageGuard:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            if not has_words(message.get(TEXT)):
                fallback = {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": 1.0}
                message.set(INTENT, fallback, add_to_output=True)
                message.set(INTENT_RANKING_KEY, [fallback], add_to_output=True)
        return messages
