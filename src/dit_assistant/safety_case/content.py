"""What the clinical safety pack covers, gathered from the live configuration and content.

Nothing here is written twice: the replies are the responses of ``bot/domain/`` filled by the
assistant's own generator (:class:`dit_assistant.nlg.ClinicResponseGenerator`) with this clinic's
profile and region, every conditional variation included; the phrases are the configured phrase
file; the helplines are the configured region's presets and the clinic's local services; the
hazards and figures are the committed files under ``docs/clinical-safety/``.
"""

from __future__ import annotations

import copy
import dataclasses
import datetime as dt
import importlib.util
import os
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from dotenv import load_dotenv

from dit_assistant.safety_case.hazards import Hazard, load_hazard_log, missing_tests
from dit_assistant.safety_case.history import FileHistory, History, history_for
from dit_assistant.safety_case.signoff import Fingerprint
from dit_assistant.settings import (
    DEFAULT_PROFILE,
    PROJECT_ROOT,
    SPECIALIST_FALLBACK,
    SPECIALIST_ROUTES,
    ClinicProfile,
    RegionHelplines,
    Service,
    Settings,
    load_settings,
)

DOMAIN = "bot/domain"
"""The domain: every YAML file in this folder, merged as Rasa merges them (one file per topic)."""
SINGLE_DOMAIN_FILE = "bot/domain.yml"
"""What the domain was before it became a folder: commits that changed it still count."""
BOT_CONFIG = "bot/config.yml"
DIALOGUE_DATA = ("bot/data/rules", "bot/data/stories")
ACTIONS = "bot/actions"
HAZARD_LOG = "docs/clinical-safety/hazard-log.yml"
FIGURES = "docs/clinical-safety/figures.yml"
SIGN_OFF = "config/safety-sign-off.yml"
OUTPUT_DIR = "safety-case"
HELPLINES_FILE = PROJECT_ROOT / "src" / "dit_assistant" / "safety" / "helplines.yml"
PATTERNS_FILE = PROJECT_ROOT / "src" / "dit_assistant" / "safety" / "patterns.yml"
TRAINED_CONTENT = ("bot/data", "bot/config.yml", DOMAIN, SINGLE_DOMAIN_FILE)
"""What a measured figure depends on, besides the phrase file."""

SECTION_TITLES = {
    "clinic_profile": "Clinic profile",
    "crisis_routes": "Crisis routes and specialist services",
    "safety_settings": "Safety settings",
    "phrases": "Reviewed risk phrases",
    "replies": "Every reply",
    "figures": "Measured figures",
    "hazards": "Hazard log",
}

# Values a reply takes from the conversation rather than from the configuration: shown filled
# with an example, and named under the reply.
EXAMPLE_VALUES: dict[str, tuple[str, str]] = {
    "intake_name": ("Sam", "the name the person asked to be called"),
    "intake_reference": ("DIT-7K3Q9", "the reference given to the stored enquiry"),
    "intake_contact_method_label": ("email", "how the person asked to be contacted"),
}
_CONDITION_WORDS: dict[tuple[str, Any], str] = {
    ("young_person", True): "once the conversation has said the person is under 18",
    ("about_someone_else", True): "when the message is about someone else at risk",
    ("intake_contact_method", "email"): "when the person chose email",
    ("intake_contact_method", "text"): "when the person chose text messages",
}
_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
_GROUP_HEADING = re.compile(r"^  # -{8,}\s*(.+?)\s*$")
_RESPONSE_LINE = re.compile(r"^  (utter_[A-Za-z0-9_]+):")


class PackError(RuntimeError):
    """The pack cannot be built as it stands; the message says what to fix."""


@dataclass(frozen=True)
class Variant:
    condition: str | None
    """In plain words; None for the only variation of a reply."""
    text: str
    buttons: tuple[str, ...] = ()

    def as_data(self) -> dict[str, Any]:
        return {"condition": self.condition, "text": self.text, "buttons": list(self.buttons)}


