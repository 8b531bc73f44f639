"""Copies the rasa-webchat bundle from ``web/node_modules`` to ``web/site/vendor``.

The bundle injects its CSS from JavaScript, and that CSS ``@import``s the Inter font from
Google Fonts: every visitor's browser would tell Google about the clinic page. The import is
removed here (the page's own CSS sets a system font instead), and the copy is refused if any
other outside ``@import`` or ``url(...)`` is left, so a new widget version cannot bring one in
unnoticed. ``make web`` (a prerequisite of ``make run`` and ``make test``) runs this.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

from dit_assistant.web import WEB_DIR, WEBCHAT_BUNDLE

PACKAGE_DIR = WEB_DIR / "node_modules" / "rasa-webchat"
_REMOTE_IMPORT = re.compile(r"@import\s+url\(\s*['\"]?(?:https?:)?//[^)]*\)\s*;?")
_REMOTE_CSS_URL = re.compile(r"url\(\s*['\"]?(?:https?:)?//", re.IGNORECASE)


class VendorError(RuntimeError):
    """The bundle is missing or would make the page load something from elsewhere."""


def strip_remote_css(source: str) -> tuple[str, int]:
    """Remove remote ``@import``s; fail if a remote ``url(...)`` would still be loaded."""
    cleaned, removed = _REMOTE_IMPORT.subn("", source)
    if _REMOTE_CSS_URL.search(cleaned):
        raise VendorError("the widget bundle still loads CSS from another site; check it")
    return cleaned, removed


def vendor(package_dir: Path = PACKAGE_DIR, target: Path = WEBCHAT_BUNDLE) -> int:
    bundle = package_dir / "lib" / "index.js"
    if not bundle.exists():
        raise VendorError(f"{bundle} not found: run `npm ci` in {WEB_DIR} (make web does)")
    version = json.loads((package_dir / "package.json").read_text("utf-8"))["version"]
    cleaned, removed = strip_remote_css(bundle.read_text("utf-8"))
    target.parent.mkdir(parents=True, exist_ok=True)
    header = (
        f"/*! rasa-webchat {version} (Apache-2.0, see rasa-webchat.LICENSE), vendored by "
        f"dit_assistant.web.vendor: {removed} remote font import(s) removed. */\n"
    )
    target.write_text(header + cleaned, "utf-8")
    shutil.copyfile(package_dir / "LICENSE", target.parent / "rasa-webchat.LICENSE")
    return removed


def main() -> int:
    try:
        removed = vendor()
    except VendorError as error:
        print(f"Could not vendor the chat widget: {error}", file=sys.stderr)
        return 1
    print(
        f"Chat widget copied to {WEBCHAT_BUNDLE.relative_to(WEB_DIR.parent)} "
        f"({removed} remote font import(s) removed)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
