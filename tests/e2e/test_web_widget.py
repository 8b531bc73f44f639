"""The demo clinic page and its chat widget, in a real headless Chromium.

The servers are those of ``make run`` (the ``running_server`` fixture). The widget shows each
reply as it arrives (no typing delay); waits are generous for a busy machine, and every wait
ends as soon as what it waits for is on the page.
"""

from __future__ import annotations

import re
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import pytest

from dit_assistant.serve import wait_until_up
from dit_assistant.settings import PROJECT_ROOT, get_settings
from dit_assistant.web import WEBCHAT_BUNDLE
from dit_assistant.web.server import content_security_policy
from tests.fixtures.services import headless_chromium

ARTIFACTS = PROJECT_ROOT / "test-artifacts"
BOT_WAIT_MS = 45_000  # a model reply on a busy 2-core machine
LOCAL_HOSTS = {"127.0.0.1", "localhost"}


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    with headless_chromium() as instance:
        yield instance


@pytest.fixture(scope="module")
def site(running_server) -> str:
    assert WEBCHAT_BUNDLE.exists(), "the widget is not vendored: run `make web`"
    wait_until_up(f"{running_server.web_url}/", [], timeout=60)
    return running_server.web_url


@dataclass
class Visit:
    """One visitor: a fresh browser context (own sessionStorage) and what it requested."""

    page: Any
    url: str
    requests: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def open_page(self) -> None:
        self.page.goto(self.url)
        self.page.wait_for_selector(".rw-launcher", timeout=BOT_WAIT_MS)

    def open_chat(self) -> None:
        self.open_page()
        self.page.click(".rw-launcher")
        self.wait_for_bot("welcome")

    def bot_messages(self) -> list[str]:
        return self.page.locator(".rw-response").all_inner_texts()

    def wait_for_bot(self, text: str, count: int = 1) -> None:
        """Wait until ``count`` bot messages contain ``text`` (case-insensitive)."""
        self.page.wait_for_function(
            """([text, count]) => Array.from(document.querySelectorAll('.rw-response'))
                 .filter(m => m.innerText.toLowerCase().includes(text.toLowerCase()))
                 .length >= count""",
            arg=[text, count],
            timeout=BOT_WAIT_MS,
        )

    def say(self, text: str) -> None:
        box = self.page.locator(".rw-new-message")
        box.fill(text)
        box.press("Enter")
        self.page.locator(".rw-client", has_text=text).first.wait_for(timeout=BOT_WAIT_MS)

    def conversation_text(self) -> str:
        return self.page.locator(".rw-messages-container").inner_text()


@pytest.fixture()
def visit(browser, site) -> Iterator[Visit]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    current = Visit(page=page, url=f"{site}/")
    page.on("request", lambda request: current.requests.append(request.url))
    page.on("websocket", lambda socket: current.requests.append(socket.url))
    page.on(
        "console",
        lambda message: (
            current.console_errors.append(message.text) if message.type == "error" else None
        ),
    )

    def local_only(route: Any) -> None:
        """Nothing leaves the machine, even if the page tried: it is recorded, then refused."""
        if urlsplit(route.request.url).hostname in LOCAL_HOSTS or route.request.url.startswith(
            "data:"
        ):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", local_only)
    try:
        yield current
    finally:
        context.close()


def test_greeting_appears_when_the_chat_opens_with_quick_replies_as_buttons(visit):
    visit.open_chat()
    greeting = visit.bot_messages()[0]
    assert "Testwood Therapy Centre" in greeting  # the configured clinic, not the default
    replies = visit.page.locator(".rw-reply")
    assert replies.count() >= 3
    for index in range(replies.count()):
        reply = replies.nth(index)
        assert reply.get_attribute("role") == "button" or reply.evaluate("e => e.tagName") == (
            "BUTTON"
        )
        assert reply.is_visible()


def test_a_dit_question_is_answered(visit):
    visit.open_chat()
    visit.say("how many sessions are there?")
    visit.wait_for_bot("16")


def test_clicking_a_quick_reply_asks_it(visit):
    visit.open_chat()
    answers_before = len(visit.bot_messages())
    visit.page.locator(".rw-reply", has_text="What is DIT?").first.click()
    visit.page.locator(".rw-client", has_text="What is DIT?").wait_for(timeout=BOT_WAIT_MS)
    visit.wait_for_bot("pattern")
    assert len(visit.bot_messages()) > answers_before


def test_conversation_survives_a_reload(visit):
    visit.open_chat()
    visit.say("how many sessions are there?")
    visit.wait_for_bot("16")
    session_before = visit.page.evaluate("sessionStorage.getItem('chat_session')")

    visit.page.reload()
    visit.page.wait_for_selector(".rw-client", timeout=BOT_WAIT_MS)
    assert "how many sessions are there?" in visit.conversation_text()
    assert "16" in visit.conversation_text()
    # The same conversation continues on the server: a new question is still answered.
    visit.say("how long is each session?")
    visit.wait_for_bot("50 minutes")
    session_after = visit.page.evaluate("sessionStorage.getItem('chat_session')")
    assert _session_id(session_after) == _session_id(session_before)