@dataclass(frozen=True)
class Reply:
    name: str
    group: str
    variants: tuple[Variant, ...]
    when: tuple[str, ...] = ()
    """What leads to it: the intents before it in the rules and stories, forms, actions."""
    examples: tuple[tuple[str, str, str], ...] = ()
    """(placeholder, example value, what it stands for) for values from the conversation."""
    source: str = DOMAIN
    """Where it is written: the file of the domain holding it, or the code that builds it."""
    described: bool = False
    """True for a reply built from what the person typed, described rather than quoted."""

    @property
    def from_domain(self) -> bool:
        """Written as a response of the domain (``bot/domain/``), not in code."""
        return self.source == DOMAIN or self.source.startswith(f"{DOMAIN}/")


@dataclass(frozen=True)
class PhraseCategory:
    name: str
    phrases: tuple[str, ...]
    exceptions: tuple[str, ...]


@dataclass(frozen=True)
class Phrases:
    path: str
    syntax: str
    """The phrase file's own explanation of how a phrase is read (its opening comments)."""
    categories: tuple[PhraseCategory, ...]
    signals: tuple[str, ...]
    protected_words: tuple[str, ...]

    @property
    def count(self) -> int:
        return sum(len(c.phrases) for c in self.categories)


@dataclass(frozen=True)
class Figure:
    id: str
    title: str
    set: str
    count: int
    total: int
    better: str
    measured: str
    commit: str
    test: str
    source: str
    target: float | None = None
    floor: str = ""
    ceiling: str = ""
    notes: str = ""
    later_changes: int | None = None
    """Commits after ``commit`` that changed the trained content or the phrase file."""

    @property
    def rate(self) -> float:
        return self.count / self.total if self.total else 0.0

    @property
    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.rate >= self.target if self.better == "higher" else self.rate <= self.target

    def as_data(self) -> dict[str, Any]:
        return {
            "title": self.title,
            "set": self.set,
            "result": [self.count, self.total],
            "target": self.target,
            "measured": self.measured,
            "commit": self.commit,
        }


@dataclass(frozen=True)
class Pack:
    built_at: str
    commit: str | None
    clinic: ClinicProfile
    region: RegionHelplines
    timezone: str
    overrides: tuple[str, ...]
    """``CLINIC_*`` environment variables that override the profile file (names only)."""
    profile_path: str
    replies: tuple[Reply, ...]
    phrases: Phrases
    safety_settings: tuple[tuple[str, str, str], ...]
    """(setting, value, where it is set)."""
    figures: tuple[Figure, ...]
    hazards: tuple[Hazard, ...]
    files: tuple[tuple[str, FileHistory], ...]
    specialist: tuple[tuple[str, tuple[Service, ...]], ...]
    sections: dict[str, dict[str, Any]] = field(repr=False)
    fingerprint: Fingerprint = field(repr=False)

    def reply(self, name: str) -> Reply:
        return next(r for r in self.replies if r.name == name)


def _relative(path: Path, root: Path) -> str:
    for base in (root, PROJECT_ROOT):
        try:
            return path.resolve().relative_to(base.resolve()).as_posix()
        except ValueError:
            continue
    return str(path)


# libyaml's loader where PyYAML has it: the pack reads the whole domain and every rule file.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _read_yaml(path: Path) -> Any:
    try:
        return yaml.load(path.read_text("utf-8"), Loader=_LOADER)  # noqa: S506 - a safe loader
    except FileNotFoundError as error:
        raise PackError(f"not found: {path}") from error
    except yaml.YAMLError as error:
        raise PackError(f"{path} is not valid YAML: {error}") from None


# ------------------------------------------------------------------------------------ domain

# Keys whose entries the domain's files add up, as Rasa merges a domain folder: lists of names,
# and mappings by name, where a name written in two files would leave one text silently unused.
_DOMAIN_LISTS = ("intents", "entities", "actions", "e2e_actions")
_DOMAIN_MAPPINGS = ("slots", "forms", "responses")


