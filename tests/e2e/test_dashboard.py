"""The staff dashboard as staff use it: a real server, real headless Chromium.

The server is ``dit-staff serve`` in a subprocess on a free port, against a temporary SQLite
database seeded through the store's API. Screenshots go to ``test-artifacts/`` (gitignored).
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import update

from dit_assistant.serve import wait_until_up
from dit_assistant.settings import PROJECT_ROOT, get_settings
from dit_assistant.store import (
    EnquiryDraft,
    EnquiryNotFound,
    get_enquiry,
    open_database,
    submit_enquiry,
)
from dit_assistant.store.accounts import create_user
from dit_assistant.store.audit import recent_audit
from dit_assistant.store.database import Database
from dit_assistant.store.models import StaffSession
from dit_assistant.store.unanswered import list_questions, record_unanswered
from tests.fixtures.ports import free_port
from tests.fixtures.servers import terminate
from tests.fixtures.services import headless_chromium
from tests.fixtures.store import StoreEnvironment, make_store_environment

DIT_STAFF = Path(sys.executable).parent / "dit-staff"
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
PASSWORD = "a long enough staff password"
SCRIPT_NAME = "<script>alert(1)</script>"
FORMULA_NAME = '=HYPERLINK("http://example.invalid","x")'
TIMEOUT_MS = 15_000
# Questions the assistant could not answer, oldest first: two topics, and one with markup.
UNANSWERED = [
    (5, "is there parking near the clinic", "out_of_scope"),
    (4, "can I bring my dog to sessions", "default"),
    (2, "Can I bring my dog? text me on 07700 900123", "default"),
    (1, "can i bring my dog with me", "default"),
    (0, "<b>do you do couples therapy</b>", "out_of_scope"),
]


@dataclass
class RunningDashboard:
    base_url: str
    database: Database
    references: dict[str, str]
    environment: StoreEnvironment

    def url(self, path: str) -> str:
        return self.base_url + path


def _draft(name: str, **changes: Any) -> EnquiryDraft:
    values: dict[str, Any] = {
        "preferred_name": name,
        "contact_method": "email",
        "contact_detail": f"{name.split()[0].lower()}@example.org",
        "best_times": "weekday mornings",
        "help_with": "low mood since the winter",
        "channel": "rest",
        "consent_at": datetime.now(timezone.utc),
        "privacy_notice_version": "2026-01",
        "priority": False,
    }
    values.update(changes)
    return EnquiryDraft(**values)


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningDashboard]:
    root = tmp_path_factory.mktemp("dashboard")
    with pytest.MonkeyPatch.context() as monkeypatch:
        environment = make_store_environment(monkeypatch, root)
        database = open_database(environment.database_url)
        seeds = {
            "ada": _draft("Ada Lovelace"),
            "priority": _draft(
                "Grace Hopper",
                priority=True,
                channel="telegram",
                contact_method="phone",
                contact_detail="+447700900123",
            ),
            "script": _draft(SCRIPT_NAME, channel="socketio"),
            "formula": _draft(FORMULA_NAME),
        }
        references = {key: submit_enquiry(d, database).reference for key, d in seeds.items()}
        database.record_safety_event("risk_suicide", "uk-england", "telegram")
        today = datetime.now(timezone.utc).date()
        for days_ago, question, reply in UNANSWERED:
            record_unanswered(
                database, question, "socketio", reply, today=today - timedelta(days=days_ago)
            )
        create_user(database, "alice", PASSWORD)
        create_user(database, "carol", PASSWORD)
        port = free_port()
        log_path = root / "dashboard.log"
        with log_path.open("w") as log:
            process = subprocess.Popen(
                [str(DIT_STAFF), "serve", "--port", str(port)],
                env=environment.subprocess_env(),
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
            try:
                wait_until_up(f"http://127.0.0.1:{port}/health", [process], timeout=60)
                yield RunningDashboard(
                    f"http://127.0.0.1:{port}", database, references, environment
                )
            finally:
                terminate(process, timeout=20)
        server_log = log_path.read_text()
        for name in ("Ada Lovelace", "Grace Hopper", "example.org", "+447700900123"):
            assert name not in server_log, f"personal data in the dashboard's log: {name}"
    get_settings.cache_clear()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as instance:
        yield instance


@pytest.fixture()
def page(browser: Any, dashboard: RunningDashboard) -> Iterator[Any]:
    """A fresh browser profile (no cookies) that records any JavaScript dialog."""
    context = browser.new_context(accept_downloads=True, viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    tab.dialogs = []
    tab.on("dialog", lambda dialog: (tab.dialogs.append(dialog.message), dialog.dismiss()))
    try:
        yield tab
    finally:
        context.close()


def click_and_wait(target: Any) -> None:
    """Click a link or button that loads a new page, and wait for that page: a click alone does
    not wait, and reading the page too early sees the old one (or none)."""
    with target.page.expect_navigation():
        target.click()


def login(
    page: Any, dashboard: RunningDashboard, password: str = PASSWORD, username: str = "alice"
) -> None:
    page.goto(dashboard.url("/login"))
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    click_and_wait(page.get_by_role("button", name="Log in"))


def screenshot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)


def rows(page: Any) -> list[str]:
    return page.locator("table.enquiries tbody tr th a").all_inner_texts()


def test_pages_need_a_login(page, dashboard):
    page.goto(dashboard.url("/enquiries"))
    assert page.url.startswith(dashboard.url("/login"))
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    for path in (
        "/statistics",
        "/unanswered",
        "/export.csv",
        f"/enquiries/{dashboard.references['ada']}",
    ):
        response = page.request.get(dashboard.url(path), max_redirects=0)
        assert response.status == 302 and "/login" in response.headers["location"]


def test_a_wrong_password_is_rejected(page, dashboard):
    login(page, dashboard, password="not the password at all")
    assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    assert page.url.startswith(dashboard.url("/login"))
    page.goto(dashboard.url("/enquiries"))
    assert page.url.startswith(dashboard.url("/login"))


def test_repeated_wrong_passwords_lock_the_account_name_for_a_while(page, dashboard):
    for _ in range(5):
        login(page, dashboard, password="guessing wrongly", username="carol")
        assert page.get_by_role("alert").inner_text() == "Wrong username or password."
    login(page, dashboard, username="carol")  # even the right password, for now
    assert "Too many failed attempts" in page.get_by_role("alert").inner_text()
    assert page.url.startswith(dashboard.url("/login"))
    login(page, dashboard)  # other accounts are not affected
    expect(page.get_by_role("heading", name="Enquiries")).to_be_visible()


def test_session_cookie_and_security_headers(page, dashboard):
    response = page.goto(dashboard.url("/login"))
    headers = response.headers
    assert "default-src 'self'" in headers["content-security-policy"]
    assert "frame-ancestors 'none'" in headers["content-security-policy"]
    assert headers["x-frame-options"] == "DENY"
    assert headers["x-content-type-options"] == "nosniff"
    login(page, dashboard)
    expect(page.get_by_role("heading", name="Enquiries")).to_be_visible()
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "dit_staff_session"]
    assert cookie["httpOnly"] and cookie["secure"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie") == ""  # invisible to scripts
    assert "no-store" in page.request.get(dashboard.url("/enquiries")).headers["cache-control"]
    stylesheet = page.request.get(dashboard.url("/static/style.css"))
    assert stylesheet.ok and "text/css" in stylesheet.headers["content-type"]


def test_a_post_without_the_csrf_token_is_rejected(page, dashboard):
    login(page, dashboard)
    reference = dashboard.references["formula"]
    page.goto(dashboard.url(f"/enquiries/{reference}"))
    token = page.locator("form input[name=csrf_token]").first.get_attribute("value")
    target = dashboard.url(f"/enquiries/{reference}/status")

    forged = page.request.post(target, form={"status": "closed"}, max_redirects=0)
    assert forged.status == 400
    assert "could not be accepted" in forged.text()
    wrong = page.request.post(target, form={"status": "closed", "csrf_token": "x" + token[1:]})
    assert wrong.status == 400
    assert get_enquiry(dashboard.database, reference).status == "new"

    genuine = page.request.post(
        target, form={"status": "closed", "csrf_token": token}, max_redirects=0
    )
    assert genuine.status == 302  # the same request with the token goes through
    assert get_enquiry(dashboard.database, reference).status == "closed"


def test_names_typed_by_the_public_are_shown_as_text(page, dashboard):
    login(page, dashboard)
    expect(page.get_by_role("cell", name=SCRIPT_NAME, exact=True)).to_be_visible()
    page.get_by_role("link", name=dashboard.references["script"]).click()
    assert page.locator("#preferred-name").inner_text() == SCRIPT_NAME
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.content()
    assert page.dialogs == []


def test_staff_workflow(page, dashboard):
    references = dashboard.references
    login(page, dashboard)

    # The list, newest first, with the priority enquiry marked.
    expect(page.get_by_role("heading", name="Enquiries")).to_be_visible()
    assert set(references.values()) <= set(rows(page))
    priority_row = page.locator("tr.priority")
    assert priority_row.count() == 1 and "Safety route" in priority_row.inner_text()
    screenshot(page, "list")

    # Filters: priority, channel, status, dates.
    page.get_by_label("Priority").select_option("yes")
    click_and_wait(page.get_by_role("button", name="Filter"))
    assert rows(page) == [references["priority"]]
    page.get_by_label("Priority").select_option("")
    page.get_by_label("Channel").select_option("socketio")
    click_and_wait(page.get_by_role("button", name="Filter"))
    assert rows(page) == [references["script"]]
    page.get_by_label("Channel").select_option("")
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=1)).date().isoformat()
    page.get_by_label("Received from").fill(tomorrow)
    click_and_wait(page.get_by_role("button", name="Filter"))
    expect(page.get_by_text("No enquiries match.")).to_be_visible()
    click_and_wait(page.get_by_role("link", name="Clear"))
    page.get_by_label("Status").select_option("new")
    click_and_wait(page.get_by_role("button", name="Filter"))
    assert references["ada"] in rows(page)

    # Open one: decrypted, then change its status and add a note.
    click_and_wait(page.get_by_role("link", name=references["priority"]))
    expect(page.get_by_role("heading", name=f"Enquiry {references['priority']}")).to_be_visible()
    assert page.locator("#preferred-name").inner_text() == "Grace Hopper"
    assert page.locator("#contact-detail").inner_text() == "+447700900123"
    expect(page.get_by_text("the conversation included a safety route")).to_be_visible()
    page.get_by_label("New status").select_option("contacted")
    click_and_wait(page.get_by_role("button", name="Save status"))
    assert page.get_by_role("status").inner_text() == "Status set to contacted."
    assert "contacted" in page.locator("#current-status").inner_text()
    page.get_by_label("Add a note").fill("Called back, <b>first session</b> booked")
    click_and_wait(page.get_by_role("button", name="Add note"))
    assert page.get_by_role("status").inner_text() == "Note added."
    expect(page.get_by_text("Called back, <b>first session</b> booked")).to_be_visible()
    screenshot(page, "detail")
    stored = get_enquiry(dashboard.database, references["priority"])
    assert stored.status == "contacted"
    assert [(n.author, n.text) for n in stored.notes] == [
        ("alice", "Called back, <b>first session</b> booked")
    ]

    # Export (decrypted, formula-safe) as a real download.
    click_and_wait(page.get_by_role("link", name="Enquiries", exact=True))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export these as CSV").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    exported = Path(download.path()).read_text("utf-8-sig")
    by_reference = {row["Reference"]: row for row in csv.DictReader(io.StringIO(exported))}
    assert by_reference[references["ada"]]["Preferred name"] == "Ada Lovelace"
    assert by_reference[references["formula"]]["Preferred name"] == "'" + FORMULA_NAME
    assert by_reference[references["priority"]]["Contact detail"] == "'+447700900123"
    assert "first session" in by_reference[references["priority"]]["Staff notes"]

    # Delete on request, with a confirmation step.
    click_and_wait(page.get_by_role("link", name=references["ada"]))
    click_and_wait(page.get_by_role("link", name="Delete this enquiry…"))
    expect(page.get_by_role("heading", name=f"Delete enquiry {references['ada']}?")).to_be_visible()
    screenshot(page, "confirm-delete")
    click_and_wait(page.get_by_role("button", name="Yes, delete for good"))
    assert (
        page.get_by_role("status").inner_text()
        == f"{references['ada']} and its notes were deleted."
    )
    assert references["ada"] not in rows(page)
    with pytest.raises(EnquiryNotFound):
        get_enquiry(dashboard.database, references["ada"])
    assert page.request.get(dashboard.url(f"/enquiries/{references['ada']}")).status == 404

    # Statistics: counts and server-side charts, no personal data; the deleted enquiry still
    # counts, and the figures download as CSV.
    click_and_wait(page.get_by_role("link", name="Statistics"))
    expect(page.get_by_role("img", name="Enquiries and safety routes per week")).to_be_visible()
    expect(page.get_by_role("img", name="Conversations per week")).to_be_visible()
    expect(page.get_by_role("img", name="Safety routes per week, by kind")).to_be_visible()
    assert page.locator("#weekly-chart svg rect").count() == 24  # 12 weeks, 2 series
    assert "telegram" in page.locator("#by-channel").inner_text()
    assert "risk_suicide" in page.locator("#by-route").inner_text()
    received = page.locator("#by-status tr", has_text="received").inner_text()
    assert received.split() == ["received", str(len(references))]
    for name in ("Grace Hopper", "Lovelace", "example.org"):
        assert name not in page.content()
    screenshot(page, "statistics")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download these figures as CSV").click()
    figures = Path(download_info.value.path()).read_text("utf-8-sig")
    header = next(csv.reader(io.StringIO(figures)))
    assert header[1:] == ["Statistic", "Detail", "Channel", "Value"]
    for name in ("Grace Hopper", "Lovelace", "example.org", *references.values()):
        assert name not in figures

    # Log out: the session is gone.
    click_and_wait(page.get_by_role("button", name="Log out"))
    assert page.get_by_role("status").inner_text() == "You are logged out."
    page.goto(dashboard.url("/enquiries"))
    assert page.url.startswith(dashboard.url("/login"))
    assert page.dialogs == []


def group_titles(page: Any) -> list[str]:
    return page.locator("li.question-group h2").all_inner_texts()


def test_unanswered_questions_grouped_marked_covered_and_deleted(page, dashboard):
    login(page, dashboard)
    click_and_wait(page.get_by_role("link", name="Unanswered questions"))
    expect(page.get_by_role("heading", name="Unanswered questions", level=1)).to_be_visible()

    # Grouped by similarity, newest group first, with counts; scrubbed, and shown as text.
    assert group_titles(page) == [
        "1 × “<b>do you do couples therapy</b>”",
        "3 × “can i bring my dog with me”",
        "1 × “is there parking near the clinic”",
    ]
    assert (
        "5 questions not yet covered, in 3 groups" in page.locator("#unanswered-count").inner_text()
    )
    dogs = page.locator("li.question-group", has_text="bring my dog")
    dogs.get_by_text("All 3 questions").click()
    expect(dogs.get_by_text("Can I bring my dog? text me on [phone]")).to_be_visible()
    assert "07700" not in page.content()
    assert "&lt;b&gt;do you do couples therapy&lt;/b&gt;" in page.content()
    screenshot(page, "unanswered")

    # Mark the dog group covered: it leaves the list, and is kept among the covered ones.
    click_and_wait(dogs.get_by_role("button", name="Mark covered"))
    assert page.get_by_role("status").inner_text() == "3 questions marked covered."
    assert [t for t in group_titles(page) if "dog" in t] == []
    click_and_wait(page.get_by_role("link", name="Show the covered groups"))
    assert group_titles(page) == ["3 × “can i bring my dog with me”"]
    expect(page.get_by_role("button", name="Mark covered")).to_have_count(0)
    assert {q.covered_by for q in list_questions(dashboard.database, covered=True)} == {"alice"}
    click_and_wait(page.get_by_role("link", name="Show the questions not yet covered"))

    # Delete the parking group, after a confirmation step.
    parking = page.locator("li.question-group", has_text="parking")
    click_and_wait(parking.get_by_role("button", name="Delete…"))
    expect(page.get_by_role("heading", name="Delete 1 question?")).to_be_visible()
    expect(page.get_by_text("is there parking near the clinic")).to_be_visible()
    click_and_wait(page.get_by_role("link", name="No, keep them"))
    assert len(group_titles(page)) == 2
    parking = page.locator("li.question-group", has_text="parking")
    click_and_wait(parking.get_by_role("button", name="Delete…"))
    click_and_wait(page.get_by_role("button", name="Yes, delete for good"))
    assert page.get_by_role("status").inner_text() == "1 question deleted."
    assert group_titles(page) == ["1 × “<b>do you do couples therapy</b>”"]
    remaining = [q.text for q in list_questions(dashboard.database)]
    assert remaining == ["<b>do you do couples therapy</b>"]

    # Both actions are in the audit log, under the staff account, without the text.
    entries = [e for e in recent_audit(dashboard.database) if e.action.startswith("unanswered")]
    assert [(e.action, e.staff_user) for e in entries] == [
        ("unanswered_deleted", "alice"),
        ("unanswered_covered", "alice"),
    ]
    assert not any("dog" in (e.detail or "") or "parking" in (e.detail or "") for e in entries)

    # A forged post (no CSRF token) changes nothing.
    forged = page.request.post(
        dashboard.url("/unanswered/delete"),
        form={
            "ids": ",".join(str(q.id) for q in list_questions(dashboard.database)),
            "confirm": "yes",
        },
        max_redirects=0,
    )
    assert forged.status == 400
    assert len(list_questions(dashboard.database)) == 1
    assert page.dialogs == []


def test_usable_on_a_phone_sized_screen(page, dashboard):
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, dashboard)
    expect(page.get_by_role("button", name="Filter")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the page scrolls sideways on a phone"
    screenshot(page, "phone")
    page.goto(dashboard.url("/statistics"))
    expect(page.get_by_role("img", name="Conversations per week")).to_be_visible()
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, "the statistics page scrolls sideways on a phone"
    screenshot(page, "phone-statistics")


# ----------------------------------------------------------------------------- sessions
def session_cookie(page: Any) -> dict[str, Any]:
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "dit_staff_session"]
    return cookie


@pytest.fixture()
def other_browser(browser: Any, dashboard: RunningDashboard) -> Iterator[Any]:
    """A second, separate browser profile: another computer, or someone with a copied cookie."""
    context = browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def is_signed_in(page: Any, dashboard: RunningDashboard) -> bool:
    page.goto(dashboard.url("/enquiries"))
    return not page.url.startswith(dashboard.url("/login"))


def test_logging_out_ends_the_session_for_a_copied_cookie_too(page, other_browser, dashboard):
    create_user(dashboard.database, "dora", PASSWORD)
    login(page, dashboard, username="dora")
    other_browser.context.add_cookies([session_cookie(page)])
    assert is_signed_in(other_browser, dashboard)  # the copy works while the session lives

    click_and_wait(page.get_by_role("button", name="Log out"))
    assert page.get_by_role("status").inner_text() == "You are logged out."
    assert not is_signed_in(other_browser, dashboard)
    expect(
        other_browser.get_by_text("Your session has ended. Please log in again.")
    ).to_be_visible()
    assert not is_signed_in(page, dashboard)


def test_a_new_password_logs_out_every_other_session(page, other_browser, dashboard):
    create_user(dashboard.database, "erin", PASSWORD)
    login(page, dashboard, username="erin")
    login(other_browser, dashboard, username="erin")
    copied = session_cookie(page)

    click_and_wait(page.get_by_role("link", name="Change password"))
    expect(page.get_by_role("heading", name="Change your password")).to_be_visible()
    page.get_by_label("Current password").fill(PASSWORD)
    page.get_by_label("New password (at least 12 characters)").fill("erin's brand new password")
    page.get_by_label("New password again").fill("erin's brand new password")
    screenshot(page, "change-password")
    click_and_wait(page.get_by_role("button", name="Change password"))
    assert page.get_by_role("status").inner_text() == (
        "Password changed. Every other session of this account is logged out."
    )
    assert is_signed_in(page, dashboard)  # this browser stays in, on a new session
    assert not is_signed_in(other_browser, dashboard)
    other_browser.context.clear_cookies()
    other_browser.context.add_cookies([copied])  # this browser's cookie from before the change
    assert not is_signed_in(other_browser, dashboard)

    login(other_browser, dashboard, username="erin")  # the old password no longer works
    assert other_browser.get_by_role("alert").inner_text() == "Wrong username or password."
    login(other_browser, dashboard, password="erin's brand new password", username="erin")
    expect(other_browser.get_by_role("heading", name="Enquiries")).to_be_visible()


def test_a_password_reset_on_the_command_line_logs_the_account_out(page, dashboard):
    create_user(dashboard.database, "frank", PASSWORD)
    login(page, dashboard, username="frank")
    assert is_signed_in(page, dashboard)
    result = subprocess.run(
        [str(DIT_STAFF), "set-password", "frank", "--password-stdin"],
        input="frank's reset password\n",
        env=dashboard.environment.subprocess_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "1 dashboard session logged out" in result.stdout
    assert not is_signed_in(page, dashboard)


def test_a_session_past_its_lifetime_is_refused_even_while_in_use(page, dashboard):
    """12 hours after logging in (DASHBOARD_SESSION_HOURS) the session ends, however recently it
    was used. The session's start is moved back in the database rather than waited for."""
    account = create_user(dashboard.database, "gina", PASSWORD)
    login(page, dashboard, username="gina")

    def started_ago(age: timedelta) -> None:
        with dashboard.database.session() as session:
            session.execute(
                update(StaffSession)
                .where(StaffSession.user_id == account.id)
                .values(created_at=datetime.now(timezone.utc) - age)
            )

    started_ago(timedelta(hours=11, minutes=55))
    assert is_signed_in(page, dashboard)  # in use a moment ago, and within its 12 hours
    started_ago(timedelta(hours=12, minutes=1))
    assert not is_signed_in(page, dashboard)
    expect(page.get_by_text("Your session has ended. Please log in again.")).to_be_visible()
