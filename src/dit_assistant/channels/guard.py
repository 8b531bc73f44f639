"""The gate every incoming message passes before the bot does any work on it.

Rasa reads a message that starts with ``/`` as a typed intent (``/greet``,
``/intake_change{"intake_field": "intake_name"}``) and skips the NLU pipeline for it, safety net
included, even when words follow the intent ("/greet{ } I want to kill myself"). Buttons need
that syntax, so it cannot simply be switched off; instead each channel hands its messages to
:class:`MessageGate`, which:

- answers a message longer than ``MAX_MESSAGE_CHARS`` with a kind reply that also says where
  to get help now, and processes nothing: the classifier's time grows with the text, and one
  huge message would hold up every other person's reply, crisis replies included;
- answers a sender's messages beyond ``MAX_MESSAGES_PER_MINUTE`` (a moving window, the
  ``limits`` library; in memory, or shared by several Rasa replicas through Redis with
  ``REDIS_URL``: :mod:`~dit_assistant.channels.rate_limits`) with a kind reply that carries
  the emergency route and the crisis lines, and processes nothing: a script flooding the
  server cannot hold up anyone else, and a person in distress who is throttled still reads
  where to get help now;
- does the same for an address's messages beyond ``MAX_MESSAGES_PER_MINUTE_PER_ADDRESS``, all
  its senders together, where the channel knows the address (REST and the widget: the
  connection's peer, or a trusted proxy's ``X-Forwarded-For``, see
  :mod:`~dit_assistant.channels.addresses`): a script that opens a new widget session, or picks
  a new REST sender, for every message is still throttled. Messages refused by either limit
  count against neither;
- lets a ``/...`` payload through only when the bot has just offered it as a button (or it is
  ``/greet``, which the widget and Telegram's Start send), and only when its entities fit the
  slots they fill;
- turns any other text that starts with ``/`` into plain words (the slashes removed), so it goes
  through the NLU pipeline and the safety net like anything else a person types;
- drops a platform's redelivery of an update it has already handled (the same
  ``metadata["delivery_id"]``, which the platform channels set from Telegram's ``update_id``,
  Twilio's ``MessageSid``, Messenger's ``mid`` and Slack's ``event_id``, within an hour): a
  platform that timed out waiting for our answer sends the update again, and the person would
  otherwise be answered twice, or a form answer be read twice;
- names the conversation by channel (:func:`conversation_id`: ``twilio:+447700900123``,
  ``socketio:<session>``, ``rest:<sender>``), so no channel can write into another channel's
  conversations (an SMS sender id is a phone number, and a REST caller chooses its sender id).
  Replies go back to the platform's own id: :class:`NamespacedOutput` takes the channel's name
  off again;
- answers a message whose conversation lock Rasa cannot take (the shared lock store's Redis
  unreachable) under this process's own lock rather than not at all;
- checks that the conversation store can keep the conversation
  (:mod:`dit_assistant.store.tracker_store`). While it cannot, the person is told so, with the
  clinic's phone and email, instead of the assistant carrying on with a conversation it will
  have forgotten by the next message; a message the safety net reads as a risk still gets its
  crisis reply first, answered from a fresh conversation that is not kept. Both are logged at
  ERROR, without the message. A store that fails in the middle of a turn gets the same note
  after the turn's replies.

It sits in the channel layer because every way in goes through ``dit_assistant.channels`` and
the NLU pipeline (``bot/config.yml``) stays as trained. For the same reason the messages it lets
through are counted here for the staff statistics (conversations, typed messages; by channel
only, see :mod:`dit_assistant.channels.counting`).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

from limits import RateLimitItemPerHour, RateLimitItemPerMinute
from rasa.core.channels.channel import OutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore, LockError
from rasa.shared.core.slots import (
    AnySlot,
    BooleanSlot,
    CategoricalSlot,
    FloatSlot,
    ListSlot,
    Slot,
    TextSlot,
)
from sanic import Blueprint, Sanic

from dit_assistant import action_connections
from dit_assistant.channels.addresses import rate_key
from dit_assistant.channels.common import offered_buttons
from dit_assistant.channels.counting import ConversationCounter, counted
from dit_assistant.channels.rate_limits import GateLimiter
from dit_assistant.safety import SAFETY_ROUTES
from dit_assistant.settings import Settings, get_settings
from dit_assistant.store.tally import process_tally
from dit_assistant.store.tracker_store import conversation_store, conversation_turn

logger = logging.getLogger(__name__)

COMMAND_PREFIX = "/"
ALWAYS_ALLOWED = frozenset({"/greet"})
"""Payloads a person may send without being offered them: the widget's ``initPayload`` and what
Telegram's Start button becomes (``channels.telegram``)."""