@dataclass(frozen=True)
class DomainContent:
    """The domain's files merged into one mapping, with where each response is written."""

    raw: dict[str, Any]
    files: tuple[str, ...]
    """The files read, relative to the checkout, in the order read (by name)."""
    response_files: dict[str, str]
    """For each response, the file it is written in."""
    groups: dict[str, str]
    """For each response, the heading it is under (the ``# ---- name`` lines)."""
    key_files: dict[str, str] = field(default_factory=dict)
    """For each other top-level key (``session_config``...), the file it is written in."""


def domain_files(root: Path) -> list[Path]:
    """The YAML files of the domain folder, every level, in a stable order (by path)."""
    folder = root / DOMAIN
    if not folder.is_dir():
        raise PackError(f"not found: {folder}")
    found = sorted(
        (p for p in folder.rglob("*") if p.suffix in (".yml", ".yaml") and p.is_file()),
        key=lambda p: p.relative_to(folder).as_posix(),
    )
    if not found:
        raise PackError(f"{folder} holds no domain file (*.yml)")
    return found


def _name(item: Any) -> str:
    """An intent, entity or action's name: a list item is a name, or a name with properties."""
    return str(next(iter(item))) if isinstance(item, dict) and item else str(item)


def read_domain(root: Path) -> DomainContent:
    """Every file of ``bot/domain/`` merged, as Rasa merges the folder for training; a slot,
    form or response written in two files is an error, as only one of them would be used."""
    raw: dict[str, Any] = {}
    where: dict[tuple[str, str], str] = {}
    groups: dict[str, str] = {}
    key_files: dict[str, str] = {}
    files = []
    for path in domain_files(root):
        shown = _relative(path, root)
        files.append(shown)
        content = _read_yaml(path) or {}
        if not isinstance(content, dict):
            raise PackError(f"{path} is not a mapping of domain keys")
        for key, value in content.items():
            if key in _DOMAIN_LISTS:
                merged = raw.setdefault(key, [])
                known = {_name(item) for item in merged}
                merged.extend(item for item in value or [] if _name(item) not in known)
            elif key in _DOMAIN_MAPPINGS:
                merged = raw.setdefault(key, {})
                for name, entry in (value or {}).items():
                    if name in merged:
                        raise PackError(
                            f"{key[:-1]} {name} is written in both {where[key, name]} and "
                            f"{shown}: only one of them would be used"
                        )
                    merged[name] = entry
                    where[key, name] = shown
            elif key in raw and raw[key] != value and key != "version":
                raise PackError(f"{key} is written in both {key_files[key]} and {shown}")
            elif key not in raw:
                raw[key] = value
                key_files[key] = shown
        groups.update(_reply_groups(path.read_text("utf-8")))
    return DomainContent(
        raw=raw,
        files=tuple(files),
        response_files={name: file for (key, name), file in where.items() if key == "responses"},
        groups=groups,
        key_files=key_files,
    )


# ------------------------------------------------------------------------------------ replies


def _reply_groups(domain_text: str) -> dict[str, str]:
    """Each response's heading in a file of ``bot/domain/`` (the ``# ---- name`` lines)."""
    groups: dict[str, str] = {}
    group = "Other replies"
    in_responses = False
    for line in domain_text.splitlines():
        if line.startswith("responses:"):
            in_responses = True
            continue
        if in_responses and line and not line.startswith((" ", "#")):
            break
        if not in_responses:
            continue
        heading = _GROUP_HEADING.match(line)
        if heading:
            group = heading.group(1).strip('"').strip()
            group = group[:1].upper() + group[1:]
            continue
        response = _RESPONSE_LINE.match(line)
        if response:
            groups[response.group(1)] = group
    return groups


def _steps_intents(step: Any) -> list[str]:
    if not isinstance(step, dict):
        return []
    if "intent" in step:
        return [str(step["intent"])]
    if "or" in step and isinstance(step["or"], list):
        return [i for s in step["or"] for i in _steps_intents(s)]
    return []


