"""Builds the running bot from an :class:`~bot.app.App`: core, Telegram adapter, outbox sender,
and serves updates by long polling or webhook.  Used by ``fieldbot run``, the demo and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from aiogram import Bot, Dispatcher
from aiohttp import web

from bot.app import App
from bot.channels.telegram import TelegramAdapter, build_dispatcher, make_bot
from bot.media import MediaStore
from bot.outbox import OutboxSender
from handlers.core import Core
from models.enums import Channel
from scheduler.runner import Scheduler

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    app: App
    core: Core
    sender: OutboxSender
    bot: Bot
    dispatcher: Dispatcher
    adapter: TelegramAdapter
    scheduler: Scheduler | None = None


def build_runtime(app: App) -> Runtime:
    import handlers.flows  # noqa: F401  (registers the flows)
    from handlers.registry import router

    cfg = app.config
    media = MediaStore(cfg.storage.media_dir)
    bot = make_bot(cfg.telegram.token.get_secret_value(), cfg.telegram.api_base)
    adapter = TelegramAdapter(bot, media_root=media.root)
    sender = OutboxSender(app, {Channel.TELEGRAM: adapter}, rate=cfg.telegram.rate,
                          per_chat_interval=cfg.telegram.chat_interval.total_seconds(),
                          group_per_minute=cfg.telegram.group_per_minute, media_root=media.root)
    core = Core(app, router, media, {Channel.TELEGRAM: adapter.download}, on_commit=sender.wake)
    scheduler = Scheduler(app, on_sent=sender.wake) if cfg.scheduler.enabled else None
    return Runtime(app=app, core=core, sender=sender, bot=bot, dispatcher=build_dispatcher(core, app.clock),
                   adapter=adapter, scheduler=scheduler)


@contextlib.asynccontextmanager
async def background(rt: Runtime):  # noqa: ANN201
    """The outbox sender and (if enabled) the scheduler, for as long as updates are served."""
    sender = asyncio.create_task(rt.sender.run(), name="outbox")
    if rt.scheduler is not None:
        rt.scheduler.start()
    try:
        yield
    finally:
        if rt.scheduler is not None:
            await rt.scheduler.stop()
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender


async def serve_polling(rt: Runtime) -> None:
    """Long polling plus the outbox sender, until cancelled."""
    await rt.bot.delete_webhook(drop_pending_updates=False)
    async with background(rt):
        polling = asyncio.create_task(rt.dispatcher.start_polling(
            rt.bot, handle_signals=False, close_bot_session=False, polling_timeout=10), name="polling")
        try:
            # Shielded: cancelling start_polling itself would leave aiogram's poller tasks running;
            # stop_polling() shuts them down properly.
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            with contextlib.suppress(RuntimeError):
                await rt.dispatcher.stop_polling()
            with contextlib.suppress(asyncio.CancelledError):
                await polling
            raise


async def serve_webhook(rt: Runtime) -> None:
    """An HTTP server for Telegram's webhook (secret header checked) plus the outbox sender."""
    from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
    from urllib.parse import urlparse

    cfg = rt.app.config.telegram
    secret = cfg.webhook_secret.get_secret_value() or None
    path = urlparse(cfg.webhook_url).path or "/telegram"
    web_app = web.Application()
    SimpleRequestHandler(dispatcher=rt.dispatcher, bot=rt.bot, secret_token=secret).register(web_app, path=path)
    setup_application(web_app, rt.dispatcher, bot=rt.bot)
    host, _, port = cfg.webhook_listen.rpartition(":")
    runner = web.AppRunner(web_app)
    await runner.setup()
    await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
    await rt.bot.set_webhook(cfg.webhook_url, secret_token=secret, drop_pending_updates=False)
    try:
        async with background(rt):
            await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def close(rt: Runtime) -> None:
    await rt.bot.session.close()
