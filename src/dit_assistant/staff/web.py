"""The staff dashboard: a small Flask app on 127.0.0.1, served by Waitress.

Security choices, each for a reason:
- sessions live on the server (``staff_sessions``, see ``store/accounts.py``): the cookie,
  Flask's own signed cookie (itsdangerous), carries only a random token that is looked up on
  every request, so logging out, a new password or a disabled account end a session at once, and
  a session ends ``DASHBOARD_SESSION_HOURS`` after logging in or ``DASHBOARD_IDLE_MINUTES``
  after its last request, whichever comes first; the cookie is not re-issued on every request,
  so it does not slide either;
- the cookie is HttpOnly, SameSite=Strict and Secure (Chromium-based browsers
  accept Secure cookies from http://127.0.0.1, as the browser tests check;
  ``DASHBOARD_SECURE_COOKIES=false`` exists for a browser that does not, refused in production);
- every POST carries a CSRF token (Flask-WTF), and SameSite=Strict is a second line;
- pages forbid framing, scripts, styles and images from anywhere else (CSP), hold no JavaScript
  at all, and are never cached, since they show personal data;
- Jinja escapes everything, because names and free text are typed by the public;
- failed logins are throttled per account name.
"""

from __future__ import annotations

import logging

from flask import Flask, Response, render_template, request
from flask_wtf.csrf import CSRFError, CSRFProtect

from dit_assistant.paths import HOST
from dit_assistant.settings import Settings, get_settings
from dit_assistant.staff import views
from dit_assistant.staff.state import EXTENSION_KEY, Dashboard
from dit_assistant.store.accounts import SessionPolicy
from dit_assistant.store.crypto import dashboard_secret, load_cipher
from dit_assistant.store.database import Database, open_database

logger = logging.getLogger(__name__)

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'none'",
        "style-src 'self'",
        "img-src 'self' data:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), interest-cohort=()",
}


def _security_headers(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    if request.endpoint != "static":
        response.headers["Cache-Control"] = "no-store"
    return response


def create_app(settings: Settings | None = None, database: Database | None = None) -> Flask:
    """The dashboard app. Raises ``ConfigurationError`` in production without its secrets."""

    settings = settings or get_settings()
    policy = SessionPolicy.from_settings(settings)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=dashboard_secret(settings),
        SESSION_COOKIE_NAME="dit_staff_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Strict",
        SESSION_COOKIE_SECURE=settings.dashboard_secure_cookies,
        # The browser drops the cookie when the session's lifetime is over; the server refuses it
        # then anyway, and earlier when the session was ended or left idle.
        PERMANENT_SESSION_LIFETIME=policy.lifetime,
        SESSION_REFRESH_EACH_REQUEST=False,
        WTF_CSRF_TIME_LIMIT=int(policy.lifetime.total_seconds()),
        MAX_CONTENT_LENGTH=64 * 1024,
        TEMPLATES_AUTO_RELOAD=False,
    )
    app.jinja_env.autoescape = True
    CSRFProtect(app)
    app.extensions[EXTENSION_KEY] = Dashboard(
        settings=settings,
        database=database or open_database(settings.database_url),
        cipher=load_cipher(settings),
        policy=policy,
    )
    app.register_blueprint(views.blueprint)
    app.after_request(_security_headers)

    @app.errorhandler(CSRFError)
    def _csrf_error(error: CSRFError) -> tuple[str, int]:
        logger.warning("rejected a form without a valid CSRF token (%s)", request.path)
        message = (
            "This form could not be accepted: it expired or did not come from this dashboard. "
            "Go back, reload the page and try again."
        )
        return render_template("error.html", title="Form not accepted", message=message), 400

    @app.errorhandler(404)
    def _not_found(_error: Exception) -> tuple[str, int]:
        message = "There is nothing here. The enquiry may have been deleted."
        return render_template("error.html", title="Not found", message=message), 404

    @app.errorhandler(413)
    def _too_large(_error: Exception) -> tuple[str, int]:
        return render_template("error.html", title="Too long", message="That was too long."), 413

    @app.errorhandler(500)
    def _server_error(_error: Exception) -> tuple[str, int]:
        message = "Something went wrong. The error has been logged (without personal data)."
        return render_template("error.html", title="Error", message=message), 500

    return app


def run(settings: Settings, port: int) -> None:
    """Serve the dashboard on 127.0.0.1 only, until interrupted."""
    from waitress import serve

    app = create_app(settings)
    logger.info("staff dashboard on http://%s:%d", HOST, port)
    serve(app, host=HOST, port=port, threads=4, ident="dit-staff", _quiet=True)
