"""The safety net as a Rasa NLU component: it runs on every message, after the classifiers.

Listed last in ``bot/config.yml``'s pipeline, it sees the classifier's verdict and overrides it
whenever a reviewed risk phrase is in the message, however confident the classifier was. When the
classifier itself already chose a risk intent with confidence, the more urgent of the two wins
(the order is the ``priority`` list in ``patterns.yml``); a weak classifier verdict never
overrides a reviewed phrase. The component is not trained: the phrase file is read when
the model loads, so a reviewed change takes effect on restart without retraining.

A risk verdict from the classifier alone (no reviewed phrase in the message) is graded:
- at or above ``confirm_threshold``: kept, so the person gets the full crisis reply;
- below it: turned into ``risk_check``, a gentle check-in that still gives the emergency route
  and helplines and asks whether the person is safe (benign figures of speech such as "this
  waiting list is killing me" mostly land here);
- a fallback because the two best intents were two kinds of risk, together holding at least
  half the confidence, also becomes the check-in: the message is about risk either way;
- an ordinary verdict (or a fallback) whose ranking still gives a kind of risk at least
  ``check_in_threshold`` becomes the check-in too: the same reading of risk would have got the
  check-in had it come first, so it is not dropped because an ordinary intent edged ahead of it
  (a message torn between "the end of therapy" and wanting to die is answered as risk);
- a classifier-only under-18 verdict on a message in which the writer gives their own age as 18
  or over ("I'm 19 and at uni, do you have student rates?"), or a job only an adult holds ("I'm
  a teacher so I can only do term-time afternoons"), is replaced by the best non-risk intent of
  the ranking (or ``nlu_fallback``): what they said of themselves contradicts the guess;
- on a message that is only a phone number or an email address (someone answering the enquiry
  form): dropped to ``nlu_fallback``, because digits alone are no sign of risk;
- only with ``require_risk_signal`` (off in ``bot/config.yml``): on a message without a single
  word of the reviewed risk-signal list (``signals`` in ``patterns.yml``), replaced by the best
  non-risk intent of the ranking (or ``nlu_fallback`` when that is weak). It removes some benign
  check-ins but also misses risk worded without any listed word, so it ships switched off
  (docs/risk-precision.md has the figures).

An overdose, suicide or self-harm verdict gets the ``about_someone_else`` entity, true when the
classifier reads the message as about someone else at risk (its ``risk_other_person`` reading at
least ``someone_else_threshold``: "my mum has taken too many of her pills", "my friend posted
that she's going to jump") and the writer says nothing of themselves, false otherwise. A
check-in gets it too, true when the reading of risk behind it is someone else's ("my wife said
goodbye to the kids and walked out with a rope"). Its slot picks the wording of the reply for a
person who is worried about someone else; the verdict, and so the kind of reply, stays.

A message that says the person is under 18 (the reviewed ``under_18`` phrases, or the classifier's
verdict) also gets the ``young_person`` entity, whatever reply it gets; its slot then picks the
crisis replies written for a child or young person for the rest of the conversation.
"""

from __future__ import annotations

import re
from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import ENTITIES, INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from dit_assistant.safety.detector import Detection, RiskDetector, get_detector

CHECK_IN_INTENT = "risk_check"
FALLBACK_INTENT = "nlu_fallback"
MAX_CONTACT_DETAIL = 254  # the longest email address; no phone number comes near it
TORN_BETWEEN_RISKS_SHARE = 0.5
"""A fallback whose two best intents are both risk intents, together at least this confident,
becomes the check-in (see ``SafetyNet._check_in_when_torn_between_risks``)."""
DEFAULT_CHECK_IN_THRESHOLD = 0.4
"""A risk reading at least this confident gets the check-in whichever intent came first (see
``SafetyNet._check_in_when_risk_reads_strongly``; chosen in docs/risk-precision.md)."""


