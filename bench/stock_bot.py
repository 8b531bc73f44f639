"""The stock bot to compare with: what ``rasa init --no-prompt`` creates and trains (Rasa's
moodbot: greetings, moods, "are you a bot?"; no custom actions, conversations in memory).

Built once into ``bench/.cache/stock-bot/`` (git-ignored) with the Rasa of this environment, and
reused while that Rasa's version is the one it was built with (``--rebuild-stock`` builds it
again). Its training time is measured when the cache is built: the wall-clock time of ``rasa init
--no-prompt``, which copies the project template (well under a second) and trains, from a fresh
Rasa training cache. It is served with ``rasa run --enable-api`` on a free port of 127.0.0.1.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

from bench.report import load_average, now
from dit_assistant.serve import HOST, _environment
from dit_assistant.settings import PROJECT_ROOT

CACHE = PROJECT_ROOT / "bench" / ".cache" / "stock-bot"
RECORD = "bench-build.json"
BUILD_TIMEOUT_S = 3600
MESSAGES = [
    "hello",
    "I am sad",
    "yes",
    "good morning",
    "I am feeling very good",
    "hey there",
    "not good",
    "no",
    "are you a bot?",
    "wonderful",
    "good evening",
    "bye",
]
"""One conversation with moodbot, in the kinds of message it was made for."""


@dataclass(frozen=True)
class StockBot:
    directory: Path
    training_s: float
    training_how: str


def _rasa_version() -> str:
    return metadata.version("rasa")


def _cached() -> dict | None:
    record = CACHE / RECORD
    if not record.exists() or not list((CACHE / "models").glob("*.tar.gz")):
        return None
    built = json.loads(record.read_text("utf-8"))
    return built if built.get("rasa") == _rasa_version() else None


def ensure_built(rebuild: bool = False) -> StockBot:
    """The cached stock bot, built first if there is none (or it is for another Rasa)."""
    built = None if rebuild else _cached()
    if built is None:
        built = _build()
        how = "measured now, as the cache was built"
    else:
        how = f"measured when the cache was built, {built['built']}"
    how += (
        " (`rasa init --no-prompt`: the project template and its training, fresh Rasa cache; "
        f"load average then {', '.join(map(str, built.get('load_average', [])))})"
    )
    return StockBot(CACHE, built["seconds"], how)


def _build() -> dict:
    """Run ``rasa init --no-prompt`` in a fresh folder, timed, and put it in the cache's place
    only once it has a model (an interrupted build leaves no cache behind)."""
    partial = CACHE.with_name(f"{CACHE.name}.partial-{os.getpid()}")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    env = _environment()
    env.pop("RASA_CACHE_DIRECTORY", None)  # the project's own .rasa/cache: empty
    log_path = CACHE.with_name(f"{CACHE.name}-build.log")
    print(f"Building the stock bot (rasa init --no-prompt) in {CACHE}; log {log_path}", flush=True)
    load = load_average()
    with log_path.open("w") as log:
        started = time.perf_counter()
        result = subprocess.run(
            [sys.executable, "-m", "rasa", "init", "--no-prompt", "--init-dir", str(partial)],
            cwd=partial,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            timeout=BUILD_TIMEOUT_S,
        )
        seconds = time.perf_counter() - started
    if result.returncode != 0 or not list((partial / "models").glob("*.tar.gz")):
        tail = log_path.read_text(errors="replace")[-3000:]
        raise RuntimeError(f"rasa init --no-prompt failed ({result.returncode}):\n{tail}")
    built = {
        "seconds": round(seconds, 1),
        "rasa": _rasa_version(),
        "built": now(),
        "load_average": load,
        "command": "rasa init --no-prompt",
    }
    (partial / RECORD).write_text(json.dumps(built, indent=2), "utf-8")
    shutil.rmtree(CACHE, ignore_errors=True)
    partial.rename(CACHE)
    return built


def server_command(port: int) -> list[str]:
    """``rasa run --enable-api`` on the stock bot's latest model (run in its folder, whose
    credentials.yml enables the REST channel)."""
    return [
        sys.executable,
        "-m",
        "rasa",
        "run",
        "--enable-api",
        "--model",
        "models",
        "--interface",
        HOST,
        "--port",
        str(port),
    ]
