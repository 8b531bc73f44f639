"""Deterministic risk detection from the reviewed phrase file ``patterns.yml``.

This is the safety net under the intent classifier: whatever the classifier thinks, a message
that contains one of the reviewed phrases is treated as risk. It works on words, not characters:

1. The message is lowercased, apostrophes dropped ("can't" -> "cant") and split into words.
2. Words that are not common English and are one or two edits away from a word used in the
   patterns are read as that word, so "sucidal", "kil myslef" and "self harmimg" still match,
   while real words such as "skill" are left alone.
3. spaCy's ``Matcher`` compares the dictionary form (lemma) of each word with the patterns, so
   "killing myself", "killed myself" and "kill myself" are one pattern.
4. Each match says whether the writer said it of themselves ("I" just before it, not reported
   after "said" or "told"): the safety net lets such a suicide or self-harm phrase win over a
   reading of someone else (``component._the_writers_own_first``).

The phrase syntax is documented at the top of ``patterns.yml``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import spacy
import yaml
from rapidfuzz import process
from rapidfuzz.distance import DamerauLevenshtein
from spacy.language import Language
from spacy.matcher import Matcher
from spacy.tokens import Doc

from dit_assistant.nlu.spacy_pipeline import COMMON_WORDS_TABLE, PIPELINE_PACKAGE

_WORD = re.compile(r"\d+|[^\W\d_]+", re.UNICODE)  # "15yo" -> "15", "yo"
_APOSTROPHES = re.compile(r"['’‘`´]")
_MAX_WILDCARDS = 4  # "..." in a phrase stands for up to this many words
_SENTENCE_BREAK = re.compile(r"[.!?;\n]+")
_END = "endofsentence"  # stands for "$" in phrases; no real word is spelled like it
_FIRST_PERSON = frozenset({"i", "im", "ive", "id", "ill"})  # apostrophes dropped: "I'll" -> "ill"
_FIRST_PERSON_REACH = 2  # "I want to die", "I really want to die", "I just really want to die"
# Words that put someone else's "I" in the writer's message: "my son said I want to die".
# Only words that report speech or writing: "my mum shouts at me and I want to die" is the
# writer's own.
_SAYING = frozenset(
    {"say", "said", "tell", "told", "text", "texted", "message", "messaged", "post", "posted"}
    | {"write", "wrote"}
)


@dataclass(frozen=True)
class Detection:
    """Which risk category a message matched, and the reviewed phrase that matched it."""

    intent: str
    phrase: str
    first_person: bool = False
    """Whether the writer said it of themselves: "I", "I'm", "I've"... just before the phrase
    ("my boyfriend left and I want to die"), where "she wants to die" says it of someone else."""


@dataclass(frozen=True)
class _Phrase:
    intent: str
    text: str


# "OD'd" (overdosed) would read as "odd" once its apostrophe is dropped, so it is spelled out
# first; "odd" itself is an ordinary word and stays one.
_OVERDOSED = re.compile(r"\bod['’‘`´]e?d\b")


def _words(text: str) -> list[str]:
    spelled_out = _OVERDOSED.sub("overdosed", text.lower())
    return _WORD.findall(_APOSTROPHES.sub("", spelled_out))


def _sentence_words(text: str) -> list[str]:
    """Words of every sentence, each sentence followed by the end marker that "$" matches."""
    words: list[str] = []
    for sentence in _SENTENCE_BREAK.split(text):
        sentence_words = _words(sentence)
        if sentence_words:
            words.extend([*sentence_words, _END])
    return words


def _max_edits(word: str) -> int:
    """How many typing mistakes a word of this length may carry and still be recognised."""
    if len(word) < 4:
        return 0
    return 1 if len(word) <= 6 else 2


class RiskDetector:
    """Matches messages against the reviewed risk phrases."""

    def __init__(self, nlp: Language, spec: dict[str, Any]) -> None:
        self._nlp = nlp
        self._lemmatizer = nlp.get_pipe("lemmatizer")
        self._common_words = nlp.vocab.lookups.get_table(COMMON_WORDS_TABLE)
        self._matcher = Matcher(nlp.vocab)
        self._phrases: dict[str, _Phrase] = {}
        self.priority: list[str] = list(spec.get("priority") or [])
        vocabulary: set[str] = set()
        for intent, phrases in spec["categories"].items():
            if intent not in self.priority:
                self.priority.append(intent)
            for text in phrases:
                key = f"{intent}::{text}"
                pattern, words = self._compile(str(text))
                vocabulary.update(words)
                self._phrases[key] = _Phrase(intent=intent, text=str(text))
                self._matcher.add(key, [pattern])
        # Exceptions: phrases that, where they overlap a risk phrase's match, show an innocent
        # reading of it ("I'm 10 minutes late" is no age). Keyed like the phrases, one Matcher.
        self._exceptions = Matcher(nlp.vocab)
        for intent, phrases in (spec.get("exceptions") or {}).items():
            for text in phrases:
                pattern, words = self._compile(str(text))
                vocabulary.update(words)
                self._exceptions.add(f"{intent}::{text}", [pattern])
        # Risk-signal words: a classifier-only risk verdict needs one of them (see component.py).
        signal_words = [w for entry in spec.get("signals") or [] for w in _words(str(entry))]
        vocabulary.update(signal_words)
        # Matched by the word as typed or by its dictionary form, but only where that form is
        # itself listed: "gone" must not make every "going" a signal.
        self._signals = set(signal_words)
        self._vocabulary = sorted(vocabulary)
        self._known = vocabulary | {w.lower() for w in spec.get("protected_words") or []}

    # ------------------------------------------------------------------ building
    def _lemma(self, word: str) -> str:
        doc = self._lemmatizer(Doc(self._nlp.vocab, words=[word]))
        return doc[0].lemma_ or word

    def _compile(self, phrase: str) -> tuple[list[dict[str, Any]], list[str]]:
        """Turn one reviewed phrase into a spaCy Matcher pattern and the words it uses."""
        pattern: list[dict[str, Any]] = []
        words: list[str] = []
        for slot in phrase.split():
            if slot == "...":
                pattern.extend({"OP": "?"} for _ in range(_MAX_WILDCARDS))
                continue
            optional = slot.endswith("?")
            slot = slot.rstrip("?")
            # "$" may also be one of the alternatives ("anymore|$": that word or the end).
            options = slot.split("|")
            ends = [_END] if "$" in options else []
            slot = "|".join(option for option in options if option != "$")
            number_range = re.fullmatch(r"(\d+)-(\d+)", slot)
            if not slot and ends:
                token: dict[str, Any] = {"LOWER": _END}
            elif number_range:
                low, high = int(number_range[1]), int(number_range[2])
                token = {"LOWER": {"IN": [str(n) for n in range(low, high + 1)] + ends}}
            elif slot.startswith("="):
                alternatives = [w for a in slot.split("|") for w in _words(a.lstrip("="))]
                words.extend(alternatives)
                token = {"LOWER": {"IN": alternatives + ends}}
            else:
                alternatives = [w for a in slot.split("|") for w in _words(a)]
                if not alternatives:
                    raise ValueError(f"empty word in safety phrase {phrase!r}")
                words.extend(alternatives)
                lemmas = sorted({self._lemma(w) for w in alternatives})
                token = {"LEMMA": {"IN": lemmas + ends}}
            if optional:
                token["OP"] = "?"
            pattern.append(token)
        if not any(t.get("OP") != "?" for t in pattern):
            raise ValueError(f"safety phrase {phrase!r} has no required word")
        return pattern, words

    # ------------------------------------------------------------------ matching
    def _correct(self, word: str) -> str:
        """Read a likely typo of a pattern word as that word; leave real words alone."""
        if word in self._known or word == _END or word.isdigit() or word in self._common_words:
            return word
        edits = _max_edits(word)
        if not edits:
            return word
        best = process.extractOne(
            word, self._vocabulary, scorer=DamerauLevenshtein.distance, score_cutoff=edits
        )
        return best[0] if best else word

    def doc(self, text: str) -> Doc | None:
        """The normalised, typo-corrected, lemmatised words the patterns are matched against
        (``None`` when the text has no words at all, e.g. only emoji)."""
        words = [self._correct(w) for w in _sentence_words(text)]
        return self._lemmatizer(Doc(self._nlp.vocab, words=words)) if words else None

    def detect_all(self, text: str) -> list[Detection]:
        """Every reviewed phrase found in ``text``, most urgent category first."""
        doc = self.doc(text or "")
        if doc is None:
            return []
        excused: dict[str, list[tuple[int, int]]] = {}
        for match_id, start, end in self._exceptions(doc):
            intent = self._nlp.vocab.strings[match_id].split("::", 1)[0]
            excused.setdefault(intent, []).append((start, end))
        found: dict[str, Detection] = {}
        for match_id, start, end in self._matcher(doc):
            phrase = self._phrases[self._nlp.vocab.strings[match_id]]
            if any(s < end and start < e for s, e in excused.get(phrase.intent, ())):
                continue
            key = phrase.text + phrase.intent
            first_person = _said_in_the_first_person(doc, start) or (
                key in found and found[key].first_person
            )
            found[key] = Detection(phrase.intent, phrase.text, first_person)
        return sorted(found.values(), key=lambda d: self.priority.index(d.intent))

    def detect(self, text: str) -> Detection | None:
        """The most urgent risk category in ``text``, or ``None``."""
        detections = self.detect_all(text)
        return detections[0] if detections else None

    def has_signal(self, text: str) -> bool:
        """Whether ``text`` holds a word of the reviewed risk-signal list (in any form, typos
        included): the least a classifier-only risk verdict needs to stand."""
        doc = self.doc(text or "")
        return doc is not None and any(
            token.lemma_ in self._signals or token.lower_ in self._signals for token in doc
        )

    @property
    def intents(self) -> Iterable[str]:
        return tuple(self.priority)


def _said_in_the_first_person(doc: Doc, start: int) -> bool:
    """Whether one of the words just before ``start`` (in the same sentence, the phrase's own
    first word included) is the writer's "I", and not someone else's quoted: no word of saying
    ("said", "told", "texted"...) comes before it in the sentence ("my son said "I want to
    die"" is the son's)."""
    for index in range(start, max(start - _FIRST_PERSON_REACH, 0) - 1, -1):
        word = doc[index].lower_
        if word == _END and index != start:
            return False
        if word in _FIRST_PERSON:
            return not _quoted(doc, index)
    return False


def _quoted(doc: Doc, index: int) -> bool:
    """Whether a word of saying comes before ``index`` in its sentence."""
    for before in range(index - 1, -1, -1):
        if doc[before].lower_ == _END:
            return False
        if doc[before].lemma_ in _SAYING or doc[before].lower_ in _SAYING:
            return True
    return False


def load_spec(path: Path | None = None) -> dict[str, Any]:
    """Read the phrase file: the reviewed default, or a clinic's own copy."""
    if path is None:
        text = resources.files("dit_assistant.safety").joinpath("patterns.yml").read_text("utf-8")
    else:
        text = Path(path).read_text("utf-8")
    spec = yaml.safe_load(text)
    if not isinstance(spec, dict) or not isinstance(spec.get("categories"), dict):
        raise ValueError("the safety phrase file needs a 'categories' mapping")
    return spec


@lru_cache(maxsize=4)
def get_detector(path: str | None = None) -> RiskDetector:
    """A detector over the phrase file, built once per process and path."""
    nlp = spacy.load(PIPELINE_PACKAGE)
    return RiskDetector(nlp, load_spec(Path(path) if path else None))
