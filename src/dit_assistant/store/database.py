"""Connecting to the store and bringing its schema up to date with Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from dit_assistant.settings import get_settings
from dit_assistant.store.models import SafetyEvent

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


CONNECT_TIMEOUT_S = 5
"""How long a connection attempt may take before the caller falls back (e.g. to the spool):
a person waiting on the chat must not wait for a TCP timeout."""


def _engine(url: str) -> Engine:
    connect_args: dict[str, object] = {}
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        connect_args["timeout"] = CONNECT_TIMEOUT_S
    elif url.startswith(("postgresql", "postgres")):
        connect_args["connect_timeout"] = CONNECT_TIMEOUT_S
    engine = create_engine(url, future=True, pool_pre_ping=True, connect_args=connect_args)
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    """SQLite ignores ON DELETE CASCADE unless asked, per connection."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@dataclass
class Database:
    """An engine with a session factory, migrated to the latest schema."""

    url: str
    engine: Engine

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A transaction: committed when the block ends, rolled back if it raises."""
        factory = sessionmaker(self.engine, future=True, expire_on_commit=False)
        with factory.begin() as session:
            yield session

    def migrate(self) -> None:
        with self.engine.begin() as connection:
            config = alembic_config(self.url)
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    # ------------------------------------------------------------------ safety events
    def record_safety_event(self, route: str, region: str, channel: str) -> None:
        with self.session() as session:
            session.add(SafetyEvent(route=route, region=region, channel=channel))

    def safety_event_counts(self) -> dict[str, int]:
        with self.session() as session:
            rows = session.execute(
                select(SafetyEvent.route, func.count()).group_by(SafetyEvent.route)
            )
            return {route: count for route, count in rows}


def open_database(url: str | None = None, migrate: bool = True) -> Database:
    """Connect to ``url`` (default: the configured ``DATABASE_URL``) and migrate it."""
    url = url or get_settings().database_url
    database = Database(url=url, engine=_engine(url))
    if migrate:
        database.migrate()
    return database
