"""Rasa's dialogue states of a conversation, built once a turn and then extended action by action.

Before every action it predicts, Rasa 3.6's ``RulePolicy`` asks the tracker for the states of the
whole conversation so far (``DialogueStateTracker.past_states``): Rasa replays every event on a
fresh tracker and builds a state before each action. A turn predicts several actions (four for a
cancel in the middle of the enquiry form, five calls with the first one's reading of the text),
and each replayed the whole conversation again, so a turn's prediction time grew with the
length of the conversation: about two thirds of it fifteen messages in (docs/testing.md).

Appending events does not change the states already built, except for the events after which
Rasa's ``applied_events`` drops or rewrites earlier ones:

- a restart or a new session (``Restarted``, ``SessionStarted``);
- a reverted action or user message (``ActionReverted``, ``UserUtteranceReverted``);
- a form's own action run again (``ActionExecuted`` of a loop's name: Rasa may remove its
  previous run), and a form named for the first time (``ActiveLoop``: an earlier run of an
  action of that name becomes a loop's run).

So a tracker keeps, per set of options, the states built so far, the replayed tracker and the
few values Rasa's loop carries from one state to the next. A later call whose new events are all
of other kinds carries on from there; any other change, or a tracker whose events are not the
ones seen, builds everything again as Rasa does. Each call returns its own copies, since
callers edit the last state (the text-or-intent choice of the featurizer).

:func:`install` puts this in Rasa's place; a property test compares it with Rasa's own
``past_states`` at every prediction of generated conversations
(``tests/bot/test_dialogue_states.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from rasa.shared.core.domain import Domain, State
from rasa.shared.core.events import (
    ActionExecuted,
    ActionReverted,
    ActiveLoop,
    Event,
    Restarted,
    SessionStarted,
    UserUtteranceReverted,
)
from rasa.shared.core.trackers import DialogueStateTracker

from dit_assistant.rasa_patches import ClassPatch

CACHE_ATTRIBUTE = "_dit_dialogue_states"
REWRITES_HISTORY = (Restarted, SessionStarted, ActionReverted, UserUtteranceReverted)
"""Events after which ``applied_events`` no longer starts with what it gave before."""


@dataclass
class _Carried:
    """What Rasa's loop over the prior trackers carries from one state to the next
    (``Domain.states_for_tracker_history``)."""

    last_ml_action_sub_state: Any = None
    turn_was_hidden: bool = False


@dataclass
class _Options:
    omit_unset_slots: bool
    ignore_rule_only_turns: bool
    rule_only_data: dict[str, Any] | None


@dataclass
class _Built:
    """The states of a tracker's events up to ``seen``, before the final state."""

    domain: Domain
    options: _Options
    seen: int
    last_event: Event | None
    loop_names: frozenset[str]
    replay: DialogueStateTracker
    states: list[State] = field(default_factory=list)
    carried: _Carried = field(default_factory=_Carried)

    def add(self, hide_rule_turn: bool, states: list[State], carried: _Carried) -> None:
        """The body of Rasa's loop for one prior tracker (``self.replay`` as it is now)."""
        domain, options, tracker = self.domain, self.options, self.replay
        if options.ignore_rule_only_turns:
            if not carried.turn_was_hidden:
                carried.last_ml_action_sub_state = domain._get_prev_action_sub_state(tracker)
            followup, action = tracker.followup_action, tracker.latest_action_name
            if not followup and action != tracker.active_loop_name:
                carried.turn_was_hidden = hide_rule_turn
            if carried.turn_was_hidden:
                return
        state = domain.get_active_state(tracker, omit_unset_slots=options.omit_unset_slots)
        if options.ignore_rule_only_turns:
            domain._remove_rule_only_features(state, options.rule_only_data)
            if states:
                domain._substitute_rule_only_user_input(state, states[-1])
            if carried.last_ml_action_sub_state:
                state["prev_action"] = carried.last_ml_action_sub_state
        states.append(domain._clean_state(state))

    def extend(self, events: Iterable[Event]) -> None:
        """Replays ``events`` (all applied ones), adding a state before each action."""
        for event in events:
            if isinstance(event, ActionExecuted):
                self.add(event.hide_rule_turn, self.states, self.carried)
            self.replay.update(event)

    def result(self) -> list[State]:
        """The states so far and the final one, as copies the caller may change."""
        states = [_copy(state) for state in self.states]
        carried = _Carried(self.carried.last_ml_action_sub_state, self.carried.turn_was_hidden)
        self.add(False, states, carried)
        if len(states) > len(self.states):  # it may hold the replayed tracker's own parts
            states[-1] = _copy(states[-1])
        return states


def _copy(state: State) -> State:
    """A state's copy down to its sub-states (what Rasa's callers change)."""
    return {key: dict(sub_state) for key, sub_state in state.items()}


def _loop_names(events: Iterable[Event]) -> set[str]:
    return {event.name for event in events if isinstance(event, ActiveLoop) and event.name}


def _build(tracker: DialogueStateTracker, domain: Domain, options: _Options) -> _Built:
    """Everything from the start, as ``generate_all_prior_trackers`` replays it."""
    events = tracker.events
    built = _Built(
        domain=domain,
        options=options,
        seen=len(events),
        last_event=events[-1] if events else None,
        loop_names=frozenset(_loop_names(events)),
        replay=tracker.init_copy(),
    )
    built.extend(tracker.applied_events())
    return built


def _new_events(tracker: DialogueStateTracker, built: _Built) -> list[Event] | None:
    """The events appended since ``built``, or None if it cannot be carried on from."""
    events = tracker.events
    if len(events) < built.seen or (built.seen and events[built.seen - 1] is not built.last_event):
        return None
    new = list(islice(events, built.seen, None))
    for event in new:
        if isinstance(event, REWRITES_HISTORY):
            return None
        if isinstance(event, ActiveLoop) and event.name and event.name not in built.loop_names:
            return None
        if isinstance(event, ActionExecuted) and event.action_name in built.loop_names:
            return None
    return new


def past_states(
    tracker: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    """``DialogueStateTracker.past_states``, carried on from the tracker's previous call."""
    options = _Options(omit_unset_slots, ignore_rule_only_turns, rule_only_data)
    key = (omit_unset_slots, ignore_rule_only_turns, repr(rule_only_data))
    cache: dict[tuple[Any, ...], _Built] = tracker.__dict__.setdefault(CACHE_ATTRIBUTE, {})
    built = cache.get(key)
    new = None if built is None or built.domain is not domain else _new_events(tracker, built)
    if built is None or new is None:
        built = _build(tracker, domain, options)
        cache[key] = built
    elif new:
        built.extend(new)
        built.seen, built.last_event = len(tracker.events), new[-1]
    return built.result()


def _past_states_method(
    self: DialogueStateTracker,
    domain: Domain,
    omit_unset_slots: bool = False,
    ignore_rule_only_turns: bool = False,
    rule_only_data: dict[str, Any] | None = None,
) -> list[State]:
    return past_states(self, domain, omit_unset_slots, ignore_rule_only_turns, rule_only_data)


PATCH = ClassPatch(lambda: DialogueStateTracker, "past_states", _past_states_method)
install, uninstall = PATCH.install, PATCH.uninstall
"""Use :func:`past_states` for every tracker of this process (idempotent), and put Rasa's own
back (tests)."""


def rasa_past_states() -> Callable[..., list[State]]:
    """Rasa's own ``DialogueStateTracker.past_states``, installed over or not."""
    return PATCH.original()
