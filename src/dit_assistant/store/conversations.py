"""Where the Rasa server keeps conversations: in its memory, and nothing from before a restart.

A person who asks the assistant to delete what they told it gets Rasa's restart
(``action_restart``). Rasa's own in-memory store would keep every event before the restart in the
same tracker, so "I've cleared this conversation" would not be true; this store keeps a tracker
from its latest restart on, so what came before is gone from memory when the turn is saved.
Configured in ``bot/endpoints.yml`` (``tracker_store``).
"""

from __future__ import annotations

from collections.abc import Iterable

from rasa.core.tracker_store import InMemoryTrackerStore
from rasa.shared.core.events import Restarted
from rasa.shared.core.slots import Slot
from rasa.shared.core.trackers import DialogueStateTracker


def from_latest_restart(
    tracker: DialogueStateTracker, slots: Iterable[Slot]
) -> DialogueStateTracker | None:
    """The tracker without the events before its latest restart, or None if nothing is dropped.

    ``slots``: the domain's slots, which the kept events are replayed onto.
    """
    events = list(tracker.events)
    latest = max((i for i, event in enumerate(events) if isinstance(event, Restarted)), default=0)
    if latest == 0:
        return None
    return DialogueStateTracker.from_events(
        tracker.sender_id,
        events[latest:],
        slots=slots,
        max_event_history=tracker.events.maxlen,
        sender_source=tracker.sender_source,
    )


class ForgettingTrackerStore(InMemoryTrackerStore):
    """Rasa's in-memory store that forgets everything before a conversation's latest restart."""

    async def save(self, tracker: DialogueStateTracker) -> None:
        await super().save(tracker)
        kept = from_latest_restart(tracker, self.domain.slots)
        if kept is not None:
            self.store[tracker.sender_id] = self.serialise_tracker(kept)
