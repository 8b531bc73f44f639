"""``dit-staff``: the clinic's command line for enquiries, unanswered questions, accounts, keys
and the spool.

Only ``show`` and ``export`` reveal personal data, because staff run them deliberately;
``unanswered list`` prints what people asked, with contact details removed and no link to who
asked; every other command prints references, statuses and counts. Changes are audited under
``--staff-user`` (default: ``cli:`` and the login name).
"""

from __future__ import annotations

import getpass
import logging
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click
from sqlalchemy.exc import SQLAlchemyError

from dit_assistant.clinic_time import clinic_time
from dit_assistant.log_privacy import install as redact_logs
from dit_assistant.notify import delivery
from dit_assistant.settings import ConfigurationError, Settings, get_settings
from dit_assistant.store import (
    accounts,
    audit,
    conversations,
    crypto,
    management,
    spool,
    unanswered,
)
from dit_assistant.store.database import Database, open_database
from dit_assistant.store.enquiries import normalise_reference, replay_spool
from dit_assistant.store.models import NOTIFICATION_STATES, STATUSES

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class Context:
    staff_user: str
    _settings: Settings | None = None
    _database: Database | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = get_settings()
        return self._settings

    @property
    def database(self) -> Database:
        if self._database is None:
            self._database = open_database(self.settings.database_url)
        return self._database


def _friendly_errors(function: F) -> F:
    """Turn expected failures into one clear line and exit status 1, without a traceback
    (a traceback could carry SQL parameters; those are encrypted, but nobody needs them)."""

    @wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except ConfigurationError as error:
            raise click.ClickException(f"configuration: {error}") from None
        except management.EnquiryNotFound as error:
            raise click.ClickException(f"no enquiry {error.args[0]}") from None
        except unanswered.GroupNotFound as error:
            raise click.ClickException(f"no unanswered question {error.args[0]}") from None
        except accounts.AccountError as error:
            raise click.ClickException(str(error)) from None
        except SQLAlchemyError as error:
            raise click.ClickException(
                f"the database is unavailable or refused the change ({type(error).__name__})"
            ) from None
        except OSError as error:
            where = f": {error.filename}" if error.filename else ""
            raise click.ClickException(f"{error.strerror or type(error).__name__}{where}") from None

    return wrapper  # type: ignore[return-value]


def _reference(value: str) -> str:
    return normalise_reference(value)


def _date(value: datetime | None) -> Any:
    return value.date() if value else None


def _filter_options(function: F) -> F:
    options = [
        click.option("--status", type=click.Choice(STATUSES), help="only this status"),
        click.option(
            "--priority",
            type=click.Choice(["yes", "no"]),
            help="only enquiries with (yes) or without (no) a safety route",
        ),
        click.option("--channel", help="only this channel, e.g. rest, socketio, telegram"),
        click.option(
            "--since",
            type=click.DateTime(["%Y-%m-%d"]),
            help="received on or after this day (the clinic's time zone)",
        ),
        click.option(
            "--until",
            type=click.DateTime(["%Y-%m-%d"]),
            help="received on or before this day (the clinic's time zone)",
        ),
    ]
    for option in reversed(options):
        function = option(function)
    return function


def _filters(
    zone: tzinfo,
    status: str | None,
    priority: str | None,
    channel: str | None,
    since: datetime | None,
    until: datetime | None,
) -> management.EnquiryFilter:
    """The filter options; ``--since`` and ``--until`` are days of the clinic's time zone."""
    return management.EnquiryFilter(
        status=status,
        priority=None if priority is None else priority == "yes",
        channel=channel,
        created_from=_date(since),
        created_to=_date(until),
        zone=zone,
    )


def _when(value: datetime | None, zone: tzinfo) -> str:
    """A stored (UTC) time in the clinic's time zone: ``2026-07-01 00:30 BST``."""
    return clinic_time(value, zone) or "-"