def _session_id(stored: str | None) -> str:
    match = re.search(r'"session_id"\s*:\s*"([0-9a-f]{32})"', stored or "")
    assert match, f"no session id in sessionStorage: {stored!r}"
    return match.group(1)


def test_crisis_reply_shows_the_regions_helplines(visit):
    visit.open_chat()
    visit.say("I want to kill myself")
    visit.wait_for_bot("Are you safe right now?")
    text = visit.conversation_text()
    helplines = get_settings().helplines
    assert helplines.emergency in text
    for service in helplines.helplines:
        assert service.name in text
        assert service.contact in text
    # One helpline per line, as in the answer, not run together into one paragraph.
    crisis = next(m for m in visit.bot_messages() if "Are you safe right now?" in m)
    lines = [line.strip() for line in crisis.splitlines()]
    assert any(line.startswith("•") and helplines.helplines[0].name in line for line in lines)


def test_a_crisis_reply_is_shown_as_soon_as_it_arrives(visit):
    """No typing delay: rasa-webchat's default would hold this reply back 3 s."""
    arrived: list[float] = []

    def on_frame(payload: str | bytes) -> None:
        if "Are you safe right now?" in str(payload) and not arrived:
            arrived.append(time.monotonic())

    visit.page.on("websocket", lambda socket: socket.on("framereceived", on_frame))
    visit.open_chat()
    visit.say("I want to kill myself")
    visit.wait_for_bot("Are you safe right now?")
    shown = time.monotonic()
    assert arrived, "the crisis reply never came over the widget's socket"
    assert shown - arrived[0] < 1.0, f"shown {shown - arrived[0]:.1f} s after it arrived"


def test_links_in_answers_are_clickable(visit):
    visit.open_chat()
    visit.say("is what I tell the therapist confidential?")
    privacy = get_settings().clinic.privacy_notice_url
    link = visit.page.locator(f".rw-response a[href='{privacy}']").first
    link.wait_for(timeout=BOT_WAIT_MS)
    assert link.get_attribute("target") == "_blank"
    assert "noopener" in (link.get_attribute("rel") or "")


def test_keyboard_only(visit):
    visit.open_page()
    page = visit.page
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.className") == "skip-link"
    launcher = _tab_to(page, ".rw-launcher")
    assert launcher["label"] == "Open the chat assistant"
    page.keyboard.press("Enter")
    visit.wait_for_bot("welcome")

    message_box = _tab_to(page, ".rw-new-message")
    assert message_box["label"] == "Your message"
    # Back one step from the message box: the last quick reply, usable with Enter.
    page.keyboard.press("Shift+Tab")
    reply_text = page.evaluate("document.activeElement.innerText")
    assert page.evaluate("document.activeElement.classList.contains('rw-reply')")
    page.keyboard.press("Enter")
    page.locator(".rw-client", has_text=reply_text).wait_for(timeout=BOT_WAIT_MS)

    _tab_to(page, ".rw-new-message")
    page.keyboard.type("how many sessions are there?")
    page.keyboard.press("Enter")
    visit.wait_for_bot("16")
    close = page.locator(".rw-close-button")
    assert close.get_attribute("aria-label") == "Close the chat assistant"


def _tab_to(page: Any, selector: str, limit: int = 40) -> dict[str, str]:
    """Press Tab until ``selector`` has the focus; the focused element's class and label."""
    for _ in range(limit):
        if page.evaluate(f"document.activeElement.matches({selector!r})"):
            return page.evaluate(
                "({cls: document.activeElement.className,"
                " label: document.activeElement.getAttribute('aria-label')})"
            )
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} cannot be reached with the Tab key")


def test_page_structure_is_accessible(visit):
    visit.open_chat()
    page = visit.page
    assert page.get_attribute("html", "lang") == "en-GB"
    assert page.locator("h1").count() == 1
    for landmark in ("header", "nav", "main#main", "footer"):
        assert page.locator(landmark).count() == 1, landmark
    assert page.get_attribute("a.skip-link", "href") == "#main"
    unnamed_images = page.locator("img:not([alt])").count()
    assert unnamed_images == 0
    unnamed_buttons = page.evaluate(
        """Array.from(document.querySelectorAll('button, [role=button]'))
             .filter(b => !(b.getAttribute('aria-label') || b.innerText.trim())).length"""
    )
    assert unnamed_buttons == 0
    assert page.get_attribute(".rw-messages-container", "aria-live") == "polite"


CONTRAST_SELECTORS = [
    "main p",
    "main a",
    ".site-header a",
    ".site-name",
    ".site-footer p",
    ".rw-response",
    ".rw-reply",
    ".rw-title",
]


def test_text_contrast_meets_wcag_aa(visit):
    visit.open_chat()
    for selector in CONTRAST_SELECTORS:
        colours = visit.page.evaluate(
            """(selector) => {
                 const element = document.querySelector(selector);
                 let node = element, background = 'rgba(0, 0, 0, 0)';
                 while (node && node.nodeType === 1) {
                   background = getComputedStyle(node).backgroundColor;
                   if (!background.startsWith('rgba(0, 0, 0, 0)')) break;
                   node = node.parentElement;
                 }
                 if (background.startsWith('rgba(0, 0, 0, 0)')) background = 'rgb(255, 255, 255)';
                 return [getComputedStyle(element).color, background];
               }""",
            selector,
        )
        ratio = _contrast(*colours)
        assert ratio >= 4.5, f"{selector}: {colours} has contrast {ratio:.2f}"


