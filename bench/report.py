"""What the benchmark reports: percentiles, ratios to the stock bot, the targets, and the tables,
chart and machine description it writes. Nothing here starts a server (``tests/unit`` tests it).

A run's results are one JSON-able dict (``bench/results/bench.json``)::

    {"quick": False, "started": "...", "machine": {...}, "load_average": {...}, "notes": [...],
     "systems": {"stock": SYSTEM, "ours": SYSTEM, "ours_x2": SYSTEM},
     "store_cost": {"SQLite": {"p50_ms": ..., "p95_ms": ..., "cpu_p50_ms": ...}, ...}}

where a SYSTEM is ``{"label", "cold_start_s", "training_s", "training_how", "memory_mb": {process:
MB}, "rasa_memory_mb", "all_memory_mb", "levels": {"1": LEVEL, "5": ..., "20": ..., "50": ...},
"skipped"}`` and a LEVEL is what :func:`summarise` returns.
"""

from __future__ import annotations

import math
import os
import platform
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

LEVELS = (1, 5, 20, 50)
"""Concurrent conversations at each load level: one sender, then 5, 20 and 50 at once."""
SYSTEMS = {
    "stock": "stock bot",
    "ours": "ours, 1 replica",
    "ours_x2": "ours, 2 replicas",
}
BOTS_DIFFER = (
    "The bots differ: the stock bot is `rasa init --no-prompt`'s moodbot (Rasa's default "
    "pipeline, a dozen intents, no custom actions, conversations kept in memory) sent moodbot's "
    "own messages (greetings, moods); ours is the DIT assistant (spaCy, a sentence encoder, the "
    "safety net, custom actions, conversations encrypted in a database) sent a realistic mix "
    "(questions, small talk, risk messages, the enquiry form, bad input). Ratios compare the two "
    "servers under the same shape of load, not the same work."
)


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: the smallest value with at least ``fraction`` of the values
    at or below it (``fraction`` 0.5 is the median's lower middle for an even count)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction {fraction} is not between 0 and 1")
    ordered = sorted(values)
    rank = math.ceil(fraction * len(ordered))
    return ordered[max(rank, 1) - 1]


def summarise(
    conversations: int,
    latencies_ms: Sequence[float],
    errors: int,
    empty_replies: int,
    seconds: float,
    by_message: Mapping[str, Sequence[float]] | None = None,
) -> dict[str, Any]:
    """One load level's figures: latencies of the answered turns, their rate over the level's
    wall-clock time, and the turns that failed (an HTTP error, a time-out, a refused
    connection) or were answered with no message at all. ``by_message``: the latencies of each
    message of the script, whose medians show which turns make the p95."""
    answered = len(latencies_ms)

    def share(fraction: float) -> float | None:
        return round(percentile(latencies_ms, fraction), 2) if latencies_ms else None

    return {
        "conversations": conversations,
        "turns": answered + errors,
        "errors": errors,
        "empty_replies": empty_replies,
        "seconds": round(seconds, 2),
        "p50_ms": share(0.50),
        "p95_ms": share(0.95),
        "p99_ms": share(0.99),
        "turns_per_s": round(answered / seconds, 2) if seconds > 0 else None,
        "latencies_ms": [round(value, 2) for value in latencies_ms],
        "p50_ms_by_message": {
            text: round(percentile(values, 0.5), 2)
            for text, values in (by_message or {}).items()
            if values
        },
    }


def ratio(ours: float | None, stock: float | None) -> float | None:
    """``ours / stock``, or None when either is missing or the stock figure is 0."""
    if ours is None or stock is None or stock == 0:
        return None
    return ours / stock


def lookup(results: Mapping[str, Any], path: Sequence[str]) -> float | None:
    """The number at ``path`` in the results, or None if any step of it is missing."""
    current: Any = results
    for key in path:
        if not isinstance(current, Mapping) or current.get(key) is None:
            return None
        current = current[key]
    return float(current) if isinstance(current, (int, float)) else None


# ---------------------------------------------------------------------------------- targets
_COMPARE = {
    "<": lambda value, limit: value < limit,
    "<=": lambda value, limit: value <= limit,
    ">=": lambda value, limit: value >= limit,
}


@dataclass(frozen=True)
class Target:
    """A figure of ours with its bound, and optionally a bound on its ratio to the stock bot's."""

    name: str
    path: tuple[str, ...]
    op: str
    limit: float
    unit: str = ""
    max_ratio: float | None = None

    @property
    def full_path(self) -> tuple[str, ...]:
        """Where the figure is in the results (a system's figures are under "systems")."""
        return ("systems", *self.path) if self.path[0] in SYSTEMS else self.path

    @property
    def stock_path(self) -> tuple[str, ...] | None:
        """The stock bot's figure to compare with, if the stock bot has one."""
        if self.path[0] not in SYSTEMS:
            return None
        return ("systems", "stock", *self.path[1:])

    def describe(self) -> str:
        bound = f"{self.op} {format_number(self.limit)}{' ' + self.unit if self.unit else ''}"
        bound = bound.replace("<=", "≤").replace(">=", "≥")
        if self.max_ratio is not None:
            bound += f" and ≤ {self.max_ratio:g}× stock"
        return bound

    def check(self, results: Mapping[str, Any]) -> dict[str, Any]:
        """This target's row: figure, stock figure, ratio and whether it is met (None: the
        figure was not measured, which counts as not met)."""
        value = lookup(results, self.full_path)
        stock = lookup(results, self.stock_path) if self.stock_path else None
        relative = ratio(value, stock)
        met: bool | None = None
        if value is not None:
            met = _COMPARE[self.op](value, self.limit)
            if self.max_ratio is not None:
                met = met and relative is not None and relative <= self.max_ratio
        return {
            "name": self.name,
            "value": value,
            "stock": stock,
            "ratio": relative,
            "target": self.describe(),
            "met": met,
        }


TARGETS = (
    Target("one sender p95, 1 replica", ("ours", "levels", "1", "p95_ms"), "<", 60, "ms", 0.8),
    Target(
        "20 conversations, 2 replicas: turns/s",
        ("ours_x2", "levels", "20", "turns_per_s"),
        ">=",
        60,
    ),
    Target(
        "20 conversations, 2 replicas: p95", ("ours_x2", "levels", "20", "p95_ms"), "<", 1000, "ms"
    ),
    Target("20 conversations, 2 replicas: errors", ("ours_x2", "levels", "20", "errors"), "<=", 0),
    Target(
        "conversation store per turn p50, SQLite", ("store_cost", "SQLite", "p50_ms"), "<", 5, "ms"
    ),
    Target(
        "conversation store per turn p50, PostgreSQL",
        ("store_cost", "PostgreSQL", "p50_ms"),
        "<",
        5,
        "ms",
    ),
    Target("cold start, 1 replica", ("ours", "cold_start_s"), "<", 20, "s"),
    Target("Rasa server peak memory, 1 replica", ("ours", "rasa_memory_mb"), "<=", 1500, "MB"),
    Target("all servers' peak memory, 1 replica", ("ours", "all_memory_mb"), "<=", 2500, "MB"),
)


def check_targets(
    results: Mapping[str, Any], targets: Sequence[Target] = TARGETS
) -> list[dict[str, Any]]:
    return [target.check(results) for target in targets]


def all_met(rows: Sequence[Mapping[str, Any]]) -> bool:
    return all(row["met"] is True for row in rows)


# ------------------------------------------------------------------------------- formatting
def format_number(value: float | None) -> str:
    if value is None:
        return "—"
    if value == int(value) and abs(value) < 1e6:
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def format_ratio(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}×"


def _verdict(met: bool | None) -> str:
    return {True: "pass", False: "**FAIL**", None: "**not measured**"}[met]


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(" --- " for _ in header) + "|"]
    return lines + ["| " + " | ".join(row) + " |" for row in rows]


