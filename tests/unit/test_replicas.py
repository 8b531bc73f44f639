"""Several Rasa replicas, without a server: ``REDIS_URL`` read and checked, the atomic Redis
lock store named in the endpoints file the Rasa server reads (and its password kept out of it), a
lock store type that cannot be used stopping the server, and the message gate's limits shared
between replicas, hashed, and falling back to memory when Redis cannot be reached."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from types import SimpleNamespace
from typing import Any

import pytest
from limits.storage import MemoryStorage
from rasa.core.agent import Agent
from rasa.core.channels.channel import CollectingOutputChannel, UserMessage
from rasa.core.lock_store import InMemoryLockStore, LockStore, RedisLockStore
from rasa.utils.endpoints import read_endpoint_config

from dit_assistant import rasa_cli
from dit_assistant.channels.guard import MessageGate
from dit_assistant.channels.rate_limits import GateLimiter
from dit_assistant.replicas import (
    PASSWORD_VARIABLE,
    USERNAME_VARIABLE,
    AtomicRedisLockStore,
    lock_store_endpoint,
)
from dit_assistant.serve import runtime_endpoints
from dit_assistant.settings import ConfigurationError, Settings, load_settings
from dit_assistant.store.crypto import generate_key
from tests.fixtures.ports import free_port

SECRET = "s3cret/with:odd@chars"
URL = "redis://dit:s3cret%2Fwith%3Aodd%40chars@redis.internal:6380/2"


@pytest.mark.parametrize(
    "url",
    ["redis://localhost", "redis://:pw@10.0.0.5:6379/0", "rediss://user:pw@cache.example/3", URL],
)
def test_redis_urls_that_are_read(url):
    settings = load_settings(env={"REDIS_URL": url})
    assert settings.redis_url == url
    assert "pw" not in repr(settings) and "s3cret" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost:6379",
        "localhost:6379",
        "redis://",
        "redis://host:notaport",
        "redis://host/zero",
        "redis://:hunter2@host:6379/0?db=1",
    ],
)
def test_redis_urls_that_are_refused_without_repeating_them(url):
    with pytest.raises(ConfigurationError) as refused:
        load_settings(env={"REDIS_URL": url})
    assert "REDIS_URL must look like" in str(refused.value)
    assert "hunter2" not in str(refused.value)


def test_without_redis_the_lock_is_rasas_in_memory_one(tmp_path):
    path = runtime_endpoints(5055, tmp_path, redis_url="")
    assert read_endpoint_config(str(path), "lock_store") is None
    assert isinstance(LockStore.create(None), InMemoryLockStore)


def test_with_redis_the_rasa_server_reads_the_atomic_redis_lock_store(tmp_path, monkeypatch):
    path = runtime_endpoints(5055, tmp_path, redis_url=URL)
    text = path.read_text()
    assert SECRET not in text and "s3cret" not in text  # the password never goes into the file
    assert "tracker_store" in text and "action_endpoint" in text  # the rest as before
    monkeypatch.setenv(PASSWORD_VARIABLE, SECRET)
    monkeypatch.setenv(USERNAME_VARIABLE, "dit")
    config = read_endpoint_config(str(path), "lock_store")
    assert config is not None and config.type == "dit_assistant.replicas.AtomicRedisLockStore"
    store = LockStore.create(config)  # Rasa's own factory: no connection is made yet
    assert type(store) is AtomicRedisLockStore and isinstance(store, RedisLockStore)
    connection = store.red.connection_pool.connection_kwargs
    assert (connection["host"], connection["port"], connection["db"]) == ("redis.internal", 6380, 2)
    assert (connection["username"], connection["password"]) == ("dit", SECRET)
    assert store.key_prefix == "dit:lock:"


def test_the_rasa_server_gets_the_credentials_the_endpoints_file_names(monkeypatch):
    from dit_assistant import settings as settings_module

    monkeypatch.setattr(
        settings_module, "get_settings", lambda: load_settings(env={"REDIS_URL": URL})
    )
    expected = {PASSWORD_VARIABLE: SECRET, USERNAME_VARIABLE: "dit"}
    assert rasa_cli.redis_credentials(["run", "--port", "5005"]) == expected
    assert rasa_cli.redis_credentials(["run", "actions"]) == {}
    assert lock_store_endpoint("") is None
    without_password = lock_store_endpoint("rediss://cache.example")
    assert without_password is not None
    assert "password" not in without_password and without_password["use_ssl"] is True
    assert (without_password["port"], without_password["db"]) == (6379, 0)


def test_a_lock_store_type_that_cannot_be_used_stops_the_rasa_server(tmp_path):
    endpoints = tmp_path / "endpoints.yml"
    for lock_type, problem in [
        ("dit_assistant.no_such.LockStore", "cannot be imported"),
        ("dit_assistant.settings.Settings", "is not a Rasa lock store"),
        ("rdis", "cannot be imported"),
    ]:
        endpoints.write_text(f"lock_store:\n  type: {lock_type}\n")
        found = rasa_cli.tracker_store_problem(["run", "--endpoints", str(endpoints)])
        assert found and problem in found, found
    for fine in ("redis", "in_memory", "rasa.core.lock_store.InMemoryLockStore"):
        endpoints.write_text(f"lock_store:\n  type: {fine}\n")
        assert rasa_cli.tracker_store_problem(["run", "--endpoints", str(endpoints)]) is None


# ------------------------------------------------------------------ the gate's shared limits
class _Recorder:
    def __init__(self) -> None:
        self.received: list[str] = []

    async def __call__(self, message: UserMessage) -> None:
        self.received.append(message.text or "")


def _replica(settings: Settings, shared: MemoryStorage | None) -> tuple[MessageGate, _Recorder]:
    """A message gate as one replica has it, its limits in ``shared`` (Redis, in production)."""
    recorder = _Recorder()
    gate = MessageGate(recorder, settings)
    gate._limiter = GateLimiter(settings, shared=shared)
    return gate, recorder


def _send(gate: MessageGate, text: str, sender: str, delivery: str | None = None) -> str:
    collector = CollectingOutputChannel()
    metadata = {"delivery_id": delivery} if delivery else {}
    channel = "twilio" if delivery else "rest"
    message = UserMessage(text, collector, sender, input_channel=channel, metadata=metadata)
    asyncio.run(gate(message))
    return "\n".join(m.get("text", "") for m in collector.messages)


@pytest.fixture()
def keyed(settings: Settings) -> Settings:
    return replace(settings, enquiry_keys=(generate_key(),), max_messages_per_minute=4)


def test_replicas_sharing_the_limits_count_one_sender_once(keyed):
    shared = MemoryStorage()
    (one, first), (two, second) = _replica(keyed, shared), _replica(keyed, shared)
    for number in range(4):
        assert _send(one if number % 2 else two, f"question {number}", "+447700900123") == ""
    refused = _send(one, "one more", "+447700900123")
    assert refused.startswith("You're sending messages faster than I can read them")
    assert _send(two, "another person", "+447700900999") == ""
    assert sorted(first.received + second.received) == sorted(
        ["question 0", "question 1", "question 2", "question 3", "another person"]
    )
    # what the shared storage holds names no sender
    keys = " ".join(shared.events)
    assert "447700900" not in keys and "rest:" not in keys


def test_an_update_delivered_again_to_another_replica_is_handled_once(keyed):
    shared = MemoryStorage()
    (one, first), (two, second) = _replica(keyed, shared), _replica(keyed, shared)
    _send(one, "first", "+447700900123", delivery="SM1001")
    _send(two, "first", "+447700900123", delivery="SM1001")  # Twilio retried, elsewhere
    _send(two, "second", "+447700900123", delivery="SM1002")
    assert (first.received, second.received) == (["first"], ["second"])
    assert "SM1001" not in " ".join(shared.events)


def test_without_a_shared_store_each_replica_counts_alone(keyed):
    (one, first), (two, second) = _replica(keyed, None), _replica(keyed, None)
    _send(one, "first", "+447700900123", delivery="SM1001")
    _send(two, "first", "+447700900123", delivery="SM1001")
    assert (first.received, second.received) == (["first"], ["first"])


def test_with_redis_unreachable_messages_are_still_answered_and_limited_locally(keyed, caplog):
    unreachable = replace(keyed, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    recorder = _Recorder()
    gate = MessageGate(recorder, unreachable)
    assert gate._limiter.shared
    with caplog.at_level(logging.ERROR, logger="dit_assistant.channels.rate_limits"):
        replies = [_send(gate, f"question {n}", "someone") for n in range(6)]
        crisis = _send(gate, "I want to kill myself", "someone else")
    assert replies[:4] == ["", "", "", ""]
    assert all(r.startswith("You're sending messages faster") for r in replies[4:])
    assert crisis == ""  # another sender: passed to the bot, which gives the crisis reply
    assert recorder.received == [*(f"question {n}" for n in range(4)), "I want to kill myself"]
    errors = [r for r in caplog.records if "shared rate limits" in r.getMessage()]
    assert len(errors) == 1  # once a minute, not once a message
    assert "someone" not in errors[0].getMessage()


# --------------------------------------------------------- Rasa's lock store out of reach
class _Processor:
    def __init__(self) -> None:
        self.handled: list[str] = []

    async def handle_message(self, message: UserMessage) -> None:
        self.handled.append(message.text or "")


class _Agent:
    """What Rasa's ``Agent.handle_message`` uses: a lock store and a processor."""

    def __init__(self, lock_store: LockStore) -> None:
        self.lock_store = lock_store
        self.processor = _Processor()
        self.tracker_store = None

    def is_ready(self) -> bool:
        return True

    async def handle_message(self, message: UserMessage) -> Any:
        return await Agent.handle_message(self, message)  # type: ignore[arg-type]


