"""Builds the running bot from an :class:`~bot.app.App`: core, intake, Telegram adapter, outbox
sender, instance heartbeat and scheduler, and serves updates by long polling or webhook.  Used by
``fieldbot run``, the demo and tests."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from urllib.parse import urlparse

from aiogram import Bot
from aiohttp import web

from bot.app import App
from bot.channels.telegram import TelegramAdapter, make_bot
from bot.instances import Instances
from bot.intake import Intake
from handlers.media import MediaStore
from bot.outbox import OutboxSender
from handlers.core import Core
from models.enums import Channel
from scheduler.runner import Scheduler

log = logging.getLogger(__name__)

#: Own inbox rows still pending this long (their handling hit a dead database) are tried again.
STUCK_AFTER = timedelta(seconds=30)


@dataclass
class Runtime:
    app: App
    core: Core
    intake: Intake
    sender: OutboxSender
    instances: Instances
    bot: Bot
    adapter: TelegramAdapter
    scheduler: Scheduler | None = None


def build_runtime(app: App) -> Runtime:
    import handlers.flows  # noqa: F401  (registers the flows)
    from handlers.registry import router

    cfg = app.config
    media = MediaStore(cfg.storage.media_dir)
    bot = make_bot(cfg.telegram.token.get_secret_value(), cfg.telegram.api_base)
    adapter = TelegramAdapter(bot, media_root=media.root)
    instances = Instances(app)
    sender = OutboxSender(app, {Channel.TELEGRAM: adapter}, rate=cfg.telegram.rate,
                          per_chat_interval=cfg.telegram.chat_interval.total_seconds(),
                          group_per_minute=cfg.telegram.group_per_minute, media_root=media.root,
                          instance_id=instances.id)
    core = Core(app, router, media, {Channel.TELEGRAM: adapter.download}, on_commit=sender.wake)
    intake = Intake(app, core, {Channel.TELEGRAM: adapter}, instances.id)
    scheduler = Scheduler(app, on_sent=sender.wake) if cfg.scheduler.enabled else None
    return Runtime(app=app, core=core, intake=intake, sender=sender, instances=instances, bot=bot,
                   adapter=adapter, scheduler=scheduler)


@contextlib.asynccontextmanager
async def background(rt: Runtime):  # noqa: ANN201
    """Everything but the intake's source, for as long as updates are served: the instance's
    heartbeat (taking over what stopped instances left: first, before any new update), the outbox
    sender and (if enabled) the scheduler."""
    alive = await rt.instances.register()
    await rt.intake.adopt(alive)

    async def on_beat(alive_now: list[str]) -> None:
        await rt.intake.adopt(alive_now)
        await rt.intake.retry_stuck(datetime.now(timezone.utc) - STUCK_AFTER)
        rt.sender.wake()

    heartbeat = asyncio.create_task(rt.instances.run(on_beat), name="heartbeat")
    sender = asyncio.create_task(rt.sender.run(), name="outbox")
    if rt.scheduler is not None:
        rt.scheduler.start()
    try:
        yield
    finally:
        # A clean stop (the source of updates is already gone): updates being handled finish,
        # then the scheduler, then the sender finishes the messages it is sending.  A crash
        # skips all this; the inbox, the leases and the heartbeat make up for it at the next start.
        await rt.intake.drain(timeout=5.0)
        await rt.intake.stop()
        if rt.scheduler is not None:
            await rt.scheduler.stop()
        await rt.sender.stop(timeout=5.0)
        for task in (heartbeat, sender):
            task.cancel()
        await asyncio.gather(heartbeat, sender, return_exceptions=True)
        await rt.instances.unregister()


async def serve_polling(rt: Runtime) -> None:
    """Long polling plus everything in :func:`background`, until cancelled."""
    async with background(rt):
        await rt.adapter.poll(rt.intake, timeout=10)


async def serve_webhook(rt: Runtime) -> None:
    """An HTTP server for Telegram's webhook (secret header checked, 200 only once stored) plus
    everything in :func:`background`, until cancelled."""
    cfg = rt.app.config.telegram
    secret = cfg.webhook_secret.get_secret_value() or None
    path = urlparse(cfg.webhook_url).path or "/telegram"
    web_app = web.Application(client_max_size=4 * 1024 * 1024)
    web_app.router.add_post(path, rt.adapter.webhook_handler(rt.intake, secret))
    host, _, port = cfg.webhook_listen.rpartition(":")
    runner = web.AppRunner(web_app)
    await runner.setup()
    try:
        async with background(rt):
            # Listen only once recovery is done: what a crash left is handled before new updates.
            await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()
            await rt.bot.set_webhook(cfg.webhook_url, secret_token=secret, drop_pending_updates=False,
                                     allowed_updates=["message", "callback_query"])
            await asyncio.Event().wait()
    finally:
        await runner.cleanup()


async def close(rt: Runtime) -> None:
    await rt.bot.session.close()
