"""The channel sections of the config: ``[telegram]`` (with the runtime check that ``check-config``
and ``fieldbot run`` share) and ``[wecom]`` (the company app and WeChat customer service)."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import re
from datetime import timedelta
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_core import PydanticCustomError

from bot.config_types import Duration, Section

#: Telegram usernames: 5–32 letters, digits and underscores, starting with a letter.
_USERNAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{4,31}$")


class TelegramSection(Section):
    token: SecretStr = SecretStr("")
    #: Empty: taken from Telegram's getMe when ``fieldbot run`` starts (and remembered for the CLI).
    bot_username: str = ""
    runtime: Literal["aiogram", "ptb"] = "aiogram"
    mode: Literal["polling", "webhook"] = "polling"
    api_base: str = ""
    webhook_url: str = ""
    webhook_secret: SecretStr = SecretStr("")
    webhook_listen: str = "127.0.0.1:8080"
    rate: float = Field(25.0, gt=0)
    chat_interval: Duration = timedelta(seconds=1)
    group_per_minute: int = Field(20, gt=0)

    @field_validator("bot_username")
    @classmethod
    def _username(cls, value: str) -> str:
        """The bot's @username as BotFather gave it (the @ is optional)."""
        value = value.strip().removeprefix("@")
        if value and not _USERNAME.match(value):
            raise PydanticCustomError(
                "bot_username", '"{value}" is not a bot username; write it as @BotFather shows it, e.g. "acme_service_bot"',
                {"value": value})
        return value

    @field_validator("runtime")
    @classmethod
    def _installed(cls, value: str) -> str:
        """A runtime whose SDK is missing is a config problem, so ``check-config`` and
        ``fieldbot run`` (which both read the config through here) say so alike, in one line."""
        problem = ptb_missing() if value == "ptb" else None
        if problem:
            raise PydanticCustomError("runtime", problem)
        return value


#: The python-telegram-bot releases the ``ptb`` runtime is written for.
PTB_MAJOR = 22


def ptb_missing() -> str | None:
    """Why ``telegram.runtime = "ptb"`` cannot run here; None if it can.  Looked up without
    importing the SDK (no import-time side effects, and check-config stays fast)."""
    install = 'install the ptb extra (pip install "fieldbot[ptb]") or use runtime = "aiogram"'
    try:
        version = importlib.metadata.version("python-telegram-bot")
        found = importlib.util.find_spec("telegram") is not None
    except (importlib.metadata.PackageNotFoundError, ValueError):
        found = False
    if not found:
        return f"python-telegram-bot is not installed; {install}"
    major = version.split(".", 1)[0]
    if major != str(PTB_MAJOR):
        return f"python-telegram-bot {version} is installed, the ptb runtime needs {PTB_MAJOR}.x; {install}"
    return None


class WecomSection(Section):
    enabled: bool = False
    corp_id: str = ""
    agent_id: int = 0
    secret: SecretStr = SecretStr("")
    token: SecretStr = SecretStr("")
    aes_key: SecretStr = SecretStr("")
    api_base: str = "https://qyapi.weixin.qq.com"
    callback_url: str = "https://fieldbot.example.com/wecom/callback"
    callback_listen: str = "127.0.0.1:8081"
    kf_open_kfid: str = ""
    kf_link: str = ""
    kf_secret: SecretStr = SecretStr("")
    link_secret: SecretStr = SecretStr("")
    oauth_url: str = ""

    @field_validator("oauth_url")
    @classmethod
    def _oauth_url(cls, value: str) -> str:
        """The OAuth landing page (PROTOCOL.md §7(b)): a public https URL with a host and a path of
        its own; WeCom redirects there with ``?code=…&state=…`` (so no query or fragment of its own)."""
        value = value.strip()
        if not value:
            return value
        problem = oauth_url_problem(value)
        if problem:
            raise PydanticCustomError("wecom_oauth_url", '"{value}": {problem}', {"value": value, "problem": problem})
        return value

    @model_validator(mode="after")
    def _complete(self) -> WecomSection:
        if self.enabled:
            missing = [name for name, value in (("corp_id", self.corp_id), ("agent_id", self.agent_id),
                                                ("secret", self.secret.get_secret_value()),
                                                ("token", self.token.get_secret_value()),
                                                ("aes_key", self.aes_key.get_secret_value())) if not value]
            if missing:
                raise PydanticCustomError("wecom_incomplete", "wecom is enabled but {missing} is empty",
                                          {"missing": ", ".join(missing)})
            if len(self.aes_key.get_secret_value()) != 43:
                raise PydanticCustomError("wecom_aes_key", "wecom.aes_key (EncodingAESKey) has 43 characters")
            if bool(self.kf_open_kfid) != bool(self.kf_link):
                raise PydanticCustomError("wecom_kf", "set both wecom.kf_open_kfid and wecom.kf_link, or neither")
            if self.oauth_url and urlsplit(self.oauth_url).path == (urlsplit(self.callback_url).path or "/wecom/callback"):
                raise PydanticCustomError("wecom_oauth_path", "wecom.oauth_url needs a path of its own, not callback_url's")
        return self


_PATH = re.compile(r"^/[A-Za-z0-9._~/-]+$")


def oauth_url_problem(value: str) -> str | None:
    """Why ``value`` cannot be the OAuth landing page's URL; None if it can."""
    try:
        url = urlsplit(value)
        url.port  # noqa: B018  (raises on a port that is not a number)
    except ValueError:
        return "not a URL"
    if url.scheme != "https":
        return "must start with https://"
    if not url.hostname or url.username is not None or url.password is not None:
        return "needs a host (the app's trusted domain), e.g. https://fieldbot.example.com/wecom/oauth"
    if url.query or url.fragment or "?" in value or "#" in value:
        return "must not have a query (?…) or a fragment (#…): WeCom adds ?code=…&state=…"
    if url.path in ("", "/") or not _PATH.match(url.path):
        return "needs a path of letters, digits and - _ . ~ /, e.g. https://fieldbot.example.com/wecom/oauth"
    return None


