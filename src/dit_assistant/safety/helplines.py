"""The reviewed helpline presets of ``helplines.yml``, read into plain values.

They live beside their data in the safety package: crisis replies depend on them, and reading
them needs nothing from the clinic's settings (which import them from here).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from importlib import resources
from typing import Any

import yaml

from dit_assistant.errors import ConfigurationError

logger = logging.getLogger(__name__)

# The routes for people DIT may not suit first (bot/data/rules/routes.yml). Each key names a
# ``specialist_services:`` list of a region in ``safety/helplines.yml`` and the template variable
# ``{specialist_<key>}`` of the route's reply. A region without services for a route still gets a
# sentence: the person is pointed to their GP or the team, never shown an empty list.
SPECIALIST_ROUTES: tuple[str, ...] = (
    "eating",
    "psychosis",
    "substance",
    "bipolar",
    "severe",
    "recent_trauma",
    "perinatal",
    "harm_thoughts",
    "parents",
)
SPECIALIST_FALLBACK = (
    "Your GP or our team can tell you about specialist services near you, and help you find "
    "the right one."
)
SPECIALIST_INTRO = "These services can also help:"


@dataclass(frozen=True)
class Service:
    """A helpline or local service: who it is and how to reach it, in plain words."""

    name: str
    contact: str

    def as_line(self) -> str:
        return f"{self.name}: {self.contact}"


@dataclass(frozen=True)
class RegionHelplines:
    """Crisis routes for one region, in the order they must be shown."""

    key: str
    label: str
    country: str
    """ISO 3166 code whose numbering plan applies to phone numbers typed without a +code."""
    emergency: str
    helplines: tuple[Service, ...]
    young_people: tuple[Service, ...]
    specialist_services: dict[str, tuple[Service, ...]] = field(default_factory=dict)
    """Reviewed specialist services by route (keys of ``SPECIALIST_ROUTES``); routes a region
    has no reviewed entry for are absent, and their replies fall back to the GP or the team."""


def parse_services(raw: Any, where: str) -> tuple[Service, ...]:
    """A list of ``{name, contact}`` entries; ``where`` names it in errors. The clinic profile's
    ``local_services`` are read with it too, so both lists are checked alike."""
    if raw in (None, []):
        return ()
    if not isinstance(raw, list):
        raise ConfigurationError(f"{where} must be a list of {{name, contact}} entries")
    services = []
    for entry in raw:
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("contact"):
            raise ConfigurationError(f"each entry of {where} needs a name and a contact")
        services.append(Service(name=str(entry["name"]), contact=str(entry["contact"])))
    return tuple(services)


def load_region_presets() -> dict[str, RegionHelplines]:
    """Read the reviewed helpline presets shipped with the safety package."""
    text = resources.files("dit_assistant.safety").joinpath("helplines.yml").read_text("utf-8")
    raw = yaml.safe_load(text)
    return {
        key: RegionHelplines(
            key=key,
            label=str(entry["label"]),
            country=str(entry["country"]),
            emergency=str(entry["emergency"]),
            helplines=parse_services(entry.get("helplines"), f"helplines.yml:{key}.helplines"),
            young_people=parse_services(
                entry.get("young_people"), f"helplines.yml:{key}.young_people"
            ),
            specialist_services=_specialist_services(entry.get("specialist_services"), key),
        )
        for key, entry in raw.items()
    }


def _specialist_services(raw: Any, region: str) -> dict[str, tuple[Service, ...]]:
    """A region's ``specialist_services:``: routes it has reviewed entries for.

    A route name that is not one of ``SPECIALIST_ROUTES`` is skipped with a warning rather than
    stopping the assistant: crisis replies must keep working while a clinic fixes a typo, and
    the route it meant falls back to "your GP or our team" meanwhile.
    """
    if raw in (None, {}):
        return {}
    if not isinstance(raw, dict):
        raise ConfigurationError(
            f"helplines.yml:{region}.specialist_services must map route names to services"
        )
    services = {}
    for route, entries in raw.items():
        if route not in SPECIALIST_ROUTES:
            logger.warning(
                "helplines.yml:%s.specialist_services: unknown route %r skipped; known: %s",
                region,
                route,
                ", ".join(SPECIALIST_ROUTES),
            )
            continue
        found = parse_services(entries, f"helplines.yml:{region}.specialist_services.{route}")
        if found:
            services[str(route)] = found
    return services
