"""Every honest "I don't have an answer" is followed by action_note_unanswered in the rules.

Rasa's own core fallback (``action_default_fallback``) also sends ``utter_default``, but it stays
the built-in action, run inside the Rasa server, so that its reply never depends on the action
server; it is not followed by the note. It is reached only when no rule or story predicts
anything, which every intent having a rule of its own rules out outside forms (on the ~600 real
questions of ``tests/real_questions`` it never fired).
"""

from __future__ import annotations

from typing import Any

import yaml

from dit_assistant.serve import BOT_DIR
from tests.fixtures.domain import domain_yaml

UNKNOWN_REPLIES = {"utter_default", "utter_out_of_scope"}


def _flows() -> list[dict[str, Any]]:
    flows = []
    for path in sorted((BOT_DIR / "data").glob("*/*.yml")):
        if path.parent.name == "nlu":
            continue
        loaded = yaml.safe_load(path.read_text("utf-8")) or {}
        flows += loaded.get("rules") or []
        flows += loaded.get("stories") or []
    return flows


def test_every_unknown_reply_is_followed_by_the_note():
    answered_unknown: set[str] = set()
    for flow in _flows():
        actions = [step.get("action") for step in flow["steps"]]
        for position, action in enumerate(actions):
            if action in UNKNOWN_REPLIES:
                answered_unknown |= _opening_intents(flow["steps"][0])
                following = actions[position + 1] if position + 1 < len(actions) else None
                assert following == "action_note_unanswered", flow.get("rule") or flow.get("story")
    # The rules checked are the ones that matter: each kind of message the assistant cannot
    # answer reaches an unknown reply through them.
    assert {"nlu_fallback", "gibberish", "out_of_scope"} <= answered_unknown


def test_every_intent_has_a_rule_of_its_own_so_the_core_fallback_is_not_reached():
    domain = domain_yaml()
    intents = {i if isinstance(i, str) else next(iter(i)) for i in domain["intents"]}
    starting = {
        intent
        for flow in _flows()
        if not flow.get("condition")
        for intent in _opening_intents(flow["steps"][0])
    }
    assert intents - starting == set()


def _opening_intents(step: dict[str, Any]) -> set[str]:
    """The intents a flow's first step starts on: one, or each of an ``or:`` step's."""
    if "intent" in step:
        return {step["intent"]}
    return {choice["intent"] for choice in step.get("or") or [] if "intent" in choice}