def _read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--staff-user",
    metavar="NAME",
    help="name recorded in the audit trail (default: cli:<your login name>)",
)
@click.option("-v", "--verbose", is_flag=True, help="log what happens (never personal data)")
@click.pass_context
def cli(ctx: click.Context, staff_user: str | None, verbose: bool) -> None:
    """Enquiries, staff accounts, encryption keys and the spool of the DIT assistant."""
    redact_logs()
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
    ctx.obj = Context(staff_user=staff_user or f"cli:{getpass.getuser()}")


pass_context = click.make_pass_decorator(Context)


# ------------------------------------------------------------------------------- enquiries
@cli.command("list")
@_filter_options
@click.option("--limit", type=int, default=200, show_default=True, help="at most this many")
@pass_context
@_friendly_errors
def list_command(ctx: Context, limit: int, **filters: Any) -> None:
    """List enquiries, newest first (references and statuses only, no personal data)."""
    zone = ctx.settings.zone
    rows = management.list_summaries(ctx.database, _filters(zone, **filters), limit=limit)
    if not rows:
        click.echo("No enquiries.")
        return
    click.echo(f"{'REFERENCE':<11} {'RECEIVED':<22} {'STATUS':<10} PRIORITY  CHANNEL   BY")
    for row in rows:
        click.echo(
            f"{row.reference:<11} {_when(row.created_at, zone):<22} {row.status:<10} "
            f"{'yes' if row.priority else 'no':<9} {row.channel:<9} {row.contact_method}"
        )


@cli.command()
@click.argument("reference", type=_reference)
@pass_context
@_friendly_errors
def show(ctx: Context, reference: str) -> None:
    """Show one enquiry with its personal data and notes (the look is audited)."""
    record = management.get_enquiry(ctx.database, reference, viewed_by=ctx.staff_user)
    zone = ctx.settings.zone
    lines = [
        ("Reference", record.reference),
        ("Status", f"{record.status} (since {_when(record.status_changed_at, zone)})"),
        ("Priority", "yes: the conversation included a safety route" if record.priority else "no"),
        ("Received", f"{_when(record.created_at, zone)} via {record.channel}"),
        ("Name", record.preferred_name),
        ("Contact by", f"{record.contact_method}: {record.contact_detail}"),
        ("Best times", record.best_times or "-"),
        ("Help with", record.help_with or "-"),
        ("Consent", f"{_when(record.consent_at, zone)}, notice {record.privacy_notice_version}"),
    ]
    for label, value in lines:
        click.echo(f"{label + ':':<12} {value}")
    for note in record.notes:
        click.echo(f"Note {_when(note.created_at, zone)} {note.author}: {note.text}")


@cli.command("set-status")
@click.argument("reference", type=_reference)
@click.argument("status", type=click.Choice(STATUSES))
@pass_context
@_friendly_errors
def set_status(ctx: Context, reference: str, status: str) -> None:
    """Change an enquiry's status (new, contacted, closed)."""
    changed = management.set_status(ctx.database, reference, status, ctx.staff_user)
    click.echo(f"{reference} is {status}." if changed else f"{reference} was already {status}.")


@cli.command("add-note")
@click.argument("reference", type=_reference)
@click.argument("text")
@pass_context
@_friendly_errors
def add_note(ctx: Context, reference: str, text: str) -> None:
    """Add a staff note (stored encrypted). TEXT "-" reads the note from standard input."""
    if text == "-":
        text = sys.stdin.read()
    management.add_note(ctx.database, reference, text, ctx.staff_user)
    click.echo(f"Note added to {reference}.")


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@_filter_options
@click.option("--force", is_flag=True, help="overwrite FILE if it exists")
@pass_context
@_friendly_errors
def export(ctx: Context, file: Path, force: bool, **filters: Any) -> None:
    """Export enquiries with personal data to a CSV file readable only by you (mode 600)."""
    from dit_assistant.staff.export import csv_text

    chosen = _filters(ctx.settings.zone, **filters)
    records = management.list_enquiries(ctx.database, chosen, with_notes=True)
    text, count = csv_text(records, ctx.settings.zone)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if force else os.O_EXCL)
    try:
        descriptor = os.open(file, flags, 0o600)
    except FileExistsError:
        raise click.ClickException(f"{file} exists; use --force to overwrite it") from None
    with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
        handle.write(text)
    management.record_export(ctx.database, count, ctx.staff_user, chosen)
    click.echo(f"Exported {count} enquiries to {file}.")


