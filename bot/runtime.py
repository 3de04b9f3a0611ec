"""The running bot, built from an :class:`~bot.app.App`: the channel adapters the config asks for,
the core, the intake, the outbox sender, the instance heartbeat and the scheduler — and serving
them: each adapter receives its own way (a poller, or routes on the one web server).  Used by
``fieldbot run``, the demo and tests.

Adding a channel is one adapter package and one line in :func:`build_adapters`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from aiohttp import web

from bot.app import App
from bot.channels.base import ChannelAdapter
from bot.instances import Instances
from bot.intake import Intake
from bot.outbox import OutboxSender
from handlers.core import Core
from handlers.media import MediaStore
from models.enums import Channel
from scheduler.runner import Scheduler

log = logging.getLogger(__name__)

#: Own inbox rows still pending this long (their handling hit a dead database) are tried again.
STUCK_AFTER = timedelta(seconds=30)


def telegram_adapter_class(runtime: str) -> type[ChannelAdapter]:
    """The Telegram adapter of ``telegram.runtime`` (its SDK imported only when chosen)."""
    if runtime == "ptb":
        from bot.channels.telegram_ptb import PtbTelegramAdapter

        return PtbTelegramAdapter
    from bot.channels.telegram import TelegramAdapter

    return TelegramAdapter


def build_adapters(app: App, media: MediaStore) -> dict[Channel, ChannelAdapter]:
    """Every channel the config turns on, each with the runtime it names."""
    cfg = app.config
    adapters: dict[Channel, ChannelAdapter] = {}
    if cfg.telegram.token.get_secret_value():
        Telegram = telegram_adapter_class(cfg.telegram.runtime)  # noqa: N806
        adapters[Channel.TELEGRAM] = Telegram(cfg.telegram, media_root=media.root)
    if cfg.wecom.enabled:
        from bot.channels.wecom.app import WecomAdapter
        from bot.channels.wecom.kf import WecomKfAdapter

        wecom = adapters[Channel.WECOM] = WecomAdapter(app, media_root=media.root)
        if cfg.wecom.kf_open_kfid:
            wecom.kf = adapters[Channel.WECOM_KF] = WecomKfAdapter(app, media_root=media.root)
    return adapters


@dataclass
class Runtime:
    app: App
    core: Core
    intake: Intake
    sender: OutboxSender
    instances: Instances
    adapters: dict[Channel, ChannelAdapter]
    scheduler: Scheduler | None = None
    web_runners: list[web.AppRunner] = field(default_factory=list, repr=False)

    @property
    def adapter(self) -> ChannelAdapter:
        """The Telegram adapter (tests, the demo and the benchmarks drive Telegram)."""
        return self.adapters[Channel.TELEGRAM]

    @property
    def bot(self):  # noqa: ANN201
        """The Telegram SDK's client object (aiogram ``Bot`` or PTB ``Bot``)."""
        return self.adapter.bot


def build_runtime(app: App) -> Runtime:
    from handlers.flow_list import FLOWS
    from handlers.registry import build_router

    media = MediaStore(app.config.storage.media_dir)
    adapters = build_adapters(app, media)
    instances = Instances(app)
    sender = OutboxSender(app, adapters, media_root=media.root, instance_id=instances.id)
    core = Core(app, build_router(FLOWS), media, {ch: a.download for ch, a in adapters.items()}, on_commit=sender.wake)
    intake = Intake(app, core, adapters, instances.id)
    scheduler = Scheduler(app, on_sent=sender.wake) if app.config.scheduler.enabled else None
    return Runtime(app=app, core=core, intake=intake, sender=sender, instances=instances, adapters=adapters,
                   scheduler=scheduler)


@contextlib.asynccontextmanager
async def background(rt: Runtime):  # noqa: ANN201
    """Everything but the channels' receiving, for as long as updates are served: the instance's
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
        # A clean stop (receiving already ended): updates being handled finish, then the
        # scheduler, then the sender finishes the messages it is sending.  A crash skips all
        # this; the inbox, the leases and the heartbeat make up for it at the next start.
        await rt.intake.drain(timeout=5.0)
        await rt.intake.stop()
        if rt.scheduler is not None:
            await rt.scheduler.stop()
        await rt.sender.stop(timeout=5.0)
        for task in (heartbeat, sender):
            task.cancel()
        await asyncio.gather(heartbeat, sender, return_exceptions=True)
        await rt.instances.unregister()


def listeners(rt: Runtime) -> dict[str, list]:
    """The web servers to run: each listening address with the routes mounted on it."""
    found: dict[str, list] = {}
    for adapter in rt.adapters.values():
        if routes := adapter.routes(rt.intake):
            found.setdefault(adapter.listen, []).extend(routes)
    return found


async def _blamed(where: object, step):  # noqa: ANN001, ANN202
    """Await ``step``; an exception it raises carries ``fieldbot_where`` (a channel, or
    ``("listen", address)``), so ``fieldbot run`` can say in one line what failed."""
    try:
        return await step
    except Exception as exc:
        if getattr(exc, "fieldbot_where", None) is None:
            with contextlib.suppress(AttributeError, TypeError):
                exc.fieldbot_where = where  # type: ignore[attr-defined]
        raise


async def serve(rt: Runtime) -> None:
    """Serve every channel until cancelled (or one fails for good, e.g. a wrong token)."""
    servers = listeners(rt)
    try:
        async with background(rt):
            # Receiving starts only once recovery is done: what a crash left goes before new updates.
            for address, routes in servers.items():
                await _blamed(("listen", address), _listen(rt, address, routes))
            for channel, adapter in rt.adapters.items():
                await _blamed(channel, adapter.start(rt.intake))
            try:
                await asyncio.gather(*(_blamed(channel, adapter.serve()) for channel, adapter in rt.adapters.items()))
            finally:
                for adapter in rt.adapters.values():
                    await adapter.stop()
    finally:
        for runner in rt.web_runners:
            await runner.cleanup()
        rt.web_runners.clear()


async def _listen(rt: Runtime, address: str, routes: list) -> None:
    """One web server per listening address; every channel called over HTTP (a webhook, a
    callback) mounts its routes on it — channels that share an address share the server."""
    web_app = web.Application(client_max_size=4 * 1024 * 1024)
    for method, path, handler in routes:
        web_app.router.add_route(method, path, handler)
    host, _, port = address.rpartition(":")
    runner = web.AppRunner(web_app)
    await runner.setup()
    rt.web_runners.append(runner)
    await web.TCPSite(runner, host or "127.0.0.1", int(port)).start()


async def close(rt: Runtime) -> None:
    for adapter in rt.adapters.values():
        await adapter.close()
