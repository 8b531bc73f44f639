"""The hazard log (``docs/clinical-safety/hazard-log.yml``): reading it, checking it, rating risk.

Each hazard names the tests that verify its controls as pytest node ids
(``tests/unit/test_safety_net.py::test_fires_even_when_the_classifier_is_sure_of_something_else``).
:func:`missing_tests` finds the ones that do not exist by parsing the test files with ``ast``,
without importing them, so a renamed or deleted test cannot leave a control that claims to be
verified by nothing.

Risk is rated on the matrix of the NHS clinical risk management standards (DCB0129, DCB0160):
a severity and a likelihood give a rating from 1 (acceptable) to 5 (unacceptable). The ratings in
the log are the project's proposal; the clinic's Clinical Safety Officer confirms or changes them.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

SEVERITIES = ("minor", "significant", "considerable", "major", "catastrophic")
LIKELIHOODS = ("very low", "low", "medium", "high", "very high")

# Rows: likelihood (very low first); columns: severity (minor first).
_MATRIX = (
    (1, 1, 2, 2, 3),
    (1, 2, 2, 3, 4),
    (2, 2, 3, 3, 4),
    (2, 3, 3, 4, 5),
    (3, 4, 4, 5, 5),
)
RATING_MEANINGS = {
    1: "Acceptable, no further action required.",
    2: "Acceptable where the cost of further reduction outweighs the benefit gained.",
    3: "Undesirable: acceptable only when further risk reduction is impractical, with the "
    "Clinical Safety Officer's agreement.",
    4: "Unacceptable: the risk must be eliminated or further controlled.",
    5: "Unacceptable.",
}
STATUSES = ("open", "closed", "transferred")
OWNERS = ("project", "clinic")
_ID = re.compile(r"^H\d{2,}$")


class HazardLogError(ValueError):
    """The hazard log is not well formed; the message says where."""


def risk_rating(severity: str, likelihood: str) -> int:
    """The matrix rating (1 to 5) of a severity and a likelihood, named as in the log."""
    try:
        return _MATRIX[LIKELIHOODS.index(likelihood)][SEVERITIES.index(severity)]
    except ValueError as error:
        raise HazardLogError(
            f"unknown severity {severity!r} or likelihood {likelihood!r}; severities: "
            f"{', '.join(SEVERITIES)}; likelihoods: {', '.join(LIKELIHOODS)}"
        ) from error


@dataclass(frozen=True)
class Risk:
    severity: str
    likelihood: str
    notes: str = ""

    @property
    def rating(self) -> int:
        return risk_rating(self.severity, self.likelihood)

    @property
    def meaning(self) -> str:
        return RATING_MEANINGS[self.rating]


@dataclass(frozen=True)
class Control:
    what: str
    owner: str
    """``project``: built into the assistant and verified by tests; ``clinic``: something the
    clinic does (a review, a procedure), which no test of the project can verify."""
    tests: tuple[str, ...]


@dataclass(frozen=True)
class Hazard:
    id: str
    title: str
    description: str
    harm: str
    causes: tuple[str, ...]
    controls: tuple[Control, ...]
    initial_risk: Risk
    residual_risk: Risk
    status: str

    @property
    def tests(self) -> tuple[str, ...]:
        return tuple(test for control in self.controls for test in control.tests)

    def as_data(self) -> dict[str, Any]:
        """Everything the hazard says, for the sign-off's content hash."""
        return {
            "title": self.title,
            "description": self.description,
            "harm": self.harm,
            "causes": list(self.causes),
            "controls": [
                {"what": c.what, "owner": c.owner, "tests": list(c.tests)} for c in self.controls
            ],
            "initial_risk": [self.initial_risk.severity, self.initial_risk.likelihood],
            "residual_risk": [
                self.residual_risk.severity,
                self.residual_risk.likelihood,
                self.residual_risk.notes,
            ],
            "status": self.status,
        }


def _text(raw: dict[str, Any], key: str, where: str) -> str:
    value = raw.get(key)
    if not isinstance(value, str) or not value.strip():
        raise HazardLogError(f"{where}: '{key}' must be some text")
    return " ".join(value.split())


def _risk(raw: Any, where: str) -> Risk:
    if not isinstance(raw, dict):
        raise HazardLogError(f"{where} must have a severity and a likelihood")
    risk = Risk(
        severity=str(raw.get("severity", "")).lower(),
        likelihood=str(raw.get("likelihood", "")).lower(),
        notes=" ".join(str(raw.get("notes") or "").split()),
    )
    try:
        risk_rating(risk.severity, risk.likelihood)
    except HazardLogError as error:
        raise HazardLogError(f"{where}: {error}") from None
    return risk


