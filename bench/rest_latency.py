"""Speed and memory of the assistant against the stock Rasa bot, measured in one run
(``make bench``), and against the targets in ``bench/report.py``.

In turn, each alone on the machine:

1. the stock bot (``rasa init --no-prompt``, built once and cached: ``bench/stock_bot.py``),
   served by ``rasa run --enable-api``;
2. ours as ``make run`` serves it (``dit_assistant.serve``: action server, Rasa server, website,
   dashboard) with a throwaway SQLite database;
3. ours as two Rasa replicas on real PostgreSQL and Redis servers with one action server, started
   with the test suite's helpers as ``tests/e2e/test_replicas.py`` starts them; each conversation
   sticks to one replica (conversations alternate between them), as the production proxy
   routes by conversation.

Each gets the same shape of load over the REST channel (``/webhooks/rest/webhook``, 127.0.0.1
only): one sender, then 5, 20 and 50 concurrent conversations, each level bounded in turns and
in seconds. A conversation sends its messages one after another, each after the previous reply;
once through its script it starts again as a new sender. The stock bot is sent moodbot's kind of
messages, ours a realistic mix. Reported: p50/p95/p99 latency, turns/s, errors, cold start
(process start until a REST message is answered), training time and peak memory (VmHWM of each
server process and its children, from /proc), each beside the stock bot's with their ratio; and
the encrypted conversation store's cost per turn (``bench/tracker_store_cost.py``) on SQLite and
PostgreSQL. Results go to ``bench/results/`` (JSON, Markdown, a PNG chart) and, after a full run,
``BENCHMARKS.md``. Exits 1 when a target is missed or could not be measured.

    .venv/bin/python -m bench.rest_latency [--quick] [--no-train-ours] [--rebuild-stock]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench import report, stock_bot
from bench.tracker_store_cost import store_cost
from dit_assistant.serve import PROJECT_ROOT, _environment, runtime_endpoints

RESULTS = PROJECT_ROOT / "bench" / "results"
BENCHMARKS = PROJECT_ROOT / "BENCHMARKS.md"
MESSAGES = [
    "hello",
    "what is DIT?",
    "how many sessions are there",
    "how much does it cost",
    "is it confidential",
    "can I do it online",
    "whats the difference between dit and cbt",
    "I want to kill myself",
    "this waiting list is killing me",
    "are you a bot",
    "asdkjh qwpoeiru",
    "🙂",
    "I'd like to book an assessment",
    "cancel",
    "thanks, bye",
]
"""One conversation with our bot: questions, small talk, risk messages, the enquiry form, bad
input (15 messages: under the message gate's 30 a minute for one sender)."""
REQUEST_TIMEOUT_S = 30.0
START_TIMEOUT_S = 300.0


@dataclass(frozen=True)
class Plan:
    """How much load: turns per level (at most), seconds per level (at most), warm-up turns
    per server, and turns for the conversation store's measure."""

    level_turns: dict[int, int]
    level_seconds: float
    warm_up: int
    store_turns: int


FULL = Plan({1: 200, 5: 300, 20: 600, 50: 1000}, level_seconds=120, warm_up=20, store_turns=300)
QUICK = Plan({1: 8, 5: 10, 20: 20, 50: 50}, level_seconds=15, warm_up=3, store_turns=20)


# ------------------------------------------------------------------------------------- load
def send(base_url: str, sender: str, text: str, timeout: float = REQUEST_TIMEOUT_S) -> bool:
    """One REST turn; whether the reply had any message in it. Raises on any failure."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(request, timeout=timeout) as response:
        reply = json.loads(response.read() or b"null")
    return isinstance(reply, list) and len(reply) > 0


FAILURES = (OSError, ValueError, http.client.HTTPException)
"""What a failed turn raises: refused or reset connections, time-outs and HTTP errors (OSError),
a reply that is not JSON (ValueError), a malformed HTTP answer."""


def run_level(
    base_urls: Sequence[str],
    script: Sequence[str],
    conversations: int,
    max_turns: int,
    max_seconds: float,
    tag: str,
) -> dict[str, Any]:
    """``conversations`` at once until ``max_turns`` turns were sent or ``max_seconds`` passed.
    Conversation number n goes to replica n mod the number of replicas, for all its turns."""
    budget = iter(range(max_turns))
    lock = threading.Lock()
    deadline = time.monotonic() + max_seconds
    numbers = iter(range(10**9))
    latencies: list[float] = []
    by_message: dict[str, list[float]] = {text: [] for text in script}
    counts = {"errors": 0, "empty": 0}

    def ticket() -> bool:
        with lock:
            return time.monotonic() < deadline and next(budget, None) is not None

    def conversation() -> None:
        while True:
            with lock:
                number = next(numbers)
            base = base_urls[number % len(base_urls)]
            sender = f"{tag}-{conversations}-{number}"
            for text in script:
                if not ticket():
                    return
                started = time.perf_counter()
                try:
                    answered = send(base, sender, text)
                except FAILURES:
                    with lock:
                        counts["errors"] += 1
                    continue
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    by_message[text].append(elapsed)
                    counts["empty"] += 0 if answered else 1

    wall = time.perf_counter()
    with ThreadPoolExecutor(conversations) as pool:
        for future in [pool.submit(conversation) for _ in range(conversations)]:
            future.result()
    wall = time.perf_counter() - wall
    return report.summarise(
        conversations, latencies, counts["errors"], counts["empty"], wall, by_message
    )


def warm_up(base_urls: Sequence[str], script: Sequence[str], turns: int, tag: str) -> None:
    """Turns not measured, on every replica: caches and first-use imports."""
    for replica, base in enumerate(base_urls):
        for i in range(turns):
            with suppress(*FAILURES):
                sender = f"{tag}-warm-up-{replica}-{i // len(script)}"
                send(base, sender, script[i % len(script)])


def wait_until_answered(
    base_urls: Sequence[str], processes: Sequence[subprocess.Popen], timeout: float
) -> None:
    """Until each server answers a REST message (not merely its port): fail early if one of
    ``processes`` exits."""
    deadline = time.monotonic() + timeout
    for base in base_urls:
        for attempt in range(10**9):
            for process in processes:
                if process.poll() is not None:
                    raise RuntimeError(f"{process.args!r} exited with {process.returncode}")
            try:
                send(base, f"cold-start-{attempt}", "hello", timeout=10)
                break
            except FAILURES:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{base} did not answer within {timeout:.0f} s") from None
                time.sleep(0.2)


# ----------------------------------------------------------------------------------- memory
def direct_children(pid: int) -> list[int]:
    try:
        tasks = list(Path(f"/proc/{pid}/task").iterdir())
    except OSError:
        return []
    found = []
    for task in tasks:
        try:
            found += [int(child) for child in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def children(pid: int) -> list[int]:
    """All descendants of ``pid`` (Linux /proc)."""
    found, queue = [], [pid]
    while queue:
        below = direct_children(queue.pop())
        found += below
        queue += below
    return found


def vm_hwm_mb(pid: int) -> float:
    """The resident-memory high-water mark (VmHWM) of one process, 0 if it has gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def peak_mb(pid: int) -> float:
    """VmHWM of ``pid`` and of each of its descendants, added up: what the process and its
    children have needed at most, each at its own peak."""
    return round(sum(vm_hwm_mb(each) for each in [pid, *children(pid)]), 1)


def command_line(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")
    except OSError:
        return ""


def server_name(command: str) -> str:
    """Which of ``make run``'s servers a command line is."""
    if " run actions" in command:
        return "action server"
    if " run " in command and "--model" in command:
        return "Rasa server"
    if "dit_assistant.web" in command:
        return "website"
    if "dit_assistant.staff" in command:
        return "staff dashboard"
    return command.split(" -m ")[-1][:40] or "other"


# ---------------------------------------------------------------------------------- systems
@dataclass
class Running:
    """A system under test, up and answering: where to send, how long it took to answer, and
    how to read its peak memory per process (read just before it is stopped)."""

    base_urls: list[str]
    cold_start_s: float
    memory: Callable[[], dict[str, float]]
    rasa_servers: list[str]
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)


@contextmanager
def stock_server(bot: stock_bot.StockBot, workdir: Path) -> Iterator[Running]:
    from tests.fixtures.ports import free_port
    from tests.fixtures.servers import stop

    port = free_port()
    log = (workdir / "stock-bot.log").open("w")
    started = time.perf_counter()
    process = subprocess.Popen(
        stock_bot.server_command(port),
        cwd=bot.directory,
        env=_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answered([base], [process], START_TIMEOUT_S)
        yield Running(
            [base],
            time.perf_counter() - started,
            lambda: {"Rasa server (rasa run)": peak_mb(process.pid)},
            ["Rasa server (rasa run)"],
        )
    finally:
        stop(process, log)


@contextmanager
def one_replica(workdir: Path) -> Iterator[Running]:
    """``make run``'s servers (``dit_assistant.serve``) on free ports, with a throwaway SQLite
    database and var directory: nothing of the developer's is touched."""
    from tests.fixtures.ports import free_port
    from tests.fixtures.servers import stop

    port = free_port()
    env = dict(
        _environment(),
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite'}",
        DIT_VAR_DIR=str(workdir / "var"),
        WEB_PORT=str(free_port()),
        DASHBOARD_PORT=str(free_port()),
        ACTION_PORT=str(free_port()),
    )
    log = (workdir / "serve.log").open("w")
    started = time.perf_counter()
    server = subprocess.Popen(
        [sys.executable, "-m", "dit_assistant.serve", "--port", str(port)],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        base = f"http://127.0.0.1:{port}"
        wait_until_answered([base], [server], START_TIMEOUT_S)

        def memory() -> dict[str, float]:
            peaks = {"supervisor (dit_assistant.serve)": round(vm_hwm_mb(server.pid), 1)}
            for pid in direct_children(server.pid):
                peaks[server_name(command_line(pid))] = peak_mb(pid)
            return peaks

        yield Running([base], time.perf_counter() - started, memory, ["Rasa server"])
    finally:
        stop(server, log)


@contextmanager
def two_replicas(workdir: Path) -> Iterator[Running]:
    """Two Rasa replicas sharing PostgreSQL, Redis (Rasa's lock store, the gate's limits) and
    one action server, started in parallel, with the test suite's helpers."""
    from urllib.parse import urlsplit

    from dit_assistant.store.crypto import generate_key
    from tests.fixtures.actions import action_server
    from tests.fixtures.servers import start_replicas
    from tests.fixtures.services import postgres_server, redis_server

    with ExitStack() as stack:
        postgres = stack.enter_context(postgres_server())
        redis = stack.enter_context(redis_server())
        env = _environment()
        env.update(
            DATABASE_URL=postgres.create_database(),
            ENQUIRY_KEYS=generate_key(),
            REDIS_URL=redis.url,
            DIT_VAR_DIR=str(workdir / "var-replicas"),
        )
        started = time.perf_counter()
        webhook = stack.enter_context(action_server(workdir, env))
        endpoints = runtime_endpoints(urlsplit(webhook).port or 0, workdir, redis_url=redis.url)
        replicas = start_replicas(
            env, endpoints, [workdir / "replica-1", workdir / "replica-2"], stack
        )
        bases = [f"http://127.0.0.1:{port}" for _, port in replicas]
        wait_until_answered(bases, [process for process, _ in replicas], START_TIMEOUT_S)
        cold_start = time.perf_counter() - started

        def memory() -> dict[str, float]:
            peaks = {
                f"Rasa server, replica {n}": peak_mb(process.pid)
                for n, (process, _) in enumerate(replicas, 1)
            }
            actions = [pid for pid in children(os.getpid()) if " run actions" in command_line(pid)]
            peaks["action server"] = sum(peak_mb(pid) for pid in actions)
            peaks["Redis"] = peak_mb(redis.process.pid)
            postmaster = postgres.data / "postmaster.pid"
            if postmaster.exists():
                peaks["PostgreSQL"] = peak_mb(int(postmaster.read_text().split()[0]))
            return peaks

        yield Running(
            bases,
            cold_start,
            memory,
            [f"Rasa server, replica {n}" for n in range(1, len(replicas) + 1)],
            notes=[
                "Two replicas: started together (cold start: from starting the action server "
                "until both replicas answer), conversations in PostgreSQL, Rasa's lock store and "
                "the message gate's limits in Redis, all on this machine's two cores; each "
                "conversation sticks to one replica, alternating between them. One replica is "
                "`make run`'s servers on SQLite."
            ],
            extra={"postgres": postgres},
        )


# ------------------------------------------------------------------------------------- runs
def measure_system(running: Running, script: Sequence[str], plan: Plan, tag: str) -> dict[str, Any]:
    """The load levels on a running system, then its peak memory."""
    warm_up(running.base_urls, script, plan.warm_up, tag)
    levels = {}
    for level in report.LEVELS:
        print(f"  {level} conversation(s) at once ...", flush=True)
        levels[str(level)] = run_level(
            running.base_urls, script, level, plan.level_turns[level], plan.level_seconds, tag
        )
        figures = levels[str(level)]
        print(
            f"    {figures['turns']} turns, p50 {report.format_number(figures['p50_ms'])} ms, "
            f"p95 {report.format_number(figures['p95_ms'])} ms, "
            f"{report.format_number(figures['turns_per_s'])} turns/s, "
            f"{figures['errors']} errors",
            flush=True,
        )
    memory = running.memory()
    return {
        "cold_start_s": round(running.cold_start_s, 2),
        "memory_mb": memory,
        "rasa_memory_mb": max(memory[name] for name in running.rasa_servers),
        "all_memory_mb": round(sum(memory.values()), 1),
        "levels": levels,
    }


def train_ours(workdir: Path) -> float:
    """``make train``'s training, timed, into a temporary folder (``models/`` is left alone),
    from a fresh Rasa training cache."""
    env = dict(_environment(), RASA_CACHE_DIRECTORY=str(workdir / "rasa-cache"))
    command = [
        sys.executable,
        "-m",
        "rasa",
        "train",
        "--data", "bot/data",
        "--domain", "bot/domain",
        "--config", "bot/config.yml",
        "--out", str(workdir / "trained"),
        "--fixed-model-name", "bench",
    ]  # fmt: skip
    with (workdir / "train.log").open("w") as log:
        started = time.perf_counter()
        result = subprocess.run(
            command, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=7200
        )
        seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"rasa train failed ({result.returncode}); see {workdir / 'train.log'}")
    shutil.rmtree(workdir / "rasa-cache", ignore_errors=True)
    return seconds


def phase(
    results: dict[str, Any], key: str, failures: list[str], run: Callable[[], dict[str, Any]]
) -> None:
    """Run one system's measure into ``results["systems"][key]``; a failure is recorded (the
    run carries on, and its targets count as missed)."""
    import pytest  # its skip and fail (from the test helpers) are not Exceptions

    system = results["systems"].setdefault(key, {"label": report.SYSTEMS[key]})
    print(f"\n{report.SYSTEMS[key]}", flush=True)
    try:
        system.update(run())
    except (Exception, pytest.skip.Exception, pytest.fail.Exception) as error:
        traceback.print_exc()
        reason = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        system["skipped"] = reason
        failures.append(f"{report.SYSTEMS[key]}: {reason}")


def run(args: argparse.Namespace) -> tuple[dict[str, Any], list[str], Path]:
    plan = QUICK if args.quick else FULL
    workdir = Path(tempfile.mkdtemp(prefix="dit-bench-"))
    results: dict[str, Any] = {
        "quick": args.quick,
        "started": report.now(),
        "machine": report.describe_machine(),
        "load_average": {"start": report.load_average()},
        "plan": {
            "turns per level": plan.level_turns,
            "seconds per level at most": plan.level_seconds,
            "warm-up turns per server": plan.warm_up,
        },
        "notes": [],
        "systems": {},
        "store_cost": {},
    }
    failures: list[str] = []
    print(f"Work folder (logs): {workdir}", flush=True)

    def stock() -> dict[str, Any]:
        bot = stock_bot.ensure_built(args.rebuild_stock)
        with stock_server(bot, workdir) as running:
            measured = measure_system(running, stock_bot.MESSAGES, plan, "stock")
        return {"training_s": bot.training_s, "training_how": bot.training_how, **measured}

    def ours() -> dict[str, Any]:
        training: dict[str, Any] = {"training_how": "not measured (--no-train-ours)"}
        if args.train_ours:
            print("  training (as make train does, into a temporary folder) ...", flush=True)
            try:
                training = {
                    "training_s": round(train_ours(workdir), 1),
                    "training_how": "measured in this run (`make train`'s command into a "
                    "temporary folder, fresh Rasa cache)",
                }
            except (RuntimeError, subprocess.TimeoutExpired) as error:
                training = {"training_how": f"not measured: {error}"}
                failures.append(f"training ours: {error}")
        with one_replica(workdir) as running:
            return {**training, **measure_system(running, MESSAGES, plan, "ours")}

    def ours_x2() -> dict[str, Any]:
        with two_replicas(workdir) as running:
            measured = measure_system(running, MESSAGES, plan, "ours2")
            results["notes"] += running.notes
            print("  conversation store per turn, PostgreSQL ...", flush=True)
            url = running.extra["postgres"].create_database()
            results["store_cost"]["PostgreSQL"] = store_cost(url, plan.store_turns)
        return {"training_how": "the same model as one replica", **measured}

    phase(results, "stock", failures, stock)
    phase(results, "ours", failures, ours)
    print("\nconversation store per turn, SQLite ...", flush=True)
    results["store_cost"]["SQLite"] = store_cost(
        f"sqlite:///{workdir / 'store-cost.sqlite'}", plan.store_turns
    )
    phase(results, "ours_x2", failures, ours_x2)
    results["store_cost"] = dict(sorted(results["store_cost"].items(), reverse=True))
    results["load_average"]["end"] = report.load_average()
    results["notes"].append(
        "The load is sent from this machine, by one Python process with a thread per "
        "conversation, so the client shares the two cores with the servers."
    )
    return results, failures, workdir


def write(results: dict[str, Any], targets: list[dict[str, Any]], quick: bool) -> list[Path]:
    RESULTS.mkdir(parents=True, exist_ok=True)
    stem = "bench-quick" if quick else "bench"
    markdown = report.render_markdown(results, targets)
    written = [RESULTS / f"{stem}.json", RESULTS / f"{stem}.md"]
    written[0].write_text(json.dumps({**results, "targets": targets}, indent=1), "utf-8")
    written[1].write_text(markdown, "utf-8")
    chart = RESULTS / f"{stem}-latency.png"
    problem = report.write_chart(results, chart)
    if problem:
        print(problem, file=sys.stderr)
    else:
        written.append(chart)
    if not quick:
        BENCHMARKS.write_text(markdown, "utf-8")
        written.append(BENCHMARKS)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="a short smoke run: a handful of turns per level; BENCHMARKS.md is left alone",
    )
    parser.add_argument(
        "--train-ours",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="time our training (several minutes; default: yes, except with --quick)",
    )
    parser.add_argument(
        "--rebuild-stock", action="store_true", help="build the cached stock bot again"
    )
    args = parser.parse_args(argv)
    if args.train_ours is None:
        args.train_ours = not args.quick
    results, failures, workdir = run(args)
    targets = report.check_targets(results)
    written = write(results, targets, args.quick)
    print("\n" + "\n".join(report.targets_table(targets)))
    print("\n" + "\n".join(report.comparison_table(results)))
    print("\n" + report.BOTS_DIFFER)
    for failure in failures:
        print(f"NOT RUN: {failure}", file=sys.stderr)
    print("\nWritten: " + ", ".join(str(p.relative_to(PROJECT_ROOT)) for p in written))
    if failures:
        print(f"Logs kept in {workdir}", file=sys.stderr)
    else:
        shutil.rmtree(workdir, ignore_errors=True)
    met = report.all_met(targets)
    print("All targets met." if met else "A target was missed or not measured.", flush=True)
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
