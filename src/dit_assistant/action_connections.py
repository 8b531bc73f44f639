"""Calls to the action server over connections kept open between calls.

Rasa 3.6 opens a new HTTP client session, with a new connection pool, for every request to an
endpoint (``EndpointConfig.request``): a new TCP connection for every custom action call, two
in the turns of the enquiry form (the form's validation, then the next action). Measured against
the action server on this machine, a call on a kept connection took 0.6 to 1 ms less, in turns
of about 30 ms (docs/testing.md).

:func:`install` makes ``EndpointConfig.session`` hand out one session per endpoint and event
loop, kept open. Its connections are kept idle for ``KEEPALIVE_S`` at most, less than the
action server keeps them (Sanic's ``KEEP_ALIVE_TIMEOUT``, 5 s), so no request is sent on a
connection the server is closing; a connection the server has closed (a restart) is seen as
closed and replaced. :func:`close_sessions` closes them when the server stops.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
from rasa.utils.endpoints import DEFAULT_REQUEST_TIMEOUT, EndpointConfig

from dit_assistant.rasa_patches import ClassPatch

KEEPALIVE_S = 2.0
"""How long an idle connection to an endpoint is kept for the next call."""
SESSIONS_ATTRIBUTE = "_dit_kept_session"

_open: list[aiohttp.ClientSession] = []


def _new_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """Rasa's session for ``endpoint`` (its headers, basic auth and timeout), on a connection
    pool that keeps idle connections for ``KEEPALIVE_S``."""
    auth = None
    if endpoint.basic_auth:
        auth = aiohttp.BasicAuth(endpoint.basic_auth["username"], endpoint.basic_auth["password"])
    return aiohttp.ClientSession(
        headers=endpoint.headers,
        auth=auth,
        timeout=aiohttp.ClientTimeout(total=DEFAULT_REQUEST_TIMEOUT),
        connector=aiohttp.TCPConnector(keepalive_timeout=KEEPALIVE_S),
    )


def kept_session(endpoint: EndpointConfig) -> aiohttp.ClientSession:
    """The open session of ``endpoint`` on the running event loop, made if there is none."""
    loop = asyncio.get_running_loop()
    kept: tuple[Any, aiohttp.ClientSession] | None = endpoint.__dict__.get(SESSIONS_ATTRIBUTE)
    if kept is not None and kept[0] is loop and not kept[1].closed:
        return kept[1]
    session = _new_session(endpoint)
    endpoint.__dict__[SESSIONS_ATTRIBUTE] = (loop, session)
    _open.append(session)
    return session


class _KeptSessionContext:
    """What ``async with endpoint.session() as session`` enters: the kept session, not closed
    when the block ends."""

    def __init__(self, endpoint: EndpointConfig) -> None:
        self._endpoint = endpoint

    async def __aenter__(self) -> aiohttp.ClientSession:
        return kept_session(self._endpoint)

    async def __aexit__(self, *_exc: object) -> None:
        return None


def _session(self: EndpointConfig) -> _KeptSessionContext:
    return _KeptSessionContext(self)


async def close_sessions() -> None:
    """Close the sessions made on the running event loop (the server is stopping)."""
    loop = asyncio.get_running_loop()
    for session in list(_open):
        if session.closed or getattr(session, "_loop", loop) is loop:
            _open.remove(session)
            if not session.closed:
                await session.close()


PATCH = ClassPatch(lambda: EndpointConfig, "session", _session)
install, uninstall = PATCH.install, PATCH.uninstall
"""Keep endpoint sessions open in this process (idempotent), and put Rasa's own back (tests)."""
