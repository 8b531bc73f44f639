"""The benchmark's arithmetic and report (bench/report.py): percentiles, ratios to the stock bot,
the targets and the tables. No server is started."""

from __future__ import annotations

import json

import pytest

from bench import report
from bench.report import Target


def _level(p95: float, turns_per_s: float = 10.0, errors: int = 0) -> dict:
    return {
        "p50_ms": p95 / 2,
        "p95_ms": p95,
        "p99_ms": p95 * 1.5,
        "turns_per_s": turns_per_s,
        "turns": 100,
        "errors": errors,
    }


def _results(**overrides) -> dict:
    results = {
        "quick": False,
        "started": "2024-01-01T12:00:00+00:00",
        "machine": {
            "CPU": "Test CPU",
            "cores": 2,
            "RAM": "24.0 GiB",
            "OS": "Debian",
            "Python": "3.10.14",
            "Rasa": "3.6.21",
            "Rasa SDK": "3.6.2",
        },
        "load_average": {"start": [0.1, 0.2, 0.3], "end": [0.4, 0.5, 0.6]},
        "systems": {
            "stock": {
                "cold_start_s": 10.0,
                "training_s": 60.0,
                "rasa_memory_mb": 600.0,
                "all_memory_mb": 600.0,
                "levels": {"1": _level(50), "20": _level(400, 40)},
            },
            "ours": {
                "cold_start_s": 15.0,
                "rasa_memory_mb": 1000.0,
                "all_memory_mb": 1400.0,
                "levels": {"1": _level(35), "20": _level(500, 30)},
            },
            "ours_x2": {"levels": {"20": _level(800, 70)}},
        },
        "store_cost": {"SQLite": {"p50_ms": 2.5}, "PostgreSQL": {"p50_ms": 4.0}},
    }
    results.update(overrides)
    return results


def _row(rows: list[dict], name: str) -> dict:
    return next(row for row in rows if row["name"] == name)


def test_percentile_is_the_nearest_rank():
    values = list(range(1, 101))  # 1..100
    assert report.percentile(values, 0.5) == 50
    assert report.percentile(values, 0.95) == 95
    assert report.percentile(values, 0.99) == 99
    assert report.percentile(values, 1.0) == 100
    assert report.percentile(values, 0.0) == 1
    assert report.percentile([7.0], 0.99) == 7.0
    assert report.percentile([3, 1, 2], 0.5) == 2  # order does not matter
    with pytest.raises(ValueError):
        report.percentile([], 0.5)
    with pytest.raises(ValueError):
        report.percentile([1], 1.5)


def test_summarise_counts_errors_as_turns_but_not_in_latency_or_rate():
    level = report.summarise(5, [10.0, 20.0, 30.0, 40.0], errors=1, empty_replies=2, seconds=2.0)
    assert level["turns"] == 5 and level["errors"] == 1 and level["empty_replies"] == 2
    assert level["p50_ms"] == 20.0 and level["p95_ms"] == 40.0 and level["p99_ms"] == 40.0
    assert level["turns_per_s"] == 2.0  # answered turns over the wall-clock time
    nothing = report.summarise(20, [], errors=3, empty_replies=0, seconds=1.0)
    assert nothing["p95_ms"] is None and nothing["turns_per_s"] == 0


def test_summarise_gives_each_messages_median():
    level = report.summarise(
        1,
        [10.0, 30.0, 20.0, 40.0],
        errors=0,
        empty_replies=0,
        seconds=1.0,
        by_message={"hello": [10.0, 20.0], "cancel": [30.0, 40.0, 50.0], "unsent": []},
    )
    assert level["p50_ms_by_message"] == {"hello": 10.0, "cancel": 40.0}
    assert report.summarise(1, [10.0], 0, 0, 1.0)["p50_ms_by_message"] == {}


def test_the_report_lists_the_slowest_turns_of_one_sender_first():
    results = _results()
    results["systems"]["ours"]["levels"]["1"]["p50_ms_by_message"] = {
        "hello": 19.5,
        "cancel": 38.0,
        "what is DIT?": 22.25,
    }
    assert [text for text, _ in report.slowest_turns(results)] == [
        "cancel",
        "what is DIT?",
        "hello",
    ]
    markdown = report.render_markdown(results, report.check_targets(results))
    section = markdown.split("## Turns by message, one sender, ours, 1 replica")[1]
    assert "the p95 is set by the slowest of them" in section
    assert section.index("| cancel | 38 |") < section.index("| what is DIT? | 22.2")
    assert section.index("| what is DIT? |") < section.index("| hello | 19.5 |")
    assert "## Turns by message" not in report.render_markdown(_results(), [])


def test_ratio_is_ours_over_stock_and_none_without_a_stock_figure():
    assert report.ratio(30.0, 60.0) == 0.5
    assert report.ratio(None, 60.0) is None
    assert report.ratio(30.0, None) is None
    assert report.ratio(3.0, 0.0) is None


def test_lookup_finds_numbers_and_returns_none_for_missing_steps():
    results = _results()
    assert report.lookup(results, ("systems", "ours", "levels", "1", "p95_ms")) == 35
    assert report.lookup(results, ("systems", "ours", "levels", "50", "p95_ms")) is None
    assert report.lookup(results, ("systems", "nobody", "cold_start_s")) is None


