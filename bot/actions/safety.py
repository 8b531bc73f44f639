"""Records each safety route for staff statistics, after the crisis reply has been sent.

The crisis reply itself is a response in bot/domain/safety.yml and never waits for this action:
if the database is unreachable, the person has already been answered and only the statistic is
lost (logged, without any personal data). The write runs off the action server's event loop,
with a short timeout, and is skipped at once while the database is known to be down
(:mod:`.database`).
"""

from __future__ import annotations

import logging
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dit_assistant.safety import SAFETY_ROUTES
from dit_assistant.settings import get_settings

from .contained import contained
from .database import store

logger = logging.getLogger(__name__)


async def record_route(route: str, tracker: Tracker) -> None:
    """Stores one safety route; a failure is logged (without personal data), never raised."""
    channel = tracker.get_latest_input_channel() or "unknown"
    region = get_settings().helplines.key
    try:
        await store.run(
            lambda database: database.record_safety_event(
                route=route, region=region, channel=channel
            ),
            f"the safety route {route}",
        )
    except Exception as error:  # noqa: BLE001 - the statistic must never break the chat
        logger.error("could not record safety route %s: %s", route, type(error).__name__)


@contained
class ActionRecordSafetyRoute(Action):
    """Stores time, route, region and channel of a safety route: no text, no sender."""

    def name(self) -> str:
        return "action_record_safety_route"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        route = (tracker.latest_message.get("intent") or {}).get("name")
        if route in SAFETY_ROUTES:
            await record_route(route, tracker)
        return []
