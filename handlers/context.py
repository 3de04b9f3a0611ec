"""The context a handler works through: who is asking, in which language, the open database
session, the dialog state, and ways to answer — all as outbox rows in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.channel import Inbound, Outbound
from handlers.media import StoredFile
from handlers.i18n import normalise_language, t
from handlers.messages import L, Lines, Msg, Raw
from handlers.times import When
from models.enums import OutboxStatus, Role
from models.errors import DomainError
from models.people import ChannelIdentity, Person
from models.runtime import ConversationState, OutboxMessage
from models.tickets import Ticket

if TYPE_CHECKING:
    from bot.app import App
    from handlers.registry import Router


@dataclass
class Ctx:
    app: App
    session: AsyncSession
    inbound: Inbound
    person: Person | None
    state: ConversationState
    media: dict[str, StoredFile] = field(default_factory=dict)  # file_ref → stored copy
    toast: str | None = None  # short answer shown on the pressed button (callback answer)
    #: person id → when a push of this update reaches them, for pushes held for quiet hours
    held: dict[int, datetime] = field(default_factory=dict)
    #: The routes the core dispatched this update on (what the person's menu offers, which buttons exist).
    router: Router | None = None
    #: The last answer :meth:`reply` wrote in this update (a dialog keeps it as its question, see
    #: :mod:`handlers.midway`).
    last_reply: OutboxMessage | None = None
    _seq: int = 0

    # -- who and when -------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.inbound.received_at

    @property
    def lang(self) -> str:
        default = self.app.config.bot.language
        if self.person and self.person.language:
            return self.person.language
        return normalise_language(self.inbound.language, default) if self.inbound.language else default

    @property
    def role(self) -> Role | None:
        return self.person.role if self.person else None

    def t(self, key: str, **params: Any) -> str:
        return t(self.lang, key, **params)

    def require(self, *roles: Role) -> Person:
        if self.person is None or self.person.role not in roles:
            raise DomainError("not_allowed")
        return self.person

    # -- dialog state -------------------------------------------------------------------------
    @property
    def flow(self) -> str | None:
        return self.state.flow

    @property
    def step(self) -> str | None:
        return self.state.step

    @property
    def data(self) -> dict[str, Any]:
        return self.state.data or {}

    def goto(self, flow: str, step: str, **data: Any) -> None:
        """Enter (or move within) a dialog; ``data`` is merged into what the dialog holds."""
        merged = dict(self.data) if self.state.flow == flow else {}
        merged.update(data)
        self.state.flow, self.state.step, self.state.data = flow, step, merged

    def end_flow(self) -> None:
        self.state.flow = self.state.step = None
        self.state.data = {}

    # -- answering ----------------------------------------------------------------------------
    def _key(self, dedupe: str | None) -> str:
        self._seq += 1
        return dedupe or f"in:{self.inbound.channel.value}:{self.inbound.update_id}:{self._seq}"

    def _row(self, channel: Any, chat_id: str, out: Outbound, *, person_id: int | None, dedupe: str | None,
             purpose: str, ticket_id: int | None, not_before: datetime | None) -> OutboxMessage:
        return add_rows(self.session, out, person_id=person_id, channel=channel, chat_id=chat_id,
                        dedupe=self._key(dedupe), not_before=not_before or self.now, purpose=purpose,
                        ticket_id=ticket_id, created_at=self.now)

    def reply(self, msg: Msg | str, /, *, ticket_id: int | None = None, ref: str | None = None,
              **params: Any) -> None:
        """Answer in the chat the update came from, in the asker's language."""
        if isinstance(msg, str):
            msg = Msg(msg, params)
        row = self._row(self.inbound.channel, self.inbound.chat_id, msg.render(self.lang, self.now),
                        person_id=self.person.id if self.person else None, dedupe=None, purpose="reply",
                        ticket_id=ticket_id, not_before=None)
        row.ref = ref
        self.last_reply = row

    def reply_telling(self, key: str, *, told: list[tuple[int | None, str]], ticket_id: int | None = None,
                      **params: Any) -> None:
        """:meth:`reply` with the truth about delivery: for each ``(person_id, name)`` whose push
        from this update waits for working hours, a line saying when they will get it."""
        lines = [L(key, params)] + [note for person_id, name in told if (note := self.held_note(person_id, name))]
        self.reply(Msg(body=Lines(tuple(lines))) if len(lines) > 1 else Msg(key, params), ticket_id=ticket_id)

    def held_note(self, person_id: int | None, name: str) -> L | None:
        """"Outside working hours: Li Wei will get it at 08:30 tomorrow." — or None if it goes out now."""
        at = self.held_until(person_id)
        if at is None:
            return None
        return L("common.held_until", {"name": Raw(name), "time": When(at, self.app.tz)})

    def reply_error(self, error: DomainError) -> None:
        from handlers.i18n import error_text

        self._row(self.inbound.channel, self.inbound.chat_id, Outbound(text=error_text(self.lang, error, self.app.tz)),
                  person_id=self.person.id if self.person else None, dedupe=None, purpose="error",
                  ticket_id=None, not_before=None)

    async def notify(self, person_id: int | None, msg: Msg, *, purpose: str, ticket_id: int | None = None,
                     dedupe: str | None = None, not_before: datetime | None = None, ref: str | None = None,
                     valid_if: dict[str, Any] | None = None, supersede: str | None = None) -> bool:
        """Push to a person on the channel they used last, in their language.

        Returns False when the person cannot be reached (never joined, or no working chat), so the
        caller can record that on the ticket's timeline instead of pretending it was sent.  A push
        held for quiet hours is noted in :attr:`held` (see :meth:`held_until`); ``valid_if`` and
        ``supersede`` say when a held push no longer applies (:mod:`models.still`).
        """
        if person_id is None:
            return False
        at = await push_at(self.session, self.app, person_id, msg, purpose=purpose, ticket_id=ticket_id,
                           dedupe=self._key(dedupe), now=self.now, not_before=not_before, ref=ref,
                           valid_if=valid_if, supersede=supersede)
        if at is not None and at > self.now:
            self.held[person_id] = at
        return at is not None

    async def withdraw(self, supersede: str) -> int:
        """Drop waiting pushes with this supersede key (the person never saw them); how many."""
        return await drop_superseded(self.session, supersede, self.now)

    def held_until(self, person_id: int | None) -> datetime | None:
        """When ``person_id`` gets what this update pushed to them, if it waits for working hours."""
        return self.held.get(person_id) if person_id is not None else None


