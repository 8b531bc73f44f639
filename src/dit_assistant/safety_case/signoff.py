"""The Clinical Safety Officer's sign-off, and what changed since.

Every item the pack covers (each reply, each category of reviewed phrases, each helpline list,
each clinic fact, each hazard, each measured figure, each safety setting) gets a content hash;
the items of a section hash to the section's hash, and the sections to the pack's. A sign-off
stores all of them with the officer's name, role, date and decision, so the next build can say
which sections and which items changed since, not only that something did.

The sign-off file (``config/safety-sign-off.yml`` by default) belongs to the clinic, like the
clinic profile: it keeps every sign-off, newest last.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

DECISIONS = ("approved", "approved with conditions", "not approved")
ITEM_HASH_CHARS = 16
"""Item hashes are shortened: they only tell one version of an item from another."""
MIN_PACK_HASH_PREFIX = 12


class SignOffError(ValueError):
    """A sign-off that cannot be recorded, or a sign-off file that cannot be read."""


def _digest(data: Any) -> str:
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Fingerprint:
    """The content hashes of a pack: per item, per section, and of the whole."""

    items: dict[str, dict[str, str]]
    sections: dict[str, str]
    pack: str

    @classmethod
    def of(cls, sections: dict[str, dict[str, Any]]) -> Fingerprint:
        items = {
            section: {name: _digest(value)[:ITEM_HASH_CHARS] for name, value in content.items()}
            for section, content in sections.items()
        }
        section_hashes = {section: _digest(hashes) for section, hashes in items.items()}
        return cls(items=items, sections=section_hashes, pack=_digest(section_hashes))


@dataclass(frozen=True)
class SignOff:
    name: str
    role: str
    date: str
    decision: str
    notes: str
    commit: str | None
    fingerprint: Fingerprint

    def as_data(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "role": self.role,
            "date": self.date,
            "decision": self.decision,
            "notes": self.notes,
            "commit": self.commit,
            "pack_hash": self.fingerprint.pack,
            "sections": dict(self.fingerprint.sections),
            "items": {section: dict(items) for section, items in self.fingerprint.items.items()},
        }

    @classmethod
    def from_data(cls, raw: Any, where: str) -> SignOff:
        if not isinstance(raw, dict):
            raise SignOffError(f"{where} must be a mapping")
        try:
            fingerprint = Fingerprint(
                items={
                    str(s): {str(k): str(v) for k, v in i.items()} for s, i in raw["items"].items()
                },
                sections={str(k): str(v) for k, v in raw["sections"].items()},
                pack=str(raw["pack_hash"]),
            )
            return cls(
                name=str(raw["name"]),
                role=str(raw["role"]),
                date=str(raw["date"]),
                decision=str(raw["decision"]),
                notes=str(raw.get("notes") or ""),
                commit=str(raw["commit"]) if raw.get("commit") else None,
                fingerprint=fingerprint,
            )
        except (KeyError, AttributeError, TypeError) as error:
            raise SignOffError(f"{where} is incomplete ({error})") from None


def read_sign_offs(path: Path) -> list[SignOff]:
    """Every sign-off recorded in ``path``, oldest first; none when the file does not exist."""
    if not path.exists():
        return []
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        raw = yaml.load(path.read_text("utf-8"), Loader=loader) or {}  # noqa: S506 - safe loader
    except yaml.YAMLError as error:
        raise SignOffError(f"{path} is not valid YAML: {error}") from None
    entries = raw.get("sign_offs") if isinstance(raw, dict) else None
    if not isinstance(entries, list):
        raise SignOffError(f"{path} needs a 'sign_offs' list")
    return [SignOff.from_data(e, f"{path}, sign-off {n}") for n, e in enumerate(entries, 1)]


_HEADER = """\
# Sign-offs of this clinic's clinical safety pack (`make safety-case`), newest last.
# Written by `python -m dit_assistant.safety_case sign-off`: do not edit the hashes by hand.
# Each entry holds the Clinical Safety Officer's name, role, date and decision, and the content
# hashes of everything the pack covered, so later builds can say what changed since.
"""


def record_sign_off(path: Path, sign_off: SignOff) -> None:
    """Append ``sign_off`` to the file, writing it whole to a temporary file first."""
    if not sign_off.name.strip() or not sign_off.role.strip():
        raise SignOffError("a sign-off needs the officer's name and role")
    if sign_off.decision not in DECISIONS:
        raise SignOffError(f"the decision must be one of: {', '.join(DECISIONS)}")
    try:
        dt.date.fromisoformat(sign_off.date)
    except ValueError:
        raise SignOffError(f"the date must be written YYYY-MM-DD, not {sign_off.date!r}") from None
    entries = [s.as_data() for s in read_sign_offs(path)] + [sign_off.as_data()]
    text = _HEADER + yaml.safe_dump(
        {"sign_offs": entries}, sort_keys=False, allow_unicode=True, width=100
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, "utf-8")
    temporary.replace(path)


def check_reviewed_hash(reviewed: str, fingerprint: Fingerprint) -> None:
    """Refuse a sign-off unless ``reviewed`` (the pack hash printed on the document the officer
    read, or its first 12 or more characters) is the hash of the content as it is now."""
    reviewed = reviewed.strip().lower()
    if len(reviewed) < MIN_PACK_HASH_PREFIX:
        raise SignOffError(
            f"give at least the first {MIN_PACK_HASH_PREFIX} characters of the pack hash "
            "printed on the document you reviewed"
        )
    if not fingerprint.pack.startswith(reviewed):
        raise SignOffError(
            "the content has changed since the document you reviewed was built (its pack hash "
            f"is not {fingerprint.pack[:MIN_PACK_HASH_PREFIX]}...): run `make safety-case` "
            "again and review the new document"
        )


@dataclass(frozen=True)
class SectionChange:
    section: str
    added: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()


@dataclass(frozen=True)
class Changes:
    """What differs between the content now and the latest sign-off."""

    last: SignOff | None
    sections: tuple[SectionChange, ...] = field(default_factory=tuple)

    @property
    def signed_off(self) -> bool:
        return self.last is not None

    @property
    def unchanged(self) -> bool:
        return self.last is not None and not self.sections

    @property
    def approved(self) -> bool:
        """The content now is what the latest sign-off approved (with or without conditions)."""
        return self.unchanged and self.last is not None and self.last.decision != "not approved"


def changes_since(sign_offs: list[SignOff], now: Fingerprint) -> Changes:
    if not sign_offs:
        return Changes(last=None)
    last = sign_offs[-1]
    before = last.fingerprint
    changes = []
    for section in sorted(set(now.sections) | set(before.sections)):
        if now.sections.get(section) == before.sections.get(section):
            continue
        old, new = before.items.get(section, {}), now.items.get(section, {})
        changes.append(
            SectionChange(
                section=section,
                added=tuple(sorted(set(new) - set(old))),
                removed=tuple(sorted(set(old) - set(new))),
                changed=tuple(sorted(k for k in set(old) & set(new) if old[k] != new[k])),
            )
        )
    return Changes(last=last, sections=tuple(changes))
