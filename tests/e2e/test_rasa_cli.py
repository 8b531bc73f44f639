"""Rasa's own checks, run with the ``rasa`` command on the project: data validation, the
end-to-end test stories, and NLU cross-validation (``make evaluate``; it trains three models).
The figures are printed for the record; the held-out phrasings are scored in the bot tier
(``tests/bot/test_nlu_held_out.py``)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from dit_assistant.serve import BOT_DIR, MODEL, PROJECT_ROOT
from tests.fixtures.data import TESTS
from tests.fixtures.domain import DOMAIN_DIR, domain_yaml
from tests.fixtures.evaluation import report

# Cross-validation has a regression floor a little under what the shipped data measures
# (docs/nlu-evaluation.md); every figure is printed.
CROSS_VALIDATION_FLOOR = 0.80


def rasa(*args: str, timeout: int = 1800) -> subprocess.CompletedProcess:
    env = dict(os.environ, RASA_TELEMETRY_ENABLED="false", TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(
        [sys.executable, "-m", "rasa", *args],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def responses_sent_by_actions() -> set[str]:
    """Responses a custom action or the response generator sends (and form questions), which
    no rule or story names."""
    import re

    names = set()
    senders = [*(BOT_DIR / "actions").glob("*.py"), PROJECT_ROOT / "src/dit_assistant/nlg.py"]
    for module in senders:
        names |= set(re.findall(r'"(utter_[a-z0-9_]+)"', module.read_text()))
    domain = domain_yaml()
    for form in domain.get("forms", {}).values():
        names |= {f"utter_ask_{slot}" for slot in form["required_slots"]}
    return names


def test_training_data_validates():
    result = rasa(
        "data",
        "validate",
        "--data",
        str(BOT_DIR / "data"),
        "--domain",
        str(DOMAIN_DIR),
        "--config",
        str(BOT_DIR / "config.yml"),
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    allowed = responses_sent_by_actions()
    from dit_assistant.safety.component import CHECK_IN_INTENT

    # Set by the safety net, never by the classifier: it has no training examples on purpose.
    produced_by_pipeline = {CHECK_IN_INTENT}
    warnings = [
        line.split("UserWarning: ", 1)[1]
        for line in (result.stdout + result.stderr).splitlines()
        if "UserWarning: " in line
    ]
    unexpected = [
        warning
        for warning in warnings
        if not any(
            warning.startswith(f"The utterance '{name}' is not used in any story or rule")
            for name in allowed
        )
        and not any(
            warning.startswith(f"The intent '{name}' is listed in the domain file, but")
            for name in produced_by_pipeline
        )
    ]
    assert not unexpected, "\n".join(unexpected)


def test_end_to_end_stories(tmp_path):
    result = rasa(
        "test",
        "core",
        "--model",
        str(MODEL),
        "--stories",
        str(TESTS / "stories"),
        "--endpoints",
        str(BOT_DIR / "endpoints.yml"),
        "--fail-on-prediction-errors",
        "--out",
        str(tmp_path),
    )
    failed = tmp_path / "failed_test_stories.yml"
    details = failed.read_text() if failed.exists() else ""
    assert result.returncode == 0, details + result.stdout[-2000:] + result.stderr[-3000:]


@pytest.mark.slow
def test_cross_validation(tmp_path):
    result = rasa(
        "test",
        "nlu",
        "--nlu",
        str(BOT_DIR / "data" / "nlu"),
        "--config",
        str(BOT_DIR / "config.yml"),
        "--cross-validation",
        "--folds",
        "3",
        "--out",
        str(tmp_path),
        timeout=3600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    intent_report = json.loads((tmp_path / "intent_report.json").read_text())
    f1 = intent_report["weighted avg"]["f1-score"]
    report("cross-validation intent F1 (weighted, 3 folds)", f1)
    assert f1 >= CROSS_VALIDATION_FLOOR
