"""Per-turn cost of the encrypted conversation store (``dit_assistant.store.tracker_store``).

What the Rasa server adds to each turn by keeping conversations in the database: the readiness
probe the message gate makes, reading the conversation back, and saving the turn's new events,
for a typical conversation (a greeting, a few questions, an enquiry half filled in: about 60
events in the session, 7 new ones per turn). Run on SQLite in a temporary directory, or on any
database with ``--database-url``. Prints p50/p95 in milliseconds; the target is under 5 ms at
p50 for retrieve + save. Wall-clock times include waiting for the disk and for a busy
machine's other work, so the CPU time of retrieve + save is printed too. Not part of
``make test``: timings depend on the machine. ``make bench`` runs it (:func:`store_cost`) on
SQLite and on the PostgreSQL server it starts for two replicas; alone:

    .venv/bin/python -m bench.tracker_store_cost [--turns 300] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from rasa.shared.core.domain import Domain
from rasa.shared.core.events import ActionExecuted, BotUttered, SlotSet, UserUttered

from bench.report import percentile
from dit_assistant.serve import BOT_DIR
from dit_assistant.store.crypto import EnquiryCipher, generate_key
from dit_assistant.store.tracker_store import EncryptedTrackerStore

TARGET_P50_MS = 5.0


def turn_events(number: int) -> list:
    """One turn as the processor logs it: the message, its answer, the form's bookkeeping."""
    return [
        ActionExecuted("action_listen"),
        UserUttered(
            f"a question about sessions and what to expect, number {number}",
            {"name": "ask_how_it_works", "confidence": 0.93},
            [],
        ),
        ActionExecuted("utter_ask_how_it_works", policy="RulePolicy", confidence=1.0),
        BotUttered(
            "DIT is a brief psychotherapy of 16 weekly sessions. " * 4,
            {
                "buttons": [
                    {"title": "Ask the team to contact me", "payload": "/request_appointment"}
                ]
            },
            {"utter_action": "utter_ask_how_it_works"},
        ),
        SlotSet("intake_failures", 0),
        SlotSet("requested_slot", None),
        ActionExecuted("action_listen"),
    ]


async def measure(database_url: str, turns: int, history: int) -> dict[str, list[float]]:
    domain = Domain.load(str(BOT_DIR / "domain"))
    store = EncryptedTrackerStore(
        domain,
        database_url=database_url,
        cipher=EnquiryCipher((generate_key(), generate_key())),
    )
    timings: dict[str, list[float]] = {
        "probe": [],
        "retrieve": [],
        "save": [],
        "turn": [],
        "turn_cpu": [],
    }
    for conversation in range(turns):
        sender = f"bench-{conversation}"
        tracker = store.init_tracker(sender)
        for number in range(history):  # the conversation so far
            for event in turn_events(number):
                tracker.update(event)
        await store.save(tracker)
        start = time.perf_counter()
        store.health.last_ok = 0.0  # probe every turn, as if traffic were sparse
        store.check_available()
        probed, cpu = time.perf_counter(), time.process_time()
        tracker = await store.retrieve(sender)
        retrieved, cpu_retrieved = time.perf_counter(), time.process_time()
        for event in turn_events(history):  # the turn itself: not the store's cost
            tracker.update(event)
        answered, cpu_answered = time.perf_counter(), time.process_time()
        await store.save(tracker)
        saved, cpu_saved = time.perf_counter(), time.process_time()
        timings["probe"].append((probed - start) * 1000)
        timings["retrieve"].append((retrieved - probed) * 1000)
        timings["save"].append((saved - answered) * 1000)
        timings["turn"].append((retrieved - probed + saved - answered) * 1000)
        timings["turn_cpu"].append((cpu_retrieved - cpu + cpu_saved - cpu_answered) * 1000)
    return timings


def store_cost(database_url: str, turns: int, history: int = 8) -> dict[str, Any]:
    """Retrieve + save per turn on ``database_url``: p50 and p95 of the wall-clock time and
    p50 of its CPU time, in milliseconds (as ``make bench`` reports it)."""
    timings = asyncio.run(measure(database_url, turns, history))
    return {
        "p50_ms": round(percentile(timings["turn"], 0.5), 3),
        "p95_ms": round(percentile(timings["turn"], 0.95), 3),
        "cpu_p50_ms": round(percentile(timings["turn_cpu"], 0.5), 3),
        "turns": turns,
        "events_before": history * len(turn_events(0)),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", help="default: SQLite in a temporary directory")
    parser.add_argument("--turns", type=int, default=300)
    parser.add_argument("--history", type=int, default=8, help="turns before the measured one")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        url = args.database_url or f"sqlite:///{Path(folder) / 'bench.sqlite'}"
        timings = asyncio.run(measure(url, args.turns, args.history))
    events = args.history * len(turn_events(0))
    print(f"{url.split(':')[0]}, {args.turns} turns, {events} events in the session before each")
    labels = {"turn": "retrieve + save", "turn_cpu": "  its CPU time"}
    for name, values in timings.items():
        label = labels.get(name, name)
        print(
            f"  {label:<16} p50 {percentile(values, 0.5):6.2f} ms   "
            f"p95 {percentile(values, 0.95):6.2f} ms"
        )
    p50 = percentile(timings["turn"], 0.5)
    verdict = "met" if p50 < TARGET_P50_MS else "MISSED"
    print(f"target: retrieve + save under {TARGET_P50_MS:.0f} ms at p50: {verdict}")
    return 0 if p50 < TARGET_P50_MS else 1


if __name__ == "__main__":
    raise SystemExit(main())
