"""Second readings of a message: with the question before it, or of its question alone.

People chat, and the classifier reads one whole message at a time. Two shapes of message defeat
that, and both are mended inside the NLU pipeline:

- **A follow-up.** After "how long does DIT last?" comes "and how long is each one?", after "do
  you have evening appointments?" comes "and weekends?". Read alone, such a message has too few
  words ("how long are they?" fell to the fallback, "why that long?" read as goodbye).
- **A difficulty, then a question.** "I've been lonely since I moved here, I don't know anyone.
  is it weekly?" read as sharing a difficulty only, and the question went unanswered.

:class:`CompanionReader`, first in the pipeline, adds companion messages beside the person's
message: the previous answered question and this one together (for a message that reads as a
follow-up; Rasa hands the conversation's tracker to any component whose ``process`` asks for
it), and the message split into what it says and what it asks (for a message that says
something of its own, then asks). Every companion goes through the same featurizers and classifier.

:class:`CompanionResolver`, straight after the classifier, takes a companion's reading only when
it names a topic and is clearly more confident than the whole message's, marks a message that
shared a difficulty before its question (``shared_difficulty``: the answer then opens by
acknowledging it, ``nlg.py``), and drops the companions. A reading of risk strong enough to act
on is never replaced ("what if I'm gone by then" after a question about the waiting list keeps
its check-in), and a companion's reading of risk is never taken. The safety net, last in the
pipeline, still reads every message on its own words.

Nothing happens to follow-ups while a form is open: there the message answers the form.
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

from dit_assistant.safety import SAFETY_ROUTES

# Set on a companion: the position of the message it reads, and which kind of reading it is.
COMPANION_OF = "companion_of"
COMPANION_KIND = "companion_kind"
FOLLOW_UP, QUESTION, STATEMENT = "follow_up", "question", "statement"
# Set on a follow-up's companion: the topic the assistant answered the question before it with.
PREVIOUS_TOPIC = "previous_topic"
OUT_OF_SCOPE = "out_of_scope"
# An everyday remark that asks nothing ("just made the best banana bread of my life"): answered
# with the same honest reply as ``out_of_scope``, and, like it, no reading of a topic.
SMALL_TALK = "small_talk"
# Set on a message (and kept in its parse data) that shared a difficulty before its question.
SHARED_DIFFICULTY = "shared_difficulty"
DIFFICULTY_INTENT = "share_difficulty"
# What a statement made before a question reads as when it tells of a difficulty: "I get panic
# attacks every day" reads as the anxiety topic, "I've been bottling things up and it's getting
# to me" as a weak risk guess (the whole message is read as its question all the same).
DIFFICULTY_READINGS = {DIFFICULTY_INTENT, "ask_anxiety", "ask_depression", "ask_relationships"}
# The intents of questions the assistant answers.
TOPIC_PREFIX = "ask_"
# Readings that answer no question: a question read apart from them stands on its own
# confidence, without the margin.
# ("Out of scope" is an answer: the honest "I don't have an answer to that". An everyday remark
# is not: it asks nothing, so a question beside it is the question.)
NON_ANSWERS = {
    DIFFICULTY_INTENT,
    SMALL_TALK,
    "nlu_fallback",
    "gibberish",
    "greet",
    "goodbye",
    "thank",
}
# Readings never replaced: every safety route, risk and a young person (safeguarding) alike.
# A reading of risk (not of age) in what a message says first also tells of a difficulty.
RISK_READINGS = {name for name in SAFETY_ROUTES if name.startswith("risk_")}

_WORD = re.compile(r"[a-z0-9']+")

MOST_FOLLOW_UP_WORDS = 8
# A question this short after an answered question leans on it whatever its words ("with
# who?" after a question about accreditation, "weekends?"); without a question mark it may be a
# request of its own ("help").
FEWEST_WORDS_TO_STAND_ALONE = 4
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
    # fragments that finish the question before ("even if mine was fine?", "for students?")
    "even",
    "for",
    "with",
)
# Whole messages that ask to have the previous answer explained or expanded: they continue it as
# surely as an "and" does, though their words ("mean", "explain") read alone as a question of
# their own (after the near-subject questions, "what does that mean?" read as out of scope).
EXPLAIN_REQUESTS = {
    "what does that mean",
    "what does it mean",
    "what do you mean",
    "what do you mean by that",
    "meaning",
    "how so",
    "like what",
    "such as",
    "in what way",
    "can you explain",
    "can you explain that",
    "explain",
}
# Words that point back to something said before ("how long are they?", "why that long?").
POINTERS = {"it", "its", "it's", "that", "that's", "they", "them", "those", "these", "this"}
POINTERS |= {"each", "one", "ones", "there", "then", "else", "same"}

# A clause, with the punctuation that ends it.
_CLAUSE = re.compile(r"[^.!?;,\n]+[.!?;,\n]*")
# Words a question in English opens with.
QUESTION_OPENERS = {"how", "what", "what's", "whats", "when", "where", "who", "why", "which"}
QUESTION_OPENERS |= {"can", "could", "do", "does", "did", "is", "are", "will", "would", "should"}
QUESTION_OPENERS |= {"may", "am", "have", "has"}
FEWEST_STATEMENT_WORDS = 3


def _words(text: str) -> list[str]:
    return _WORD.findall(text.lower())


def opens_as_continuation(text: str) -> bool:
    """Whether ``text`` opens by continuing what came before ("and", "what about"), or is all a
    request to explain it ("what does that mean?")."""
    words = _words(text)
    if not words:
        return False
    if " ".join(words) in EXPLAIN_REQUESTS:
        return True
    opening = " ".join(words[:2])
    return any(words[0] == marker or opening == marker for marker in CONTINUATIONS)


def reads_as_follow_up(text: str) -> bool:
    """Whether ``text`` is short and leans on what came before it."""
    words = _words(text)
    if not words or len(words) > MOST_FOLLOW_UP_WORDS:
        return False
    if len(words) < FEWEST_WORDS_TO_STAND_ALONE and text.rstrip().endswith("?"):
        return True
    return opens_as_continuation(text) or any(word in POINTERS for word in words)


def split_question(text: str) -> tuple[str, str] | None:
    """``text`` as (what it says, what it asks), when it says something of its own (three words
    or more, no question among them) and then asks a question: the question runs from the first
    clause that opens like one, or the first that ends with "?", to the end. None for any other
    message."""
    clauses = _CLAUSE.findall(text)
    for position, clause in enumerate(clauses):
        words = _words(clause)
        opens_a_question = bool(words) and words[0] in QUESTION_OPENERS
        if opens_a_question or "?" in clause:
            if position == 0 or not opens_a_question:
                return None  # a question from the start, or one that is all one statement
            statement = "".join(clauses[:position]).strip(" ,;")
            if len(_words(statement)) < FEWEST_STATEMENT_WORDS:
                return None
            return statement, "".join(clauses[position:]).strip()
    return None


def previous_answered_question(tracker: DialogueStateTracker | None) -> tuple[str, str] | None:
    """The text and topic of the person's last message, if it was a question the assistant
    answers and no form is waiting for an answer."""
    if tracker is None or tracker.active_loop_name:
        return None
    latest = tracker.latest_message
    if latest is None or not latest.text:
        return None
    intent = (latest.intent or {}).get("name") or ""
    return (latest.text, intent) if intent.startswith(TOPIC_PREFIX) else None


def _reading(message: Message) -> tuple[str, float]:
    intent = message.get(INTENT) or {}
    return intent.get("name") or "", intent.get("confidence") or 0.0


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


def _companion(text: str, index: int, kind: str, previous_topic: str | None = None) -> Message:
    data: dict[str, Any] = {TEXT: text, COMPANION_OF: index, COMPANION_KIND: kind}
    if previous_topic is not None:
        data[PREVIOUS_TOPIC] = previous_topic
    return Message(data=data)


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.MESSAGE_TOKENIZER], is_trainable=False)
class CompanionReader(_PassThroughTraining):
    """Adds the companion messages described in the module's docstring."""

    def process(
        self, messages: list[Message], tracker: DialogueStateTracker | None = None
    ) -> list[Message]:
        previous = previous_answered_question(tracker)
        companions = []
        for index, message in enumerate(messages):
            if message.get(COMPANION_OF) is not None:
                continue
            text = message.get(TEXT) or ""
            if previous is not None and reads_as_follow_up(text):
                question, topic = previous
                companions.append(_companion(f"{question} {text}", index, FOLLOW_UP, topic))
            parts = split_question(text)
            if parts is not None:
                companions.append(_companion(parts[0], index, STATEMENT))
                companions.append(_companion(parts[1], index, QUESTION))
        return messages + companions


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class CompanionResolver(_PassThroughTraining):
    """Takes a companion's reading where it is clearly the better one, marks a difficulty shared
    before a question, and drops the companions.

    ``margin`` (config): how much more confident than the whole message a companion's reading
    must be. ``continuation_margin`` (config): the same for a follow-up that opens by continuing
    the previous question ("and", "what about"): the person has said it leans on it, so the
    reading with it needs a smaller lead ("what about for my insurer?" after a question about a
    letter for work reads alone as the insurer referral route, 0.78, and with it as the letter,
    1.0). ``continues_previous`` (config): how confident the reading of a follow-up with its
    question must be, as that question's own topic, to replace a reading of the follow-up alone
    as out of scope ("does that count as one of the 16?" after a question about missing a
    session: out of scope alone at 0.91, missing a session with it at 0.99; no margin over 0.91
    could be had). ``question`` (config): how confident the reading of a message's question must be
    to replace a whole reading that answers nothing (sharing a difficulty, the fallback, a
    greeting) when what the message says before it tells of a difficulty. ``risk_acted_on``
    (config): a risk reading at least this confident is never replaced; it is the fallback
    threshold, under which no risk reading leads to a reply of its own. ``difficulty``
    (config): how confident the reading of what a message says must be that it tells of a
    difficulty (``DIFFICULTY_READINGS``, or risk).
    """

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            "margin": 0.3,
            "continuation_margin": 0.2,
            "continues_previous": 0.9,
            "question": 0.5,
            "risk_acted_on": 0.2,
            "difficulty": 0.25,
        }

    def process(self, messages: list[Message]) -> list[Message]:
        originals = [m for m in messages if m.get(COMPANION_OF) is None]
        by_message: dict[int, dict[str, Message]] = {}
        for companion in messages:
            index = companion.get(COMPANION_OF)
            if index is not None:
                by_message.setdefault(index, {})[companion.get(COMPANION_KIND)] = companion
        for index, companions in by_message.items():
            self._resolve(messages[index], companions)
        return originals

    def _resolve(self, message: Message, companions: dict[str, Message]) -> None:
        statement = companions.get(STATEMENT)
        shares_difficulty = (statement is not None and self._shares_difficulty(statement)) or (
            _reading(message)[0] == DIFFICULTY_INTENT
        )
        for kind in (FOLLOW_UP, QUESTION):
            companion = companions.get(kind)
            if companion is not None and self.takes_reading(
                message, companion, kind, shares_difficulty
            ):
                message.set(INTENT, companion.get(INTENT), add_to_output=True)
                ranking = companion.get(INTENT_RANKING_KEY)
                message.set(INTENT_RANKING_KEY, ranking, add_to_output=True)
        if shares_difficulty and _reading(message)[0].startswith(TOPIC_PREFIX):
            message.set(SHARED_DIFFICULTY, True, add_to_output=True)

    def _shares_difficulty(self, statement: Message) -> bool:
        name, confidence = _reading(statement)
        tells_of_difficulty = name in DIFFICULTY_READINGS or name in RISK_READINGS
        return tells_of_difficulty and confidence >= self.config["difficulty"]

    def takes_reading(
        self, whole: Message, companion: Message, kind: str, shares_difficulty: bool = False
    ) -> bool:
        own_name, own_confidence = _reading(whole)
        name, confidence = _reading(companion)
        risk_to_keep = own_name in SAFETY_ROUTES and own_confidence >= self.config["risk_acted_on"]
        if risk_to_keep or not name.startswith(TOPIC_PREFIX):
            return False
        if kind == QUESTION and own_name in NON_ANSWERS and shares_difficulty:
            return confidence >= self.config["question"]
        if (
            kind == FOLLOW_UP
            and own_name in (OUT_OF_SCOPE, SMALL_TALK)
            and name == companion.get(PREVIOUS_TOPIC)
            and confidence >= self.config["continues_previous"]
        ):
            return True
        margin = self.config["margin"]
        if kind == FOLLOW_UP and opens_as_continuation(whole.get(TEXT) or ""):
            margin = self.config["continuation_margin"]
        return confidence >= own_confidence + margin