# The shape Rasa parses (YAMLStoryReader._regex_message_pattern), with the entities as JSON.
_PAYLOAD = re.compile(
    r"^/(?P<intent>[^{@]+)(?P<confidence>@[0-9.]+)?(?P<entities>\{.+\})?(?P<rest>.*)$", re.S
)
_LEADING_COMMAND = re.compile(r"^[\s/]+")
# A JSON string can carry half of a UTF-16 pair ("\\ud800"), which no UTF-8 codec accepts: the
# NLU pipeline's spaCy tokenizer raised on it and the person got no reply at all.
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")

Handler = Callable[[UserMessage], Awaitable[Any]]

DELIVERY_ID = "delivery_id"
"""Metadata key of the platform's own id for one delivery of an update (see the module text)."""


def conversation_id(channel: str, sender_id: str) -> str:
    """The id the bot and the tracker store know a conversation by: the channel's name first."""
    return f"{channel}:{sender_id}"


class NamespacedOutput(OutputChannel):
    """A channel's output with the channel's name taken off the recipient id again.

    Rasa sends every reply to the tracker's sender id, which the gate has prefixed with the
    channel's name; the platform (Telegram's chat id, Twilio's phone number, the widget's session
    room) needs its own id back.
    """

    def __init__(self, inner: OutputChannel, channel: str) -> None:
        self.inner = inner
        self._prefix = conversation_id(channel, "")

    def name(self) -> str:  # the wrapped channel's, per instance (a classmethod elsewhere)
        """Channel-specific response variations are chosen by the wrapped channel's name."""
        return self.inner.name()

    def platform_id(self, recipient_id: str) -> str:
        return recipient_id.removeprefix(self._prefix)

    async def send_response(self, recipient_id: str, message: dict[str, Any]) -> None:
        await self.inner.send_response(self.platform_id(recipient_id), message)

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        await self.inner.send_text_message(self.platform_id(recipient_id), text, **kwargs)


def help_now(settings: Settings) -> str:
    """Where to get help now: the emergency route, the region's crisis lines and the clinic's
    own local services, as the crisis replies list them (``{crisis_lines}``)."""
    variables = settings.template_variables()
    return f"If you need help now, {settings.helplines.emergency}.\n{variables['crisis_lines']}"


def too_long_reply(settings: Settings) -> str:
    """A message the gate will not read may still be someone pouring out what is wrong: the
    reply says where to get help now, as the crisis replies do."""
    clinic = settings.clinic
    return (
        "That message is too long for me to read. Please send a shorter one, "
        f"or call {clinic.phone} or email {clinic.email}.\n{help_now(settings)}"
    )


def too_fast_reply(settings: Settings) -> str:
    clinic = settings.clinic
    return (
        "You're sending messages faster than I can read them, so I've paused for a moment. "
        "Please wait a minute, then send your message again.\n"
        f"{help_now(settings)}\n"
        f"You can also call {clinic.phone} or email {clinic.email}."
    )


def well_formed(text: str) -> str:
    """``text`` with any lone surrogate replaced by U+FFFD, as a UTF-8 decoder would read it."""
    return _LONE_SURROGATE.sub("\ufffd", text)


def store_unavailable_reply(settings: Settings) -> str:
    clinic = settings.clinic
    return (
        "I'm sorry: because of a technical problem I can't keep track of our conversation "
        "right now, so I can't carry on with it here. Please contact "
        f"{clinic.name} on {clinic.phone} or {clinic.email}, or try again later.\n"
        f"If you need help urgently, {settings.helplines.emergency}."
    )


def is_command(text: str | None) -> bool:
    """Whether Rasa would try to read ``text`` as a typed intent."""
    return (text or "").strip().startswith(COMMAND_PREFIX)


def as_plain_text(text: str) -> str:
    """The words of a ``/...`` message without the leading slashes, for the NLU pipeline."""
    return _LEADING_COMMAND.sub("", text)


def _value_fits(slot: Slot, value: Any) -> bool:
    if isinstance(slot, AnySlot):
        return True
    if isinstance(slot, BooleanSlot):
        return isinstance(value, bool)
    if isinstance(slot, FloatSlot):
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        return bool(slot.min_value <= value <= slot.max_value)
    if isinstance(slot, CategoricalSlot):
        return isinstance(value, str) and value.lower() in {str(v).lower() for v in slot.values}
    if isinstance(slot, ListSlot):
        return isinstance(value, list) and all(isinstance(item, str) for item in value)
    if isinstance(slot, TextSlot):
        return isinstance(value, str)
    return isinstance(value, str)