def is_contact_detail(text: str) -> bool:
    """Whether ``text`` is only a phone number or an email address (an answer to the form).

    Checked by hand in linear time, after a length cap: the regular expression it replaces
    backtracked quadratically on long runs of digits and spaces or dots, and it runs on every
    classifier-only risk verdict.
    """
    value = text.strip()
    if not value or len(value) > MAX_CONTACT_DETAIL:
        return False
    if "@" in value:
        local, _, domain = value.partition("@")
        return (
            bool(local)
            and "@" not in domain
            and not any(char.isspace() for char in value)
            and "." in domain[1:-1]
        )
    digits = value[1:] if value[0] in "+(" else value
    return (
        len(digits) >= 7
        and digits[0].isdecimal()
        and digits[-1].isdecimal()
        and all(char.isdecimal() or char.isspace() or char in "().-" for char in digits)
    )


_ADULT_AGE = re.compile(
    r"\b(?:i'?m|i\s+am|im)\s+(?:now\s+|only\s+|just\s+)?(?:an?\s+)?(?:1[89]|[2-9][0-9]|1[01][0-9])"
    r"(?:\s*(?:years?\s+old|yrs?\s+old|yo|y/o))?\b(?!\s*(?:%|percent|minutes?|mins?|hours?|hrs?|"
    r"weeks?|days?|months?|miles?|pounds?|quid|sessions?|pm|am|[:.][0-9]))",
    re.IGNORECASE,
)


def states_an_adult_age(text: str) -> bool:
    """Whether the writer gives their own age as 18 or over ("I'm 19 and at uni", "I am 23")."""
    return _ADULT_AGE.search(text) is not None


# Jobs only an adult holds. Not "student", "carer" or "mum": young people are those too.
_ADULT_JOB = re.compile(
    r"\b(?:i'?m|i\s+am|im|i\s+work\s+as)\s+(?:an?\s+)?"
    r"(?:(?:primary|secondary|supply|school|retired|qualified|trainee)\s+)?"
    r"(?:teacher|head\s*teacher|teaching\s+assistant|lecturer|nurse|midwife|doctor|gp|"
    r"paramedic|social\s+worker|police\s+officer|solicitor|pharmacist)s?\b",
    re.IGNORECASE,
)


def states_an_adult_job(text: str) -> bool:
    """Whether the writer says they hold a job only an adult holds ("I'm a teacher so I can only
    do after 4.30 in term time": "term time" and "school" made the classifier guess a pupil)."""
    return _ADULT_JOB.search(text) is not None


def says_they_are_an_adult(text: str) -> bool:
    """An adult age or an adult's job, said by the writer of themselves."""
    return states_an_adult_age(text) or states_an_adult_job(text)


YOUNG_PERSON_INTENT = "under_18"
YOUNG_PERSON_ENTITY = "young_person"
"""Set on any message that says the person is under 18, whatever reply it gets: the
``young_person`` slot then picks the crisis replies written for a child or young person."""
OTHER_PERSON_INTENT = "risk_other_person"
OVERDOSE_INTENT = "risk_overdose"
SAID_OF_THEMSELVES = frozenset({"risk_suicide", "risk_self_harm"})
"""Reviewed phrases that, said in the first person, are the writer's own risk whatever else the
message says of someone else (see ``_the_writers_own_first``)."""
WORDED_FOR_WHOEVER_IT_IS_ABOUT = SAID_OF_THEMSELVES | {OVERDOSE_INTENT}
"""Verdicts whose reply has a wording for a person worried about someone else
(``bot/domain/safety.yml``): a reviewed phrase says what the risk is, not whose it is."""
SOMEONE_ELSE_ENTITY = "about_someone_else"
WRITER_WORDS = re.compile(r"\b(?:i|i'm|im|i've|ive|i'd|i'll|me|myself)\b", re.IGNORECASE)
"""The writer speaking of themselves: an overdose, suicide or self-harm message with any of these
is read as the writer's own ("my friend doesn't know I've taken an overdose"), however the
classifier reads it."""
DEFAULT_SOMEONE_ELSE_THRESHOLD = 0.5
"""The classifier's reading of someone else at risk from which an overdose, suicide or self-harm
message is answered as about someone else (docs/routes.md, "Someone else at risk, in the words
of another kind of risk": on the development parts, no message about the writer's own overdose
read above 0.11, nor any about their own suicide or self-harm above 0.24)."""

