"""Builds the local English spaCy pipeline the bot's NLU uses, and installs it as a package.

No pretrained English model can be downloaded where this runs, so set-up builds a blank English
pipeline with spaCy's lookup lemmatizer (tables from ``spacy-lookups-data``) and installs it into
the virtual environment as the package ``en_dit_lookup``. Rasa's ``SpacyNLP`` then loads it by
name, which works from any working directory, and the safety net lemmatizes with the same one.

Run as ``python -m dit_assistant.nlu.spacy_pipeline`` (the Makefile does).
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from spacy.language import Language

PIPELINE_PACKAGE = "en_dit_lookup"
PIPELINE_VERSION = "1.1.0"

COMMON_WORDS_TABLE = "common_words"
"""Vocabulary table of common English word forms (about 40,000), used by the safety net to tell
a typo ("sucidal") from a real word that merely looks like a risk word ("skill")."""
COMMON_WORD_MIN_LOG_PROB = -14.5


def build(directory: Path) -> Path:
    """Write the blank English pipeline with a lookup lemmatizer to ``directory``."""
    import spacy

    nlp = spacy.blank("en")
    nlp.add_pipe("lemmatizer", config={"mode": "lookup"})
    nlp.initialize()  # loads the lookup tables from spacy-lookups-data into the pipeline
    _add_common_words(nlp)
    nlp.meta.update(
        {
            "name": PIPELINE_PACKAGE.removeprefix("en_"),
            "version": PIPELINE_VERSION,
            "description": "Blank English tokenizer with lookup lemmas, built locally.",
            "license": "MIT",
        }
    )
    nlp.to_disk(directory)
    return directory


def _add_common_words(nlp: Language) -> None:
    from spacy.lookups import load_lookups

    probabilities = load_lookups("en", ["lexeme_prob"]).get_table("lexeme_prob")
    common = nlp.vocab.lookups.add_table(COMMON_WORDS_TABLE)
    for key, log_prob in probabilities.items():  # keys are string hashes; membership still works
        if log_prob > COMMON_WORD_MIN_LOG_PROB:
            common[key] = True


def install() -> None:
    """Build, package as a wheel and install into the running interpreter's environment."""
    with tempfile.TemporaryDirectory() as tmp:
        source = build(Path(tmp) / "pipeline")
        out = Path(tmp) / "dist"
        out.mkdir()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "spacy",
                "package",
                str(source),
                str(out),
                "--build",
                "wheel",
                "--force",
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        wheel = next(out.glob(f"{PIPELINE_PACKAGE}-{PIPELINE_VERSION}/dist/*.whl"))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--no-deps",
                "--force-reinstall",
                "--quiet",
                str(wheel),
            ],
            check=True,
        )


if __name__ == "__main__":
    install()
    print(f"spaCy pipeline {PIPELINE_PACKAGE} {PIPELINE_VERSION} installed")
