"""The core: one inbound update in, one database transaction, outbox rows out.

* Updates of one session are handled one at a time and in arrival order (a per-session lock,
  taken before anything else is awaited); different sessions run in parallel.
* The update's inbox row (``inbound_events``, stored by the intake before the channel was told)
  is marked done in the same transaction as its effects; a resent update, or one handled already
  by another instance, finds it done and is dropped.
* The handler runs inside a savepoint: a :class:`DomainError` (bad input, forbidden action, stale
  button) rolls back everything the handler did and the person gets one short line instead.
* An unexpected exception rolls the whole transaction back; the update is tried again a few
  times (another instance may have changed the same rows), then parked with its error and the
  person is told something went wrong — never retried forever.
* Photos are downloaded and stored before the transaction opens (no network I/O while holding
  the single SQLite writer), and only for people who have joined.  A photo that cannot be
  fetched is answered with "send it again"; the dialog stays where it was.
* Refused before any flow runs (:mod:`handlers.screening`): senders that are not a person,
  anything but /help and /lang outside a private chat, and coordinates that cannot be on Earth.
* A command (other than /help, /lang, /cancel) or a button of another message sent while a
  dialog is open is tried first: one that would begin another dialog asks whether to leave this
  one (:mod:`handlers.midway`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from weakref import WeakValueDictionary

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers import hot, midway
from handlers.channel import Inbound, data_from_command
from handlers.media import MediaStore, StoredFile
from handlers.context import Ctx
from handlers.hot import SEEN_GRANULARITY
from handlers.i18n import error_text
from handlers.registry import Router
from handlers.screening import check_roles, screen
from models.enums import Channel, InboxStatus
from models.errors import DomainError
from models.inbox import close_inbox_row
from models.people import ChannelIdentity, Person
from models.runtime import ConversationState
from models.writer import FALLBACK

log = logging.getLogger(__name__)

Downloader = Callable[[str], Awaitable[bytes]]
#: Commands that leave a dialog in progress as it is; ``/cancel`` leaves the dialog; any other
#: command mid-dialog is tried first (:mod:`handlers.midway`).
KEEPS_FLOW = frozenset({"help", "lang"})
#: Tries of an update whose handling raises (a conflict with another instance heals on the
#: next try; a bug does not), before it is parked and the person told.
ATTEMPTS = 3


class PhotoUnavailable(Exception):
    """The channel would not hand over a photo the person sent."""


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
        #: Called with the session's lock held, before an update is handled: the intake uses it to
        #: handle first any earlier update of the same session stored elsewhere (see bot.intake).
        self.before: Callable[[Inbound], Awaitable[None]] | None = None
        #: Updates fully handled by this instance (tests and the demo wait on it).
        self.handled = 0
        #: Of those, handled by the hot path (plain SQL, :mod:`handlers.hot`).
        self.hot_handled = 0

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
            toast = await self._hot(inbound)
            if toast is not FALLBACK:
                self.hot_handled += 1
            else:
                if self.before is not None:
                    await self.before(inbound)
                toast = await self.handle_in_session(inbound)
        self.handled += 1
        self.on_commit()
        return toast

    async def _hot(self, inbound: Inbound) -> str | None:
        """The plain case in plain SQL (:mod:`handlers.hot`: in SQLite's writer thread, or on the
        PostgreSQL connection); FALLBACK when it is not the plain case (or it failed: the ordinary
        way retries and parks)."""
        if not hot.eligible(inbound, self.router):
            return FALLBACK
        default = self.app.config.bot.language
        try:
            return await self.app.db.unit(None, fast=lambda q: hot.run(q, inbound, self.router, default,
                                                                       self.app.clock.now()))
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.warning("hot path of update %s:%s failed, handled the ordinary way: %s: %s", inbound.channel.value,
                        inbound.update_id, type(exc).__name__, exc)
            return FALLBACK

    async def handle_in_session(self, inbound: Inbound) -> str | None:
        """Handle one update; the caller holds its session's lock (see :meth:`handle`)."""
        for attempt in range(1, ATTEMPTS + 1):
            try:
                media = await self._fetch_photos(inbound)
            except PhotoUnavailable as exc:
                log.warning("photo of update %s:%s unavailable: %s", inbound.channel.value, inbound.update_id, exc)
                media = None
            try:
                return await self._transaction(inbound, media)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt == ATTEMPTS:
                    log.exception("handling update %s:%s failed %d times; parked", inbound.channel.value,
                                  inbound.update_id, attempt)
                    await self.give_up(inbound, f"{type(exc).__name__}: {exc}")
                    return None
                log.warning("handling update %s:%s failed (try %d of %d): %s: %s", inbound.channel.value,
                            inbound.update_id, attempt, ATTEMPTS, type(exc).__name__, exc)
                await asyncio.sleep(0.2 * attempt)
        return None  # pragma: no cover

    async def _known(self, inbound: Inbound) -> bool:
        async with self.app.db.read() as session:
            return await session.scalar(
                select(ChannelIdentity.id).where(ChannelIdentity.channel == inbound.channel,
                                                 ChannelIdentity.external_user_id == inbound.user_id)
            ) is not None

    async def _fetch_photos(self, inbound: Inbound) -> dict[str, StoredFile]:
        download = self.downloaders.get(inbound.channel)
        if not inbound.photos or download is None or inbound.impersonal or not await self._known(inbound):
            return {}
        stored = {}
        for photo in inbound.photos:
            for attempt in (1, 2):
                try:
                    data = await download(photo.file_ref)
                    break
                except asyncio.CancelledError:
                    raise
                except Exception as exc:
                    if attempt == 2:
                        raise PhotoUnavailable(f"{type(exc).__name__}: {exc}") from None
            stored[photo.file_ref] = await self.media.save_photo(data)
        return stored

    async def _transaction(self, inbound: Inbound, media: dict[str, StoredFile] | None) -> str | None:
        """The update's database work, as one unit (on SQLite: in the writer thread, sharing a
        COMMIT with the updates that arrive meanwhile; see :mod:`models.writer`)."""
        return await self.app.db.unit(lambda session: self._work(session, inbound, media))

    async def _work(self, session: AsyncSession, inbound: Inbound,
                    media: dict[str, StoredFile] | None) -> str | None:
        if not await close_inbox_row(session, inbound.channel, inbound.update_id,
                                     received_at=inbound.received_at, now=self.app.clock.now()):
            log.info("duplicate update %s:%s dropped", inbound.channel.value, inbound.update_id)
            return None
        person = identity = None
        if not inbound.impersonal:
            found = (await session.execute(
                select(ChannelIdentity, Person).join(Person, Person.id == ChannelIdentity.person_id)
                .where(ChannelIdentity.channel == inbound.channel,
                       ChannelIdentity.external_user_id == inbound.user_id)
            )).first()
            identity, person = found if found is not None else (None, None)
            if identity is not None:
                # Written only when it says something new: a busy chat does not rewrite the row
                # on every message (one statement fewer per update on the single writer).
                if inbound.received_at - identity.last_seen_at >= SEEN_GRANULARITY:
                    identity.last_seen_at = inbound.received_at
                if identity.unreachable_reason is not None:
                    identity.unreachable_reason = None
                if not person.active:
                    person = None
        try:
            screen(inbound)
        except DomainError as exc:  # answered without touching the dialog or storing a state
            if exc.code == "silent":
                return None
            ctx = Ctx(app=self.app, session=session, inbound=inbound, person=person,
                      state=ConversationState(session_key=inbound.session_key, data={}), router=self.router)
            ctx.reply_error(exc)
            return error_text(ctx.lang, exc, self.app.tz)[:190]
        state = await session.get(ConversationState, inbound.session_key)
        if state is None:
            state = ConversationState(session_key=inbound.session_key, data={})
            session.add(state)
            await session.flush()
        ctx = Ctx(app=self.app, session=session, inbound=inbound, person=person, state=state, media=media or {},
                  router=self.router)
        try:
            async with session.begin_nested():
                # Where pushes go follows the person's latest private chat — but only an
                # update that was not refused may move it (a forged one must not).
                if identity is not None and inbound.private and identity.chat_id != inbound.chat_id:
                    identity.chat_id = inbound.chat_id
                if media is None:
                    raise DomainError("photo_unavailable")
                before = midway.snapshot(ctx)
                await self.route(ctx)
                midway.remember(ctx, before)
                await session.flush()
        except DomainError as exc:
            if exc.code == "silent":
                return None
            ctx.reply_error(exc)
            ctx.toast = error_text(ctx.lang, exc, self.app.tz)[:190]
        return ctx.toast

    async def give_up(self, inbound: Inbound, error: str) -> None:
        """Park an update that keeps failing (kept with its error for ``fieldbot inbox``, a resend
        is dropped) and tell the person something went wrong, so nobody waits for an answer that
        never comes."""
        from handlers.messages import Msg

        try:
            async with self.app.db.write() as session:
                if not await close_inbox_row(session, inbound.channel, inbound.update_id,
                                             received_at=inbound.received_at, now=self.app.clock.now(),
                                             status=InboxStatus.PARKED, error=error[:1000]):
                    return  # handled or parked meanwhile (another instance)
                state = ConversationState(session_key=inbound.session_key, data={})
                ctx = Ctx(app=self.app, session=session, inbound=inbound, person=None, state=state)
                ctx.reply(Msg("core.internal_error"))
        except Exception:  # the database itself is down: the row stays pending, tried again later
            log.exception("could not park the failed update %s:%s", inbound.channel.value, inbound.update_id)

    async def route(self, ctx: Ctx) -> None:
        inbound, router = ctx.inbound, self.router
        if inbound.words_as_commands and inbound.command is None and inbound.callback_data is None \
                and inbound.text and not ctx.flow:
            # A channel without command menus (WeCom): "tickets" or "checkin FS-…" typed as a word.
            word, _, rest = inbound.text.strip().partition(" ")
            if word.lower() in router.commands:
                inbound.command, inbound.args, inbound.text = word.lower(), rest.strip(), None
        data = inbound.callback_data
        if data is None and inbound.command:
            data = data_from_command(inbound.command)
            if data is not None:  # a button spelled out as text: from here on it is a button press
                # message_id is the person's own message here, not a bot message to edit.
                inbound.callback_data, inbound.command, inbound.message_id = data, None, None
        if data is not None:
            if data.split(":", 1)[0] == midway.CODE:  # Leave / Continue, asked mid-dialog
                await midway.answer(ctx, self.route)
                return
            route = router.callbacks.get(data.split(":", 1)[0])
            if route is None:
                raise DomainError("stale_button")
            check_roles(ctx.person, route.roles)
            await (midway.button(ctx, route.fn) if midway.is_open(ctx) else route.fn(ctx))
            return
        if inbound.command:
            route = router.commands.get(inbound.command)
            if route is None:
                if ctx.person is None:
                    raise DomainError("not_joined")
                raise DomainError("unknown_command", command=inbound.command)
            check_roles(ctx.person, route.roles)
            if inbound.command in KEEPS_FLOW:
                await route.fn(ctx)
            elif inbound.command != "cancel" and midway.is_open(ctx):
                await midway.command(ctx, route.fn)
            else:
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
        if inbound.text and not inbound.photos and not inbound.location:
            for handler in router.text_handlers:  # e.g. a rating typed instead of pressed
                if await handler(ctx):
                    return
        if inbound.photos:
            raise DomainError("unexpected_photo")
        if inbound.location:
            raise DomainError("unexpected_location")
        raise DomainError("unexpected_text")
