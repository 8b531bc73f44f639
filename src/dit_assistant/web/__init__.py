"""The demo clinic page and its chat widget, served from our own origin.

``vendor`` copies the rasa-webchat bundle (installed by npm in ``web/``) to a served location,
with its only outside request, a Google Fonts ``@import``, removed. ``server`` serves the page,
its assets and that bundle on 127.0.0.1 with a Content-Security-Policy that allows only this
origin and the Rasa server. ``make run`` starts it (``python -m dit_assistant.web``).
"""

from __future__ import annotations

from dit_assistant.settings import PROJECT_ROOT

WEB_DIR = PROJECT_ROOT / "web"
SITE_DIR = WEB_DIR / "site"
"""Served as is: ``assets/`` (committed) and ``vendor/`` (generated, not committed)."""
TEMPLATES_DIR = WEB_DIR / "templates"
VENDOR_DIR = SITE_DIR / "vendor"
WEBCHAT_BUNDLE = VENDOR_DIR / "webchat.js"
