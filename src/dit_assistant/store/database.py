"""Connecting to the store and bringing its schema up to date with Alembic."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event, func, select, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool, QueuePool

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


def engine_options(url: str, timeout_s: int | None = None, pre_ping: bool = True) -> dict[str, Any]:
    """``create_engine`` options for ``url``: connections wait at most ``CONNECT_TIMEOUT_S``.

    With ``timeout_s`` (the action server's ``ACTION_DB_TIMEOUT_S``) they wait that long
    instead, for a connection from the pool too, and on PostgreSQL every statement is also
    cancelled by the server after that long (``statement_timeout``): a person waiting on the
    chat is given the spool rather than a hung database.
    """
    wait = timeout_s or CONNECT_TIMEOUT_S
    connect_args: dict[str, Any] = {}
    options: dict[str, Any] = {"future": True, "pool_pre_ping": pre_ping}
    if url.startswith("sqlite"):
        connect_args["timeout"] = wait  # how long to wait for another writer's lock
    elif url.startswith(("postgresql", "postgres")):
        connect_args["connect_timeout"] = wait
        if timeout_s:
            given = make_url(url).query.get("options")
            given = " ".join(given) if isinstance(given, tuple) else given
            statement = f"-c statement_timeout={timeout_s * 1000}"
            connect_args["options"] = f"{given} {statement}" if given else statement
    if timeout_s and not url.startswith("sqlite"):
        options["pool_timeout"] = timeout_s
    options["connect_args"] = connect_args
    return options


def _engine(url: str, timeout_s: int | None = None, pre_ping: bool = True) -> Engine:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, **engine_options(url, timeout_s, pre_ping))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_foreign_keys)
    return engine


def _sqlite_foreign_keys(dbapi_connection: object, _record: object) -> None:
    """SQLite ignores ON DELETE CASCADE unless asked, per connection."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _sqlite_quick_commits(dbapi_connection: object, _record: object) -> None:
    """Write-ahead logging, and no wait for the disk at each commit on this connection.

    The Rasa server saves the conversation at every turn. In SQLite's default rollback journal
    each commit waits for several flushes to disk (about 10 ms here), longer than everything
    else the turn's save does. With the write-ahead log (a setting of the database file, kept
    once made; readers and writers of the other processes no longer block each other either)
    and ``synchronous=NORMAL`` (this connection only), a commit is durable once the log is
    flushed at the next checkpoint: a power cut (not a crash) may lose the latest turns of a
    conversation, never corrupt the file. The other processes keep SQLite's default (``FULL``)
    for their own commits, so an enquiry is on disk before the person is told it was sent.
    """
    import sqlite3

    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        with suppress(sqlite3.OperationalError):  # another process is switching it just now
            cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        # What the store deletes (before a restart, an enquiry's details) is overwritten, not
        # only unlinked: freed pages of an SQLite file otherwise keep the old tokens.
        cursor.execute("PRAGMA secure_delete=ON")
    finally:
        cursor.close()


def _postgresql_quick_commits(dbapi_connection: object, _record: object) -> None:
    """The same trade-off on PostgreSQL: ``synchronous_commit`` off for this connection's
    transactions only. A crash of the database server may lose the latest turns' commits (at
    most about three times ``wal_writer_delay``), never leave the database inconsistent."""
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    try:
        cursor.execute("SET synchronous_commit TO OFF")
        dbapi_connection.commit()  # type: ignore[attr-defined]
    finally:
        cursor.close()


def conversation_engine(url: str) -> Engine:
    """The engine of the Rasa server's conversation store: like every other, except that its
    commits do not wait for the disk (see ``_sqlite_quick_commits`` and
    ``_postgresql_quick_commits``), that on SQLite connections are kept open between turns
    (SQLAlchemy 1.4 opens a file database anew for each use, and closing the last connection to
    a write-ahead log checkpoints it to disk), and that a pooled connection is not pinged before
    each use (a round trip per read and per write): the store tries once more on a fresh
    connection when one turns out to be gone. The Rasa server uses the store from its one
    event loop thread only."""
    if not url.startswith("sqlite:///"):
        engine = _engine(url, pre_ping=False)
        if engine.dialect.name == "postgresql":
            event.listen(engine, "connect", _postgresql_quick_commits)
        return engine
    with suppress(OSError):  # unusable now: reported by the store when it connects
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        poolclass=QueuePool,
        pool_size=2,
        max_overflow=2,
        connect_args={"timeout": CONNECT_TIMEOUT_S, "check_same_thread": False},
    )
    event.listen(engine, "connect", _sqlite_foreign_keys)
    event.listen(engine, "connect", _sqlite_quick_commits)
    return engine


MIGRATION_LOCK = 0x0D17_5C4E_3A11
"""The PostgreSQL advisory lock key that processes migrating one database take turns on."""
MIGRATION_WAIT_S = 60
"""How long a process waits for another's migration of an SQLite file before giving up."""


def _sqlite_migration_engine(url: str) -> Engine:
    """A one-connection engine on which a transaction starts with ``BEGIN EXCLUSIVE``.

    Python's sqlite3 module begins a transaction only before a data change, so the schema
    changes of a migration would otherwise each commit at once, and the revision is read with
    no lock held. With the driver's own transaction handling off, this is the recipe of
    SQLAlchemy's SQLite dialect documentation ("Serializable isolation / Savepoints /
    Transactional DDL"): the engine emits the ``BEGIN`` itself, and takes the file's write
    lock with it.
    """
    Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        future=True,
        poolclass=NullPool,
        connect_args={"timeout": MIGRATION_WAIT_S, "isolation_level": None},
    )

    event.listen(engine, "connect", _sqlite_foreign_keys)

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN EXCLUSIVE")

    return engine


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
        """Bring the schema to the latest revision, one process at a time.

        Every process that opens the store migrates it, and a deployment starts several at
        once (replicas, the action server). Without turns, two that find a new database both
        create the same tables and one fails. So the whole upgrade, the reading of the current
        revision included, runs in one transaction holding a lock the others wait for: on
        PostgreSQL an advisory lock, on SQLite the database file's own write lock (``BEGIN
        EXCLUSIVE`` on a connection of its own; see :func:`_sqlite_migration_engine`). The
        next process then finds the schema up to date and changes nothing.
        """
        sqlite = self.engine.dialect.name == "sqlite"
        engine = _sqlite_migration_engine(self.url) if sqlite else self.engine
        try:
            with engine.begin() as connection:
                if engine.dialect.name == "postgresql":
                    connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK}
                    )
                config = alembic_config(self.url)
                config.attributes["connection"] = connection
                command.upgrade(config, "head")
        finally:
            if sqlite:
                engine.dispose()

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


def open_database(
    url: str | None = None, migrate: bool = True, timeout_s: int | None = None
) -> Database:
    """Connect to ``url`` (default: the configured ``DATABASE_URL``) and migrate it.

    ``timeout_s``: a shorter wait for connections and statements (see :func:`engine_options`).
    """
    url = url or get_settings().database_url
    database = Database(url=url, engine=_engine(url, timeout_s))
    if migrate:
        database.migrate()
    return database