async def push(session: AsyncSession, app: App, person_id: int, msg: Msg, *, purpose: str,
               ticket_id: int | None, dedupe: str, now: datetime, not_before: datetime | None = None,
               ref: str | None = None, urgent: bool = False, valid_if: dict[str, Any] | None = None,
               supersede: str | None = None) -> bool:
    """Write the outbox row(s) for ``person_id`` (shared by handlers and scheduler jobs); False
    when the person cannot be reached.  See :func:`push_at`."""
    return await push_at(session, app, person_id, msg, purpose=purpose, ticket_id=ticket_id, dedupe=dedupe,
                         now=now, not_before=not_before, ref=ref, urgent=urgent, valid_if=valid_if,
                         supersede=supersede) is not None


async def push_at(session: AsyncSession, app: App, person_id: int, msg: Msg, *, purpose: str,
                  ticket_id: int | None, dedupe: str, now: datetime, not_before: datetime | None = None,
                  ref: str | None = None, urgent: bool = False, valid_if: dict[str, Any] | None = None,
                  supersede: str | None = None) -> datetime | None:
    """Write the outbox row(s) for ``person_id``; returns when they go out, or None when the
    person cannot be reached.

    Quiet hours (DESIGN §2): outside working hours a push waits (``not_before``) for the next
    opening, unless it is urgent — about a severity-1 ticket, or flagged by the caller.  A push
    that waits carries ``valid_if`` (checked by the sender when it comes due, see
    :mod:`models.still`); ``supersede`` replaces an earlier push with the same key that is still
    waiting.
    """
    person = await session.get(Person, person_id)
    if person is None or not person.active:
        return None
    identity = await reachable_identity(session, app, person_id, now)
    if identity is None:
        return None
    lang = person.language or app.config.bot.language
    not_before = not_before or now
    ticket = await session.get(Ticket, ticket_id) if ticket_id is not None else None
    if not urgent and not app.sla.urgent(ticket) and app.calendar.in_quiet_hours(not_before):
        not_before = app.calendar.next_opening(not_before)
    if supersede is not None:
        await drop_superseded(session, supersede, now)
    # Worded for when it arrives: a push held overnight says "08:30", not "08:30 tomorrow".
    add_rows(session, msg.render(lang, not_before), person_id=person_id, channel=identity.channel, chat_id=identity.chat_id,
             dedupe=dedupe, not_before=not_before, purpose=purpose, ticket_id=ticket_id, created_at=now, ref=ref,
             valid_if=valid_if, supersede=supersede)
    return not_before


