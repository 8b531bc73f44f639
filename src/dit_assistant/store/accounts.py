"""Staff accounts for the dashboard: created from the command line only, Argon2 hashes.

There is no sign-up page on purpose: whoever can run ``dit-staff`` on the server already has
access to the data, so account creation is tied to that access.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select

from dit_assistant.store.audit import audit
from dit_assistant.store.database import Database
from dit_assistant.store.models import StaffUser, utcnow

MIN_PASSWORD_LENGTH = 12
USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$")

_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("dit-assistant: no such user")
"""Verified against when the user does not exist, so a wrong name takes as long as a wrong
password and response times do not reveal which accounts exist."""


class AccountError(ValueError):
    """A username or password that cannot be used, with a message for the person typing it."""


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


def set_password(database: Database, username: str, password: str, by: str | None = None) -> None:
    _check_password(password)
    with database.session() as session:
        user = session.execute(
            select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise AccountError(f"no account {username!r}")
        user.password_hash = _hasher.hash(password)
        user.active = True
        audit(session, "password_set", None, by, f"account {username}")


def set_active(database: Database, username: str, active: bool, by: str | None = None) -> None:
    with database.session() as session:
        user = session.execute(
            select(StaffUser).where(StaffUser.username == username)
        ).scalar_one_or_none()
        if user is None:
            raise AccountError(f"no account {username!r}")
        user.active = active
        action = "account_enabled" if active else "account_disabled"
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


def active_account(database: Database, user_id: int) -> StaffAccount | None:
    """The account behind a dashboard session, if it still exists and is active."""
    with database.session() as session:
        user = session.get(StaffUser, user_id)
        if user is None or not user.active:
            return None
        return StaffAccount(user.id, user.username)


def usernames(database: Database) -> list[tuple[str, bool]]:
    with database.session() as session:
        rows = session.execute(
            select(StaffUser.username, StaffUser.active).order_by(StaffUser.username)
        )
        return [(name, active) for name, active in rows]
