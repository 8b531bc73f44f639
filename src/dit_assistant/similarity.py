"""Grouping the questions the assistant could not answer, so staff see each gap once, with a count.

Twenty people asking "can I bring my dog?" in twenty wordings are one piece of missing content.
The texts are compared as TF-IDF vectors of their words (without common function words) and of
their character 3-5-grams (which absorb typos and plurals), and grouped by average-linkage
clustering on cosine similarity: a question joins a group when it is, on average, at least
``SIMILARITY_THRESHOLD`` similar to the group's questions, so one loose match cannot chain two
unrelated topics together.

The project's sentence encoder (``nlu/sentence_embeddings.py``) would also group synonyms ("price"
and "cost"), but loading it takes the dashboard from about 65 MB to about 850 MB and adds tens of
seconds at start-up on a two-core machine; TF-IDF groups a few hundred questions in a fraction of a
second. Groups are computed when staff look, never stored, so the method can change freely.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

SIMILARITY_THRESHOLD = 0.3
"""Average cosine similarity above which questions share a group; chosen on paraphrase sets in
``tests/unit/test_similarity.py`` (same topic in other words grouped, other topics apart)."""

_PLACEHOLDER = re.compile(r"\[(?:email|phone|postcode|number)\]")
_NOT_WORD = re.compile(r"[^\w\s]+")
# A crude singular: "dogs", "sessions" -> "dog", "session"; "class", "focus" stay. Applied to
# every text alike, so its mistakes ("does" -> "doe") cost nothing.
_SINGULAR = re.compile(r"(?<![su])s$")


def normalise(text: str) -> str:
    """Lower case, without the redaction placeholders or punctuation: what grouping compares."""
    text = _PLACEHOLDER.sub(" ", text.lower())
    return " ".join(_NOT_WORD.sub(" ", text).split())


def group_texts(texts: Sequence[str], threshold: float = SIMILARITY_THRESHOLD) -> list[list[int]]:
    """Indices of ``texts`` in groups of similar questions.

    Each group lists its indices in ascending order, and groups are ordered by their first index:
    give the texts newest first and the groups come out newest first. Texts that are the same
    once normalised always share a group, even when they have no words (emoji only).
    """
    by_text: dict[str, list[int]] = {}
    for index, text in enumerate(texts):
        # Wordless texts (emoji, punctuation) are grouped only with exactly the same text.
        by_text.setdefault(normalise(text) or text.strip(), []).append(index)
    distinct = list(by_text)  # a wordless one has a zero vector: similar to nothing else
    clusters = _cluster(distinct, threshold) if len(distinct) > 1 else [[0]] * len(distinct)
    groups = [sorted(i for d in cluster for i in by_text[distinct[d]]) for cluster in clusters]
    return sorted(groups, key=lambda group: group[0])


def _cluster(texts: list[str], threshold: float) -> list[list[int]]:
    """Average-linkage clusters of ``texts`` (indices), cut at ``1 - threshold`` distance."""
    from scipy.cluster.hierarchy import fcluster, linkage
    from scipy.spatial.distance import squareform

    similarity = _cosine_similarities(texts)
    distance = np.clip(1.0 - similarity, 0.0, 1.0)
    np.fill_diagonal(distance, 0.0)
    tree = linkage(squareform(distance, checks=False), method="average")
    labels = fcluster(tree, t=1.0 - threshold, criterion="distance")
    clusters: dict[int, list[int]] = {}
    for index, label in enumerate(labels):
        clusters.setdefault(int(label), []).append(index)
    return list(clusters.values())


def _content_words(text: str) -> list[str]:
    """The words that carry the topic, singular: "are dogs allowed" -> ["dog", "allowed"]."""
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    words = (word for word in text.split() if word not in ENGLISH_STOP_WORDS)
    return [_SINGULAR.sub("", word) if len(word) > 3 else word for word in words]


def _cosine_similarities(texts: list[str]) -> np.ndarray:
    """Pairwise cosine similarities: the mean of the word and the character-n-gram cosines."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    total = np.zeros((len(texts), len(texts)))
    for vectorizer in (
        TfidfVectorizer(analyzer=_content_words, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(3, 5), sublinear_tf=True),
    ):
        try:
            vectors = vectorizer.fit_transform(texts)
        except ValueError:  # no usable token in any text (e.g. only function words)
            continue
        total += (vectors @ vectors.T).toarray()
    return total / 2.0