def comparison_rows(results: Mapping[str, Any]) -> list[tuple[str, tuple[str, ...]]]:
    """The figures compared between the bots: label and path inside a system."""
    rows: list[tuple[str, tuple[str, ...]]] = [
        ("cold start (s): process start until it answers", ("cold_start_s",)),
        ("training (s)", ("training_s",)),
        ("peak memory, Rasa server (MB)", ("rasa_memory_mb",)),
        ("peak memory, all its servers (MB)", ("all_memory_mb",)),
    ]
    for level in LEVELS:
        who = "1 sender" if level == 1 else f"{level} conversations"
        rows += [
            (f"{who}: p50 (ms)", ("levels", str(level), "p50_ms")),
            (f"{who}: p95 (ms)", ("levels", str(level), "p95_ms")),
            (f"{who}: p99 (ms)", ("levels", str(level), "p99_ms")),
            (f"{who}: turns/s", ("levels", str(level), "turns_per_s")),
            (f"{who}: turns sent", ("levels", str(level), "turns")),
            (f"{who}: errors", ("levels", str(level), "errors")),
        ]
    return rows


def comparison_table(results: Mapping[str, Any]) -> list[str]:
    systems = results.get("systems", {})
    header = ["measure", SYSTEMS["stock"]]
    for key in ("ours", "ours_x2"):
        header += [SYSTEMS[key], "ratio"]
    rows = []
    for label, path in comparison_rows(results):
        stock = lookup(systems, ("stock", *path))
        row = [label, format_number(stock)]
        for key in ("ours", "ours_x2"):
            value = lookup(systems, (key, *path))
            row += [format_number(value), format_ratio(ratio(value, stock))]
        rows.append(row)
    return _table(header, rows)