def _control(raw: Any, where: str) -> Control:
    if not isinstance(raw, dict):
        raise HazardLogError(f"{where} must be a mapping with 'control' and 'tests'")
    owner = str(raw.get("owner") or "project")
    if owner not in OWNERS:
        raise HazardLogError(f"{where}: owner must be one of {', '.join(OWNERS)}")
    tests = raw.get("tests") or []
    if not isinstance(tests, list) or not all(isinstance(t, str) for t in tests):
        raise HazardLogError(f"{where}: 'tests' must be a list of pytest node ids")
    if owner == "project" and not tests:
        raise HazardLogError(
            f"{where}: a control the project provides names the tests that verify it "
            "(or is marked 'owner: clinic')"
        )
    return Control(what=_text(raw, "control", where), owner=owner, tests=tuple(tests))


def parse_hazard_log(raw: Any, source: str = "hazard log") -> tuple[Hazard, ...]:
    """The hazards of a loaded hazard-log file, checked for what every hazard must hold."""
    if not isinstance(raw, dict) or not isinstance(raw.get("hazards"), list):
        raise HazardLogError(f"{source} needs a 'hazards' list")
    hazards: list[Hazard] = []
    for position, entry in enumerate(raw["hazards"], start=1):
        where = f"{source}, hazard {position}"
        if not isinstance(entry, dict):
            raise HazardLogError(f"{where} must be a mapping")
        hazard_id = str(entry.get("id", ""))
        if not _ID.match(hazard_id):
            raise HazardLogError(f"{where}: id must look like H01")
        where = f"{source}, {hazard_id}"
        if any(h.id == hazard_id for h in hazards):
            raise HazardLogError(f"{where}: the id is used twice")
        causes = entry.get("causes")
        controls = entry.get("controls")
        if not isinstance(causes, list) or not causes:
            raise HazardLogError(f"{where}: 'causes' must list at least one cause")
        if not isinstance(controls, list) or not controls:
            raise HazardLogError(f"{where}: 'controls' must list at least one control")
        status = str(entry.get("status") or "open")
        if status not in STATUSES:
            raise HazardLogError(f"{where}: status must be one of {', '.join(STATUSES)}")
        hazard = Hazard(
            id=hazard_id,
            title=_text(entry, "title", where),
            description=_text(entry, "description", where),
            harm=_text(entry, "harm", where),
            causes=tuple(" ".join(str(c).split()) for c in causes),
            controls=tuple(
                _control(c, f"{where}, control {n}") for n, c in enumerate(controls, start=1)
            ),
            initial_risk=_risk(entry.get("initial_risk"), f"{where}, initial_risk"),
            residual_risk=_risk(entry.get("residual_risk"), f"{where}, residual_risk"),
            status=status,
        )
        if not hazard.tests:
            raise HazardLogError(f"{where}: no control names a test that verifies it")
        hazards.append(hazard)
    return tuple(hazards)


def load_hazard_log(path: Path) -> tuple[Hazard, ...]:
    try:
        raw = yaml.safe_load(path.read_text("utf-8"))
    except FileNotFoundError as error:
        raise HazardLogError(f"hazard log not found: {path}") from error
    except yaml.YAMLError as error:
        raise HazardLogError(f"{path} is not valid YAML: {error}") from None
    return parse_hazard_log(raw, path.name)


@lru_cache(maxsize=256)
def _tests_in(path: Path, modified: float) -> frozenset[str]:
    """Test names pytest would collect from one file: ``test*`` functions, and ``Test*`` classes
    with their ``test*`` methods as ``Class::method`` (``modified`` keys the cache)."""
    tree = ast.parse(path.read_text("utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name.startswith(
            "test"
        ):
            names.add(node.name)
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names.add(node.name)
            names.update(
                f"{node.name}::{item.name}"
                for item in node.body
                if isinstance(item, ast.FunctionDef | ast.AsyncFunctionDef)
                and item.name.startswith("test")
            )
    return frozenset(names)


def missing_tests(node_ids: Iterable[str], root: Path) -> list[str]:
    """The node ids (``path``, ``path::test``, ``path::Class::test``, with or without a
    ``[parameter]``) whose file or test does not exist under ``root``, each once, in order."""
    missing: list[str] = []
    for node_id in node_ids:
        if node_id in missing:
            continue
        file_part, _, name = node_id.partition("::")
        path = root / file_part
        if not file_part.endswith(".py") or not path.is_file():
            missing.append(node_id)
            continue
        name = name.split("[", 1)[0]
        if name and name not in _tests_in(path.resolve(), path.stat().st_mtime):
            missing.append(node_id)
    return missing
