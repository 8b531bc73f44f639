"""Sending: email through the clinic's SMTP server, JSON to a webhook. Standard library only.

Each call raises on failure; the caller records the error's type and tries again later. Nothing
here logs: messages name secrets (the password) or URLs that are secrets (Slack and Teams
webhook URLs), and the caller logs only references and error types.
"""

from __future__ import annotations

import smtplib
import ssl
import urllib.request
from email.message import EmailMessage
from urllib.error import HTTPError

from dit_assistant.notify.messages import SIGNATURE_HEADER, signature, webhook_body
from dit_assistant.settings import NotificationSettings

TIMEOUT_S = 20
"""A connection or a reply slower than this counts as a failure: it is retried later."""


class WebhookRefused(RuntimeError):
    """The webhook answered with a status other than 2xx (the status is the only argument)."""


def send_email(message: EmailMessage, config: NotificationSettings) -> None:
    context = ssl.create_default_context()
    smtp: smtplib.SMTP
    if config.smtp_port == 465:
        smtp = smtplib.SMTP_SSL(
            config.smtp_host, config.smtp_port, timeout=TIMEOUT_S, context=context
        )
    else:
        smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=TIMEOUT_S)
    with smtp:
        smtp.ehlo()
        if config.smtp_starttls and config.smtp_port != 465:
            smtp.starttls(context=context)
            smtp.ehlo()
        if config.smtp_username:
            smtp.login(config.smtp_username, config.smtp_password)
        smtp.send_message(message)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is a failure: the signed body must go only where the clinic configured."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post_webhook(payload: dict[str, object], config: NotificationSettings) -> None:
    body = webhook_body(payload)
    headers = {"Content-Type": "application/json; charset=utf-8", "User-Agent": "dit-assistant"}
    if config.webhook_secret:
        headers[SIGNATURE_HEADER] = signature(body, config.webhook_secret)
    request = urllib.request.Request(config.webhook_url, data=body, headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=TIMEOUT_S) as response:
            status = response.status
    except HTTPError as error:
        raise WebhookRefused(error.code) from None
    if not 200 <= status < 300:
        raise WebhookRefused(status)