SAFETY_NET_KEY = "safety_net"
"""Parse-data key that records which reviewed phrase fired (the phrase, never the message)."""


@DefaultV1Recipe.register([DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER], is_trainable=False)
class SafetyNet(GraphComponent):
    """Forces a risk intent when a reviewed phrase matches, regardless of the classifier."""

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        # patterns_file: a clinic's own reviewed copy; None uses the shipped patterns.yml.
        # confirm_threshold: classifier-only risk verdicts below it become a check-in.
        # require_risk_signal: classifier-only risk verdicts need a risk-signal word.
        # fallback_threshold: below it, the non-risk runner-up is too weak and the message
        # becomes nlu_fallback (the FallbackClassifier's threshold in bot/config.yml).
        # check_in_threshold: a risk reading at least this confident gets the check-in even
        # when an ordinary intent came first; None turns that off.
        # sum_risk_readings: compare the risk intents' readings summed, rather than the
        # strongest alone, with check_in_threshold.
        # someone_else_threshold: a reading of someone else at risk at least this confident
        # words an overdose, suicide or self-harm reply for a person worried about someone
        # else; None turns that off.
        return {
            "patterns_file": None,
            "confirm_threshold": 0.8,
            "require_risk_signal": False,
            "fallback_threshold": 0.2,
            "check_in_threshold": DEFAULT_CHECK_IN_THRESHOLD,
            "sum_risk_readings": False,
            "someone_else_threshold": DEFAULT_SOMEONE_ELSE_THRESHOLD,
        }

    def __init__(
        self,
        detector: RiskDetector,
        confirm_threshold: float = 0.8,
        require_risk_signal: bool = False,
        fallback_threshold: float = 0.2,
        check_in_threshold: float | None = DEFAULT_CHECK_IN_THRESHOLD,
        someone_else_threshold: float | None = DEFAULT_SOMEONE_ELSE_THRESHOLD,
        sum_risk_readings: bool = False,
    ) -> None:
        self._detector = detector
        self._risk_intents = set(detector.intents)
        self._confirm_threshold = confirm_threshold
        self._require_risk_signal = require_risk_signal
        self._fallback_threshold = fallback_threshold
        self._check_in_threshold = check_in_threshold
        self._someone_else_threshold = someone_else_threshold
        self._sum_risk_readings = sum_risk_readings

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SafetyNet:
        return cls(
            get_detector(config.get("patterns_file")),
            float(config.get("confirm_threshold", 0.8)),
            bool(config.get("require_risk_signal", False)),
            float(config.get("fallback_threshold", 0.2)),
            _optional_float(config.get("check_in_threshold", DEFAULT_CHECK_IN_THRESHOLD)),
            _optional_float(config.get("someone_else_threshold", DEFAULT_SOMEONE_ELSE_THRESHOLD)),
            bool(config.get("sum_risk_readings", False)),
        )

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            self._apply(message)
        return messages

    def _apply(self, message: Message) -> None:
        text = message.get(TEXT) or ""
        detections = self._detector.detect_all(text)
        self._apply_verdict(message, text, _the_writers_own_first(detections))
        intent = (message.get(INTENT) or {}).get("name")
        young_person = intent == YOUNG_PERSON_INTENT or any(
            d.intent == YOUNG_PERSON_INTENT for d in detections
        )
        if young_person:
            _mark_young_person(message)
        self._answer_as_about_someone_else(message, young_person)

    def _answer_as_about_someone_else(self, message: Message, young_person: bool) -> None:
        """Word a crisis reply or check-in for a writer who is worried about someone else.

        The reviewed phrases say what the risk is, not whose it is: "my mum has taken too many
        of her pills" matches an overdose phrase, and the reply told the writer to call for help
        "even if you feel okay"; "my friend posted that she's going to jump" matches a suicide
        phrase, and the reply told the writer "I'm really sorry you're going through this". The
        verdict stays (the overdose reply is the more urgent one, and a reviewed phrase keeps
        its kind of reply); the ``about_someone_else`` entity, set true or false on every
        verdict whose reply has a wording for someone else, picks the wording. It takes two
        things to word it for someone else: the classifier reads the message as about someone
        else (on the development parts, messages about the writer's own overdose read at most
        0.11 as someone else's, and about their own suicide or self-harm at most 0.24), and the
        writer says nothing of themselves ("I", "me"...): the classifier also reads "my friend
        doesn't know I've taken an overdose" as about the friend, and the writer's own risk must
        never be answered as someone else's.

        A check-in asks rather than tells, and its wording for someone else still asks after
        the writer ("or you're not safe yourself"), so it needs only that the reading of risk
        behind it be someone else's: a weak verdict of someone else at risk, or someone else as
        the strongest reading of risk behind an ordinary or torn one. A young person's replies
        are theirs whoever it is about. The classifier's ranking is kept after the verdict: a
        reviewed phrase replaces only its own intent's entry.
        """
        if self._someone_else_threshold is None or young_person:
            return
        verdict = (message.get(INTENT) or {}).get("name")
        if verdict == CHECK_IN_INTENT:
            _mark(
                message,
                SOMEONE_ELSE_ENTITY,
                self._strongest_risk_reading(message) == OTHER_PERSON_INTENT,
            )
        elif verdict in WORDED_FOR_WHOEVER_IT_IS_ABOUT:
            text = (message.get(TEXT) or "").replace("\u2019", "'")
            reading = _reading(message, OTHER_PERSON_INTENT)
            read_as_someone_elses = reading >= self._someone_else_threshold
            writer_speaks_of_themselves = WRITER_WORDS.search(text) is not None
            _mark(
                message,
                SOMEONE_ELSE_ENTITY,
                read_as_someone_elses and not writer_speaks_of_themselves,
            )

    def _strongest_risk_reading(self, message: Message) -> str | None:
        """The risk intent the classifier's ranking puts first (the reading behind a check-in)."""
        for ranked in message.get(INTENT_RANKING_KEY) or []:
            if ranked.get("name") in self._risk_intents:
                return str(ranked["name"])
        return None

    def _apply_verdict(self, message: Message, text: str, detection: Detection | None) -> None:
        if detection is None:
            self._grade_classifier_verdict(message, text)
            return
        intent = message.get(INTENT) or {}
        current, confidence = intent.get("name"), _confidence(intent)
        # A confident classifier verdict for a more urgent risk stands ("my partner took all her
        # pills": overdose before suicide); a weak one never overrides a reviewed phrase. Nor does
        # a reading of someone else override a phrase the writer says of themselves.
        if (
            current in self._risk_intents
            and confidence >= self._confirm_threshold
            and self._more_urgent(current, detection.intent)
            and not (current == OTHER_PERSON_INTENT and detection.first_person)
        ):
            return
        message.set(INTENT, {"name": detection.intent, "confidence": 1.0}, add_to_output=True)
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != detection.intent
        ]
        message.set(
            INTENT_RANKING_KEY,
            [{"name": detection.intent, "confidence": 1.0}, *ranking],
            add_to_output=True,
        )
        message.set(
            SAFETY_NET_KEY,
            {"intent": detection.intent, "phrase": detection.phrase, "overrode": current},
            add_to_output=True,
        )

    def _grade_classifier_verdict(self, message: Message, text: str) -> None:
        intent = message.get(INTENT) or {}
        current, confidence = intent.get("name"), _confidence(intent)
        if current == FALLBACK_INTENT and self._check_in_when_torn_between_risks(message, text):
            return
        if current not in self._risk_intents:
            self._check_in_when_risk_reads_strongly(message, text, current)
            return
        if is_contact_detail(text):
            replacement = FALLBACK_INTENT
        elif self._set_aside(current, text):
            self._use_best_ordinary_intent(message, current)
            return
        elif confidence < self._confirm_threshold:
            replacement = CHECK_IN_INTENT
        else:
            return
        _classifier_verdict_replaced(message, replacement, confidence, current)

    def _check_in_when_torn_between_risks(self, message: Message, text: str) -> bool:
        """A fallback because two kinds of risk scored alike is still a message about risk.

        The FallbackClassifier falls back when the two best intents are within its ambiguity
        threshold. When both are risk intents and together hold at least half the confidence
        ("someone I follow just went live on a roof saying goodbye": about the writer or about
        someone else?), the message is about risk whichever it is, and "I don't have an answer to
        that" would be the worst reply. The check-in fits both readings: it asks, and gives the
        emergency route and the helplines. An ordinary runner-up keeps the fallback.
        """
        ranking = [
            r for r in message.get(INTENT_RANKING_KEY) or [] if r.get("name") != FALLBACK_INTENT
        ]
        if len(ranking) < 2 or is_contact_detail(text):
            return False
        first, second = ranking[0], ranking[1]
        if first.get("name") not in self._risk_intents or (
            second.get("name") not in self._risk_intents
        ):
            return False
        confidence = _confidence(first) + _confidence(second)
        if confidence < TORN_BETWEEN_RISKS_SHARE:
            return False
        _classifier_verdict_replaced(message, CHECK_IN_INTENT, confidence, FALLBACK_INTENT)
        return True

    def _check_in_when_risk_reads_strongly(
        self, message: Message, text: str, current: str | None
    ) -> None:
        """An ordinary verdict with a strong reading of risk just behind it becomes the check-in.

        A risk verdict of the classifier under ``confirm_threshold`` gets the check-in. Without
        this, the same reading of risk got an ordinary answer whenever one ordinary intent
        scored a little higher: "the end of therapy" at 0.54 over wanting to die at 0.45 was
        answered with the ending phase. Which of two close readings comes first is the least
        stable thing a classifier says (new training phrasings for one topic move it), so the
        reply to risk does not depend on it. With ``sum_risk_readings`` the risk intents'
        readings are summed: risk said calmly spreads over several of them ("I've given my dog
        to my sister and sorted my will. I feel calm now", suicide 0.25, abuse 0.21, someone
        else 0.17), and is no less a reading of risk for that. The exceptions of a
        classifier-only verdict hold here too: a bare contact detail, an adult age against a
        guess of a young person, and ``require_risk_signal``.
        """
        if self._check_in_threshold is None or is_contact_detail(text):
            return
        readings = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get("name") in self._risk_intents and r.get("name") != current
        ]
        if not readings:
            return
        strongest = max(readings, key=_confidence)
        confidence = _confidence(strongest)
        if self._sum_risk_readings:
            confidence = sum(_confidence(r) for r in readings)
        if confidence < self._check_in_threshold:
            return
        if self._set_aside(strongest.get("name"), text):
            return
        _classifier_verdict_replaced(message, CHECK_IN_INTENT, confidence, current)

    def _set_aside(self, risk_intent: str | None, text: str) -> bool:
        """Whether a classifier-only reading of risk gives way to the best ordinary intent.

        A guess of a young person when the writer gives an adult age or an adult's job ("I'm 19
        and at uni", "I'm a teacher": a reviewed under-18 phrase would have matched first), and,
        with ``require_risk_signal``, any reading of a message without a risk-signal word.
        """
        if risk_intent == YOUNG_PERSON_INTENT and says_they_are_an_adult(text):
            return True
        return self._require_risk_signal and not self._detector.has_signal(text)

    def _use_best_ordinary_intent(self, message: Message, risk_intent: str) -> None:
        """Replace a risk verdict that ``_set_aside`` gave way by the best non-risk intent."""
        ordinary = [
            r
            for r in message.get(INTENT_RANKING_KEY) or []
            if r.get("name") not in self._risk_intents and r.get("name") != CHECK_IN_INTENT
        ]
        best = ordinary[0] if ordinary else None
        if best is None or _confidence(best) < self._fallback_threshold:
            best = {"name": FALLBACK_INTENT, "confidence": 1.0 - self._fallback_threshold}
        _classifier_verdict_replaced(message, best["name"], best["confidence"], risk_intent)

    def _more_urgent(self, first: str, second: str) -> bool:
        """Whether ``first`` comes before (or is) ``second`` in the reviewed priority order."""
        order = list(self._detector.intents)
        return order.index(first) <= order.index(second)