def _contrast(foreground: str, background: str) -> float:
    def luminance(colour: str) -> float:
        red, green, blue = (int(v) / 255 for v in re.findall(r"\d+", colour)[:3])
        linear = [
            c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in (red, green, blue)
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_mobile_layout(browser, site):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(f"{site}/")
        page.wait_for_selector(".rw-launcher", timeout=BOT_WAIT_MS)
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        page.click(".rw-launcher")
        page.wait_for_selector(".rw-reply", timeout=BOT_WAIT_MS)
        container = page.locator(".rw-conversation-container").bounding_box()
        assert container["x"] >= 0 and container["x"] + container["width"] <= 390
        assert page.locator(".rw-new-message").is_visible()
        header = page.locator(".rw-header").bounding_box()
        title = page.locator(".rw-title").bounding_box()
        assert (
            title["y"] >= header["y"]
            and title["y"] + title["height"] <= header["y"] + header["height"]
        )
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "widget-mobile-390x844.png"))
    finally:
        context.close()


def test_no_request_leaves_localhost(visit):
    visit.open_chat()
    visit.page.locator(".rw-reply").first.click()
    visit.page.wait_for_selector(".rw-client", timeout=BOT_WAIT_MS)
    visit.say("how many sessions are there?")
    visit.wait_for_bot("16")
    visit.page.reload()
    visit.page.wait_for_selector(".rw-client", timeout=BOT_WAIT_MS)
    assert visit.requests, "no requests were recorded"
    outside = [
        url
        for url in visit.requests
        if not url.startswith("data:") and urlsplit(url).hostname not in LOCAL_HOSTS
    ]
    assert outside == []
    assert any("/socket.io/" in url for url in visit.requests)
    blocked = [e for e in visit.console_errors if "Content Security Policy" in e]
    assert blocked == [], "the page tried to load something its policy forbids"


# ------------------------------------------------------------------ the page's HTTP server
def _fetch(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), b""


def test_page_is_served_with_a_strict_policy(site, running_server):
    status, headers, body = _fetch(f"{site}/")
    assert status == 200
    policy = headers["Content-Security-Policy"]
    assert policy == content_security_policy(running_server.base_url)
    assert "script-src 'self'" in policy
    assert f"connect-src 'self' {running_server.base_url} ws://127.0.0.1:" in policy
    assert b"<script>" not in body  # no inline scripts: config is a JSON block
    assert headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize(
    "path", ["/vendor/", "/assets/", "/../pyproject.toml", "/templates/index.html", "/.env"]
)
def test_page_server_serves_nothing_else(site, path):
    assert _fetch(f"{site}{path}")[0] == 404


def test_vendored_widget_has_no_outside_font():
    assert WEBCHAT_BUNDLE.exists(), "the widget is not vendored: run `make web`"
    bundle = WEBCHAT_BUNDLE.read_text("utf-8")
    assert "fonts.googleapis.com" not in bundle
    assert "@import url(" not in bundle


def test_an_enquiry_can_be_completed_in_the_widget(visit, running_server):
    """The enquiry form end to end in the browser, read back from the server's database."""
    from dit_assistant.store import open_database
    from dit_assistant.store.crypto import EnquiryCipher
    from dit_assistant.store.management import list_enquiries

    visit.open_chat()
    visit.say("I'd like to book an assessment")
    visit.wait_for_bot("18 or over")
    visit.page.locator(".rw-reply", has_text="Yes, I'm 18 or over").first.click()
    visit.wait_for_bot("What name")
    visit.say("Widget Tester")
    visit.wait_for_bot("How would you like the team to contact you?")
    visit.page.locator(".rw-reply", has_text="Email").first.click()
    visit.wait_for_bot("What email address")
    visit.say("widget.tester@example.org")
    visit.wait_for_bot("good time to contact you")
    visit.say("weekday evenings")
    visit.wait_for_bot("optional")
    visit.say("skip")
    visit.wait_for_bot("May Testwood Therapy Centre store these details")
    visit.page.locator(".rw-reply", has_text="Yes, store my details").first.click()
    visit.wait_for_bot("Here is what I'll send")
    visit.page.locator(".rw-reply", has_text="Yes, send it").first.click()
    visit.wait_for_bot("Your reference is")
    reference = re.search(r"DIT-[A-Z0-9]{5}", visit.conversation_text()).group(0)

    database = open_database(running_server.database_url)
    cipher = EnquiryCipher((running_server.env["ENQUIRY_KEYS"],))
    stored = [e for e in list_enquiries(database, cipher=cipher) if e.reference == reference]
    assert len(stored) == 1
    assert stored[0].preferred_name == "Widget Tester"
    assert stored[0].channel == "socketio"
