"""The dashboard's pages. Every page but login and health needs a signed-in staff account."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import date, datetime, timedelta
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from dit_assistant.clinic_time import clinic_time, in_zone, zone_name
from dit_assistant.notify.messages import age
from dit_assistant.staff.charts import (
    conversations_chart,
    ranked_chart,
    routes_chart,
    weekly_chart,
)
from dit_assistant.staff.export import csv_text, statistics_csv
from dit_assistant.staff.state import Dashboard, current_dashboard
from dit_assistant.store import accounts, management, unanswered
from dit_assistant.store.enquiries import REFERENCE_ALPHABET, REFERENCE_PREFIX
from dit_assistant.store.models import STATUSES, utcnow
from dit_assistant.store.statistics import Statistics, weekly_statistics

logger = logging.getLogger(__name__)

blueprint = Blueprint("dashboard", __name__)
F = TypeVar("F", bound=Callable[..., Any])

REFERENCE = re.compile(rf"^{REFERENCE_PREFIX}[{REFERENCE_ALPHABET}]{{5}}$")
LIST_LIMIT = 500
WRONG_LOGIN = "Wrong username or password."
TOO_MANY = "Too many failed attempts for this account. Wait 15 minutes and try again."
SESSION_ENDED = "Your session has ended. Please log in again."
WRONG_CURRENT = "The current password is not right."


def dashboard() -> Dashboard:
    return current_dashboard()


@blueprint.app_template_filter("when")
def _when(value: datetime | None) -> str:
    """A stored (UTC) time in the clinic's time zone, e.g. ``2026-07-01 00:30 BST``."""
    return clinic_time(value, dashboard().settings.zone)


@blueprint.app_context_processor
def _template_globals() -> dict[str, Any]:
    settings = dashboard().settings
    return {
        "clinic_name": settings.clinic.name,
        "clinic_zone": zone_name(settings.zone),
        "statuses": STATUSES,
    }


@blueprint.before_app_request
def _load_staff() -> None:
    """The account of this request's session, checked on the server every time: a cookie of a
    session that was logged out, expired, idled out or ended by a new password is refused."""
    g.staff = None
    if not session:
        return
    state = dashboard()
    token = session.get("sid")
    if token is not None:
        now = state.clock()
        g.staff = accounts.session_account(state.database, token, state.policy, now)
        if g.staff is not None:
            state.purge_if_due(now)
            return
    if token is not None or "uid" in session:  # "uid": a cookie from before server sessions
        session.clear()
        flash(SESSION_ENDED, "info")