@cli.command()
@click.argument("reference", type=_reference)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@pass_context
@_friendly_errors
def delete(ctx: Context, reference: str, yes: bool) -> None:
    """Delete one enquiry and its notes for good (a person's request to erase their data)."""
    management.get_enquiry(ctx.database, reference)  # fail before asking if it does not exist
    if not yes:
        click.confirm(f"Delete {reference} and its notes for good?", abort=True)
    management.delete_enquiry(ctx.database, reference, ctx.staff_user)
    click.echo(f"{reference} deleted.")


@cli.command()
@click.option("--dry-run", is_flag=True, help="only list what would be deleted")
@pass_context
@_friendly_errors
def purge(ctx: Context, dry_run: bool) -> None:
    """Delete closed enquiries, unanswered questions and conversations older than their
    retention periods (RETENTION_DAYS, UNANSWERED_RETENTION_DAYS, CONVERSATION_RETENTION_DAYS)."""
    days = ctx.settings.retention_days
    question_days = ctx.settings.unanswered_retention_days
    conversation_days = ctx.settings.conversation_retention_days
    if dry_run:
        references = management.expired_references(ctx.database, days)
        questions = unanswered.expired_count(ctx.database, question_days)
        chats = conversations.expired_conversation_count(ctx.database, conversation_days)
        verb = "would be deleted"
    else:
        references = management.purge_expired(ctx.database, days, ctx.staff_user)
        questions = unanswered.purge_unanswered(ctx.database, question_days, ctx.staff_user)
        chats = conversations.purge_conversations(ctx.database, conversation_days, ctx.staff_user)
        verb = "deleted"
    click.echo(f"{len(references)} enquiries closed more than {days} days ago {verb}.")
    for reference in references:
        click.echo(f"  {reference}")
    click.echo(f"{questions} unanswered questions older than {question_days} days {verb}.")
    click.echo(
        f"{chats} conversations with no message for more than {conversation_days} days {verb}."
    )


@cli.command("audit")
@click.option("--limit", type=int, default=50, show_default=True)
@pass_context
@_friendly_errors
def audit_command(ctx: Context, limit: int) -> None:
    """Show the latest audit entries (who did what to which reference, and when)."""
    zone = ctx.settings.zone
    for entry in audit.recent_audit(ctx.database, limit):
        click.echo(
            f"{_when(entry.occurred_at, zone)}  {entry.action:<15} {entry.reference or '-':<11} "
            f"{entry.staff_user or 'system'}{'  ' + entry.detail if entry.detail else ''}"
        )


# ---------------------------------------------------------------------- unanswered questions
@cli.group("unanswered")
def unanswered_group() -> None:
    """Questions the assistant had no answer to, grouped by similarity (contact details removed).

    Write content for a common one (bot/domain/, bot/data/nlu/), then mark its group covered.
    """


