"""Rule matching that stops once the answer is settled finds exactly the rules Rasa's full walk
finds, on the trained model's own rules and conversations generated from what people send."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rasa.core.policies.rule_policy import RULES, RULES_FOR_LOOP_UNHAPPY_PATH, RulePolicy

from dit_assistant import rule_matching

# Questions, small talk, risk, the enquiry form (started, answered, refused, stopped), a stop
# word, bad input: the paths through the rules, the form's unhappy paths included.
MESSAGES = [
    "hello",
    "what is DIT?",
    "how long does it last",
    "and how long is each one?",
    "I'd like to book an assessment",
    "yes",
    "no",
    "Sam",
    "sam@example.com",
    "07700 900123",
    "cancel",
    "I want to kill myself",
    "I'm safe, thanks",
    "asdkjh qwpoeiru",
    "can I talk to a person",
    "thanks, bye",
]


def rule_policy(bot) -> RulePolicy:
    nodes = bot.agent.processor.graph_runner._instantiated_nodes.values()
    (policy,) = [n._component for n in nodes if isinstance(n._component, RulePolicy)]
    return policy


def test_the_served_bot_matches_rules_with_the_early_stop(bot):
    assert RulePolicy._get_possible_keys is rule_matching.possible_keys
    assert rule_matching.rasa_walk() is not rule_matching.possible_keys


@settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.sampled_from(MESSAGES), min_size=1, max_size=10))
def test_the_early_stop_finds_the_rules_rasas_walk_finds(bot, messages):
    conversation = bot.new_conversation()
    for text in messages:
        conversation.say(text)
    tracker = bot.run(bot.agent.tracker_store.retrieve(conversation.sender))
    policy = rule_policy(bot)
    states = policy._prediction_states(
        tracker, bot.agent.domain, rule_only_data=policy._get_rule_only_data()
    )
    rasas = rule_matching.rasa_walk()
    matched = 0
    for lookup in (policy.lookup[RULES], policy.lookup[RULES_FOR_LOOP_UNHAPPY_PATH]):
        # Every point of the conversation, as the policy saw it before each of its predictions.
        for end in range(1, len(states) + 1):
            ours = rule_matching.possible_keys(policy, lookup, states[:end])
            assert ours == rasas(policy, lookup, states[:end])
            matched += len(ours)
    assert matched > 0, "some rule matches somewhere in every conversation"
