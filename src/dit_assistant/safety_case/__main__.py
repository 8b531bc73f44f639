"""``python -m dit_assistant.safety_case``: build the clinical safety pack, or record a sign-off.

    python -m dit_assistant.safety_case [build] [--out DIR] [--pdf auto|yes|no] [--require-sign-off]
    python -m dit_assistant.safety_case sign-off --pack-hash HASH --name NAME --role ROLE
        --decision "approved" | "approved with conditions" | "not approved" [--date YYYY-MM-DD]
        [--notes TEXT]

Both read the checkout the package is installed from (``--root`` another) and the sign-off file
``config/safety-sign-off.yml`` (``--sign-off-file`` another, or ``SAFETY_SIGN_OFF_FILE``).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from dit_assistant.safety_case.content import (
    OUTPUT_DIR,
    SECTION_TITLES,
    SIGN_OFF,
    PackError,
    build_pack,
)
from dit_assistant.safety_case.document import (
    HTML_NAME,
    PDF_NAME,
    find_chromium,
    render_html,
    write_pdf,
)
from dit_assistant.safety_case.hazards import HazardLogError
from dit_assistant.safety_case.signoff import (
    DECISIONS,
    Changes,
    SignOff,
    SignOffError,
    changes_since,
    check_reviewed_hash,
    read_sign_offs,
    record_sign_off,
)
from dit_assistant.settings import PROJECT_ROOT, ConfigurationError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m dit_assistant.safety_case",
        description="Build the clinical safety pack, or record its sign-off.",
    )
    parser.add_argument("--root", type=Path, default=PROJECT_ROOT, help="the checkout to read")
    parser.add_argument("--sign-off-file", type=Path, help=f"default: {SIGN_OFF}")
    commands = parser.add_subparsers(dest="command")
    build = commands.add_parser("build", help="build the document (the default)")
    build.add_argument("--out", type=Path, help=f"output folder (default: {OUTPUT_DIR}/)")
    build.add_argument(
        "--pdf",
        choices=("auto", "yes", "no"),
        default="auto",
        help="also print it to PDF with Chromium: auto (when installed), yes (or fail), no",
    )
    build.add_argument(
        "--require-sign-off",
        action="store_true",
        help="exit with status 3 unless the content is exactly what was last approved",
    )
    sign = commands.add_parser("sign-off", help="record the Clinical Safety Officer's decision")
    sign.add_argument("--pack-hash", required=True, help="the hash printed on the reviewed pack")
    sign.add_argument("--name", required=True)
    sign.add_argument("--role", required=True)
    sign.add_argument("--decision", required=True, choices=DECISIONS)
    sign.add_argument("--date", default=dt.date.today().isoformat(), help="default: today")
    sign.add_argument("--notes", default="", help="conditions of the approval, or other notes")
    return parser


def describe_changes(changes: Changes) -> list[str]:
    """What ``make safety-case`` prints about the sign-off: one line, then one per section."""
    last = changes.last
    if last is None:
        return ["Not signed off yet: no sign-off is recorded for this clinic."]
    who = f"{last.decision} by {last.name} ({last.role}) on {last.date}"
    if changes.unchanged:
        if not changes.approved:
            return [f"Unchanged since the last sign-off: {who}. It is not approved for use."]
        return [f"Unchanged since the last sign-off: {who}."]
    lines = [f"Changed since the last sign-off ({who}):"]
    for change in changes.sections:
        parts = [
            f"{label}: {', '.join(names)}"
            for label, names in (
                ("changed", change.changed),
                ("new", change.added),
                ("removed", change.removed),
            )
            if names
        ]
        title = SECTION_TITLES.get(change.section, change.section)
        lines.append(f"  - {title}: {'; '.join(parts) or 'changed'}")
    return lines


def _sign_off_path(args: argparse.Namespace) -> Path:
    named = args.sign_off_file or os.environ.get("SAFETY_SIGN_OFF_FILE")
    path = Path(named) if named else args.root / SIGN_OFF
    return path if path.is_absolute() else args.root / path


def _build(args: argparse.Namespace) -> int:
    sign_off_path = _sign_off_path(args)
    pack = build_pack(args.root, sign_off_path=sign_off_path)
    sign_offs = read_sign_offs(sign_off_path)
    changes = changes_since(sign_offs, pack.fingerprint)
    out = getattr(args, "out", None) or args.root / OUTPUT_DIR
    out.mkdir(parents=True, exist_ok=True)
    html_path = out / HTML_NAME
    html_path.write_text(render_html(pack, changes, sign_offs), "utf-8")
    print(f"Clinical safety pack: {html_path}")
    pdf = getattr(args, "pdf", "auto")
    if pdf != "no":
        chromium = find_chromium()
        if chromium is None:
            if pdf == "yes":
                print("No PDF: Chromium is not installed (CHROMIUM names it).", file=sys.stderr)
                return 1
            print("No PDF (Chromium is not installed): the HTML is the whole pack.")
        else:
            try:
                write_pdf(html_path, out / PDF_NAME, chromium)
                print(f"PDF: {out / PDF_NAME}")
            except RuntimeError as error:
                print(f"No PDF: {error}", file=sys.stderr)
                if pdf == "yes":
                    return 1
    print(
        f"{len(pack.replies)} replies, {pack.phrases.count} reviewed phrases, "
        f"{len(pack.hazards)} hazards, {len(pack.figures)} measured figures; "
        f"pack hash {pack.fingerprint.pack}"
    )
    for line in describe_changes(changes):
        print(line)
    if getattr(args, "require_sign_off", False) and not changes.approved:
        return 3
    return 0


def _sign_off(args: argparse.Namespace) -> int:
    sign_off_path = _sign_off_path(args)
    pack = build_pack(args.root, sign_off_path=sign_off_path)
    check_reviewed_hash(args.pack_hash, pack.fingerprint)
    record_sign_off(
        sign_off_path,
        SignOff(
            name=args.name.strip(),
            role=args.role.strip(),
            date=args.date,
            decision=args.decision,
            notes=args.notes.strip(),
            commit=pack.commit,
            fingerprint=pack.fingerprint,
        ),
    )
    print(
        f"Recorded: {args.decision} by {args.name} ({args.role}) on {args.date}, in {sign_off_path}"
    )
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return _sign_off(args) if args.command == "sign-off" else _build(args)
    except (PackError, HazardLogError, SignOffError, ConfigurationError) as error:
        print(f"safety case: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
