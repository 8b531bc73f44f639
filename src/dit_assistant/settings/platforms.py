"""Credentials and addresses of the messaging platforms (Telegram, Twilio, Facebook, Slack).

Each platform is read from its own ``<PLATFORM>_*`` variables and is on or off independently of
the others; the channels in :mod:`dit_assistant.channels` read their secrets from here.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, TypeVar
from urllib.parse import urlsplit

from dit_assistant.errors import ConfigurationError


@dataclass(frozen=True)
class PlatformSettings:
    """Settings of one messaging platform, read from ``<ENV_PREFIX><FIELD>`` variables.

    A platform is enabled only when all its ``REQUIRED`` values are set. That is why secrets are
    read here and not written as ``${VAR}`` in ``bot/credentials.yml``: there an unset variable
    stops the whole Rasa server, here it only leaves that one platform switched off.
    """

    ENV_PREFIX: ClassVar[str] = ""
    REQUIRED: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def env_name(cls, field_name: str) -> str:
        return f"{cls.ENV_PREFIX}{field_name.upper()}"

    @property
    def missing(self) -> tuple[str, ...]:
        """Names of the required variables that are not set."""
        return tuple(self.env_name(name) for name in self.REQUIRED if not getattr(self, name))

    @property
    def enabled(self) -> bool:
        return not self.missing

    @property
    def partly_configured(self) -> bool:
        """Some but not all required values set: worth a warning, as it is probably a mistake."""
        return bool(self.missing) and len(self.missing) < len(self.REQUIRED)


@dataclass(frozen=True)
class TelegramSettings(PlatformSettings):
    """Telegram bot (``TELEGRAM_*``): the webhook secret is checked on every update."""

    ENV_PREFIX: ClassVar[str] = "TELEGRAM_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("bot_token", "webhook_secret")
    bot_token: str = field(default="", repr=False)  # a secret: kept out of logs
    webhook_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    webhook_url: str = ""
    """Public URL of our webhook; when set it is registered with Telegram at start-up."""
    api_base: str = "https://api.telegram.org"


@dataclass(frozen=True)
class TwilioSettings(PlatformSettings):
    """Twilio SMS and WhatsApp (``TWILIO_*``): requests are checked with the auth token."""

    ENV_PREFIX: ClassVar[str] = "TWILIO_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("account_sid", "auth_token")
    account_sid: str = ""
    auth_token: str = field(default="", repr=False)  # a secret: kept out of logs
    webhook_url: str = ""
    """The public URL Twilio posts to, exactly as configured at Twilio: signatures cover it, and
    behind a proxy the URL the server sees differs from it."""
    api_base: str = "https://api.twilio.com"
    sms_max_length: int = 1600
    """Twilio's limit for one message body; a clinic may lower it to send fewer SMS segments."""


@dataclass(frozen=True)
class FacebookSettings(PlatformSettings):
    """Facebook Messenger (``FACEBOOK_*``): requests are checked with the app secret."""

    ENV_PREFIX: ClassVar[str] = "FACEBOOK_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("page_access_token", "app_secret", "verify_token")
    page_access_token: str = field(default="", repr=False)  # a secret: kept out of logs
    app_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    verify_token: str = field(default="", repr=False)  # a secret: kept out of logs
    graph_api_url: str = "https://graph.facebook.com/v21.0"


@dataclass(frozen=True)
class SlackSettings(PlatformSettings):
    """Slack app (``SLACK_*``): requests are checked with the signing secret."""

    ENV_PREFIX: ClassVar[str] = "SLACK_"
    REQUIRED: ClassVar[tuple[str, ...]] = ("bot_token", "signing_secret")
    bot_token: str = field(default="", repr=False)  # a secret: kept out of logs
    signing_secret: str = field(default="", repr=False)  # a secret: kept out of logs
    api_base: str = "https://slack.com/api/"


@dataclass(frozen=True)
class ChannelSettings:
    """The messaging platforms; each one is independent of the others."""

    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    twilio: TwilioSettings = field(default_factory=TwilioSettings)
    facebook: FacebookSettings = field(default_factory=FacebookSettings)
    slack: SlackSettings = field(default_factory=SlackSettings)


Platform = TypeVar("Platform", bound=PlatformSettings)


def platform_settings(cls: type[Platform], env: dict[str, str]) -> Platform:
    """One platform's settings from its ``<ENV_PREFIX><FIELD>`` variables; unset ones keep
    their defaults. Whole-number fields must be positive, ``*_url`` and ``*_base`` http(s)."""
    values: dict[str, Any] = {}
    for item in fields(cls):
        name = cls.env_name(item.name)
        raw = (env.get(name) or "").strip()
        if not raw:
            continue
        if isinstance(item.default, int):
            if not raw.isdigit() or int(raw) < 1:
                raise ConfigurationError(f"{name} must be a positive whole number, not {raw!r}")
            values[item.name] = int(raw)
        else:
            if item.name.endswith(("_url", "_base")) and urlsplit(raw).scheme not in (
                "http",
                "https",
            ):
                raise ConfigurationError(f"{name} must be an http(s) URL, not {raw!r}")
            values[item.name] = raw
    return cls(**values)


def channel_settings(env: dict[str, str]) -> ChannelSettings:
    """Every platform's settings; a platform whose required values are unset is off."""
    return ChannelSettings(
        telegram=platform_settings(TelegramSettings, env),
        twilio=platform_settings(TwilioSettings, env),
        facebook=platform_settings(FacebookSettings, env),
        slack=platform_settings(SlackSettings, env),
    )
