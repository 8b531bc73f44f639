"""Endpoint calls over kept connections: one connection for calls in a row, a new one once the
kept one has been idle too long or the server has closed it, Rasa's headers still sent, and
every session closed when the server stops. Against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest
from aiohttp import web
from rasa.utils.endpoints import EndpointConfig

from dit_assistant import action_connections


@pytest.fixture()
def installed() -> Iterator[None]:
    action_connections.install()
    try:
        yield
    finally:
        action_connections.uninstall()


@asynccontextmanager
async def server(connections: list[object], headers: list[str | None]) -> AsyncIterator[str]:
    """A webhook answering ``{"ok": true}``; records each request's connection and token."""

    async def webhook(request: web.Request) -> web.Response:
        connections.append(request.transport)
        headers.append(request.headers.get("X-Token"))
        return web.json_response({"ok": True})

    app = web.Application()
    app.router.add_post("/webhook", webhook)
    runner = web.AppRunner(app, keepalive_timeout=5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"http://127.0.0.1:{port}/webhook"
    finally:
        await runner.cleanup()


def test_calls_in_a_row_share_one_connection_and_idle_ones_are_replaced(installed, monkeypatch):
    monkeypatch.setattr(action_connections, "KEEPALIVE_S", 0.3)

    async def scenario() -> tuple[list[object], list[str | None]]:
        connections: list[object] = []
        headers: list[str | None] = []
        async with server(connections, headers) as url:
            endpoint = EndpointConfig(url, headers={"X-Token": "t0ken"})
            for _ in range(3):
                assert await endpoint.request(json={"n": 1}, method="post") == {"ok": True}
            await asyncio.sleep(0.6)  # longer than the kept connection may stay idle
            assert await endpoint.request(json={"n": 2}, method="post") == {"ok": True}
            await action_connections.close_sessions()
            assert endpoint.__dict__[action_connections.SESSIONS_ATTRIBUTE][1].closed
        return connections, headers

    connections, headers = asyncio.run(scenario())
    assert connections[0] is connections[1] is connections[2]
    assert connections[3] is not connections[0]
    assert headers == ["t0ken"] * 4


def test_a_server_restarted_between_calls_is_reached_on_a_new_connection(installed):
    async def scenario() -> list[object]:
        connections: list[object] = []
        async with server(connections, []) as url:
            endpoint = EndpointConfig(url)
            assert await endpoint.request(json={}, method="post") == {"ok": True}
        port = url.split(":")[2].split("/")[0]
        # The same address again, as an action server restarted by its supervisor.
        app = web.Application()

        async def webhook(request: web.Request) -> web.Response:
            connections.append(request.transport)
            return web.json_response({"ok": "again"})

        app.router.add_post("/webhook", webhook)
        runner = web.AppRunner(app)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", int(port)).start()
        try:
            await asyncio.sleep(0.05)
            assert await endpoint.request(json={}, method="post") == {"ok": "again"}
        finally:
            await action_connections.close_sessions()
            await runner.cleanup()
        return connections

    connections = asyncio.run(scenario())
    assert len(connections) == 2 and connections[0] is not connections[1]


def test_without_install_each_call_opens_its_own_connection():
    """What the kept connections change: Rasa's own session makes one connection a call."""

    async def scenario() -> list[object]:
        connections: list[object] = []
        async with server(connections, []) as url:
            endpoint = EndpointConfig(url)
            for _ in range(2):
                await endpoint.request(json={}, method="post")
        return connections

    connections = asyncio.run(scenario())
    assert connections[0] is not connections[1]
