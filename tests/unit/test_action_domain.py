"""The domain goes only to the custom actions that read it, and to every one of them.

With ``enable_selective_domain`` (bot/endpoints.yml) Rasa sends the domain, about 56 KB, only
with calls to the actions marked ``send_domain: true`` in bot/domain/; rasa-sdk hands every other
action an empty domain. An action that reads its domain without the mark would silently read
nothing (a form's slots, the responses it may send), so the marks are checked against the code.
"""

from __future__ import annotations

import ast
from pathlib import Path

from rasa.shared.core.domain import Domain
from rasa.utils.endpoints import read_endpoint_config

from dit_assistant.serve import BOT_DIR, runtime_endpoints

ACTIONS_DIR = BOT_DIR / "actions"
# rasa-sdk base classes whose own code reads the domain (the form's required slots).
READS_DOMAIN_BASES = {"FormValidationAction", "FormAction"}


def _action_name(cls: ast.ClassDef) -> str | None:
    for method in cls.body:
        if isinstance(method, ast.FunctionDef) and method.name == "name":
            for node in ast.walk(method):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    return node.value
    return None


def _reads_domain(cls: ast.ClassDef) -> bool:
    if {ast.unparse(base) for base in cls.bases} & READS_DOMAIN_BASES:
        return True
    return any(
        isinstance(node, ast.Name) and node.id == "domain" and isinstance(node.ctx, ast.Load)
        for method in cls.body
        if isinstance(method, ast.FunctionDef | ast.AsyncFunctionDef) and method.name != "name"
        for node in ast.walk(method)
    )


def custom_actions(directory: Path = ACTIONS_DIR) -> dict[str, bool]:
    """Each custom action's name, and whether its code reads the domain."""
    found = {}
    for path in sorted(directory.glob("*.py")):
        for node in ast.parse(path.read_text("utf-8")).body:
            if isinstance(node, ast.ClassDef) and (name := _action_name(node)):
                found[name] = _reads_domain(node)
    return found


def test_the_actions_that_read_the_domain_are_the_ones_sent_it():
    actions = custom_actions()
    assert len(actions) >= 9
    domain = Domain.load(str(BOT_DIR / "domain"))
    assert set(actions) <= set(domain.user_actions)
    reading = {name for name, reads in actions.items() if reads}
    assert reading == {"validate_intake_form", "validate_fit_check_form"}
    marked = {name for name in actions if domain.does_custom_action_explicitly_need_domain(name)}
    assert marked == reading


def test_the_served_endpoints_send_the_domain_selectively(tmp_path):
    for path in (BOT_DIR / "endpoints.yml", runtime_endpoints(5099, tmp_path, redis_url="")):
        endpoint = read_endpoint_config(str(path), "action_endpoint")
        assert endpoint is not None
        assert endpoint.kwargs.get("enable_selective_domain") is True
    assert endpoint.url == "http://127.0.0.1:5099/webhook"