async def reachable_identity(session: AsyncSession, app: App, person_id: int, now: datetime) -> ChannelIdentity | None:
    """Where a push to ``person_id`` goes: the chat they used last, among those that can reach
    them now — a channel with a reply window (微信客服: 48 h after the person's own last message)
    counts only inside it."""
    identities = (await session.scalars(
        select(ChannelIdentity)
        .where(ChannelIdentity.person_id == person_id, ChannelIdentity.unreachable_reason.is_(None))
        .order_by(ChannelIdentity.last_seen_at.desc())
    )).all()
    for identity in identities:
        traits = app.channels.get(identity.channel) if hasattr(app, "channels") else None
        window = traits.reply_window if traits is not None else None
        if window is None or now - identity.last_seen_at <= window:
            return identity
    return None


async def drop_superseded(session: AsyncSession, key: str, now: datetime) -> int:
    """Drop earlier pushes with this supersede key that are still *waiting* (held for quiet
    hours or a retry), not ones about to go out: in working hours every step reaches the person;
    after a quiet night only the newest."""
    return (await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.supersede_key == key, OutboxMessage.status == OutboxStatus.PENDING,
               OutboxMessage.not_before > now,
               or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until < now))
        .values(status=OutboxStatus.DROPPED, last_error="superseded by a newer message")
        .execution_options(synchronize_session=False)
    )).rowcount


def add_rows(session: AsyncSession, out: Outbound, *, person_id: int | None, channel: Any, chat_id: str,
             dedupe: str, not_before: datetime, purpose: str, ticket_id: int | None, created_at: datetime,
             ref: str | None = None, valid_if: dict[str, Any] | None = None,
             supersede: str | None = None) -> OutboxMessage:
    """Add one outbox row per send: each photo its own row, then the text (with its buttons).

    One row per channel call means a row is marked sent the moment its one call succeeded, so a
    retry after a 429 half-way never repeats the photos that already went out.  Returns the
    text's row (the last one), which carries ``ref``.
    """
    parts: list[Outbound] = []
    if out.photos and out.kind == "message":
        for photo in out.photos:
            parts.append(Outbound(photos=[photo], secret=out.secret))
        if out.text or out.buttons:
            rest = Outbound.from_payload(out.to_payload())
            rest.photos = []
            parts.append(rest)
    else:
        parts.append(out)
    row = None
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        row = OutboxMessage(
            person_id=person_id, channel=channel, chat_id=chat_id, payload=part.to_payload(),
            dedupe_key=dedupe if last else f"{dedupe}:p{index}", not_before=not_before, purpose=purpose,
            ticket_id=ticket_id, created_at=created_at, ref=ref if last else None, valid_if=valid_if,
            supersede_key=supersede,
        )
        session.add(row)
    return row
