"""The action server's database work (bot/actions/database.py): off the event loop, with a short
timeout and a circuit breaker, so a database that is down or hangs never holds up other people's
actions, and an enquiry still reaches the spool.

"Down" here is a socket that accepts connections and never answers, as a firewalled or hung
PostgreSQL server looks to its clients: a listening socket in this process, never accepted
(``tests.fixtures.services.blackhole_postgres``).
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from rasa_sdk.executor import CollectingDispatcher

from bot.actions import database as action_database
from bot.actions.database import DatabaseUnavailable, store
from bot.actions.intake import ActionSubmitIntake, keep_enquiry
from bot.actions.safety import ActionRecordSafetyRoute
from dit_assistant.settings import ConfigurationError, load_settings
from dit_assistant.store import open_database
from dit_assistant.store.breaker import CLOSED, OPEN, TRIAL, CircuitBreaker
from dit_assistant.store.database import CONNECT_TIMEOUT_S, engine_options
from dit_assistant.store.spool import default_spool
from tests.fixtures.services import blackhole_postgres
from tests.fixtures.store import NAME, PERSONAL, REFERENCE, count_rows, draft
from tests.fixtures.trackers import domain, tracker

TIMEOUT_S = 1


@pytest.fixture(autouse=True)
def fresh_store() -> Iterator[None]:
    """The action server's database handle and breaker are per process: fresh for each test."""
    store.reset()
    yield
    store.reset()


@pytest.fixture()
def database_down(store_env) -> Iterator[str]:
    """The action server's database: a PostgreSQL port that takes connections, never answers."""
    with blackhole_postgres() as blackhole:
        store_env.set(
            DATABASE_URL=blackhole.url,
            ACTION_DB_TIMEOUT_S=str(TIMEOUT_S),
            ACTION_DB_RETRY_AFTER_S="30",
        )
        yield blackhole.url


class Heartbeat:
    """Ticks on the event loop every 20 ms: a gap shows the loop was held up."""

    def __init__(self) -> None:
        self.ticks: list[float] = []
        self._task: asyncio.Task | None = None

    async def _beat(self) -> None:
        while True:
            self.ticks.append(time.monotonic())
            await asyncio.sleep(0.02)

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._beat())

    def stop(self) -> float:
        """The longest gap between two ticks, in seconds."""
        assert self._task is not None
        self._task.cancel()
        return max(b - a for a, b in zip(self.ticks, self.ticks[1:], strict=False))


def spooled_files() -> list[Any]:
    return list(default_spool().pending())


# ------------------------------------------------------------------------- the breaker
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_after_a_failure_the_breaker_refuses_until_one_trial_is_due():
    clock = Clock()
    breaker = CircuitBreaker(retry_after_s=30, clock=clock)
    assert breaker.allow() and breaker.allow()  # closed: everyone goes through
    breaker.failed()
    assert breaker.state == OPEN
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()  # the trial
    assert breaker.state == TRIAL
    assert not breaker.allow()  # only one caller tries a database that may hang
    breaker.failed()  # the trial failed: another full wait
    clock.now += 29.9
    assert not breaker.allow()
    clock.now += 0.1
    assert breaker.allow()
    breaker.succeeded()
    assert breaker.state == CLOSED
    assert breaker.allow() and breaker.allow()


# ------------------------------------------------------------------------- the settings
def test_the_action_servers_database_settings_and_their_defaults():
    defaults = load_settings(env={})
    assert (defaults.action_db_timeout_s, defaults.action_db_retry_after_s) == (2, 30)
    chosen = load_settings(env={"ACTION_DB_TIMEOUT_S": "5", "ACTION_DB_RETRY_AFTER_S": "120"})
    assert (chosen.action_db_timeout_s, chosen.action_db_retry_after_s) == (5, 120)
    for name, value in [("ACTION_DB_TIMEOUT_S", "0"), ("ACTION_DB_RETRY_AFTER_S", "soon")]:
        with pytest.raises(ConfigurationError, match=name):
            load_settings(env={name: value})


def test_the_action_servers_postgresql_connections_and_statements_are_bounded():
    url = "postgresql+psycopg2://dit@db.example.internal/dit"
    options = engine_options(url, timeout_s=2)
    assert options["connect_args"] == {"connect_timeout": 2, "options": "-c statement_timeout=2000"}
    assert options["pool_timeout"] == 2
    # Options the URL already sets are kept.
    given = engine_options(url + "?options=-c%20search_path%3Dclinic", timeout_s=2)
    assert given["connect_args"]["options"] == "-c search_path=clinic -c statement_timeout=2000"
    # The dashboard and the staff tools keep the longer wait and no statement limit: an export
    # or the statistics page may take longer than an action should.
    assert engine_options(url)["connect_args"] == {"connect_timeout": CONNECT_TIMEOUT_S}
    assert "pool_timeout" not in engine_options(url)
    assert engine_options("sqlite:////tmp/x.sqlite", timeout_s=2)["connect_args"] == {"timeout": 2}


