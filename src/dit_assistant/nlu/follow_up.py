"""Reading a short follow-up in the light of the question before it.

People chat: after "how long does DIT last?" comes "and how long is each one?", after "do you
have evening appointments?" comes "and weekends?". Read alone, such a message has too few words
for the classifier to place ("how long are they?" fell to the fallback, "why that long?" read as
goodbye). Two components fix that inside the NLU pipeline, where Rasa hands the conversation's
tracker to any component whose ``process`` asks for it:

- :class:`FollowUpReader`, first in the pipeline: when a message reads as a follow-up (short,
  and opening with a word that continues, or leaning on a word that points back) and the
  person's previous message was a question the assistant answered, it adds a companion message:
  the previous question and this one together. Both then go through the same featurizers and
  classifier.
- :class:`FollowUpResolver`, straight after the classifier: it takes the joint reading only when
  it names a topic and is clearly more confident than the message alone, then drops the
  companion. A reading of risk strong enough to act on is never replaced ("and what if I can't
  hold on that long?" after a question about the waiting list keeps its check-in), and a joint
  reading of risk is never taken: the previous question was an ordinary one. The safety net,
  last in the pipeline, still reads every message on its own words.

Nothing happens while a form is open: there the message is an answer to the form's question.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.core.trackers import DialogueStateTracker
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

# Marks a companion message with the position of the message it reads in context.
COMPANION_OF = "follow_up_companion_of"
# The intents of questions the assistant answers: only these set a context to follow up on.
TOPIC_PREFIX = "ask_"
# Readings the context never replaces: risk, and a young person (safeguarding).
SAFETY_PREFIX = "risk_"
SAFETY_INTENTS = {"under_18"}

MOST_WORDS = 8
_WORD = re.compile(r"[a-z0-9']+")
# Openings that continue the previous question ("and weekends?", "what about by phone?").
CONTINUATIONS = (
    "and",
    "but",
    "also",
    "so",
    "or",
    "plus",
    "then",
    "what about",
    "how about",
    "what if",
    "why",
)
# Words that point back to something said before ("how long are they?", "why that long?").
POINTERS = {"it", "its", "it's", "that", "that's", "they", "them", "those", "these", "this"}
POINTERS |= {"each", "one", "ones", "there", "then", "else", "same"}


def reads_as_follow_up(text: str) -> bool:
    """Whether ``text`` is short and leans on what came before it."""
    words = _WORD.findall(text.lower())
    if not words or len(words) > MOST_WORDS:
        return False
    opening = " ".join(words[:2])
    starts_by_continuing = any(words[0] == marker or opening == marker for marker in CONTINUATIONS)
    return starts_by_continuing or any(word in POINTERS for word in words)


def previous_question(tracker: DialogueStateTracker | None) -> str | None:
    """The text of the person's last message, if it was a question the assistant answers and no
    form is waiting for an answer."""
    if tracker is None or tracker.active_loop_name:
        return None
    latest = tracker.latest_message
    if latest is None or not latest.text:
        return None
    intent = (latest.intent or {}).get("name") or ""
    return latest.text if intent.startswith(TOPIC_PREFIX) else None


def is_safety_intent(name: str) -> bool:
    return name.startswith(SAFETY_PREFIX) or name in SAFETY_INTENTS


class _PassThroughTraining(GraphComponent):
    """Neither component learns anything: training data passes through untouched."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> _PassThroughTraining:
        return cls(config)

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        return training_data


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class FollowUpReader(_PassThroughTraining):
    """Adds, for a message that reads as a follow-up, a companion: the previous question and
    this message together."""

    def process(
        self, messages: list[Message], tracker: DialogueStateTracker | None = None
    ) -> list[Message]:
        previous = previous_question(tracker)
        if previous is None:
            return messages
        companions = [
            Message(data={TEXT: f"{previous} {message.get(TEXT)}", COMPANION_OF: index})
            for index, message in enumerate(messages)
            if message.get(COMPANION_OF) is None and reads_as_follow_up(message.get(TEXT) or "")
        ]
        return messages + companions


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class FollowUpResolver(_PassThroughTraining):
    """Takes a companion's reading where it is clearly the better one, then drops companions.

    ``margin`` (config): how much more confident than the message alone the joint reading must
    be. ``risk_acted_on`` (config): a risk reading at least this confident is never replaced;
    it is the fallback threshold, under which no risk reading leads to any reply of its own.
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {"margin": 0.3, "risk_acted_on": 0.2}

    def process(self, messages: list[Message]) -> list[Message]:
        originals = [m for m in messages if m.get(COMPANION_OF) is None]
        for companion in messages:
            index = companion.get(COMPANION_OF)
            if index is not None and self.takes_joint_reading(messages[index], companion):
                messages[index].set(INTENT, companion.get(INTENT), add_to_output=True)
                ranking = companion.get(INTENT_RANKING_KEY)
                messages[index].set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        return originals

    def takes_joint_reading(self, alone: Message, joint: Message) -> bool:
        own = alone.get(INTENT) or {}
        together = joint.get(INTENT) or {}
        own_name, own_confidence = own.get("name") or "", own.get("confidence") or 0.0
        joint_name, joint_confidence = together.get("name") or "", together.get("confidence") or 0.0
        risk_to_keep = is_safety_intent(own_name) and own_confidence >= self.config["risk_acted_on"]
        return (
            not risk_to_keep
            and joint_name.startswith(TOPIC_PREFIX)
            and joint_confidence >= own_confidence + self.config["margin"]
        )
