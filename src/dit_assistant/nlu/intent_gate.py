"""Intents whose consequences are hard to undo need a confident classifier.

"stop_form" ends the enquiry form and forgets what the person typed. A name the classifier has
never seen ("Widget Tester", "Mohammed") can come out as a weak "stop_form", which would throw the
enquiry away. Below its minimum confidence such a verdict becomes ``nlu_fallback``, which the form
takes as an ordinary answer and which elsewhere gets the "could you say that another way" reply.
Risk intents are never gated here: the safety net grades those.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.constants import DEFAULT_NLU_FALLBACK_INTENT_NAME
from rasa.shared.nlu.constants import INTENT
from rasa.shared.nlu.training_data.message import Message


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class IntentConfidenceGate(GraphComponent):
    """Turns weak verdicts for the configured intents into the fallback intent."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # minimum_confidence: intent name -> the confidence it needs to stand.
        return {"minimum_confidence": {}}

    def __init__(self, minimum_confidence: dict[str, float]) -> None:
        self._minimum = {name: float(value) for name, value in minimum_confidence.items()}

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> IntentConfidenceGate:
        return cls(config.get("minimum_confidence") or {})

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent: dict[str, Any] = message.get(INTENT) or {}
            name = intent.get("name")
            minimum = self._minimum.get(name) if isinstance(name, str) else None
            if minimum is not None and float(intent.get("confidence") or 0.0) < minimum:
                message.set(
                    INTENT,
                    {"name": DEFAULT_NLU_FALLBACK_INTENT_NAME, "confidence": intent["confidence"]},
                    add_to_output=True,
                )
        return messages
