"""``fieldbot run`` at start: everything it can find out before serving, and a failure said as one
line in the CLI's language instead of a traceback.

:func:`preflight` runs after the runtime is built and before anything is served: the listening
addresses are free, Telegram knows the token (``getMe``; the bot's @username is checked or taken,
:mod:`bot.bot_name`), WeCom takes the secret and this server's IP.  :func:`explain` turns what makes
``serve`` fail later (a token revoked while running, the database gone) into the same lines; an
exception it does not know keeps its traceback — that is a bug.
"""

from __future__ import annotations

import asyncio
import errno
import socket
from typing import Any

from bot import bot_name
from bot.startup_db import StartupError, database_failure, os_reason
from handlers.i18n import t
from models.enums import Channel

__all__ = ["StartupError", "explain", "preflight", "telegram_failure"]

TELEGRAM_API = "https://api.telegram.org"


def _network_reason(exc: BaseException, fallback: str) -> str:
    """The innermost operating-system reason (connection refused, name not known), if any."""
    seen: set[int] = set()
    node: BaseException | None = exc
    while node is not None and id(node) not in seen:
        seen.add(id(node))
        inner = getattr(node, "os_error", None)  # aiohttp's ClientConnectorError
        if isinstance(inner, OSError):
            node = inner
        if isinstance(node, OSError):
            return os_reason(node)
        if isinstance(node, asyncio.TimeoutError):
            return "timed out"
        node = node.__cause__ or node.__context__
    return fallback


def telegram_failure(exc: BaseException, adapter: Any, cfg: Any, lang: str, method: str) -> str | None:  # noqa: ANN401
    """A Bot API call that failed at start (or a receive error that ended the bot), as one line."""
    if adapter._fatal(exc):  # 401: the token is wrong or revoked
        return t(lang, "cli.start.telegram_token", reason=str(getattr(exc, "message", "") or exc))
    error = adapter._error(exc)
    if error is None:
        return None
    if error.kind == "transient":
        return t(lang, "cli.start.telegram_unreachable", base=cfg.api_base or TELEGRAM_API,
                 reason=_network_reason(exc, error.reason))
    return t(lang, "cli.start.telegram_refused", method=method, reason=error.reason)


def wecom_failure(exc: BaseException, cfg: Any, lang: str, *, kf: bool = False) -> str | None:  # noqa: ANN401
    from bot.channels.wecom.client import WecomConfigError, WecomError

    if isinstance(exc, WecomConfigError):
        if exc.errcode == 60020:
            ip = exc.errmsg.split("from ip:")[-1].split(",")[0].strip() if "from ip:" in exc.errmsg else "?"
            return t(lang, "cli.start.wecom_ip", ip=ip)
        key = "wecom.kf_secret" if kf and cfg.kf_secret.get_secret_value() else "wecom.secret"
        return t(lang, "cli.start.wecom_secret", setting=key)
    if isinstance(exc, WecomError):
        return t(lang, "cli.start.wecom_corp_id") if exc.errcode == 40013 else None
    import aiohttp

    if isinstance(exc, (aiohttp.ClientError, asyncio.TimeoutError, OSError)):
        return t(lang, "cli.start.wecom_unreachable", base=cfg.api_base, reason=_network_reason(exc, str(exc)))
    return None


def _listen_keys(config: Any, address: str) -> str:  # noqa: ANN401
    keys = []
    if config.telegram.token.get_secret_value() and config.telegram.mode == "webhook" \
            and config.telegram.webhook_listen == address:
        keys.append("telegram.webhook_listen")
    if config.wecom.enabled and config.wecom.callback_listen == address:
        keys.append("wecom.callback_listen")
    return ", ".join(keys) or address


def listen_failure(exc: BaseException, config: Any, address: str, lang: str) -> str | None:  # noqa: ANN401
    if not isinstance(exc, OSError):
        return None
    keys = _listen_keys(config, address)
    if exc.errno == errno.EADDRINUSE:
        return t(lang, "cli.start.address_in_use", keys=keys, address=address)
    return t(lang, "cli.start.address_bad", keys=keys, address=address, reason=exc.strerror or str(exc))


def _probe_listen(address: str) -> None:
    """Bind the address and let it go at once: taken, forbidden or unknown shows before anything runs."""
    host, _, port = address.rpartition(":")
    host = host.strip("[]") or "127.0.0.1"
    infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    family, kind, proto, _, where = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the web server will
        probe.bind(where)


async def preflight(rt: Any, lang: str) -> None:  # noqa: ANN401
    """Everything that can be checked before serving; StartupError with one line otherwise."""
    from bot.runtime import listeners

    config = rt.app.config
    for address in listeners(rt):
        try:
            _probe_listen(address)
        except OSError as exc:
            raise StartupError(listen_failure(exc, config, address, lang) or str(exc)) from None
    telegram = rt.adapters.get(Channel.TELEGRAM)
    if telegram is not None:
        try:
            _, username = await telegram.identify()
        except Exception as exc:
            line = telegram_failure(exc, telegram, config.telegram, lang, "getMe")
            if line is None:
                raise
            raise StartupError(line) from None
        if not username:
            raise StartupError(t(lang, "cli.start.username_missing"))
        bot_name.check(config.telegram.bot_username, username, lang)
        config.telegram.bot_username = username
        await bot_name.remember(rt.app, username)
    for channel, kf in ((Channel.WECOM, False), (Channel.WECOM_KF, True)):
        adapter = rt.adapters.get(channel)
        if adapter is None:
            continue
        try:
            if kf:  # its own secret when set: gettoken says whether WeCom takes it
                await adapter.client.token()
            else:  # gettoken (40001), then a call WeCom checks this server's IP for (60020)
                await adapter.client.call("/cgi-bin/menu/get", params={"agentid": config.wecom.agent_id},
                                          method="GET")
        except Exception as exc:
            line = wecom_failure(exc, config.wecom, lang, kf=kf)
            if line is not None:
                raise StartupError(line) from None
            from bot.channels.wecom.client import WecomError

            if not isinstance(exc, WecomError):  # another WeCom answer (no menu yet) is not ours to judge
                raise


def explain(exc: BaseException, rt: Any, lang: str) -> str | None:  # noqa: ANN401
    """What made ``serve`` fail, as one line; None for an exception we do not know (a bug)."""
    config = rt.app.config
    where = getattr(exc, "fieldbot_where", None)
    if isinstance(where, tuple) and where[:1] == ("listen",):
        return listen_failure(exc, config, where[1], lang)
    if where == Channel.TELEGRAM and Channel.TELEGRAM in rt.adapters:
        method = "setWebhook" if config.telegram.mode == "webhook" else "getUpdates"
        return telegram_failure(exc, rt.adapters[Channel.TELEGRAM], config.telegram, lang, method)
    if where in (Channel.WECOM, Channel.WECOM_KF):
        return wecom_failure(exc, config.wecom, lang, kf=where == Channel.WECOM_KF)
    return database_failure(exc, config, lang)
