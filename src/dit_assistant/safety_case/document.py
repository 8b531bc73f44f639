"""The safety pack as one HTML document, and as PDF where Chromium is installed.

The HTML loads nothing from elsewhere (styles inline, no scripts), so it can be mailed, archived
or opened offline. The PDF is Chromium's print of that same file (``--print-to-pdf``): Chromium is
what the project's browser tests already use (``scripts/install-system-packages``), so no other
renderer is needed; without it the pack is HTML only, and says so.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from functools import lru_cache
from itertools import groupby
from pathlib import Path

from jinja2 import Environment, PackageLoader, select_autoescape

from dit_assistant.safety_case.content import SECTION_TITLES, Pack, Reply
from dit_assistant.safety_case.hazards import LIKELIHOODS, RATING_MEANINGS, SEVERITIES, risk_rating
from dit_assistant.safety_case.signoff import DECISIONS, MIN_PACK_HASH_PREFIX, Changes, SignOff

HTML_NAME = "safety-case.html"
PDF_NAME = "safety-case.pdf"
PDF_TIMEOUT_SECONDS = 120


@lru_cache(maxsize=1)
def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("dit_assistant.safety_case", "templates"),
        autoescape=select_autoescape(["html"]),
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _grouped(replies: Iterable[Reply]) -> list[tuple[str, list[Reply]]]:
    return [(group, list(items)) for group, items in groupby(replies, key=lambda r: r.group)]


def render_html(pack: Pack, changes: Changes, sign_offs: list[SignOff]) -> str:
    matrix = [
        (likelihood, [risk_rating(severity, likelihood) for severity in SEVERITIES])
        for likelihood in reversed(LIKELIHOODS)
    ]
    return (
        _environment()
        .get_template("safety-case.html")
        .render(
            pack=pack,
            changes=changes,
            sign_offs=sign_offs,
            reply_groups=_grouped(pack.replies),
            section_titles=SECTION_TITLES,
            severities=SEVERITIES,
            matrix=matrix,
            rating_meanings=RATING_MEANINGS,
            decisions=DECISIONS,
            hash_prefix=pack.fingerprint.pack[:MIN_PACK_HASH_PREFIX],
        )
    )


def find_chromium() -> str | None:
    """Chromium named by ``CHROMIUM``, or found on the PATH, or None."""
    for candidate in (os.environ.get("CHROMIUM"), "chromium", "chromium-browser"):
        found = shutil.which(candidate) if candidate else None
        if found:
            return found
    return None


def write_pdf(html_path: Path, pdf_path: Path, chromium: str) -> None:
    """Print the HTML document to PDF with headless Chromium, in a throwaway browser profile."""
    pdf_path.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="dit-safety-case-") as profile:
        command = [
            chromium,
            "--headless",
            "--disable-gpu",
            "--no-pdf-header-footer",
            f"--user-data-dir={profile}",
            f"--print-to-pdf={pdf_path}",
            html_path.resolve().as_uri(),
        ]
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            command.insert(1, "--no-sandbox")  # Chromium refuses to run as root otherwise
        try:
            subprocess.run(command, capture_output=True, timeout=PDF_TIMEOUT_SECONDS, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise RuntimeError(f"Chromium could not print the PDF ({error})") from None
    if not pdf_path.exists() or pdf_path.stat().st_size == 0:
        raise RuntimeError("Chromium did not write the PDF")
