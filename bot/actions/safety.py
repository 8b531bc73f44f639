"""Records each safety route for staff statistics, after the crisis reply has been sent.

The crisis reply itself is a response in domain.yml and never waits for this action: if the
database is unreachable, the person has already been answered and only the statistic is lost
(logged, without any personal data).
"""

from __future__ import annotations

import logging
from functools import lru_cache
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.executor import CollectingDispatcher

from dit_assistant.safety import SAFETY_ROUTES
from dit_assistant.settings import get_settings
from dit_assistant.store import Database, open_database

from .contained import contained

logger = logging.getLogger(__name__)


@lru_cache(maxsize=1)
def database() -> Database:
    return open_database()


def record_route(route: str, tracker: Tracker) -> None:
    """Stores one safety route; a failure is logged (without personal data), never raised."""
    channel = tracker.get_latest_input_channel() or "unknown"
    try:
        database().record_safety_event(
            route=route, region=get_settings().helplines.key, channel=channel
        )
    except Exception as error:  # noqa: BLE001 - the statistic must never break the chat
        logger.error("could not record safety route %s: %s", route, type(error).__name__)


@contained
class ActionRecordSafetyRoute(Action):
    """Stores time, route, region and channel of a safety route: no text, no sender."""

    def name(self) -> str:
        return "action_record_safety_route"

    def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[dict[str, Any]]:
        route = (tracker.latest_message.get("intent") or {}).get("name")
        if route in SAFETY_ROUTES:
            record_route(route, tracker)
        return []