def _short(text: str, width: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@unanswered_group.command("list")
@click.option("--covered", is_flag=True, help="list the groups already marked covered instead")
@click.option("--all-questions", is_flag=True, help="print every question of each group")
@pass_context
@_friendly_errors
def unanswered_list(ctx: Context, covered: bool, all_questions: bool) -> None:
    """List groups of similar unanswered questions, newest first, with counts.

    GROUP is the number to give to ``covered`` and ``delete``.
    """
    grouped = unanswered.list_groups(ctx.database, covered)
    if not grouped.groups:
        click.echo("No covered questions." if covered else "No unanswered questions.")
        return
    shown = sum(group.count for group in grouped.groups)
    state = "covered" if covered else "not yet covered"
    click.echo(f"{shown} questions {state} in {len(grouped.groups)} groups, newest first.")
    if grouped.total > shown:
        click.echo(f"Only the newest {shown} of {grouped.total} were grouped.")
    click.echo(f"{'GROUP':>6} {'COUNT':>5}  {'NEWEST':<10}  {'OLDEST':<10}  EXAMPLE")
    for group in grouped.groups:
        click.echo(
            f"{group.key:>6} {group.count:>5}  {group.newest.isoformat():<10}  "
            f"{group.oldest.isoformat():<10}  {_short(group.example, 80)}"
        )
        if all_questions:
            for question in group.questions:
                topic = f" [{question.nearest_intent}]" if question.nearest_intent else ""
                click.echo(
                    f"{'':>14}{question.received_on.isoformat()} {question.channel}{topic}: "
                    f"{_short(question.text, 200)}"
                )


@unanswered_group.command("covered")
@click.argument("group", type=int)
@pass_context
@_friendly_errors
def unanswered_covered(ctx: Context, group: int) -> None:
    """Mark GROUP covered by new content: hidden from the list, deleted at retention."""
    found = unanswered.find_group(ctx.database, group)
    changed = unanswered.mark_covered(ctx.database, found.ids, ctx.staff_user)
    if changed:
        click.echo(f"Group {group}: {changed} questions marked covered.")
    else:
        click.echo(f"Group {group} was already covered.")


@unanswered_group.command("delete")
@click.argument("group", type=int)
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
@pass_context
@_friendly_errors
def unanswered_delete(ctx: Context, group: int, yes: bool) -> None:
    """Delete GROUP's questions for good."""
    found = unanswered.find_group(ctx.database, group)
    if not yes:
        click.confirm(f"Delete the {found.count} questions of group {group} for good?", abort=True)
    deleted = unanswered.delete_questions(ctx.database, found.ids, ctx.staff_user)
    click.echo(f"Group {group}: {deleted} questions deleted.")


# --------------------------------------------------------------------------------- accounts
@cli.command("create-user")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@pass_context
@_friendly_errors
def create_user(ctx: Context, name: str, password_stdin: bool) -> None:
    """Create a dashboard account (the only way accounts are made)."""
    accounts.create_user(ctx.database, name, _read_password(password_stdin), ctx.staff_user)
    click.echo(f"Account {name} created.")


@cli.command("set-password")
@click.argument("name")
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@pass_context
@_friendly_errors
def set_password(ctx: Context, name: str, password_stdin: bool) -> None:
    """Set a new password for an account (and enable it again); this logs the account out of
    every dashboard session."""
    ended = accounts.set_password(
        ctx.database, name, _read_password(password_stdin), ctx.staff_user
    )
    sessions = "session" if ended == 1 else "sessions"
    click.echo(f"Password of {name} changed; {ended} dashboard {sessions} logged out.")


@cli.command("disable-user")
@click.argument("name")
@pass_context
@_friendly_errors
def disable_user(ctx: Context, name: str) -> None:
    """Stop an account from logging in; its dashboard sessions end at once."""
    accounts.set_active(ctx.database, name, False, ctx.staff_user)
    click.echo(f"Account {name} disabled.")


@cli.command("users")
@pass_context
@_friendly_errors
def users(ctx: Context) -> None:
    """List dashboard accounts."""
    for name, active in accounts.usernames(ctx.database):
        click.echo(f"{name}{'' if active else ' (disabled)'}")


# ------------------------------------------------------------------------- keys and spool
@cli.command("generate-key")
def generate_key() -> None:
    """Print a new encryption key for ENQUIRY_KEYS."""
    click.echo(crypto.generate_key())


@cli.command("rotate-keys")
@pass_context
@_friendly_errors
def rotate_keys(ctx: Context) -> None:
    """Re-encrypt every enquiry, note, unanswered question, conversation and spooled file with
    the newest key.

    Put the new key first in ENQUIRY_KEYS (keep the old ones after it), run this, then remove
    the old keys.
    """
    cipher = crypto.load_cipher(ctx.settings)
    rows = management.rotate_keys(ctx.database, cipher, ctx.staff_user)
    files = spool.Spool(ctx.settings.spool_dir, cipher).rotate()
    click.echo(f"Re-encrypted {rows} database rows and {files} spooled files with the newest key.")
    if cipher.key_count > 1 and ctx.settings.enquiry_keys:
        click.echo("The older keys in ENQUIRY_KEYS are no longer needed and can be removed.")
    elif cipher.key_count > 1:
        legacy = ctx.settings.var_dir / crypto.LEGACY_DEV_KEY_FILE
        click.echo(f"The older development key {legacy} is no longer needed and can be deleted.")


@cli.command("replay-spool")
@pass_context
@_friendly_errors
def replay_spool_command(ctx: Context) -> None:
    """Move enquiries kept in the local spool (database outage) into the database."""
    moved = replay_spool(ctx.database)
    left = len(spool.Spool(ctx.settings.spool_dir, crypto.load_cipher(ctx.settings)).pending())
    click.echo(f"Moved {moved} enquiries from the spool into the database; {left} left.")
    if moved and ctx.settings.notifications.enabled:
        result = delivery.deliver_due(ctx.database, ctx.settings)
        click.echo(f"Staff notices: {result.sent} sent, {result.failed} failed (retried later).")
    if left:
        raise click.ClickException("some spooled files could not be replayed: see the log")


# --------------------------------------------------------------------------- notifications
@cli.command()
@click.option("--retry", is_flag=True, help="send every unsent notice now, due or not")
@pass_context
@_friendly_errors
def notify(ctx: Context, retry: bool) -> None:
    """Staff notices of new enquiries: what was sent, what failed (references only).

    The action server sends them and retries failures by itself; --retry sends every notice not
    yet sent at once (e.g. after fixing SMTP_* settings), and can also run from cron when the
    action server does not.
    """
    config = ctx.settings.notifications
    if not config.enabled:
        click.echo("Notifications are off: set SMTP_* and NOTIFY_EMAIL_* or NOTIFY_WEBHOOK_URL.")
    elif retry:
        result = delivery.deliver_due(ctx.database, ctx.settings, force=True)
        click.echo(f"Sent {result.sent} notices; {result.failed} failed.")
    status = delivery.notification_status(ctx.database)
    counts = ", ".join(f"{state} {status.counts.get(state, 0)}" for state in NOTIFICATION_STATES)
    click.echo(f"Notices: {counts}.")
    for reference, target, attempts, error in status.not_notified:
        click.echo(f"  not notified: {reference} by {target}, {attempts} tries, last {error}")
    if retry and status.not_notified:
        raise click.ClickException("some notices could not be sent: see above")


@cli.command()
@click.option("--if-due", is_flag=True, help="only if NOTIFY_DIGEST is on and none went today")
@pass_context
@_friendly_errors
def digest(ctx: Context, if_due: bool) -> None:
    """Send the digest (counts by status, oldest enquiry not yet contacted; no personal data)."""
    if not ctx.settings.notifications.enabled:
        raise click.ClickException("notifications are off: nowhere to send the digest")
    if if_due and not delivery.digest_due(ctx.database, ctx.settings):
        click.echo("No digest due.")
        return
    try:
        sent = delivery.send_digest(ctx.database, ctx.settings, staff_user=ctx.staff_user)
    except Exception as error:  # noqa: BLE001 - the type only: messages may name servers
        raise click.ClickException(
            f"the digest could not be sent ({type(error).__name__})"
        ) from None
    click.echo(f"Digest sent by {', '.join(sent)}.")


# -------------------------------------------------------------------------------- dashboard
@cli.command()
@click.option("--port", type=int, help="port on 127.0.0.1 (default: DASHBOARD_PORT, 5010)")
@pass_context
@_friendly_errors
def serve(ctx: Context, port: int | None) -> None:
    """Run the staff dashboard on http://127.0.0.1:PORT."""
    from dit_assistant.staff.web import run

    logging.getLogger("dit_assistant").setLevel(logging.INFO)
    run(ctx.settings, port or ctx.settings.dashboard_port)


def main(argv: Sequence[str] | None = None) -> int:
    """Console-script entry point."""
    try:  # click ends every run, successful or not, with SystemExit
        cli.main(args=list(argv) if argv is not None else None, prog_name="dit-staff")
    except SystemExit as done:
        return int(done.code or 0) if not isinstance(done.code, str) else 1
