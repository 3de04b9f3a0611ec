"""What ``fieldbot run`` would refuse or silently ignore in a config that parses: the one review
``check-config`` prints and ``run`` applies before it touches the database or the network.

Parsing (:mod:`bot.config`) already refuses what a single key or section can tell: unknown keys,
bad values, a ``ptb`` runtime that is not installed, ``[wecom]`` enabled but incomplete, 微信客服
half-configured.  What needs the whole config is here: no channel at all, webhook mode without a
URL, listening addresses, settings that a disabled channel ignores.  Errors stop ``run`` (exit 1);
warnings are printed and the bot runs.  Every text is a catalog entry (``cli.check.*``) after the
key path it is about.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pydantic import SecretStr

from bot.config import Config
from bot.config_channels import TelegramSection, WecomSection
from handlers.i18n import t

#: The callback URL config.example.toml ships with: WeCom cannot reach it.
EXAMPLE_CALLBACK = WecomSection.model_fields["callback_url"].default
#: ``[telegram]`` keys that only matter when Telegram is served (the token is set).
_TELEGRAM_KEYS = ("bot_username", "runtime", "mode", "api_base", "webhook_url", "webhook_secret", "webhook_listen")
_WECOM_KEYS = ("corp_id", "agent_id", "secret", "token", "aes_key", "callback_url", "callback_listen",
               "kf_open_kfid", "kf_link", "kf_secret", "link_secret", "oauth_url")


@dataclass
class Finding:
    path: str
    key: str  # catalog key under cli.check
    params: dict[str, Any] = field(default_factory=dict)
    error: bool = True

    def text(self, lang: str) -> str:
        line = f"{self.path}: {t(lang, f'cli.check.{self.key}', **self.params)}"
        return line if self.error else t(lang, "cli.check.warning", line=line)


def _changed(section: Any, name: str) -> bool:  # noqa: ANN401
    """Set to something other than its default (the example file lists every key at its default)."""
    value, default = getattr(section, name), type(section).model_fields[name].default
    if isinstance(value, SecretStr):
        return bool(value.get_secret_value())
    return value != default


def _address_problem(value: str) -> bool:
    host, sep, port = value.rpartition(":")
    return not sep or not port.isdigit() or not 0 < int(port) < 65536 or " " in host


def _base_problem(value: str) -> bool:
    url = urlsplit(value)
    return url.scheme not in ("http", "https") or not url.hostname


def review(config: Config) -> list[Finding]:
    """Every finding, errors first."""
    found = _channels(config) + _telegram(config.telegram, config.wecom.enabled) + _wecom(config) + sqlite_findings(config)
    return sorted(found, key=lambda f: not f.error)


def _channels(config: Config) -> list[Finding]:
    if config.telegram.token.get_secret_value() or config.wecom.enabled:
        return []
    return [Finding("telegram.token", "no_channel")]


def _telegram(cfg: TelegramSection, wecom: bool) -> list[Finding]:
    if not cfg.token.get_secret_value():
        # Without any channel the CLI still makes Telegram links with bot_username.
        return [Finding(f"telegram.{name}", "telegram_ignored", error=False)
                for name in _TELEGRAM_KEYS if _changed(cfg, name) and (wecom or name != "bot_username")]
    out = []
    if cfg.api_base and _base_problem(cfg.api_base):
        out.append(Finding("telegram.api_base", "not_a_base", {"value": cfg.api_base}))
    if cfg.mode == "polling":
        out += [Finding(f"telegram.{name}", "polling_ignores", error=False)
                for name in ("webhook_url", "webhook_secret") if _changed(cfg, name)]
        return out
    if not cfg.webhook_url:
        out.append(Finding("telegram.webhook_url", "webhook_url_missing"))
    else:
        url = urlsplit(cfg.webhook_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            out.append(Finding("telegram.webhook_url", "webhook_url_bad", {"value": cfg.webhook_url}))
        elif url.scheme != "https" and not cfg.api_base:
            out.append(Finding("telegram.webhook_url", "webhook_url_https", {"value": cfg.webhook_url}))
    if _address_problem(cfg.webhook_listen):
        out.append(Finding("telegram.webhook_listen", "not_an_address", {"value": cfg.webhook_listen}))
    if not cfg.webhook_secret.get_secret_value():
        out.append(Finding("telegram.webhook_secret", "webhook_secret_empty", error=False))
    return out


def _wecom(config: Config) -> list[Finding]:
    cfg = config.wecom
    if not cfg.enabled:
        changed = [name for name in _WECOM_KEYS if _changed(cfg, name)]
        return [Finding("wecom.enabled", "wecom_ignored", {"keys": ", ".join(changed)}, error=False)] if changed else []
    out = []
    if _base_problem(cfg.api_base):
        out.append(Finding("wecom.api_base", "not_a_base", {"value": cfg.api_base}))
    if _address_problem(cfg.callback_listen):
        out.append(Finding("wecom.callback_listen", "not_an_address", {"value": cfg.callback_listen}))
    callback = urlsplit(cfg.callback_url)
    if callback.scheme not in ("http", "https") or not callback.hostname:
        out.append(Finding("wecom.callback_url", "callback_url_bad", {"value": cfg.callback_url}))
    elif cfg.callback_url == EXAMPLE_CALLBACK:
        out.append(Finding("wecom.callback_url", "callback_url_example", {"value": cfg.callback_url}, error=False))
    if not cfg.kf_open_kfid:
        out += [Finding(f"wecom.{name}", "kf_ignored", error=False)
                for name in ("kf_secret", "link_secret") if _changed(cfg, name)]
    tg = config.telegram
    if (tg.token.get_secret_value() and tg.mode == "webhook" and tg.webhook_url
            and tg.webhook_listen == cfg.callback_listen
            and (urlsplit(tg.webhook_url).path or "/telegram") == (callback.path or "/wecom/callback")):
        out.append(Finding("telegram.webhook_url", "same_route",
                           {"path": callback.path or "/wecom/callback", "address": cfg.callback_listen}))
    return out


def sqlite_path(config: Config) -> Path | None:
    """The SQLite file the config names (None: PostgreSQL, or an in-memory database)."""
    url = config.database.url.get_secret_value()
    if not url.startswith("sqlite"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    return Path(database) if database and database != ":memory:" else None


def sqlite_findings(config: Config) -> list[Finding]:
    """Only what the file system tells without creating anything (``run`` tries the real thing)."""
    path = sqlite_path(config)
    if path is None:
        return []
    if path.exists():
        if path.is_dir():
            return [Finding("database.url", "sqlite_is_dir", {"path": str(path)})]
        return [] if os.access(path, os.W_OK) else [Finding("database.url", "sqlite_read_only", {"path": str(path)})]
    parent = path.parent
    while not parent.exists() and parent != parent.parent:
        parent = parent.parent
    if not parent.is_dir():
        return [Finding("database.url", "sqlite_no_dir", {"path": str(path), "blocker": str(parent)})]
    if not os.access(parent, os.W_OK | os.X_OK):
        return [Finding("database.url", "sqlite_dir_read_only", {"path": str(path), "dir": str(parent)})]
    return []


def problems(config: Config, lang: str) -> tuple[list[str], list[str]]:
    """(errors, warnings) as printed lines."""
    found = review(config)
    return [f.text(lang) for f in found if f.error], [f.text(lang) for f in found if not f.error]