def _the_writers_own_first(detections: list[Detection]) -> Detection | None:
    """The reviewed phrase that decides the verdict: the most urgent, unless it is someone else
    at risk while the writer says a suicide or self-harm phrase of themselves.

    The someone-else phrases leave room for a few words between the person and the risk ("my
    boyfriend ... want to die"), so "my boyfriend left and I want to die" matched one, and the
    writer, who is at risk, was answered as someone worried about another person. A phrase said
    in the first person ("I want to die") is the writer's own: it gets the reply written to
    them, which also names the emergency route for someone else's life. "my friend says she
    wants to die and I don't know what to do" stays someone else's.
    """
    if not detections:
        return None
    if detections[0].intent == OTHER_PERSON_INTENT:
        for detection in detections:
            if detection.intent in SAID_OF_THEMSELVES and detection.first_person:
                return detection
    return detections[0]


def _optional_float(value: Any) -> float | None:
    """A threshold from ``bot/config.yml``, where ``null`` switches the check off."""
    return None if value is None else float(value)


def _classifier_verdict_replaced(
    message: Message, intent: str, confidence: float, overrode: str | None
) -> None:
    """Set ``intent`` in place of the classifier's verdict ``overrode``, and record that the
    safety net did so without a reviewed phrase."""
    message.set(INTENT, {"name": intent, "confidence": confidence}, add_to_output=True)
    message.set(
        SAFETY_NET_KEY, {"intent": intent, "phrase": None, "overrode": overrode}, add_to_output=True
    )


def _confidence(reading: dict[str, Any]) -> float:
    """The confidence of one intent reading (a verdict or a ranking entry); 0 when unset."""
    return float(reading.get("confidence") or 0.0)


def _reading(message: Message, intent: str) -> float:
    """The confidence the classifier's ranking gives ``intent`` (0 when it is not ranked)."""
    for ranked in message.get(INTENT_RANKING_KEY) or []:
        if ranked.get("name") == intent:
            return _confidence(ranked)
    return 0.0


def _mark_young_person(message: Message) -> None:
    """Add the ``young_person`` entity (the whole message is the evidence: no span is kept)."""
    _mark(message, YOUNG_PERSON_ENTITY, True)


def _mark(message: Message, entity: str, value: bool) -> None:
    """Set ``entity`` to ``value`` on the message, in place of any earlier value; the whole
    message is the evidence, so no span is kept."""
    entities = [e for e in message.get(ENTITIES) or [] if e.get("entity") != entity]
    text = message.get(TEXT) or ""
    entities.append(
        {
            "entity": entity,
            "value": value,
            "start": 0,
            "end": len(text),
            "extractor": SafetyNet.__name__,
        }
    )
    message.set(ENTITIES, entities, add_to_output=True)
