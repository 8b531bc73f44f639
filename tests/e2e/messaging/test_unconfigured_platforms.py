"""The servers of ``make run`` without the platforms' variables: those platforms are off, and the
other ways in keep working."""

from __future__ import annotations

import urllib.request
import uuid

from dit_assistant.settings import get_settings
from tests.fixtures.platforms import open_url


def test_unconfigured_platforms_are_off_and_the_rest_works(running_server):
    """``make run`` without platform variables: their webhooks do not exist, REST answers."""
    configured = get_settings().channels
    unconfigured = [
        name
        for name in ("telegram", "twilio", "facebook", "slack")
        if not getattr(configured, name).enabled  # a developer's .env may switch some on
    ]
    for platform in unconfigured:
        request = urllib.request.Request(
            f"{running_server.base_url}/webhooks/{platform}/webhook", b"{}", method="POST"
        )
        assert open_url(request)[0] == 404, platform
    status, reply = running_server.send(uuid.uuid4().hex, "how many sessions are there?")
    assert status == 200 and "16" in " ".join(m.get("text", "") for m in reply)
