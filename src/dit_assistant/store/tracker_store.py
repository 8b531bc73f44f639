"""Where the Rasa server keeps conversations: encrypted, in the enquiry store's database.

Configured in ``bot/endpoints.yml`` (``tracker_store``). A conversation survives a restart or a
deploy of the Rasa server, mid-enquiry too, and is read back from whichever process serves it.

**The table.** ``conversation_events`` (``store/models.py``, created by the project's Alembic
migrations like every other table, so SQLite and PostgreSQL are migrated the same way; Rasa's
own ``create_all`` of its ``events`` table is not used). One row per event. Only what is needed
to find and order a conversation stays in plain text: the sender id, the event type, its
timestamp, and the intent and action names. The event itself (what the person wrote, its parse
data, slot values, the replies) is JSON encrypted with the enquiry keys (``ENQUIRY_KEYS``,
``MultiFernet``), so ``dit-staff rotate-keys`` re-encrypts conversations with everything else.

**What is deleted, and when.**

- *Delete everything I've told you* is Rasa's restart (``action_restart``): when a turn with a
  restart is saved, every row of that conversation before the restart is deleted, in the same
  transaction (on SQLite its bytes are overwritten too). Nothing of it stays, not only out of
  the assistant's view.
- *After an enquiry has ended* (saved, spooled, closed after a refusal or an under-18 answer, or
  cancelled), what was typed into the form is removed from the conversation's stored events
  (``store.conversations.scrub_enquiry_details``): slot values, the messages written while the
  form was open, and those details wherever the replies repeated them. The store notices the
  end itself rather than being told: the ending actions (``enquiry_form.ENDING_ACTIONS``) run in
  the action server before the Rasa server has saved the turn they belong to, so they cannot
  rewrite its stored events themselves, and an action can only return Rasa's own event types,
  so a marker would need a new slot in the domain and a retrained model. The actions already
  say what matters in their events: the ending action ran, and the personal slots are empty
  again (``store.conversations.enquiry_ended``). When saving an enquiry fails the slots keep
  the details for another try, and nothing is removed.
- *Retention*: a conversation is deleted ``CONVERSATION_RETENTION_DAYS`` after its latest event
  (``store.conversations.purge_conversations``, daily with the enquiries' purge).

**No silent fallback.** Rasa wraps every tracker store in ``FailSafeTrackerStore``, which on a
database error carries on in one process's memory and restarts the conversation, with only a
log line to show for it. This store never lets a database error reach that wrapper: it records
the failure (:class:`StoreHealth`, logged at ERROR) and, for the turn being answered, keeps
nothing (``retrieve`` gives no tracker, ``save`` writes nothing). The message gate
(``channels.guard.MessageGate``) asks :meth:`EncryptedTrackerStore.check_available` before each
turn and, while the store is down, tells the person it cannot keep the conversation, with the
clinic's phone and email; a message the safety net reads as a risk still gets its crisis reply,
answered from a fresh conversation that is not kept (:func:`conversation_turn`). A readiness
endpoint reports the store's state (``GET /webhooks/rest/ready``).
"""

from __future__ import annotations

import itertools
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from rasa.core.brokers.broker import EventBroker
from rasa.core.tracker_store import SQLTrackerStore, TrackerStore
from rasa.shared.core.domain import Domain
from rasa.shared.core.events import Event, Restarted
from rasa.shared.core.trackers import DialogueStateTracker
from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from dit_assistant import event_types
from dit_assistant.settings import ConfigurationError, get_settings
from dit_assistant.store.conversations import enquiry_ended, scrub_enquiry_details
from dit_assistant.store.crypto import EnquiryCipher, InvalidToken, load_cipher
from dit_assistant.store.database import Database, conversation_engine
from dit_assistant.store.models import ConversationEvent

logger = logging.getLogger(__name__)

