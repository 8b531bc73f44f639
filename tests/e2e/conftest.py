"""Servers, for the end-to-end tests: ``make run``'s, the action server, PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.fixtures.actions import IntakeSetting, intake_setting
from tests.fixtures.servers import RunningServer, running_servers
from tests.fixtures.services import PostgresServer, postgres_server


@pytest.fixture(scope="session")
def running_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """``make run``'s servers, shared by every test that only talks to them."""
    with running_servers(tmp_path_factory.mktemp("server")) as server:
        yield server


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server for the whole session, on 127.0.0.1 and a free port.

    Skips when PostgreSQL is not installed (fails instead under CI=true). Tests get a fresh
    database each with ``postgres.create_database()``.
    """
    with postgres_server() as server:
        yield server


@pytest.fixture(scope="session")
def intake(tmp_path_factory: pytest.TempPathFactory) -> Iterator[IntakeSetting]:
    """The trained bot wired to a real action server with its own database (forms work)."""
    yield from intake_setting(tmp_path_factory)