def payload_fits_slots(payload: str, slots: Mapping[str, Slot]) -> bool:
    """Whether ``payload`` is a well-formed intent payload whose entities fit their slots.

    Entities that name no slot must still be plain strings, which is all Rasa's entities are.
    A confidence (``/intent@0.3``) or trailing words are never part of a payload we offer.
    """
    match = _PAYLOAD.match(payload.strip())
    if match is None or match.group("confidence") or match.group("rest").strip():
        return False
    raw = match.group("entities")
    if raw is None:
        return True
    try:
        entities = json.loads(raw)
    except ValueError:
        return False
    if not isinstance(entities, dict):
        return False
    for name, value in entities.items():
        slot = slots.get(name)
        if slot is None:
            if not isinstance(value, str):
                return False
        elif not _value_fits(slot, value):
            return False
    return True


def admitted_text(text: str, offered: Iterable[str], slots: Mapping[str, Slot]) -> str:
    """What reaches the bot: an allowed payload unchanged, any other ``/...`` text as words."""
    stripped = text.strip()
    if not stripped.startswith(COMMAND_PREFIX):
        return text
    allowed = stripped in ALWAYS_ALLOWED or stripped in {p.strip() for p in offered}
    if allowed and payload_fits_slots(stripped, slots):
        return stripped
    return as_plain_text(text)