def _what_leads_to(root: Path, domain_raw: dict[str, Any]) -> dict[str, list[str]]:
    """For each response: the intents just before it in the rules and stories, the form whose
    question it is, the action code that sends it."""
    leads: dict[str, list[str]] = {}

    def add(name: str, what: str) -> None:
        if what not in leads.setdefault(name, []):
            leads[name].append(what)

    for folder in DIALOGUE_DATA:
        for path in sorted((root / folder).glob("*.yml")):
            raw = _read_yaml(path) or {}
            for flow in [*(raw.get("rules") or []), *(raw.get("stories") or [])]:
                intents: list[str] = []
                for step in flow.get("steps") or []:
                    found = _steps_intents(step)
                    if found:
                        intents = found
                    elif isinstance(step, dict) and str(step.get("action", "")).startswith(
                        "utter_"
                    ):
                        for intent in intents:
                            add(step["action"], f"after {intent}")
    for form, spec in (domain_raw.get("forms") or {}).items():
        for slot in (spec or {}).get("required_slots") or []:
            add(f"utter_ask_{slot}", f"question of {form}")
    for path in sorted((root / ACTIONS).glob("*.py")):
        text = path.read_text("utf-8")
        for name in set(re.findall(r"[\"'](utter_[A-Za-z0-9_]+)[\"']", text)):
            add(name, f"sent by {_relative(path, root)}")
    return leads


def _condition_words(condition: list[dict[str, Any]]) -> str:
    words = []
    for part in condition:
        key = (str(part.get("name")), part.get("value"))
        words.append(_CONDITION_WORDS.get(key, f"when {key[0]} is {key[1]!r}"))
    return " and ".join(words)


def _domain_replies(root: Path, settings: Settings, content: DomainContent) -> list[Reply]:
    from rasa.shared.core.domain import Domain

    from dit_assistant.nlg import ClinicResponseGenerator

    # The domain as Rasa builds it from the files (training has validated their schema).
    with warnings.catch_warnings():  # Rasa's note that slot auto-fill was removed in 3.0
        warnings.simplefilter("ignore", UserWarning)
        domain = Domain.from_dict(copy.deepcopy(content.raw))
    generator = ClinicResponseGenerator(domain=domain, settings=settings)
    leads = _what_leads_to(root, content.raw)
    initial = {slot.name: slot.initial_value for slot in domain.slots}
    examples = {name: value for name, (value, _) in EXAMPLE_VALUES.items()}
    replies = []
    for name, variations in domain.responses.items():
        conditional = any(v.get("condition") for v in variations)
        variants = []
        used: set[str] = set()
        for variation in variations:
            condition = variation.get("condition") or []
            slots = {**initial, **{str(c["name"]): c.get("value") for c in condition}}
            filled = generator.fill(variation, slots, **examples)
            for said in [
                variation.get("text") or "",
                *(b.get("title", "") for b in variation.get("buttons") or []),
            ]:
                used.update(_PLACEHOLDER.findall(str(said)))
            if condition:
                words: str | None = _condition_words(condition)
            elif conditional:
                words = "in every other case"
            else:
                words = None
            channel = variation.get("channel")
            if channel:
                words = f"{words + ', ' if words else ''}on the {channel} channel only"
            variants.append(
                Variant(
                    condition=words,
                    text=str(filled.get("text") or ""),
                    buttons=tuple(str(b.get("title", "")) for b in filled.get("buttons") or []),
                )
            )
        replies.append(
            Reply(
                name=name,
                group=content.groups.get(name, "Other replies"),
                variants=tuple(variants),
                when=tuple(leads.get(name, [])),
                examples=tuple(
                    (p, *EXAMPLE_VALUES[p]) for p in sorted(used) if p in EXAMPLE_VALUES
                ),
                source=content.response_files.get(name, DOMAIN),
            )
        )
    return replies


def _action_apology(root: Path, settings: Settings) -> str | None:
    """The apology of a failed custom action, from ``bot/actions/contained.py`` loaded on its
    own (importing the ``bot.actions`` package would start the action server's machinery), with
    the settings of this pack in place of the process's."""
    path = root / ACTIONS / "contained.py"
    spec = importlib.util.spec_from_file_location("_dit_safety_case_contained", path)
    if spec is None or spec.loader is None or not path.exists():
        return None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    setattr(module, "get_settings", lambda: settings)  # noqa: B010 - a module built above
    return str(module.apology())


