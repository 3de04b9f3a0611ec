"""The core: one inbound update in, one database transaction, outbox rows out.

* Updates of one session are handled one at a time and in arrival order (a per-session lock,
  taken before anything else is awaited); different sessions run in parallel.
* A resent update is recognised by its id (unique ``inbound_events`` row) and handled once.
* The handler runs inside a savepoint: a :class:`DomainError` (bad input, forbidden action, stale
  button) rolls back everything the handler did and the person gets one short line instead.
* Photos are downloaded and stored before the transaction opens (no network I/O while holding
  the single SQLite writer), and only for people who have joined.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta
from weakref import WeakValueDictionary

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from bot.channels.fallback import data_from_command
from bot.channels.types import Inbound
from bot.media import MediaStore, StoredFile
from handlers.context import Ctx
from handlers.i18n import error_text
from handlers.registry import Router
from models.enums import Channel
from models.errors import DomainError
from models.people import ChannelIdentity, Person
from models.runtime import ConversationState, InboundEvent

log = logging.getLogger(__name__)

Downloader = Callable[[str], Awaitable[bytes]]
#: Commands that do not abandon a dialog in progress.
KEEPS_FLOW = frozenset({"help", "lang"})
#: ``last_seen_at`` (which of a person's chats pushes go to) is kept to this precision.
SEEN_GRANULARITY = timedelta(seconds=60)


class Core:
    def __init__(self, app, router: Router, media: MediaStore,  # noqa: ANN001
                 downloaders: dict[Channel, Downloader] | None = None,
                 on_commit: Callable[[], None] | None = None):
        self.app = app
        self.router = router
        self.media = media
        self.downloaders = downloaders or {}
        self.on_commit = on_commit or (lambda: None)
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()
        #: Updates fully handled by this instance (tests and the demo wait on it).
        self.handled = 0

    def _lock(self, key: str) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        return lock

    async def handle(self, inbound: Inbound) -> str | None:
        """Handle one update; returns a short text for the pressed button, if any."""
        lock = self._lock(inbound.session_key)
        async with lock:
            for attempt in range(3):
                try:
                    toast = await self._handle_once(inbound)
                    break
                except StaleDataError:  # another instance changed the same row; start over
                    if attempt == 2:
                        raise
            else:  # pragma: no cover
                toast = None
        self.handled += 1
        self.on_commit()
        return toast

    async def _known(self, inbound: Inbound) -> bool:
        async with self.app.db.read() as session:
            return await session.scalar(
                select(ChannelIdentity.id).where(ChannelIdentity.channel == inbound.channel,
                                                 ChannelIdentity.external_user_id == inbound.user_id)
            ) is not None

    async def _fetch_photos(self, inbound: Inbound) -> dict[str, StoredFile]:
        download = self.downloaders.get(inbound.channel)
        if not inbound.photos or download is None or not await self._known(inbound):
            return {}
        stored = {}
        for photo in inbound.photos:
            stored[photo.file_ref] = await self.media.save(await download(photo.file_ref))
        return stored

    async def _handle_once(self, inbound: Inbound) -> str | None:
        media = await self._fetch_photos(inbound)
        try:
            return await self._transaction(inbound, media)
        except StaleDataError:
            raise
        except Exception:
            log.exception("handling update %s:%s failed", inbound.channel.value, inbound.update_id)
            await self._apologise(inbound)
            return None

    async def _transaction(self, inbound: Inbound, media: dict[str, StoredFile]) -> str | None:
        async with self.app.db.write() as session:
            if not await _first_time(session, inbound):
                log.info("duplicate update %s:%s dropped", inbound.channel.value, inbound.update_id)
                return None
            found = (await session.execute(
                select(ChannelIdentity, Person).join(Person, Person.id == ChannelIdentity.person_id)
                .where(ChannelIdentity.channel == inbound.channel, ChannelIdentity.external_user_id == inbound.user_id)
            )).first()
            identity, person = found if found is not None else (None, None)
            if identity is not None:
                # Written only when it says something new: a busy chat does not rewrite the row
                # on every message (one statement fewer per update on the single writer).
                if inbound.received_at - identity.last_seen_at >= SEEN_GRANULARITY:
                    identity.last_seen_at = inbound.received_at
                if identity.unreachable_reason is not None:
                    identity.unreachable_reason = None
                if inbound.private and identity.chat_id != inbound.chat_id:
                    identity.chat_id = inbound.chat_id
                if not person.active:
                    person = None
            state = await session.get(ConversationState, inbound.session_key)
            if state is None:
                state = ConversationState(session_key=inbound.session_key, data={})
                session.add(state)
                await session.flush()
            ctx = Ctx(app=self.app, session=session, inbound=inbound, person=person, state=state, media=media)
            try:
                async with session.begin_nested():
                    await self.route(ctx)
                    await session.flush()
            except DomainError as exc:
                ctx.reply_error(exc)
                ctx.toast = error_text(ctx.lang, exc)[:190]
            return ctx.toast

    async def _apologise(self, inbound: Inbound) -> None:
        """After an unexpected failure: record the update (so a resend is not retried forever)
        and tell the person something went wrong, so nobody waits for an answer that never comes."""
        from handlers.messages import Msg

        try:
            async with self.app.db.write() as session:
                session.add(InboundEvent(channel=inbound.channel, external_id=inbound.update_id,
                                         received_at=inbound.received_at))
                state = ConversationState(session_key=inbound.session_key, data={})
                ctx = Ctx(app=self.app, session=session, inbound=inbound, person=None, state=state)
                ctx.reply(Msg("core.internal_error"))
        except Exception:  # the database itself is down: nothing more we can do here
            log.exception("could not record the failed update")

    async def route(self, ctx: Ctx) -> None:
        inbound, router = ctx.inbound, self.router
        data = inbound.callback_data
        if data is None and inbound.command:
            data = data_from_command(inbound.command)
            if data is not None:  # a button spelled out as text: from here on it is a button press
                # message_id is the person's own message here, not a bot message to edit.
                inbound.callback_data, inbound.command, inbound.message_id = data, None, None
        if data is not None:
            route = router.callbacks.get(data.split(":", 1)[0])
            if route is None:
                raise DomainError("stale_button")
            _check_roles(ctx, route.roles)
            await route.fn(ctx)
            return
        if inbound.command:
            route = router.commands.get(inbound.command)
            if route is None:
                if ctx.person is None:
                    raise DomainError("not_joined")
                raise DomainError("unknown_command", command=inbound.command)
            _check_roles(ctx, route.roles)
            if inbound.command not in KEEPS_FLOW:
                ctx.end_flow()
            await route.fn(ctx)
            return
        if ctx.flow:
            step = router.steps.get((ctx.flow, ctx.step or ""))
            if step is not None and ctx.person is not None:
                await step(ctx)
                return
            ctx.end_flow()
        if inbound.reply_to and ctx.person is not None:
            for handler in router.reply_handlers:
                if await handler(ctx):
                    return
        if ctx.person is None:
            raise DomainError("not_joined")
        if inbound.photos:
            raise DomainError("unexpected_photo")
        if inbound.location:
            raise DomainError("unexpected_location")
        raise DomainError("unexpected_text")


def _check_roles(ctx: Ctx, roles: frozenset | None) -> None:
    if roles is None:
        return
    if ctx.person is None:
        raise DomainError("not_joined")
    if ctx.person.role not in roles:
        raise DomainError("not_allowed")


async def _first_time(session: AsyncSession, inbound: Inbound) -> bool:
    """Record the update's id; False if it was seen before (a resend).  ``ON CONFLICT DO
    NOTHING`` rather than catching the unique violation: no savepoint round trips per update."""
    insert = pg_insert if session.bind.dialect.name == "postgresql" else sqlite_insert
    return await session.scalar(
        insert(InboundEvent).values(channel=inbound.channel, external_id=inbound.update_id,
                                    received_at=inbound.received_at)
        .on_conflict_do_nothing(index_elements=["channel", "external_id"]).returning(InboundEvent.id)
    ) is not None