TABLE = ConversationEvent.__table__
# The statements of every turn, as plain SQL that SQLite and PostgreSQL read alike: built once,
# they skip SQLAlchemy's statement building and caching on each turn.
_SESSION_START = (
    "COALESCE((SELECT MAX(id) FROM conversation_events "
    "WHERE sender_id = :sender AND type_name = 'session_started'), 0)"
)
READ_SESSION = text(
    "SELECT id, data_token FROM conversation_events "
    f"WHERE sender_id = :sender AND id >= {_SESSION_START} ORDER BY id"
)
READ_ALL = text(
    "SELECT id, data_token FROM conversation_events WHERE sender_id = :sender ORDER BY id"
)
COUNT_SESSION = text(
    f"SELECT COUNT(*) FROM conversation_events WHERE sender_id = :sender AND id >= {_SESSION_START}"
)
INSERT = TABLE.insert()
"""A construct, not text: SQLAlchemy sends a turn's rows to PostgreSQL in one statement."""
STORED_EVENTS = "_dit_stored_events"
"""Set on each tracker this store reads or saves: how many of its events are stored, so that a
save appends the rest without first counting the stored rows (``SQLTrackerStore``'s way, still
used for a tracker the store has not seen). The next turn reads the conversation afresh; Rasa's
lock store keeps one conversation's turns from overlapping."""
FRESH_FOR_S = 1.0
"""Within this long of the database's last answer the store counts as available unprobed."""
RETRY_AFTER_S = 5.0
"""While the database is down it is tried again at most this often; turns meanwhile are
answered without it at once, instead of each waiting for a connection to fail."""
RECENT_EVENTS = 10_000
RECENT_FOR_S = 3600.0
"""How many events, and for how long, the process keeps decrypted (see :class:`RecentEvents`):
an hour is the session expiry of ``bot/domain/session.yml``."""


# ------------------------------------------------------------------------------ one turn
@dataclass
class Turn:
    """What happened to the conversation store while one message was answered.

    ``ephemeral``: answer from a fresh conversation and keep nothing (the store is down).
    ``failed``: a read or a write failed during the turn, so the turn was not kept.
    """

    ephemeral: bool = False
    failed: bool = False


_TURN: ContextVar[Turn | None] = ContextVar("dit_conversation_turn", default=None)


@contextmanager
def conversation_turn(ephemeral: bool = False) -> Iterator[Turn]:
    """The store's calls within this block (one message's handling) share a :class:`Turn`.

    Rasa awaits a message's handling in the task that received it, so a context variable
    follows the turn through the processor into the store without passing anything along.
    """
    turn = Turn(ephemeral=ephemeral)
    token = _TURN.set(turn)
    try:
        yield turn
    finally:
        _TURN.reset(token)


# ---------------------------------------------------------------------------- its health
@dataclass
class StoreHealth:
    """Whether the database answered last time, and when to try it again if not."""

    available: bool = True
    last_ok: float = 0.0
    retry_at: float = 0.0
    error: str | None = None
    """Type of the latest error (never its message: it could quote SQL parameters)."""
    failures: int = field(default=0)

    def succeeded(self, now: float) -> None:
        if not self.available:
            logger.warning("the conversation store is available again: conversations are kept")
        self.available, self.last_ok, self.error = True, now, None

    def failed(self, error: BaseException, operation: str, now: float) -> None:
        self.available, self.retry_at = False, now + RETRY_AFTER_S
        self.error = type(error).__name__
        self.failures += 1
        logger.error(
            "the conversation store is unavailable (%s while %s): conversations are not kept "
            "until it is back; people are given the clinic's contacts, crisis replies continue",
            self.error,
            operation,
        )

    def known_down(self, now: float) -> bool:
        return not self.available and now < self.retry_at


class RecentEvents:
    """The plain text of the events this process lately wrote or read, by their token.

    Each turn reads the conversation's session back, about 60 events, and decrypting each one
    is most of the turn's cost; all but the turn's new events were decrypted or encrypted by
    this same process a moment ago. A token is one encryption of one event, so a token found
    here always stands for the same text. The Rasa server held whole conversations in memory
    before; this holds at most ``RECENT_EVENTS`` events for at most ``RECENT_FOR_S``, and
    forgets an event at once when it is deleted (a restart) or rewritten (an ended enquiry).
    """

    def __init__(self, size: int | None = None, keep_for_s: float | None = None) -> None:
        self._size = RECENT_EVENTS if size is None else size
        self._keep_for_s = RECENT_FOR_S if keep_for_s is None else keep_for_s
        self._items: OrderedDict[str, tuple[float, str]] = OrderedDict()

    def get(self, token: str) -> str | None:
        item = self._items.get(token)
        if item is None:
            return None
        if time.monotonic() - item[0] > self._keep_for_s:
            del self._items[token]
            return None
        self._items.move_to_end(token)
        return item[1]

    def put(self, token: str, plaintext: str) -> None:
        self._items[token] = (time.monotonic(), plaintext)
        self._items.move_to_end(token)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def forget(self, tokens: Iterable[str]) -> None:
        for token in tokens:
            self._items.pop(token, None)

    def __len__(self) -> int:
        return len(self._items)