def _code_replies(root: Path, settings: Settings) -> list[Reply]:
    from dit_assistant.channels.guard import too_fast_reply, too_long_reply

    group = "Written in code"
    replies = [
        Reply(
            name="message too long",
            group=group,
            variants=(Variant(None, too_long_reply(settings)),),
            when=(f"a message over {settings.max_message_chars} characters (MAX_MESSAGE_CHARS)",),
            source="src/dit_assistant/channels/guard.py",
        ),
        Reply(
            name="messages too fast",
            group=group,
            variants=(Variant(None, too_fast_reply(settings)),),
            when=(
                f"more than {settings.max_messages_per_minute} messages from one sender in a "
                "minute (MAX_MESSAGES_PER_MINUTE)",
            ),
            source="src/dit_assistant/channels/guard.py",
        ),
    ]
    apology = _action_apology(root, settings)
    if apology is not None:
        replies.append(
            Reply(
                name="a custom action failed",
                group=group,
                variants=(Variant(None, apology),),
                when=("an error in a custom action (the action server)",),
                source=f"{ACTIONS}/contained.py",
            )
        )
    replies.append(
        Reply(
            name="enquiry summary",
            group=group,
            variants=(
                Variant(
                    None,
                    "Repeats back the person's own answers to the enquiry form (name, how to "
                    "contact them and the detail, best times, what they would like help with) "
                    "and asks whether it is right, with a button to send it, one to change each "
                    "answer, and one to cancel.",
                ),
            ),
            when=("the enquiry form's last question (action_ask_intake_confirmed)",),
            source=f"{ACTIONS}/intake.py",
            described=True,
        )
    )
    return replies


# ------------------------------------------------------------------------------------ phrases


def _configured_patterns(root: Path, config: dict[str, Any]) -> tuple[Path, dict[str, Any]]:
    """The phrase file the safety net reads (``patterns_file`` in ``bot/config.yml``, or the
    reviewed default), and the SafetyNet's settings there."""
    for component in config.get("pipeline") or []:
        if str(component.get("name", "")).endswith("SafetyNet"):
            own = component.get("patterns_file")
            path = Path(own) if own else PATTERNS_FILE
            return (path if path.is_absolute() else root / path), component
    raise PackError(f"{BOT_CONFIG} has no SafetyNet in its pipeline: no message is checked")


def _syntax_notes(text: str) -> str:
    lines = []
    for line in text.splitlines():
        if not line.startswith("#"):
            break
        lines.append(line[2:] if line.startswith("# ") else line[1:])
    return "\n".join(lines).strip()


def _phrases(root: Path, path: Path) -> Phrases:
    # Read as the safety net reads it (dit_assistant.safety.detector.load_spec), without
    # importing spaCy, which would take longer than building the whole pack.
    spec = _read_yaml(path)
    if not isinstance(spec, dict) or not isinstance(spec.get("categories"), dict):
        raise PackError(f"{path}: the safety phrase file needs a 'categories' mapping")
    categories = spec["categories"]
    exceptions = spec.get("exceptions") or {}
    order = [c for c in spec.get("priority") or [] if c in categories]
    order += [c for c in categories if c not in order]
    return Phrases(
        path=_relative(path, root),
        syntax=_syntax_notes(path.read_text("utf-8")),
        categories=tuple(
            PhraseCategory(
                name=name,
                phrases=tuple(str(p) for p in categories[name] or []),
                exceptions=tuple(str(p) for p in exceptions.get(name) or []),
            )
            for name in order
        ),
        signals=tuple(str(s) for s in spec.get("signals") or []),
        protected_words=tuple(str(w) for w in spec.get("protected_words") or []),
    )


# ------------------------------------------------------------------------------------ figures


