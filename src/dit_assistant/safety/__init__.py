"""Safety: the reviewed risk phrases, the NLU component that applies them, helpline presets."""

SAFETY_ROUTES = frozenset(
    {
        "risk_suicide",
        "risk_self_harm",
        "risk_overdose",
        "risk_abuse",
        "risk_other_person",
        "under_18",
        "risk_check",
    }
)
"""Intents whose reply is a safety route: crisis replies, the check-in and the under-18 reply
(``bot/data/rules/safety.yml``). They are answered whatever else is down."""
