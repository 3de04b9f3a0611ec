"""Whose bot the Telegram links lead to: the @username Telegram's ``getMe`` gives for the token.

``telegram.bot_username`` is optional.  ``fieldbot run`` asks ``getMe`` at start: an empty setting
takes Telegram's answer, a different one stops the bot (invites would lead to another bot).  The
answer is remembered in ``channel_state`` per bot id (the token's digits), so the commands that
print links without running the bot (``fieldbot invite``, ``ticket create``) know the name too; when
nothing is remembered yet they ask ``getMe`` themselves.  Nothing falls back to some other bot.
"""

from __future__ import annotations

from typing import Any

from bot.channels.wecom.state import StateStore
from bot.startup_db import StartupError
from handlers.i18n import t
from models.enums import Channel


def _key(token: str) -> str:
    return f"telegram:username:{token.split(':', 1)[0]}"


async def remember(app: Any, username: str) -> None:  # noqa: ANN401
    await StateStore(app.db).put(_key(app.config.telegram.token.get_secret_value()), username)


async def remembered(app: Any) -> str | None:  # noqa: ANN401
    return await StateStore(app.db).get(_key(app.config.telegram.token.get_secret_value()))


def check(configured: str, actual: str, lang: str) -> None:
    """A configured name must be the token's bot (Telegram's usernames ignore case)."""
    if configured and configured.lower() != actual.lower():
        raise StartupError(t(lang, "cli.start.username_mismatch", configured=configured, actual=actual))


async def ask(app: Any, lang: str) -> str:  # noqa: ANN401
    """``getMe`` for the configured token: the username, or StartupError in one line."""
    from bot.runtime import telegram_adapter_class
    from bot.startup import telegram_failure

    cfg = app.config.telegram
    adapter = telegram_adapter_class(cfg.runtime)(cfg)
    try:
        _, username = await adapter.identify()
    except Exception as exc:
        line = telegram_failure(exc, adapter, cfg, lang, "getMe")
        if line is None:
            raise
        raise StartupError(line) from None
    finally:
        await adapter.close()
    if not username:
        raise StartupError(t(lang, "cli.start.username_missing"))
    return username


async def for_links(app: Any, lang: str) -> None:  # noqa: ANN401
    """Before a command prints Telegram links: make sure ``telegram.bot_username`` is this
    token's bot (remembered, or asked), or stop with one line before anything is written."""
    if Channel.TELEGRAM not in app.channels:
        return
    cfg = app.config.telegram
    if not cfg.token.get_secret_value():
        if not cfg.bot_username:
            raise StartupError(t(lang, "cli.links.no_username"))
        return
    known = await remembered(app)
    if cfg.bot_username:
        if known:
            check(cfg.bot_username, known, lang)
        return
    if not known:
        known = await ask(app, lang)
        await remember(app, known)
    cfg.bot_username = known