# ------------------------------------------------------------------------- the database down
def test_an_enquiry_is_spooled_within_the_timeout_and_the_loop_is_never_held_up(database_down):
    async def scenario() -> tuple[tuple[str, bool], float, float]:
        heartbeat = Heartbeat()
        heartbeat.start()
        started = time.monotonic()
        kept = await keep_enquiry(draft())
        elapsed = time.monotonic() - started
        await asyncio.sleep(0.05)
        return kept, elapsed, heartbeat.stop()

    # A full garbage collection of this process (Rasa and TensorFlow imported by the whole unit
    # suite) stops every thread for about half a second: that pause is no work of the code under
    # test, so it is taken before the heartbeat starts and not during it.
    gc.collect()
    gc.disable()
    try:
        (reference, stored), elapsed, longest_gap = asyncio.run(scenario())
    finally:
        gc.enable()
    assert stored is False and REFERENCE.match(reference)
    assert [path.stem for path in spooled_files()] == [reference]
    assert TIMEOUT_S * 0.9 <= elapsed < TIMEOUT_S * action_database.DEADLINE_FACTOR
    # Before, the connection was made on the event loop: it stood still for the whole wait.
    assert longest_gap < 0.5, longest_gap
    assert store.breaker.state == OPEN


def test_while_the_breaker_is_open_enquiries_go_straight_to_the_spool(database_down, caplog):
    async def two_enquiries() -> tuple[float, float]:
        first = time.monotonic()
        await keep_enquiry(draft())
        second = time.monotonic()
        await keep_enquiry(draft(preferred_name="Robin"))
        return second - first, time.monotonic() - second

    with caplog.at_level(logging.INFO):
        tried, skipped = asyncio.run(two_enquiries())
    assert tried >= TIMEOUT_S * 0.9
    assert skipped < TIMEOUT_S / 2  # the database was not tried at all
    assert len(spooled_files()) == 2
    assert "database skipped for an enquiry" in caplog.text
    assert "kept in the local spool" in caplog.text
    for secret in (*PERSONAL, "Robin", "dit@127.0.0.1"):
        assert secret not in caplog.text


def test_after_the_pause_one_call_tries_the_database_again_and_closes_the_breaker(
    store_env, database_down
):
    store_env.set(ACTION_DB_RETRY_AFTER_S="1")
    asyncio.run(keep_enquiry(draft()))  # the blackhole: spooled, breaker open
    assert store.breaker.state == OPEN
    working = store_env.root / "db" / "store.sqlite"
    store_env.set(DATABASE_URL=f"sqlite:///{working}")  # the database is back (here: elsewhere)
    time.sleep(1.1)
    reference, stored = asyncio.run(keep_enquiry(draft(preferred_name="Robin")))
    assert stored is True and store.breaker.state == CLOSED
    database = open_database(f"sqlite:///{working}")
    assert count_rows(database) >= 1
    deadline = time.monotonic() + 10  # the spooled one is moved in, in the background
    while spooled_files() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert spooled_files() == []
    assert count_rows(database) == 2


def test_the_person_is_told_their_enquiry_was_spooled_with_its_reference(database_down):
    slots = {
        "intake_confirmed": True,
        "intake_name": NAME,
        "intake_contact_method": "email",
        "intake_contact_detail": "zelda.q@example.org",
        "intake_best_times": "mornings",
        "intake_help_with": "",
        "intake_consent": "2026-01-05T10:00:00+00:00",
    }
    dispatcher = CollectingDispatcher()
    asyncio.run(ActionSubmitIntake().run(dispatcher, tracker(slots=slots), domain()))
    [message] = dispatcher.messages
    assert message["response"] == "utter_intake_spooled"
    assert REFERENCE.match(message["intake_reference"])
    assert [path.stem for path in spooled_files()] == [message["intake_reference"]]


def test_a_safety_statistic_is_dropped_with_a_log_line_and_never_waits_twice(database_down, caplog):
    crisis = tracker("I want to end it", intent="risk_suicide", active_loop="")

    async def two_routes() -> float:
        action = ActionRecordSafetyRoute()
        await action.run(CollectingDispatcher(), crisis, domain())
        started = time.monotonic()
        assert await action.run(CollectingDispatcher(), crisis, domain()) == []
        return time.monotonic() - started

    with caplog.at_level(logging.INFO):
        second = asyncio.run(two_routes())
    assert second < TIMEOUT_S / 2
    assert caplog.text.count("could not record safety route risk_suicide") == 2
    assert "I want to end it" not in caplog.text


# ------------------------------------------------------------------------- work that hangs
def test_work_that_hangs_past_the_drivers_timeouts_is_given_up_and_settles_the_breaker_later(
    store_env, monkeypatch
):
    """A connection that hangs after it was made (no driver timeout covers every such case):
    the action stops waiting after the deadline, and the work, when it ends, tells the breaker."""
    store_env.set(ACTION_DB_TIMEOUT_S="1")
    monkeypatch.setattr(action_database, "DEADLINE_FACTOR", 0.3)
    release = threading.Event()

    def hangs(_database: Any) -> str:
        release.wait(10)
        return "done"

    async def attempt() -> float:
        started = time.monotonic()
        with pytest.raises(DatabaseUnavailable, match="no answer within"):
            await store.run(hangs, "a test")
        return time.monotonic() - started

    assert asyncio.run(attempt()) < 1
    assert store.breaker.state == OPEN
    release.set()
    deadline = time.monotonic() + 5
    while store.breaker.state != CLOSED and time.monotonic() < deadline:
        time.sleep(0.02)
    assert store.breaker.state == CLOSED  # it did answer in the end