class ConversationUnreadable(RuntimeError):
    """A stored event cannot be decrypted with the configured keys."""


# ---------------------------------------------------------------------------- the store
class EncryptedTrackerStore(SQLTrackerStore):
    """Rasa's SQL tracker store on the enquiry store's database, with every event encrypted.

    Keeps ``SQLTrackerStore``'s way of storing a conversation (one row per event, a tracker read
    back from its latest session start, each save appending the events it has not stored yet),
    on the project's own table and engine. ``SQLTrackerStore.__init__`` is not called: it would
    create Rasa's unencrypted ``events`` table and retry a down database forever.
    """

    def __init__(
        self,
        domain: Domain | None = None,
        event_broker: EventBroker | None = None,
        host: str | None = None,
        database_url: str | None = None,
        cipher: EnquiryCipher | None = None,
        **kwargs: Any,
    ) -> None:
        """``database_url`` and ``cipher`` default to the settings' (``DATABASE_URL``,
        ``ENQUIRY_KEYS``); Rasa passes only the domain, the event broker and, from the
        endpoints file, ``host`` (its ``url``) and any other keys, which are refused."""
        if host or kwargs:
            given = ", ".join(["url"] * bool(host) + sorted(kwargs))
            raise ConfigurationError(
                f"tracker_store in endpoints.yml: {given} not understood. The conversation "
                "store uses the enquiry store's database (DATABASE_URL) and keys (ENQUIRY_KEYS)"
            )
        TrackerStore.__init__(self, domain, event_broker)
        self.cipher = cipher or load_cipher()
        url = database_url or get_settings().database_url
        self.database = Database(url=url, engine=conversation_engine(url))
        self.engine = self.database.engine
        self.health = StoreHealth()
        self.recent = RecentEvents()
        self._migrated = False
        try:
            self._migrate()
        except Exception as error:  # noqa: BLE001 - start anyway: crisis replies need no store
            self.health.failed(error, "migrating", time.monotonic())

    def _migrate(self) -> None:
        if not self._migrated:
            self.database.migrate()
            self._migrated = True

    # ----------------------------------------------------------------------- availability
    def check_available(self) -> bool:
        """Whether conversations can be kept now; probes the database when in doubt.

        No query while the database answered within ``FRESH_FOR_S``; none either while it is
        known to be down and not yet due for another try (``RETRY_AFTER_S``).
        """
        now = time.monotonic()
        health = self.health
        if health.available and now - health.last_ok < FRESH_FOR_S:
            return True
        if health.known_down(now):
            return False

        def probe() -> None:
            self._migrate()
            with self.engine.connect() as connection:
                connection.execute(text("SELECT 1"))

        try:
            self._once_more_if_disconnected(probe)
        except Exception as error:  # noqa: BLE001 - whatever the driver raises means "down"
            health.failed(error, "checking", now)
            return False
        health.succeeded(now)
        return True

    def status(self) -> dict[str, Any]:
        """The store's state for the readiness endpoint (no sender ids, no error messages)."""
        available = self.check_available()
        state: dict[str, Any] = {"conversation_store": "ok" if available else "unavailable"}
        if not available:
            state["error"] = self.health.error
        return state

    def _guarded(self, operation: str, work: Any, otherwise: Any) -> Any:
        """``work()``, or ``otherwise`` when the store is down or fails now.

        Never raises: Rasa's wrapper would carry on in memory without saying so. A failed
        operation makes the rest of the turn ephemeral, so that a conversation that could not
        be read is not overwritten by the fresh one Rasa starts instead.
        """
        turn = _TURN.get()
        now = time.monotonic()
        if (turn is not None and turn.ephemeral) or self.health.known_down(now):
            if turn is not None and not turn.ephemeral:
                turn.failed = turn.ephemeral = True
            return otherwise
        try:
            result = self._once_more_if_disconnected(work)
        except (SQLAlchemyError, OSError) as error:
            self.health.failed(error, operation, time.monotonic())
        except Exception as error:  # noqa: BLE001 - a fault of this store, not the database's
            logger.error(
                "the conversation store failed while %s (%s): the turn is not kept",
                operation,
                type(error).__name__,
            )
        else:
            self.health.succeeded(time.monotonic())
            return result
        if turn is not None:
            turn.failed = turn.ephemeral = True
        return otherwise

    @staticmethod
    def _once_more_if_disconnected(work: Any) -> Any:
        """``work()``, again on a new connection if a pooled one was found closed (the
        database restarted since): SQLAlchemy has dropped the whole pool by then."""
        try:
            return work()
        except DBAPIError as error:
            if not error.connection_invalidated:
                raise
        return work()

    # ------------------------------------------------------------------------------ read
    async def keys(self) -> Iterable[str]:
        def work() -> list[str]:
            with self.engine.connect() as connection:
                statement = select(TABLE.c.sender_id).distinct()
                return list(connection.execute(statement).scalars())

        result: list[str] = self._guarded("listing conversations", work, [])
        return result

    async def retrieve(self, sender_id: str) -> DialogueStateTracker | None:
        """The conversation from its latest session start, or None (new, or store down)."""
        return self._read(sender_id, full=False)

    async def retrieve_full_tracker(self, conversation_id: str) -> DialogueStateTracker | None:
        """The whole conversation, every session, or None."""
        return self._read(conversation_id, full=True)

    def _read(self, sender_id: str, full: bool) -> DialogueStateTracker | None:
        def work() -> list[dict[str, Any]]:
            with self.engine.connect() as connection:
                rows = connection.execute(
                    READ_ALL if full else READ_SESSION, {"sender": sender_id}
                ).all()
            try:
                return [self._decrypt(token) for _, token in rows]
            except ConversationUnreadable:
                # It cannot be continued: start afresh rather than fail every turn.
                logger.error(
                    "a conversation cannot be decrypted with the configured keys "
                    "(ENQUIRY_KEYS): it is deleted and starts afresh"
                )
                with self.engine.begin() as connection:
                    connection.execute(delete(TABLE).where(TABLE.c.sender_id == sender_id))
                return []

        events = self._guarded("reading a conversation", work, [])
        if not events:
            return None
        tracker = DialogueStateTracker.from_events(
            sender_id, deserialise_events(events), self.domain.slots
        )
        setattr(tracker, STORED_EVENTS, len(tracker.events))
        return tracker

    def _decrypt(self, token: str) -> dict[str, Any]:
        plaintext = self.recent.get(token)
        if plaintext is None:
            try:
                plaintext = self.cipher.decrypt(token)
            except InvalidToken as error:
                raise ConversationUnreadable from error
            self.recent.put(token, plaintext)
        event: dict[str, Any] = json.loads(plaintext)
        return event

    def _encrypt(self, event: dict[str, Any]) -> str:
        plaintext = json.dumps(event)
        token = self.cipher.encrypt(plaintext)
        self.recent.put(token, plaintext)
        return token

    # ----------------------------------------------------------------------------- write
    async def save(self, tracker: DialogueStateTracker) -> None:
        """Append the events not stored yet; then apply a restart or an ended enquiry."""
        await self.stream_events(tracker)
        self._guarded("saving a conversation", lambda: self._write(tracker), None)

    def _write(self, tracker: DialogueStateTracker) -> None:
        sender_id = tracker.sender_id
        with self.engine.begin() as connection:
            stored = getattr(tracker, STORED_EVENTS, None)
            if stored is None:  # not read by this store: count as SQLTrackerStore does
                stored = connection.execute(COUNT_SESSION, {"sender": sender_id}).scalar_one()
            new = list(itertools.islice(tracker.events, stored, len(tracker.events)))
            if not new:
                return
            new_dicts = [event.as_dict() for event in new]
            connection.execute(
                INSERT,
                [
                    self._row(sender_id, event, data)
                    for event, data in zip(new, new_dicts, strict=True)
                ],
            )
            if any(isinstance(event, Restarted) for event in new):
                self._forget_before_restart(connection, sender_id)
            if enquiry_ended(new_dicts, tracker.current_slot_values()):
                self._scrub_in(connection, sender_id)
        setattr(tracker, STORED_EVENTS, len(tracker.events))

    def _scrub_in(self, connection: Connection, sender_id: str) -> None:
        """``_scrub``, in a savepoint: if it fails the turn is still saved (and the details go
        with the conversation at its retention), the failure logged."""
        try:
            with connection.begin_nested():
                self._scrub(connection, sender_id)
        except SQLAlchemyError:
            raise  # the database itself: the whole turn fails, as any other write would
        except Exception as error:  # noqa: BLE001 - saving the turn matters more
            logger.error(
                "an ended enquiry's details could not be removed from its conversation (%s)",
                type(error).__name__,
            )

    def _row(self, sender_id: str, event: Event, data: dict[str, Any]) -> dict[str, Any]:
        parse_data = data.get("parse_data") or {}
        intent = (parse_data.get("intent") or {}).get("name") if parse_data else None
        return {
            "sender_id": sender_id,
            "type_name": event.type_name,
            "timestamp": data.get("timestamp") or time.time(),
            "intent_name": intent,
            "action_name": data.get("name") if event.type_name == "action" else None,
            "data_token": self._encrypt(data),
        }

    def _forget_before_restart(self, connection: Connection, sender_id: str) -> None:
        """Delete every event of the conversation before its latest restart."""
        restart = connection.execute(
            select(func.max(TABLE.c.id)).where(
                TABLE.c.sender_id == sender_id, TABLE.c.type_name == Restarted.type_name
            )
        ).scalar_one()
        before = (TABLE.c.sender_id == sender_id) & (TABLE.c.id < restart)
        self.recent.forget(connection.execute(select(TABLE.c.data_token).where(before)).scalars())
        connection.execute(delete(TABLE).where(before))

    def _scrub(self, connection: Connection, sender_id: str) -> None:
        """Rewrite the conversation's events without the enquiry's details."""
        rows = connection.execute(READ_ALL, {"sender": sender_id}).all()
        readable = []
        for row_id, token in rows:
            try:
                readable.append((row_id, self._decrypt(token)))
            except ConversationUnreadable:
                logger.error("an event cannot be decrypted with the configured keys: left as is")
        scrubbed = scrub_enquiry_details([event for _, event in readable])
        tokens = dict(rows)
        changes = [
            {"row_id": row_id, "token": self._encrypt(after)}
            for (row_id, before), after in zip(readable, scrubbed, strict=True)
            if after != before
        ]
        self.recent.forget(tokens[change["row_id"]] for change in changes)
        if changes:
            connection.execute(
                update(TABLE)
                .where(TABLE.c.id == bindparam("row_id"))
                .values(data_token=bindparam("token")),
                changes,
            )


def deserialise_events(serialised: list[dict[str, Any]]) -> list[Event]:
    """``rasa.shared.core.events.deserialise_events``, with the event classes looked up once.

    Rasa walks every subclass of ``Event`` again for each event it reads; for a conversation of
    60 events that was most of the time a turn spent reading it back
    (:mod:`dit_assistant.event_types`).
    """
    classes = event_types.table()
    events = []
    for parameters in serialised:
        cls = classes.get(parameters.get("event"))  # type: ignore[arg-type]
        event = cls._from_parameters(parameters) if cls is not None else None
        if event is None:
            logger.warning("a stored event of an unknown type was skipped")
            continue
        events.append(event)
    return events


def conversation_store(agent: Any) -> EncryptedTrackerStore | None:
    """The agent's conversation store if it is this one, under Rasa's wrappers."""
    store = getattr(agent, "tracker_store", None)
    for _ in range(4):
        if isinstance(store, EncryptedTrackerStore):
            return store
        store = getattr(store, "_tracker_store", None)
    return None