def login_required(view: F) -> F:
    @wraps(view)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if g.staff is None:
            return redirect(url_for("dashboard.login", next=request.full_path))
        return view(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def is_same_site_path(target: str | None) -> bool:
    """Whether ``target`` is a path on this site, safe to redirect to after signing in.

    Browsers drop tabs and line breaks from URLs and read a backslash as a slash, so
    ``/\\t/evil.example`` or ``/\\evil`` would become ``//evil.example``: another site. Only a
    path of printable characters without backslashes, no scheme and no host passes.
    """
    if not target or len(target) > 2000 or not target.startswith("/"):
        return False
    if any(char == "\\" or not char.isprintable() or char.isspace() for char in target):
        return False
    parts = urlsplit(target)
    return not target.startswith("//") and not parts.scheme and not parts.netloc


def _safe_next(target: str | None) -> str:
    """Only paths on this dashboard: never an open redirect to another site."""
    if target and is_same_site_path(target):
        return target
    return url_for("dashboard.enquiries")


def _checked_reference(reference: str) -> str:
    if not REFERENCE.match(reference):
        abort(404)
    return reference


# ------------------------------------------------------------------------------ sign in/out
@blueprint.get("/health")
def health() -> Response:
    return Response("ok\n", mimetype="text/plain")


@blueprint.route("/login", methods=["GET", "POST"])
def login() -> Any:
    if request.method == "GET":
        if g.staff is not None:
            return redirect(url_for("dashboard.enquiries"))
        return render_template("login.html", next=request.args.get("next", ""))
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    target = request.form.get("next", "")
    state = dashboard()
    if state.throttle.blocked(username):
        return render_template("login.html", error=TOO_MANY, next=target, username=username), 429
    account = accounts.authenticate(state.database, username, password) if username else None
    if account is None:
        state.throttle.failed(username)
        return render_template("login.html", error=WRONG_LOGIN, next=target, username=username), 401
    state.throttle.succeeded(username)
    accounts.end_session(state.database, session.get("sid"))  # a session it replaces, if any
    _begin_session(accounts.start_session(state.database, account.id, state.clock()))
    return redirect(_safe_next(target))


def _begin_session(token: str) -> None:
    """A fresh cookie holding only the new session's token (and, soon, a new CSRF secret)."""
    session.clear()
    session.permanent = True
    session["sid"] = token


@blueprint.post("/logout")
def logout() -> Any:
    """Ends the session on the server: this cookie, and any copy of it, no longer works."""
    accounts.end_session(
        dashboard().database, session.get("sid"), g.staff.username if g.staff else None
    )
    session.clear()
    flash("You are logged out.", "info")
    return redirect(url_for("dashboard.login"))


def _password_page(error: str | None = None) -> str:
    return render_template(
        "password.html",
        active="password",
        error=error,
        min_length=accounts.MIN_PASSWORD_LENGTH,
    )


@blueprint.route("/password", methods=["GET", "POST"])
@login_required
def change_password() -> Any:
    """A staff member's own new password; every other session of the account is logged out."""
    if request.method == "GET":
        return _password_page()
    state = dashboard()
    username = g.staff.username
    current = request.form.get("current_password", "")
    new = request.form.get("new_password", "")

    def refused(error: str, status: int) -> tuple[str, int]:
        return _password_page(error), status

    if state.throttle.blocked(username):
        return refused(TOO_MANY, 429)
    if new != request.form.get("repeat_password", ""):
        return refused("The two new passwords are not the same.", 400)
    try:
        token = accounts.change_password(state.database, g.staff.id, current, new, state.clock())
    except accounts.WrongPassword:
        state.throttle.failed(username)
        return refused(WRONG_CURRENT, 400)
    except accounts.AccountError as error:
        return refused(f"The new password cannot be used: {error}.", 400)
    _begin_session(token)
    flash("Password changed. Every other session of this account is logged out.", "info")
    return redirect(url_for("dashboard.enquiries"))


# -------------------------------------------------------------------------------- enquiries
def _parse_date(name: str) -> date | None:
    raw = request.args.get(name, "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        flash(f"Ignored the date {raw!r}: use the form YYYY-MM-DD.", "error")
        return None


def _filters() -> management.EnquiryFilter:
    status = request.args.get("status", "")
    priority = request.args.get("priority", "")
    return management.EnquiryFilter(
        status=status if status in STATUSES else None,
        priority={"yes": True, "no": False}.get(priority),
        channel=request.args.get("channel", "").strip() or None,
        created_from=_parse_date("from"),
        created_to=_parse_date("to"),
        zone=dashboard().settings.zone,
    )


def _query_string() -> str:
    keys = ("status", "priority", "channel", "from", "to")
    return urlencode({k: request.args[k] for k in keys if request.args.get(k)})


@blueprint.get("/")
@login_required
def index() -> Any:
    return redirect(url_for("dashboard.enquiries"))


@blueprint.get("/enquiries")
@login_required
def enquiries() -> Any:
    state = dashboard()
    filters = _filters()
    records = management.list_enquiries(state.database, filters, state.cipher, limit=LIST_LIMIT)
    return render_template(
        "list.html",
        active="enquiries",
        records=records,
        total=management.count_enquiries(state.database, filters),
        limit=LIST_LIMIT,
        channels=management.channels(state.database),
        filters=filters,
        args=request.args,
        query=_query_string(),
    )


@blueprint.get("/enquiries/<reference>")
@login_required
def detail(reference: str) -> Any:
    state = dashboard()
    try:
        record = management.get_enquiry(
            state.database, _checked_reference(reference), state.cipher, g.staff.username
        )
    except management.EnquiryNotFound:
        abort(404)
    return render_template("detail.html", active="enquiries", record=record)


@blueprint.post("/enquiries/<reference>/status")
@login_required
def change_status(reference: str) -> Any:
    status = request.form.get("status", "")
    if status not in STATUSES:
        flash("Choose one of the statuses.", "error")
    else:
        try:
            changed = management.set_status(
                dashboard().database, _checked_reference(reference), status, g.staff.username
            )
        except management.EnquiryNotFound:
            abort(404)
        flash(f"Status set to {status}." if changed else f"It was already {status}.", "info")
    return redirect(url_for("dashboard.detail", reference=reference))


@blueprint.post("/enquiries/<reference>/notes")
@login_required
def add_note(reference: str) -> Any:
    text = request.form.get("note", "").strip()
    if not text:
        flash("The note was empty, so nothing was added.", "error")
    else:
        state = dashboard()
        try:
            management.add_note(
                state.database, _checked_reference(reference), text, g.staff.username, state.cipher
            )
        except management.EnquiryNotFound:
            abort(404)
        flash("Note added.", "info")
    return redirect(url_for("dashboard.detail", reference=reference))


@blueprint.route("/enquiries/<reference>/delete", methods=["GET", "POST"])
@login_required
def delete(reference: str) -> Any:
    state = dashboard()
    reference = _checked_reference(reference)
    if request.method == "GET" or request.form.get("confirm") != "yes":
        try:
            record = management.get_enquiry(state.database, reference, state.cipher)
        except management.EnquiryNotFound:
            abort(404)
        return render_template("confirm_delete.html", active="enquiries", record=record)
    try:
        management.delete_enquiry(state.database, reference, g.staff.username)
    except management.EnquiryNotFound:
        abort(404)
    flash(f"{reference} and its notes were deleted.", "info")
    return redirect(url_for("dashboard.enquiries"))


@blueprint.get("/export.csv")
@login_required
def export() -> Response:
    state = dashboard()
    filters = _filters()
    records = management.list_enquiries(state.database, filters, state.cipher, with_notes=True)
    zone = state.settings.zone
    text, count = csv_text(records, zone)
    management.record_export(state.database, count, g.staff.username, filters)
    filename = f"enquiries-{in_zone(utcnow(), zone):%Y%m%d-%H%M}.csv"
    return Response(
        text,
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ------------------------------------------------------------------------------- statistics
WEEK_CHOICES = (4, 12, 26, 52)
DEFAULT_WEEKS = 12


@blueprint.app_template_filter("percent")
def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


@blueprint.app_template_filter("duration")
def _duration(value: timedelta | None) -> str:
    return "—" if value is None else age(value)


def _weeks() -> int:
    raw = request.args.get("weeks", "")
    return int(raw) if raw.isdigit() and int(raw) in WEEK_CHOICES else DEFAULT_WEEKS


def _statistics() -> Statistics:
    state = dashboard()
    return weekly_statistics(state.database, _weeks(), state.clock(), state.settings.zone)


@blueprint.get("/statistics")
@login_required
def statistics() -> Any:
    stats = _statistics()
    return render_template(
        "statistics.html",
        active="statistics",
        stats=stats,
        week_choices=WEEK_CHOICES,
        weeks=len(stats.weeks),
        conversations_chart=conversations_chart(stats.weeks),
        chart=weekly_chart(stats.weeks),
        routes_chart=routes_chart(stats.weeks, stats.routes),
        topics_chart=ranked_chart(stats.topics),
    )


@blueprint.get("/statistics.csv")
@login_required
def statistics_export() -> Response:
    """The statistics' figures as CSV: counts only, no personal data, so no audit entry."""
    stats = _statistics()
    first, last = stats.weeks[0].starts, stats.weeks[-1].starts
    filename = f"statistics-{first:%Y%m%d}-{last:%Y%m%d}.csv"
    return Response(
        statistics_csv(stats),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


# ---------------------------------------------------------------------- unanswered questions
def _question_ids() -> list[int]:
    """The ids of the group the staff member saw, as posted by its form."""
    raw = request.form.get("ids", "")
    parts = [part for part in raw.split(",") if part]
    if not parts or len(parts) > unanswered.GROUPING_LIMIT or not all(p.isdigit() for p in parts):
        abort(400)
    return [int(part) for part in parts]


@blueprint.get("/unanswered")
@login_required
def unanswered_questions() -> Any:
    state = dashboard()
    covered = request.args.get("covered") == "1"
    grouped = unanswered.list_groups(state.database, covered, state.cipher)
    return render_template(
        "unanswered.html",
        active="unanswered",
        grouped=grouped,
        covered=covered,
        shown=sum(group.count for group in grouped.groups),
        retention_days=state.settings.unanswered_retention_days,
    )


@blueprint.post("/unanswered/covered")
@login_required
def mark_unanswered_covered() -> Any:
    changed = unanswered.mark_covered(dashboard().database, _question_ids(), g.staff.username)
    if changed:
        flash(f"{changed} {'question' if changed == 1 else 'questions'} marked covered.", "info")
    else:
        flash("Those questions were already covered or deleted.", "info")
    return redirect(url_for("dashboard.unanswered_questions"))


@blueprint.post("/unanswered/delete")
@login_required
def delete_unanswered() -> Any:
    state = dashboard()
    ids = _question_ids()
    covered = request.form.get("covered") == "1"
    if request.form.get("confirm") != "yes":
        wanted = set(ids)
        questions = [
            q
            for q in unanswered.list_questions(state.database, covered, state.cipher)
            if q.id in wanted
        ]
        if not questions:
            abort(404)
        return render_template(
            "confirm_delete_unanswered.html",
            active="unanswered",
            questions=questions,
            ids=",".join(str(q.id) for q in questions),
            covered=covered,
        )
    deleted = unanswered.delete_questions(state.database, ids, g.staff.username)
    flash(f"{deleted} {'question' if deleted == 1 else 'questions'} deleted.", "info")
    return redirect(url_for("dashboard.unanswered_questions", covered="1" if covered else None))
