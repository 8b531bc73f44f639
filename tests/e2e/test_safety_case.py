"""`make safety-case`'s command on the real checkout: git's dates for each file, the commits since
each measured figure, and the PDF printed by Chromium where it is installed. The content itself
is checked without subprocesses in tests/unit/test_safety_case.py."""

from __future__ import annotations

import subprocess
import sys

import yaml

from dit_assistant.safety_case.content import DOMAIN, FIGURES
from dit_assistant.safety_case.document import find_chromium
from dit_assistant.settings import PROJECT_ROOT


def git(*args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=False
    )
    return done.stdout.strip() if done.returncode == 0 else ""


def test_the_command_builds_the_pack_with_git_dates_and_a_pdf(tmp_path):
    out = tmp_path / "pack"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "dit_assistant.safety_case",
            "--sign-off-file",
            str(tmp_path / "sign-off.yml"),
            "build",
            "--out",
            str(out),
        ],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"Clinical safety pack: {out / 'safety-case.html'}" in done.stdout
    assert "Not signed off yet" in done.stdout
    document = (out / "safety-case.html").read_text("utf-8")

    head = git("rev-parse", "HEAD")
    if head:
        assert f"from commit <code>{head}</code>" in document
        domain_changed = git("log", "-1", "--format=%cs", "--", DOMAIN)
        assert f"<code>{DOMAIN}</code></td>\n<td>{domain_changed}" in document
        assert "later changes unknown" not in document
    else:
        assert "from commit <code>not in git</code>" in document

    figures = yaml.safe_load((PROJECT_ROOT / FIGURES).read_text("utf-8"))["figures"]
    for figure in figures:
        assert figure["commit"][:12] in document

    if find_chromium():
        assert "PDF: " in done.stdout, done.stderr[-2000:]
        assert (out / "safety-case.pdf").read_bytes().startswith(b"%PDF")
    else:
        assert "No PDF (Chromium is not installed)" in done.stdout