def test_every_target_is_met_by_good_figures():
    rows = report.check_targets(_results())
    assert [row["met"] for row in rows] == [True] * len(report.TARGETS)
    assert report.all_met(rows)
    one_sender = _row(rows, "one sender p95, 1 replica")
    assert one_sender["value"] == 35 and one_sender["stock"] == 50
    assert one_sender["ratio"] == pytest.approx(0.7)
    assert one_sender["target"] == "< 60 ms and ≤ 0.8× stock"


@pytest.mark.parametrize(
    ("path", "value", "name"),
    [
        (("ours", "levels", "1", "p95_ms"), 45.0, "one sender p95, 1 replica"),  # 0.9× stock
        (("ours", "levels", "1", "p95_ms"), 65.0, "one sender p95, 1 replica"),  # over 60 ms
        (("ours_x2", "levels", "20", "turns_per_s"), 59.9, "20 conversations, 2 replicas: turns/s"),
        (("ours_x2", "levels", "20", "p95_ms"), 1000.0, "20 conversations, 2 replicas: p95"),
        (("ours_x2", "levels", "20", "errors"), 1, "20 conversations, 2 replicas: errors"),
        (("ours", "cold_start_s"), 20.0, "cold start, 1 replica"),
    ],
)
def test_a_figure_beyond_its_bound_fails_its_target_alone(path, value, name):
    results = _results()
    system = results["systems"][path[0]]
    *steps, last = path[1:]
    for step in steps:
        system = system[step]
    system[last] = value
    rows = report.check_targets(results)
    assert [row["name"] for row in rows if not row["met"]] == [name]
    assert not report.all_met(rows)


def test_the_store_target_is_under_five_ms_on_each_database():
    rows = report.check_targets(_results(store_cost={"SQLite": {"p50_ms": 5.0}}))
    assert _row(rows, "conversation store per turn p50, SQLite")["met"] is False
    postgres = _row(rows, "conversation store per turn p50, PostgreSQL")
    assert postgres["met"] is None  # not measured: counts as missed
    assert postgres["stock"] is None and postgres["ratio"] is None  # the stock bot has no store


def test_a_target_whose_phase_did_not_run_counts_as_missed():
    results = _results()
    results["systems"]["ours_x2"] = {"skipped": "redis-server is not installed"}
    rows = report.check_targets(results)
    assert _row(rows, "20 conversations, 2 replicas: turns/s")["met"] is None
    assert not report.all_met(rows)
    markdown = report.render_markdown(results, rows)
    assert "**not measured**" in markdown
    assert "not run: redis-server is not installed" in markdown


def test_a_ratio_target_without_a_stock_figure_is_not_met():
    target = Target("p95", ("ours", "levels", "1", "p95_ms"), "<", 60, "ms", max_ratio=0.8)
    results = _results()
    del results["systems"]["stock"]["levels"]["1"]
    assert target.check(results)["met"] is False


def test_numbers_and_ratios_are_formatted_for_the_tables():
    assert report.format_number(None) == "—"
    assert report.format_number(0) == "0"
    assert report.format_number(1234.0) == "1,234"
    assert report.format_number(1234.56) == "1,235"
    assert report.format_number(58.26) == "58.3"
    assert report.format_number(4.204) == "4.20"
    assert report.format_ratio(0.7) == "0.70×"
    assert report.format_ratio(None) == "—"


def test_the_markdown_report_has_the_machine_targets_comparison_and_notes():
    results = _results()
    rows = report.check_targets(results)
    markdown = report.render_markdown(results, rows)
    assert markdown.startswith("# Benchmarks\n")
    assert "Quick smoke run" not in markdown
    for line in (
        "- CPU: Test CPU",
        "- cores: 2",
        "- RAM: 24.0 GiB",
        "- Python: 3.10.14",
        "- Rasa: 3.6.21",
    ):
        assert line in markdown
    assert "| one sender p95, 1 replica | 35 | 50 | 0.70× | < 60 ms and ≤ 0.8× stock | pass |" in (
        markdown
    )
    assert "| 1 sender: p95 (ms) | 50 | 35 | 0.70× | — | — |" in markdown
    assert "| 20 conversations: turns/s | 40 | 30 | 0.75× | 70 | 1.75× |" in markdown
    assert "| SQLite | 2.50 |" in markdown
    assert report.BOTS_DIFFER in markdown
    assert "0.10, 0.20, 0.30" in markdown and "0.40, 0.50, 0.60" in markdown
    table = [line for line in markdown.splitlines() if line.startswith("| ")]
    assert len({line.count("|") for line in table[: len(rows) + 1]}) == 1  # a well-formed table


def test_a_quick_run_says_so():
    markdown = report.render_markdown(_results(quick=True), [])
    assert "Quick smoke run (`--quick`)" in markdown and "not measurements" in markdown


def test_the_machine_description_names_what_the_report_shows():
    machine = report.describe_machine()
    assert set(machine) == {"CPU", "cores", "RAM", "OS", "Python", "Rasa", "Rasa SDK"}
    assert json.dumps(machine)  # goes into the JSON results as it is
    assert all(f"- {key}: " in "\n".join(report.machine_lines(machine)) for key in machine)
