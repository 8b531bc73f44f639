"""The lock store several replicas share, on a real Redis server: many clients taking and giving
back tickets for one conversation at once never get the same ticket, and a ticket given back
never comes back (Rasa's own Redis lock store loses one of two changes made at the same
instant: ``dit_assistant.replicas``)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from rasa.utils.endpoints import EndpointConfig

from dit_assistant.replicas import LOCK_KEY_PREFIX, AtomicRedisLockStore
from tests.fixtures.services import RedisServer, redis_server

CLIENTS = 8
ROUNDS = 40


@pytest.fixture(scope="module")
def redis() -> Iterator[RedisServer]:
    with redis_server() as server:
        yield server


def _store(server: RedisServer) -> AtomicRedisLockStore:
    """One replica's lock store, built as Rasa builds it from the endpoints file."""
    config = EndpointConfig(
        url="127.0.0.1", port=server.port, db=0, key_prefix=LOCK_KEY_PREFIX, socket_timeout=5
    )
    return AtomicRedisLockStore(config)


def _at_once(work, clients: int = CLIENTS) -> None:
    """Run ``work(index)`` in ``clients`` threads released together."""
    start = threading.Barrier(clients)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        start.wait()
        try:
            work(index)
        except BaseException as error:  # reported below, not lost in the thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors


def test_tickets_taken_at_once_by_many_replicas_are_all_different(redis):
    stores = [_store(redis) for _ in range(CLIENTS)]
    issued: list[list[int]] = [[] for _ in range(CLIENTS)]

    def take(index: int) -> None:
        for _ in range(ROUNDS):
            issued[index].append(stores[index].issue_ticket("rest:one-conversation"))

    _at_once(take)
    every = [ticket for tickets in issued for ticket in tickets]
    assert len(every) == CLIENTS * ROUNDS
    assert len(set(every)) == len(every)  # no ticket given twice
    lock = stores[0].get_lock("rest:one-conversation")
    assert lock is not None and len(lock.tickets) == CLIENTS * ROUNDS  # none lost either
    assert redis.client().keys(f"{LOCK_KEY_PREFIX}:lock:*") == [b"dit:lock:rest:one-conversation"]


def test_a_ticket_given_back_while_others_are_taken_never_comes_back(redis):
    stores = [_store(redis) for _ in range(CLIENTS)]
    conversation = "rest:taken-and-given-back"

    def take_and_give_back(index: int) -> None:
        for _ in range(ROUNDS):
            ticket = stores[index].issue_ticket(conversation)
            stores[index].update_lock(conversation)  # what a waiting message does each second
            stores[index].cleanup(conversation, ticket)

    _at_once(take_and_give_back)
    # Every ticket was given back: the lock is gone, so the next message is served at once.
    assert stores[0].get_lock(conversation) is None
    assert redis.client().keys(f"{LOCK_KEY_PREFIX}:lock:{conversation}") == []


def test_the_lock_serves_one_message_at_a_time_in_the_order_of_its_tickets(redis):
    first, second = _store(redis), _store(redis)
    conversation = "rest:in-turn"
    one = first.issue_ticket(conversation)
    two = second.issue_ticket(conversation)
    lock = second.get_lock(conversation)
    assert lock is not None and not lock.is_locked(one) and lock.is_locked(two)
    first.cleanup(conversation, one)
    lock = second.get_lock(conversation)
    assert lock is not None and not lock.is_locked(two)  # the second replica's turn now
    second.cleanup(conversation, two)
    assert second.get_lock(conversation) is None
