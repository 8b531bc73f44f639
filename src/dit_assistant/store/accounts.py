"""Staff accounts for the dashboard: created from the command line only, Argon2 hashes; and
their sessions, kept on the server so they can be ended.

There is no sign-up page on purpose: whoever can run ``dit-staff`` on the server already has
access to the data, so account creation is tied to that access.

A dashboard session is a row of ``staff_sessions``; the browser's signed cookie carries only a
random token whose SHA-256 the row holds. Every request looks the token up
(``session_account``), so the server decides, not the cookie: logging out deletes the row (a
copied cookie stops working at once), a new password or a disabled account deletes all the
account's rows, and a session is refused once it is older than its absolute lifetime or has been
unused for longer than the idle timeout, however active it was before.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, or_, select
from sqlalchemy.orm import Session

from dit_assistant.settings import Settings
from dit_assistant.store.audit import audit
from dit_assistant.store.database import Database
from dit_assistant.store.models import StaffSession, StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("dit-assistant: no such user")
"""Verified against when the user does not exist, so a wrong name takes as long as a wrong
password and response times do not reveal which accounts exist."""


class AccountError(ValueError):
    """A username or password that cannot be used, with a message for the person typing it."""


class WrongPassword(AccountError):
    """The current password given to change it was not right."""


@dataclass(frozen=True)
class StaffAccount:
    id: int
    username: str


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"the password needs at least {MIN_PASSWORD_LENGTH} characters")


def create_user(
    database: Database, username: str, password: str, by: str | None = None
) -> StaffAccount:
    if not USERNAME.match(username):
        raise AccountError(
            "a username is 1 to 80 letters, digits, dots, dashes or underscores, "
            "starting with a letter or digit"
        )
    _check_password(password)
    with database.session() as session:
        exists = session.execute(
            select(StaffUser.id).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if exists is not None:
            raise AccountError(f"the account {username!r} already exists")
        user = StaffUser(username=username, password_hash=_hasher.hash(password), active=True)
        session.add(user)
        audit(session, "account_created", None, by, f"account {username}")
        session.flush()
        return StaffAccount(user.id, user.username)


def set_password(database: Database, username: str, password: str, by: str | None = None) -> int:
    """A new password (a reset, from the command line), which ends every session of the
    account; the number of sessions ended."""
    _check_password(password)
    with database.session() as session:
        user = session.execute(
            select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise AccountError(f"no account {username!r}")
        user.password_hash = _hasher.hash(password)
        user.active = True
        ended = _end_all_sessions(session, user.id)
        audit(session, "password_set", None, by, f"account {username}, {ended} sessions ended")
        return ended


def change_password(
    database: Database, user_id: int, current: str, new: str, now: datetime | None = None
) -> str:
    """A staff member's own change of password on the dashboard: checks the current one, sets
    the new one and ends every session of the account. Returns a new session token for the
    browser that made the change (the only session left); raises ``AccountError``."""
    _check_password(new)
    with database.session() as session:
        user = session.get(StaffUser, user_id)
        if user is None or not user.active:
            raise AccountError("this account cannot change its password")
        try:
            _hasher.verify(user.password_hash, current)
        except (VerificationError, InvalidHashError):
            audit(session, "password_change_failed", None, user.username)
            raise WrongPassword("the current password is not right") from None
        user.password_hash = _hasher.hash(new)
        ended = _end_all_sessions(session, user.id)
        audit(session, "password_changed", None, user.username, f"{ended} sessions ended")
        return _start_session(session, user.id, now or utcnow())


def set_active(database: Database, username: str, active: bool, by: str | None = None) -> None:
    """Enable or disable an account; disabling ends its sessions."""
    with database.session() as session:
        user = session.execute(
            select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise AccountError(f"no account {username!r}")
        user.active = active
        action = "account_enabled" if active else "account_disabled"
        if not active:
            _end_all_sessions(session, user.id)
        audit(session, action, None, by, f"account {username}")


def authenticate(database: Database, username: str, password: str) -> StaffAccount | None:
    """The account if the password is right and the account active, else None."""
    with database.session() as session:
        user = session.execute(
            select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        try:
            _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
        except (VerificationError, InvalidHashError):
            if user is not None:
                audit(session, "login_failed", None, username)
            return None
        if user is None or not user.active:
            return None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        user.last_login_at = utcnow()
        audit(session, "login", None, username)
        return StaffAccount(user.id, user.username)


def usernames(database: Database) -> list[tuple[str, bool]]:
    with database.session() as session:
        rows = session.execute(
            select(StaffUser.username, StaffUser.active).order_by(StaffUser.username)
        )
        return [(name, active) for name, active in rows]


# ------------------------------------------------------------------------------- sessions
TOUCH_EVERY = timedelta(seconds=60)
"""A session's last use is written at most this often: the idle timeout may end a session up to
this much early, never late, and a busy page does not write on every request."""
MAX_TOKEN_LENGTH = 100


@dataclass(frozen=True)
class SessionPolicy:
    """How long a dashboard session may last at all, and unused."""

    lifetime: timedelta
    idle: timedelta

    @classmethod
    def from_settings(cls, settings: Settings) -> SessionPolicy:
        return cls(
            lifetime=timedelta(hours=settings.dashboard_session_hours),
            idle=timedelta(minutes=settings.dashboard_idle_minutes),
        )

    def ended(self, created_at: datetime, last_seen_at: datetime, now: datetime) -> bool:
        return now - created_at >= self.lifetime or now - last_seen_at >= self.idle


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _start_session(session: Session, user_id: int, now: datetime) -> str:
    token = secrets.token_urlsafe(32)
    session.add(
        StaffSession(
            token_hash=_token_hash(token), user_id=user_id, created_at=now, last_seen_at=now
        )
    )
    return token


def _end_all_sessions(session: Session, user_id: int) -> int:
    result = session.execute(delete(StaffSession).where(StaffSession.user_id == user_id))
    return int(result.rowcount or 0)


def start_session(database: Database, user_id: int, now: datetime | None = None) -> str:
    """A new session for a signed-in account: the token for the browser's signed cookie."""
    with database.session() as session:
        return _start_session(session, user_id, now or utcnow())