def load_figures(path: Path) -> list[Figure]:
    raw = _read_yaml(path)
    if not isinstance(raw, dict) or not isinstance(raw.get("figures"), list):
        raise PackError(f"{path} needs a 'figures' list")
    figures = []
    for entry in raw["figures"]:
        try:
            figures.append(
                Figure(
                    id=str(entry["id"]),
                    title=str(entry["title"]),
                    set=" ".join(str(entry["set"]).split()),
                    count=int(entry["count"]),
                    total=int(entry["total"]),
                    better=str(entry["better"]),
                    measured=str(entry["measured"]),
                    commit=str(entry["commit"]),
                    test=str(entry["test"]),
                    source=str(entry["source"]),
                    target=float(entry["target"]) if entry.get("target") is not None else None,
                    floor=str(entry.get("floor") or ""),
                    ceiling=str(entry.get("ceiling") or ""),
                    notes=" ".join(str(entry.get("notes") or "").split()),
                )
            )
        except (KeyError, TypeError, ValueError) as error:
            raise PackError(f"{path}: figure {entry.get('id', '?')!r}: {error}") from None
        if figures[-1].better not in ("higher", "lower") or figures[-1].total <= 0:
            raise PackError(f"{path}: figure {figures[-1].id}: 'better' or 'total' is wrong")
    return figures


# ------------------------------------------------------------------------------------ the pack


def _profile_path(root: Path, env: Mapping[str, str]) -> Path:
    named = env.get("CLINIC_PROFILE")
    if not named:
        return root / DEFAULT_PROFILE.relative_to(PROJECT_ROOT)
    path = Path(named)
    return path if path.is_absolute() else PROJECT_ROOT / path


def _services(services: tuple[Service, ...]) -> list[str]:
    return [s.as_line() for s in services]