def _gate_for(agent: _Agent, settings: Settings) -> MessageGate:
    async def handler(message: UserMessage) -> None:  # Rasa's channel handler
        await agent.handle_message(message)

    gate = MessageGate(handler, settings)
    gate._app = SimpleNamespace(ctx=SimpleNamespace(agent=agent))
    return gate


def test_with_the_lock_stores_redis_unreachable_messages_are_still_answered(keyed, caplog):
    lock_store = RedisLockStore(host="127.0.0.1", port=free_port(), socket_timeout=1)
    agent = _Agent(lock_store)
    gate = _gate_for(agent, keyed)
    with caplog.at_level(logging.ERROR, logger="dit_assistant.channels.guard"):
        _send(gate, "I want to kill myself", "someone")
        _send(gate, "what is DIT?", "someone")
    assert agent.processor.handled == ["I want to kill myself", "what is DIT?"]
    assert sum("lock could not be taken" in r.getMessage() for r in caplog.records) == 2


def test_with_the_lock_store_working_messages_take_rasas_lock(keyed, caplog):
    agent = _Agent(InMemoryLockStore())
    gate = _gate_for(agent, keyed)
    with caplog.at_level(logging.ERROR, logger="dit_assistant.channels.guard"):
        _send(gate, "what is DIT?", "someone")
    assert agent.processor.handled == ["what is DIT?"]
    assert not caplog.records