def session_account(
    database: Database, token: object, policy: SessionPolicy, now: datetime | None = None
) -> StaffAccount | None:
    """The account of a live session, noting its use; None (and the session deleted) when it
    was ended, has expired or idled out, or its account is disabled."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    now = now or utcnow()
    with database.session() as session:
        row = session.execute(
            select(StaffSession, StaffUser)
            .join(StaffUser, StaffUser.id == StaffSession.user_id)
            .where(StaffSession.token_hash == _token_hash(token))
        ).one_or_none()
        if row is None:
            return None
        staff_session, user = row
        if not user.active or policy.ended(
            staff_session.created_at, staff_session.last_seen_at, now
        ):
            session.delete(staff_session)
            return None
        if now - staff_session.last_seen_at >= TOUCH_EVERY:
            staff_session.last_seen_at = now
        return StaffAccount(user.id, user.username)


def end_session(database: Database, token: object, by: str | None = None) -> bool:
    """Log one session out (its cookie, and any copy of it, stops working); whether it existed."""
    if not isinstance(token, str) or not token or len(token) > MAX_TOKEN_LENGTH:
        return False
    with database.session() as session:
        result = session.execute(
            delete(StaffSession).where(StaffSession.token_hash == _token_hash(token))
        )
        ended = bool(result.rowcount)
        if ended and by:
            audit(session, "logout", None, by)
        return ended


def purge_sessions(database: Database, policy: SessionPolicy, now: datetime | None = None) -> int:
    """Delete the rows of sessions that have expired or idled out (they are refused anyway)."""
    now = now or utcnow()
    with database.session() as session:
        result = session.execute(
            delete(StaffSession).where(
                or_(
                    StaffSession.created_at <= now - policy.lifetime,
                    StaffSession.last_seen_at <= now - policy.idle,
                )
            )
        )
        return int(result.rowcount or 0)
