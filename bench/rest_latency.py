"""Speed and memory of the assistant as `make run` serves it, against the targets below.

Starts the real servers on free ports (a temporary database, nothing of the developer's touched),
sends a realistic mix of messages over the REST channel (questions, small talk, risk messages,
an enquiry form start, bad input), one at a time and then from several senders at once, and reads
each server's resident memory from /proc. Prints a table and exits non-zero when a target is
missed. Run with `make bench`; not part of `make test`, because timings depend on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from dit_assistant.serve import wait_until_up
from dit_assistant.settings import PROJECT_ROOT

# Targets for a 2-core machine: a person on a phone should never wait noticeably for an answer.
TARGETS = {
    "sequential p95 (ms)": 250.0,
    "concurrent p95 (ms)": 1500.0,
    "Rasa server memory (MB)": 1500.0,
    "all servers memory (MB)": 2500.0,
}
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


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def send(base_url: str, sender: str, text: str) -> float:
    """One REST turn; returns its latency in milliseconds."""
    body = json.dumps({"sender": sender, "message": text}).encode()
    request = urllib.request.Request(
        f"{base_url}/webhooks/rest/webhook", body, {"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(fraction * (len(ordered) - 1))))]


def children(pid: int) -> list[int]:
    """All descendants of ``pid`` (Linux /proc)."""
    found, queue = [], [pid]
    while queue:
        current = queue.pop()
        try:
            tasks = Path(f"/proc/{current}/task").iterdir()
            for task in tasks:
                for child in (task / "children").read_text().split():
                    found.append(int(child))
                    queue.append(int(child))
        except OSError:
            continue
    return found


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def command_line(pid: int) -> str:
    return Path(f"/proc/{pid}/cmdline").read_text().replace("\0", " ")


@dataclass
class Result:
    name: str
    value: float

    @property
    def target(self) -> float | None:
        return TARGETS.get(self.name)

    @property
    def ok(self) -> bool:
        return self.target is None or self.value <= self.target


def run(turns: int, senders: int) -> list[Result]:
    workdir = Path(tempfile.mkdtemp(prefix="dit-bench-"))
    port = free_port()
    env = dict(
        os.environ,
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite'}",
        DIT_VAR_DIR=str(workdir / "var"),
        WEB_PORT=str(free_port()),
        DASHBOARD_PORT=str(free_port()),
        ACTION_PORT=str(free_port()),
    )
    with (workdir / "serve.log").open("w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "dit_assistant.serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            started = time.perf_counter()
            base = f"http://127.0.0.1:{port}"
            wait_until_up(f"{base}/", [server], timeout=300)
            results = [Result("cold start (s)", time.perf_counter() - started)]
            for i in range(20):  # warm-up: caches, first-use imports
                send(base, "warm-up", MESSAGES[i % len(MESSAGES)])

            sequential = [
                send(base, f"seq-{i // len(MESSAGES)}", MESSAGES[i % len(MESSAGES)])
                for i in range(turns)
            ]
            results += [
                Result("sequential p50 (ms)", statistics.median(sequential)),
                Result("sequential p95 (ms)", percentile(sequential, 0.95)),
            ]

            def one_sender(index: int) -> list[float]:
                return [
                    send(base, f"conc-{index}", MESSAGES[(index + i) % len(MESSAGES)])
                    for i in range(turns // senders)
                ]

            wall = time.perf_counter()
            with ThreadPoolExecutor(senders) as pool:
                concurrent = [t for batch in pool.map(one_sender, range(senders)) for t in batch]
            wall = time.perf_counter() - wall
            results += [
                Result("concurrent p95 (ms)", percentile(concurrent, 0.95)),
                Result("concurrent turns per second", len(concurrent) / wall),
            ]

            processes = {pid: command_line(pid) for pid in children(server.pid)}
            rasa = [pid for pid, cmd in processes.items() if " rasa run --model" in cmd]
            results += [
                Result("Rasa server memory (MB)", sum(rss_mb(pid) for pid in rasa)),
                Result("all servers memory (MB)", sum(rss_mb(pid) for pid in processes)),
            ]
            return results
        finally:
            server.terminate()
            server.wait(timeout=60)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=300, help="messages per phase")
    parser.add_argument("--senders", type=int, default=8, help="concurrent senders")
    args = parser.parse_args(argv)
    results = run(args.turns, args.senders)
    print(f"\n{'measure':34} {'value':>10} {'target':>10}")
    for result in results:
        target = f"<= {result.target:.0f}" if result.target else ""
        flag = "" if result.ok else "  MISSED"
        print(f"{result.name:34} {result.value:10.1f} {target:>10}{flag}")
    out = PROJECT_ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "rest_latency.json").write_text(
        json.dumps({r.name: round(r.value, 2) for r in results}, indent=2), "utf-8"
    )
    return 0 if all(r.ok for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