def build_pack(
    root: Path = PROJECT_ROOT,
    env: Mapping[str, str] | None = None,
    history: History | None = None,
    sign_off_path: Path | None = None,
) -> Pack:
    """Gather the pack from the checkout at ``root`` and the configuration in ``env`` (the
    process environment with ``.env``, as the assistant reads it, when None)."""
    if env is None:
        load_dotenv(root / ".env", override=False)
        env = dict(os.environ)
    env = dict(env)
    profile = _profile_path(root, env)
    env.setdefault("CLINIC_PROFILE", str(profile))
    settings = load_settings(env)
    history = history if history is not None else history_for(root)
    clinic, region = settings.clinic, settings.helplines

    domain = read_domain(root)
    domain_raw = domain.raw
    bot_config = _read_yaml(root / BOT_CONFIG) or {}
    replies = _domain_replies(root, settings, domain) + _code_replies(root, settings)
    patterns_path, safety_net = _configured_patterns(root, bot_config)
    phrases = _phrases(root, patterns_path)
    hazards = load_hazard_log(root / HAZARD_LOG)
    figure_paths = [*TRAINED_CONTENT, _relative(patterns_path, root)]
    figures = [
        dataclasses.replace(f, later_changes=history.commits_since(f.commit, figure_paths))
        for f in load_figures(root / FIGURES)
    ]
    missing = missing_tests(
        [*(t for h in hazards for t in h.tests), *(f.test for f in figures)], root
    )
    if missing:
        raise PackError(
            "the hazard log or the figures name tests that do not exist: " + ", ".join(missing)
        )

    fallback: dict[str, Any] = next(
        (c for c in bot_config.get("pipeline") or [] if c.get("name") == "FallbackClassifier"),
        {},
    )
    safety_settings = (
        (
            "confirm_threshold",
            str(safety_net.get("confirm_threshold", 0.8)),
            f"{BOT_CONFIG}: a classifier-only risk verdict below it gets the check-in",
        ),
        (
            "require_risk_signal",
            str(safety_net.get("require_risk_signal", False)).lower(),
            f"{BOT_CONFIG}: a weak classifier-only risk verdict needs a risk-signal word",
        ),
        ("phrase file", phrases.path, f"{BOT_CONFIG}: patterns_file (default: the reviewed file)"),
        (
            "fallback threshold",
            str(fallback.get("threshold", "")),
            f'{BOT_CONFIG}: below it a message gets the honest "I don\'t have an answer"',
        ),
        (
            "MAX_MESSAGE_CHARS",
            str(settings.max_message_chars),
            "environment: longer messages get the 'too long' reply and are not read",
        ),
        (
            "MAX_MESSAGES_PER_MINUTE",
            str(settings.max_messages_per_minute),
            "environment: more get the 'too fast' reply, with the crisis lines",
        ),
        (
            "session_expiration_time",
            str((domain_raw.get("session_config") or {}).get("session_expiration_time", "")),
            f"{domain.key_files.get('session_config', DOMAIN)}: minutes of silence after which "
            "a conversation starts afresh",
        ),
    )
    specialist = tuple(
        (route, region.specialist_services.get(route, ())) for route in SPECIALIST_ROUTES
    )

    profile_values = {
        "name": clinic.name,
        "phone": clinic.phone,
        "email": clinic.email,
        "website": clinic.website,
        "address": clinic.address,
        "hours": clinic.hours,
        "region": clinic.region,
        "formats": clinic.formats,
        "cost": clinic.cost,
        "response_time": clinic.response_time,
        "privacy_notice_url": clinic.privacy_notice_url,
        "privacy_notice_version": clinic.privacy_notice_version,
        "timezone": settings.timezone,
        "retention_days": str(settings.retention_days),
        "unanswered_retention_days": str(settings.unanswered_retention_days),
        **{f"practicalities.{k}": v for k, v in sorted(clinic.practicalities.items())},
    }
    sections: dict[str, dict[str, Any]] = {
        "clinic_profile": profile_values,
        "crisis_routes": {
            "region": [region.key, region.label],
            "emergency": region.emergency,
            "helplines": _services(region.helplines),
            "young_people": _services(region.young_people),
            "local_services": _services(clinic.local_services),
            **{
                f"specialist {route}": _services(services) or SPECIALIST_FALLBACK
                for route, services in specialist
            },
        },
        "safety_settings": {name: value for name, value, _ in safety_settings},
        "phrases": {
            **{f"category {c.name}": list(c.phrases) for c in phrases.categories},
            **{f"exceptions {c.name}": list(c.exceptions) for c in phrases.categories},
            "priority": [c.name for c in phrases.categories],
            "signals": list(phrases.signals),
            "protected words": list(phrases.protected_words),
        },
        "replies": {r.name: [v.as_data() for v in r.variants] for r in replies},
        "figures": {f.id: f.as_data() for f in figures},
        "hazards": {h.id: h.as_data() for h in hazards},
    }

    files = (
        ("Replies", root / DOMAIN),
        ("Safety net and classifier settings", root / BOT_CONFIG),
        ("Reviewed risk phrases", patterns_path),
        ("Helpline presets and specialist services", HELPLINES_FILE),
        ("Clinic profile", profile),
        ("Hazard log", root / HAZARD_LOG),
        ("Measured figures", root / FIGURES),
        ("Sign-offs", sign_off_path or root / SIGN_OFF),
    )
    return Pack(
        built_at=dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        commit=history.head(),
        clinic=clinic,
        region=region,
        timezone=settings.timezone,
        overrides=tuple(
            sorted(
                k for k, v in env.items() if k.startswith("CLINIC_") and v and k != "CLINIC_PROFILE"
            )
        ),
        profile_path=_relative(profile, root),
        replies=tuple(replies),
        phrases=phrases,
        safety_settings=safety_settings,
        figures=tuple(figures),
        hazards=hazards,
        files=tuple((label, _file(history, path, root)) for label, path in files),
        specialist=specialist,
        sections=sections,
        fingerprint=Fingerprint.of(sections),
    )


def _file(history: History, path: Path, root: Path) -> FileHistory:
    found = history.file(path)
    shown = _relative(path, root)
    if not path.exists():
        return FileHistory(shown, "not there yet")
    return FileHistory(shown, found.last_changed, found.modified)


def unfilled_placeholders(pack: Pack) -> list[str]:
    """Replies (by name) that would show a person a raw ``{placeholder}``."""
    return [
        reply.name
        for reply in pack.replies
        for variant in reply.variants
        if _PLACEHOLDER.search(variant.text) or any(_PLACEHOLDER.search(b) for b in variant.buttons)
    ]
