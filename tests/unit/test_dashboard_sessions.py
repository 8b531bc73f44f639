"""Dashboard sessions are the server's to end: logging out, a new password, a disabled account,
the absolute lifetime and the idle timeout each refuse a cookie that is still validly signed.

Flask's test client against the real app and a SQLite store; the dashboard's clock is moved on
instead of waiting. The same behaviour in a real browser: ``tests/e2e/test_dashboard.py``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask
from flask.testing import FlaskClient

from dit_assistant.settings import get_settings
from dit_assistant.staff.state import Dashboard
from dit_assistant.staff.web import create_app
from dit_assistant.store import accounts
from dit_assistant.store.audit import recent_audit
from dit_assistant.store.database import Database, open_database
from tests.fixtures.dashboard import STAFF_PASSWORD, form_token, log_in
from tests.fixtures.store import count_rows, raw_dump

PASSWORD = STAFF_PASSWORD
NEW_PASSWORD = "another long staff password"
COOKIE = "dit_staff_session"
START = datetime(2026, 12, 10, 8, 0, tzinfo=timezone.utc)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Setting:
    app: Flask
    database: Database
    clock: Clock

    @property
    def state(self) -> Dashboard:
        return self.app.extensions["dit_dashboard"]

    def client(self) -> FlaskClient:
        return self.app.test_client()


@pytest.fixture()
def setting(store_env) -> Iterator[Setting]:
    store_env.set(DASHBOARD_SESSION_HOURS="12", DASHBOARD_IDLE_MINUTES="30")
    database = open_database(store_env.database_url)
    accounts.create_user(database, "alice", PASSWORD)
    app = create_app(get_settings(), database)
    clock = Clock()
    app.extensions["dit_dashboard"].clock = clock
    app.extensions["dit_dashboard"].last_purge = START + timedelta(days=365)  # not in the way
    yield Setting(app, database, clock)


def signed_in(client: FlaskClient) -> bool:
    response = client.get("/enquiries")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    return False


def cookie_value(client: FlaskClient) -> str:
    cookie = client.get_cookie(COOKIE)
    assert cookie is not None
    return cookie.value


def copy_of(setting: Setting, client: FlaskClient) -> FlaskClient:
    """Another client with the same cookie, as someone who copied it would have."""
    thief = setting.client()
    thief.set_cookie(COOKIE, cookie_value(client))
    return thief


def logout(client: FlaskClient) -> None:
    response = client.post("/logout", data={"csrf_token": form_token(client, "/enquiries")})
    assert response.status_code == 302


def test_logout_ends_the_session_and_any_copy_of_its_cookie(setting):
    staff = setting.client()
    log_in(staff)
    thief = copy_of(setting, staff)
    assert signed_in(thief)  # a copied cookie works while the session lives...
    logout(staff)
    assert not signed_in(staff)
    assert not signed_in(thief)  # ...and not after logging out
    assert count_rows(setting.database, "staff_sessions") == 0
    page = thief.get("/login").get_data(as_text=True)
    assert "Your session has ended" in page
    assert [e.action for e in recent_audit(setting.database)][:2] == ["logout", "login"]


def test_a_new_password_on_the_dashboard_logs_out_every_other_session(setting):
    accounts.create_user(setting.database, "bob", PASSWORD)
    here, elsewhere, other_account = setting.client(), setting.client(), setting.client()
    log_in(here)
    log_in(elsewhere)
    log_in(other_account, "bob")
    old_cookie = copy_of(setting, here)
    response = here.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
            "csrf_token": form_token(here, "/password"),
        },
    )
    assert response.status_code == 302
    assert signed_in(here)  # the browser that changed it stays in, with a new session
    assert not signed_in(elsewhere)
    assert not signed_in(old_cookie)  # this browser's cookie from before the change too
    assert signed_in(other_account)
    assert accounts.authenticate(setting.database, "alice", PASSWORD) is None
    assert accounts.authenticate(setting.database, "alice", NEW_PASSWORD) is not None


def test_a_wrong_current_password_changes_nothing(setting):
    here, elsewhere = setting.client(), setting.client()
    log_in(here)
    log_in(elsewhere)
    response = here.post(
        "/password",
        data={
            "current_password": "not the current one",
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD,
            "csrf_token": form_token(here, "/password"),
        },
    )
    assert response.status_code == 400
    assert "The current password is not right." in response.get_data(as_text=True)
    mismatch = here.post(
        "/password",
        data={
            "current_password": PASSWORD,
            "new_password": NEW_PASSWORD,
            "repeat_password": NEW_PASSWORD + "!",
            "csrf_token": form_token(here, "/password"),
        },
    )
    assert mismatch.status_code == 400
    assert signed_in(here) and signed_in(elsewhere)
    assert accounts.authenticate(setting.database, "alice", PASSWORD) is not None


def test_guessing_the_current_password_is_throttled_like_logging_in(setting):
    """Someone with a copied cookie cannot try current passwords without limit."""
    thief = setting.client()
    log_in(thief)

    def attempt(current: str) -> int:
        return thief.post(
            "/password",
            data={
                "current_password": current,
                "new_password": NEW_PASSWORD,
                "repeat_password": NEW_PASSWORD,
                "csrf_token": form_token(thief, "/password"),
            },
        ).status_code

    assert [attempt(f"guess number {n}") for n in range(5)] == [400] * 5
    assert attempt(PASSWORD) == 429  # even the right one, for now
    assert accounts.authenticate(setting.database, "alice", PASSWORD) is not None


def test_a_password_reset_from_the_command_line_logs_the_account_out_everywhere(setting):
    accounts.create_user(setting.database, "bob", PASSWORD)
    first, second, other_account = setting.client(), setting.client(), setting.client()
    log_in(first)
    log_in(second)
    log_in(other_account, "bob")
    assert accounts.set_password(setting.database, "alice", NEW_PASSWORD, by="cli:admin") == 2
    assert not signed_in(first) and not signed_in(second)
    assert signed_in(other_account)


def test_disabling_an_account_ends_its_sessions(setting):
    staff = setting.client()
    log_in(staff)
    accounts.set_active(setting.database, "alice", False, by="cli:admin")
    accounts.set_active(setting.database, "alice", True, by="cli:admin")
    assert not signed_in(staff)  # enabling it again does not bring the session back


def test_a_session_ends_at_its_absolute_lifetime_however_active(setting):
    staff = setting.client()
    log_in(staff)
    thief = copy_of(setting, staff)
    for _ in range(35):  # a request every 20 minutes for 11 h 40 min: never idle
        setting.clock.advance(minutes=20)
        assert signed_in(staff)
    setting.clock.advance(minutes=19)  # 11 h 59 min after logging in
    assert signed_in(staff)
    setting.clock.advance(minutes=1, seconds=1)  # 12 h after logging in
    assert not signed_in(staff)
    assert not signed_in(thief)
    log_in(staff)  # logging in again starts a new 12 hours
    assert signed_in(staff)


def test_a_session_ends_after_the_idle_timeout(setting):
    staff = setting.client()
    log_in(staff)
    setting.clock.advance(minutes=29)
    assert signed_in(staff)  # 29 minutes unused: still in, and that request counts as use
    setting.clock.advance(minutes=29)
    assert signed_in(staff)
    setting.clock.advance(minutes=30)
    assert not signed_in(staff)


def test_the_cookie_does_not_slide(setting):
    """The cookie is set when logging in and not re-issued with a later expiry on every
    request (with Flask's default it would be, keeping a stolen cookie alive in the browser)."""
    staff = setting.client()
    response = staff.post(
        "/login",
        data={"username": "alice", "password": PASSWORD, "csrf_token": form_token(staff, "/login")},
    )
    assert COOKIE in response.headers.get("Set-Cookie", "")
    expires = re.search(r"Expires=([^;]+)", response.headers["Set-Cookie"])
    assert expires, "the cookie should end with the session, not with the browser"
    lifetime = parsedate_to_datetime(expires.group(1)) - datetime.now(timezone.utc)
    assert timedelta(hours=11, minutes=58) < lifetime <= timedelta(hours=12)
    staff.get("/enquiries")  # the first page adds the form-token secret to the cookie
    for _ in range(3):
        setting.clock.advance(minutes=5)
        again = staff.get("/statistics")
        assert again.status_code == 200
        assert "Set-Cookie" not in again.headers


def test_a_cookie_from_before_server_side_sessions_is_refused(setting):
    """A validly signed cookie naming an account, as the dashboard issued before sessions were
    kept on the server, no longer signs anyone in."""
    serializer = setting.app.session_interface.get_signing_serializer(setting.app)
    assert serializer is not None
    old_style = setting.client()
    old_style.set_cookie(COOKIE, serializer.dumps({"uid": 1, "_permanent": True}))
    assert not signed_in(old_style)
    forged = setting.client()
    forged.set_cookie(COOKIE, serializer.dumps({"sid": "guessed-token"}))
    assert not signed_in(forged)


def test_only_a_hash_of_the_session_token_is_stored(setting):
    staff = setting.client()
    log_in(staff)
    serializer = setting.app.session_interface.get_signing_serializer(setting.app)
    assert serializer is not None
    token = serializer.loads(cookie_value(staff))["sid"]
    assert len(token) >= 40
    assert token not in raw_dump(setting.database)


def test_expired_sessions_are_purged(setting):
    first, second = setting.client(), setting.client()
    log_in(first)
    setting.clock.advance(minutes=20)
    log_in(second)
    setting.clock.advance(minutes=15)  # the first idle for 35 minutes, the second for 15
    purged = accounts.purge_sessions(setting.database, setting.state.policy, setting.clock())
    assert purged == 1
    assert count_rows(setting.database, "staff_sessions") == 1
    assert signed_in(second)