class MessageGate:
    """Wraps the handler Rasa gives each channel; see the module docstring for what it checks.

    ``attach`` registers a start-up listener on the channel's blueprint that keeps the Sanic
    app (to reach the agent's tracker store and domain at message time, after a model reload
    too) and sets the server's request-size limits.
    """

    def __init__(self, on_new_message: Handler, settings: Settings | None = None) -> None:
        self.conversations = ConversationCounter(
            process_tally(), self._session_minutes, automatic=ALWAYS_ALLOWED
        )
        self._on_new_message = counted(on_new_message, self.conversations)
        self._settings = settings
        self._app: Sanic | None = None
        # In memory, or shared by the Rasa replicas through Redis (REDIS_URL).
        self._limiter = GateLimiter(self.settings)
        self._rate = RateLimitItemPerMinute(self.settings.max_messages_per_minute)
        self._address_rate = RateLimitItemPerMinute(
            self.settings.max_messages_per_minute_per_address
        )
        self._once = RateLimitItemPerHour(1)  # one handling per delivery id
        self._local_locks = InMemoryLockStore()  # when Rasa's lock store cannot be reached

    @property
    def settings(self) -> Settings:
        return self._settings or get_settings()

    def attach(self, blueprint: Blueprint) -> MessageGate:
        @blueprint.listener("before_server_start")
        async def _remember_app(app: Sanic, _loop: Any) -> None:
            self._app = app
            apply_request_limits(app, self.settings)
            process_tally().start()  # the statistics this server counts reach the database

        @blueprint.listener("after_server_stop")
        async def _write_statistics(_app: Sanic, _loop: Any) -> None:
            process_tally().stop()
            await action_connections.close_sessions()  # kept open between action calls

        return self

    def _session_minutes(self) -> float | None:
        """The domain's ``session_expiration_time``: the silence after which a person writing
        again starts a new conversation."""
        config = getattr(getattr(self.agent, "domain", None), "session_config", None)
        minutes = getattr(config, "session_expiration_time", None)
        return float(minutes) if isinstance(minutes, int | float) else None

    @property
    def agent(self) -> Any:
        return getattr(self._app.ctx, "agent", None) if self._app is not None else None

    async def __call__(self, message: UserMessage, address: str | None = None) -> None:
        """Check ``message`` and pass it to the bot, or answer it here.

        ``address``: the caller's network address where the channel has one (REST, the
        widget); platform webhooks pass none and are limited per sender only.
        """
        channel = message.input_channel or "unknown"
        message.sender_id = conversation_id(channel, str(message.sender_id))
        message.output_channel = NamespacedOutput(message.output_channel, channel)
        delivery = (message.metadata or {}).get(DELIVERY_ID)
        if delivery and not self._limiter.hit(self._once, "delivery", channel, str(delivery)):
            logger.info("ignored a %s update delivered again", channel)
            return
        text = message.text = well_formed(message.text or "")
        over = self._over_rate_limit(str(message.sender_id), rate_key(address))
        if over:
            logger.info("refused a message over the per-%s rate limit", over)
            await message.output_channel.send_text_message(
                message.sender_id, too_fast_reply(self.settings)
            )
            return
        if len(text) > self.settings.max_message_chars:
            logger.info("refused a message of %d characters", len(text))
            await message.output_channel.send_text_message(
                message.sender_id, too_long_reply(self.settings)
            )
            return
        store = conversation_store(self.agent)
        if store is None:
            await self._handle(message)
            return
        with conversation_turn() as turn:
            if not store.check_available():
                turn.ephemeral = True
                await self._answer_without_store(message)
                return
            await self._handle(message)
            if turn.failed:
                logger.error("the conversation store failed during a turn: the turn was not kept")
                await self._say_store_unavailable(message)

    async def _handle(self, message: UserMessage) -> None:
        text = message.text or ""
        if is_command(text):
            message.text = await self._admitted(message.sender_id, text)
        await self._process(message)

    async def _process(self, message: UserMessage) -> None:
        """Pass ``message`` to the bot, which takes the conversation's lock first (Rasa's lock
        store). If Rasa cannot take it (``LockError``: the lock store's Redis cannot be reached,
        or the lock expired while the message waited), nothing of the message has been processed
        yet: it is answered under this process's own lock instead, and logged, rather than left
        without a reply. With sticky routing (docs/deploy.md) one process serves a conversation,
        so its own lock is enough while Redis is away."""
        try:
            await self._on_new_message(message)
        except LockError as error:
            agent = self.agent
            if agent is None or getattr(agent, "processor", None) is None:
                raise
            logger.error(
                "the conversation lock could not be taken (%s): the message is answered under "
                "this process's own lock",
                type(error).__name__,
            )
            async with self._local_locks.lock(str(message.sender_id)):
                await agent.processor.handle_message(message)

    async def _answer_without_store(self, message: UserMessage) -> None:
        """The store is down: a safety message is answered from a fresh conversation (kept
        nowhere), anything else gets the clinic's contacts instead of an answer."""
        agent = self.agent
        text = message.text or ""
        if is_command(text):  # nothing offered can be known without the conversation
            domain = getattr(agent, "domain", None)
            slots = {slot.name: slot for slot in getattr(domain, "slots", [])}
            message.text = text = admitted_text(text, [], slots)
        intent = None
        if agent is not None and agent.is_ready():
            try:
                parsed = await agent.parse_message(text)
            except Exception as error:  # noqa: BLE001 - the person still gets the reply below
                logger.error("a message could not be read (%s)", type(error).__name__)
            else:
                intent = (parsed.get("intent") or {}).get("name")
        if intent in SAFETY_ROUTES:
            logger.error(
                "conversation store unavailable: a safety message is answered from a fresh "
                "conversation that is not kept"
            )
            await self._process(message)
        else:
            logger.error(
                "conversation store unavailable: a message was answered with the clinic's "
                "contacts instead"
            )
        await self._say_store_unavailable(message)

    async def _say_store_unavailable(self, message: UserMessage) -> None:
        await message.output_channel.send_text_message(
            message.sender_id, store_unavailable_reply(self.settings)
        )

    def _over_rate_limit(self, sender_id: str, address_key: str | None) -> str | None:
        """``sender`` or ``address`` if that limit refuses the message; else count it in both."""
        if not self._limiter.test(self._rate, "sender", sender_id):
            return "sender"
        if address_key and not self._limiter.test(self._address_rate, "address", address_key):
            return "address"
        self._limiter.hit(self._rate, "sender", sender_id)
        if address_key:
            self._limiter.hit(self._address_rate, "address", address_key)
        return None

    async def _admitted(self, sender_id: str, text: str) -> str:
        agent = self.agent
        offered: list[str] = []
        slots: dict[str, Slot] = {}
        if agent is not None:
            domain = getattr(agent, "domain", None)
            slots = {slot.name: slot for slot in getattr(domain, "slots", [])}
            tracker_store = getattr(agent, "tracker_store", None)
            tracker = await tracker_store.retrieve(sender_id) if tracker_store else None
            if tracker is not None:
                offered = [
                    str(button["payload"])
                    for button in offered_buttons(tracker.events)
                    if button.get("payload")
                ]
        return admitted_text(text, offered, slots)


def apply_request_limits(app: Sanic, settings: Settings) -> None:
    """Bodies larger than ``MAX_REQUEST_BYTES`` are refused with 413 before they are read.

    Sanic reads these per connection, so setting them before the server starts is enough.
    """
    app.config.REQUEST_MAX_SIZE = settings.max_request_bytes
    app.config.WEBSOCKET_MAX_SIZE = settings.max_request_bytes


def guarded(on_new_message: Handler, blueprint: Blueprint) -> MessageGate:
    """``on_new_message`` behind a :class:`MessageGate` attached to the channel's blueprint."""
    return MessageGate(on_new_message).attach(blueprint)
