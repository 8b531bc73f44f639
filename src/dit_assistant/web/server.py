"""A small static server for the demo clinic page, on 127.0.0.1 only.

It renders ``web/templates/index.html`` with the clinic's facts, serves ``web/site/assets`` and
the vendored widget from ``web/site/vendor``, and nothing else: no directory listings, no other
files of the checkout. Every answer carries a Content-Security-Policy that lets the page load
code and styles from this origin only and talk only to the Rasa server, so the page cannot reach
any third party even if the widget tried to.
"""

from __future__ import annotations

import html
import json
import logging
from functools import partial
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from string import Template
from typing import Any
from urllib.parse import urlsplit

from dit_assistant.paths import HOST
from dit_assistant.settings import Settings
from dit_assistant.web import SITE_DIR, TEMPLATES_DIR

logger = logging.getLogger(__name__)

SERVED_PREFIXES = ("/assets/", "/vendor/")


def websocket_origin(http_origin: str) -> str:
    parts = urlsplit(http_origin)
    return f"{'wss' if parts.scheme == 'https' else 'ws'}://{parts.netloc}"


def content_security_policy(socket_url: str) -> str:
    """Self plus the Rasa server; inline styles only because the widget injects style tags."""
    rasa = f"{urlsplit(socket_url).scheme}://{urlsplit(socket_url).netloc}"
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' data:",
            "font-src 'self' data:",  # the widget's icon fonts are inlined
            f"connect-src 'self' {rasa} {websocket_origin(rasa)}",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        ]
    )


def widget_config(settings: Settings, socket_url: str) -> dict[str, Any]:
    """What ``assets/dit-widget.js`` reads from the page's JSON config block."""
    return {
        "socketUrl": socket_url,
        "socketPath": "/socket.io/",
        "initPayload": "/greet",
        "title": settings.clinic.name,
        "subtitle": "Automated answers about DIT",
        "inputTextFieldHint": "Type your question",
        "storage": "session",
    }


def render_page(settings: Settings, socket_url: str) -> bytes:
    clinic = settings.clinic
    config = json.dumps(widget_config(settings, socket_url))
    values = {
        "clinic_name": clinic.name,
        "clinic_phone": clinic.phone,
        "clinic_phone_link": "".join(c for c in clinic.phone if c.isdigit() or c == "+"),
        "clinic_email": clinic.email,
        "clinic_address": clinic.address,
        "clinic_hours": clinic.hours,
        "clinic_formats": clinic.formats,
        "privacy_notice_url": clinic.privacy_notice_url,
        "emergency_route": settings.helplines.emergency,
        "region_label": settings.helplines.label,
    }
    escaped = {key: html.escape(value) for key, value in values.items()}
    # JSON inside <script type="application/json">: only "<" could end the element early.
    escaped["widget_config"] = config.replace("<", "\\u003c")
    template = Template((TEMPLATES_DIR / "index.html").read_text("utf-8"))
    return template.substitute(escaped).encode("utf-8")


class PageHandler(SimpleHTTPRequestHandler):
    """Serves the rendered page at ``/`` and the files under ``SERVED_PREFIXES``."""

    server_version = "dit-assistant-web"
    sys_version = ""

    def __init__(self, *args: Any, page: bytes, csp: str, **kwargs: Any) -> None:
        self.page = page
        self.csp = csp
        super().__init__(*args, directory=str(SITE_DIR), **kwargs)

    def end_headers(self) -> None:
        self.send_header("Content-Security-Policy", self.csp)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        self.send_header("Cache-Control", "no-cache")
        super().end_headers()

    def _route(self) -> bool:
        """Answer the page or a 404 here; True means: serve a file the normal way."""
        path = urlsplit(self.path).path
        if path in ("/", "/index.html"):
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(self.page)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(self.page)
            return False
        if path.startswith(SERVED_PREFIXES) and not path.endswith("/"):
            return True
        self.send_error(HTTPStatus.NOT_FOUND)
        return False

    def do_GET(self) -> None:
        if self._route():
            super().do_GET()

    def do_HEAD(self) -> None:
        if self._route():
            super().do_HEAD()

    def list_directory(self, path: Any) -> None:
        self.send_error(HTTPStatus.NOT_FOUND)
        return None

    def log_message(self, format: str, *args: Any) -> None:
        """Debug level only: an access log of a clinic page would be personal data."""
        logger.debug(format, *args)


def make_server(settings: Settings, port: int, socket_url: str) -> ThreadingHTTPServer:
    handler = partial(
        PageHandler,
        page=render_page(settings, socket_url),
        csp=content_security_policy(socket_url),
    )
    return ThreadingHTTPServer((HOST, port), handler)
