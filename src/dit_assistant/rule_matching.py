"""Rasa's rule matching, with the same answer for less work.

Before each action it predicts, Rasa 3.6's ``RulePolicy`` finds the rules that fit the
conversation (``_get_possible_keys``): it tries every rule (326 here) against the latest state,
then walks back through every earlier state of the conversation, keeping the rules that fit each
one. In a turn that predicts several actions late in a conversation this was the largest part of
Rasa's own work (docs/testing.md). Two parts of it cannot change the answer, and are spared:

- **The rest of the walk.** A rule only looks as far back as its own length (four states at most
  here); for every state further back, ``_is_rule_applicable`` says yes to every rule. So the
  walk stops once it has gone back as far as the longest rule still in the running, or no rule
  is left.
- **Rules that cannot fit the latest state.** Of a rule's last state, Rasa asks that the intent
  it names be the conversation's. So the rules are grouped once by the intent their last state
  names, and the latest state tries its own intent's group and the rules that name none (5 of
  326 here). A rule whose last state has no previous action (the start of a conversation) is in
  that second group: Rasa judges it by other features.

:func:`install` puts this walk in Rasa's place; a property test checks it against Rasa's own walk
on the trained model's rules and generated conversations (``tests/bot/test_rule_matching.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rasa.shared.core.constants import PREVIOUS_ACTION, SHOULD_NOT_BE_SET, USER
from rasa.shared.nlu.constants import INTENT

from dit_assistant.rasa_patches import ClassPatch

INDEX_ATTRIBUTE = "_rule_matching_index"


@dataclass
class LastStateIndex:
    """The keys of one lookup grouped by the intent their rule's last state names."""

    lookup: dict[str, str]  # held, so that no other dict takes its id while the index is kept
    keys: frozenset[str]
    by_intent: dict[str, frozenset[str]] = field(default_factory=dict)
    always: frozenset[str] = frozenset()

    @classmethod
    def build(cls, policy: Any, lookup: dict[str, str]) -> LastStateIndex:
        groups: dict[str, set[str]] = {}
        always = set()
        for key in lookup:
            last = policy._rule_key_to_state(key)[-1]
            intent = last.get(USER, {}).get(INTENT)
            if last.get(PREVIOUS_ACTION) and intent and intent != SHOULD_NOT_BE_SET:
                groups.setdefault(intent, set()).add(key)
            else:
                always.add(key)
        by_intent = {intent: frozenset(keys) for intent, keys in groups.items()}
        return cls(lookup, frozenset(lookup), by_intent, frozenset(always))

    def candidates(self, state: dict[str, Any]) -> set[str]:
        """The keys whose rule could fit ``state`` as its last state."""
        intent = state.get(USER, {}).get(INTENT)
        return set().union(self.always, self.by_intent.get(intent, ()))


def _index(policy: Any, lookup: dict[str, str]) -> LastStateIndex:
    """The index of ``lookup``, built on first use and kept on the policy. Built again whenever
    the lookup's keys are not the ones it was built from (training edits its lookups)."""
    indexes: dict[int, LastStateIndex] = policy.__dict__.setdefault(INDEX_ATTRIBUTE, {})
    index = indexes.get(id(lookup))
    if index is None or index.keys != lookup.keys():
        index = indexes[id(lookup)] = LastStateIndex.build(policy, lookup)
    return index


def possible_keys(policy: Any, lookup: dict[str, str], states: list[dict[str, Any]]) -> set[str]:
    """The keys of ``lookup`` whose rules fit ``states``: ``RulePolicy._get_possible_keys``."""
    if not states:
        return set(lookup)
    keys = _index(policy, lookup).candidates(states[-1])
    for turn_index, state in enumerate(reversed(states)):
        if not keys:
            break
        # Every rule still in the running is at most this long: further back, each fits.
        if turn_index >= max(len(policy._rule_key_to_state(key)) for key in keys):
            break
        keys = {key for key in keys if policy._is_rule_applicable(key, turn_index, state)}
    return keys


def _rule_policy() -> type:
    from rasa.core.policies.rule_policy import RulePolicy

    return RulePolicy


PATCH = ClassPatch(_rule_policy, "_get_possible_keys", possible_keys)
install, uninstall = PATCH.install, PATCH.uninstall
"""Match rules with :func:`possible_keys` in this process (idempotent), and put Rasa's own walk
back (for comparing the two). The Rasa server installs it when its response generator
(``dit_assistant.nlg``) is created."""


def rasa_walk() -> Callable[..., set[str]]:
    """Rasa's own ``RulePolicy._get_possible_keys``, installed over or not."""
    return PATCH.original()