def targets_table(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    return _table(
        ["target", "ours", "stock bot", "ratio", "target", "result"],
        [
            [
                row["name"],
                format_number(row["value"]),
                format_number(row["stock"]),
                format_ratio(row["ratio"]),
                row["target"],
                _verdict(row["met"]),
            ]
            for row in rows
        ],
    )


def machine_lines(machine: Mapping[str, Any]) -> list[str]:
    keys = ("CPU", "cores", "RAM", "OS", "Python", "Rasa", "Rasa SDK")
    return [f"- {key}: {machine.get(key, 'unknown')}" for key in keys]


def slowest_turns(results: Mapping[str, Any]) -> list[tuple[str, float]]:
    """Each message's median at one sender on ours (one replica), slowest first."""
    level = results.get("systems", {}).get("ours", {}).get("levels", {}).get("1", {})
    medians = level.get("p50_ms_by_message") or {}
    return sorted(medians.items(), key=lambda item: (-item[1], item[0]))


def render_markdown(results: Mapping[str, Any], targets: Sequence[Mapping[str, Any]]) -> str:
    """The report: ``bench/results/bench.md`` and, after a full run, ``BENCHMARKS.md``."""
    lines = ["# Benchmarks", ""]
    if results.get("quick"):
        lines += [
            "**Quick smoke run (`--quick`): a handful of turns per level, to show the benchmark "
            "works end to end. These are not measurements.**",
            "",
        ]
    lines += [
        f"Written by `make bench` (`bench/rest_latency.py`) on {results.get('started', '?')}; "
        "do not edit by hand. Raw figures and a chart of the latency distributions are in "
        "`bench/results/` of the machine that ran it.",
        "",
        "## Machine",
        "",
        *machine_lines(results.get("machine", {})),
    ]
    load = results.get("load_average", {})
    if load:
        lines.append(
            "- load average (1, 5, 15 min) at the start: "
            + ", ".join(f"{v:.2f}" for v in load.get("start", []))
            + "; at the end: "
            + ", ".join(f"{v:.2f}" for v in load.get("end", []))
        )
    lines += ["", "## Targets", "", *targets_table(targets), ""]
    lines += [
        "Ratios are ours ÷ the stock bot's. A target not measured (a phase that could not run) "
        "counts as missed.",
        "",
        "## Against the stock bot",
        "",
        *comparison_table(results),
        "",
    ]
    store = results.get("store_cost", {})
    if store:
        lines += [
            "## Conversation store per turn",
            "",
            *_table(
                ["database", "p50 (ms)", "p95 (ms)", "CPU p50 (ms)", "turns"],
                [
                    [
                        name,
                        format_number(cost.get("p50_ms")),
                        format_number(cost.get("p95_ms")),
                        format_number(cost.get("cpu_p50_ms")),
                        format_number(cost.get("turns")),
                    ]
                    for name, cost in store.items()
                ],
            ),
            "",
        ]
    slowest = slowest_turns(results)
    if slowest:
        lines += [
            "## Turns by message, one sender, ours, 1 replica",
            "",
            "The median latency of each message of the benchmark's script, slowest first. At "
            "one sender every message is an equal share of the turns, so the p95 is set by the "
            "slowest of them.",
            "",
            *_table(["message", "p50 (ms)"], [[text, format_number(ms)] for text, ms in slowest]),
            "",
        ]
    lines += ["## Notes", ""]
    lines += [f"- {note}" for note in [BOTS_DIFFER, *results.get("notes", [])]]
    systems = results.get("systems", {})
    for key, label in SYSTEMS.items():
        system = systems.get(key, {})
        if system.get("training_how"):
            lines.append(f"- Training, {label}: {system['training_how']}.")
        if system.get("memory_mb"):
            parts = ", ".join(f"{name} {mb:,.0f} MB" for name, mb in system["memory_mb"].items())
            lines.append(f"- Peak memory (VmHWM), {label}: {parts}.")
        if system.get("skipped"):
            lines.append(f"- {label}: not run: {system['skipped']}.")
    return "\n".join(lines) + "\n"


def write_chart(results: Mapping[str, Any], path: Path) -> str | None:
    """A PNG of the latency distributions, one panel per load level; returns why not if it
    could not be drawn (matplotlib, which Rasa depends on, missing from the environment)."""
    with warnings.catch_warnings():  # matplotlib 3.5 on a newer pyparsing warns as it loads
        warnings.simplefilter("ignore")
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError as error:
            return f"no chart: {error}"
        _draw(plt, results, path)
    return None


def _draw(plt: Any, results: Mapping[str, Any], path: Path) -> None:
    systems = results.get("systems", {})
    figure, axes = plt.subplots(1, len(LEVELS), figsize=(4 * len(LEVELS), 4.5), sharey=True)
    for axis, level in zip(axes, LEVELS, strict=True):
        labels, data = [], []
        for key, label in SYSTEMS.items():
            latencies = systems.get(key, {}).get("levels", {}).get(str(level), {})
            values = latencies.get("latencies_ms") if latencies else None
            if values:
                labels.append(label.replace(", ", "\n"))
                data.append(values)
        if data:
            axis.boxplot(data, whis=(1, 99), showfliers=True, flierprops={"markersize": 2})
            axis.set_xticks(range(1, len(labels) + 1), labels)
        axis.set_yscale("log")
        axis.set_title("1 sender" if level == 1 else f"{level} concurrent conversations")
        axis.grid(axis="y", alpha=0.3)
    axes[0].set_ylabel("REST turn latency (ms, log scale)")
    title = "Latency per load level (boxes: p25–p75, whiskers p1–p99)"
    figure.suptitle(title + (" — QUICK SMOKE RUN" if results.get("quick") else ""))
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)


# ---------------------------------------------------------------------------------- machine
def _first(path: str, prefix: str) -> str | None:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line[len(prefix) :]
    except OSError:
        return None
    return None


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def describe_machine() -> dict[str, Any]:
    memory = _first("/proc/meminfo", "MemTotal")
    os_name = _first("/etc/os-release", "PRETTY_NAME=") or platform.system()
    return {
        "CPU": _first("/proc/cpuinfo", "model name") or platform.processor() or "unknown",
        "cores": os.cpu_count(),
        "RAM": f"{int(memory.split()[0]) / 1024**2:.1f} GiB" if memory else "unknown",
        "OS": f"{os_name.strip(chr(34))}, Linux {platform.release()}",
        "Python": sys.version.split()[0],
        "Rasa": _version("rasa"),
        "Rasa SDK": _version("rasa-sdk"),
    }


def load_average() -> list[float]:
    try:
        return [round(v, 2) for v in os.getloadavg()]
    except OSError:
        return []


def now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")
