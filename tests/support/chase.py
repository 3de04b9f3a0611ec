"""People, tickets and check-ins written straight into an App's database, and what the scheduler
then wrote to the outbox: the scheduler tests (the chases, the callback survey) drive jobs on a
controlled clock without a chat, so their people have no emulator behind them."""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select

from bot.app import App
from handlers.channel import Inbound
from handlers.context import Ctx
from handlers.evidence import record_checkin
from handlers.flows import supervisor as supervisor_flow
from models.enums import Action, Channel, CheckinKind, Role, ServiceType
from models.invites import create_invite, join, team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.runtime import ConversationState, OutboxMessage
from models.tickets import Ticket, TicketEvent
from models.transitions import apply_action
from models.work import Acknowledgement, Checkin
from tests.support.calendars import shown

_uids = itertools.count(5000)
_updates = itertools.count(1)


# -- people ---------------------------------------------------------------------------------------
async def person(app: App, role: Role, name: str, team: str | None = "North", lang: str = "en", *,
                 customer_id: int | None = None, ticket_id: int | None = None) -> int:
    """Someone who joined through an invite (staff) or a ticket link (customer), in ``lang``."""
    now = app.clock.now()
    async with app.db.write() as s:
        team_row = await team_by_name(s, team, create=True) if team else None
        token = await create_invite(s, role=role, name=name, now=now, ttl=timedelta(days=30),
                                    team_id=team_row.id if team_row else None, customer_id=customer_id,
                                    ticket_id=ticket_id)
        uid = str(next(_uids))
        joined, _ = await join(s, token, channel=Channel.TELEGRAM, external_user_id=uid, chat_id=uid, now=now,
                               language=lang)
        return joined.id


@dataclass
class People:
    sup: int
    eng: int
    mgr: int | None
    dsp: int
    eng2: int


async def staff(app: App, team: str = "North", *, manager: bool = True) -> People:
    """A team: supervisor Wang Wei, engineer Li Lei (reads Chinese), manager Zhou Yu, dispatcher
    Chen Jing and a second engineer Zhao Min."""
    return People(
        sup=await person(app, Role.SUPERVISOR, "Wang Wei", team),
        eng=await person(app, Role.ENGINEER, "Li Lei", team, lang="zh-CN"),
        mgr=await person(app, Role.MANAGER, "Zhou Yu", team) if manager else None,
        dsp=await person(app, Role.DISPATCHER, "Chen Jing", team),
        eng2=await person(app, Role.ENGINEER, "Zhao Min", team),
    )


# -- tickets and what happens to them -------------------------------------------------------------
async def new_ticket(app: App, *, engineer: int | None = None, then: tuple[Action, ...] = (), team: str = "North",
                     severity: int = 2, service: ServiceType = ServiceType.ONSITE, dispatcher: int | None = None,
                     customer: str = "Acme Ltd", contact: str | None = None, phone: str = "+8613800000001",
                     **kw: object) -> Ticket:
    """Register a ticket (clocks running) and, with ``engineer``, dispatch it (by ``dispatcher``)
    and apply ``then`` as the engineer (with ``kw``)."""
    now = app.clock.now()
    async with app.db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        reg = Registration(customer=customer, phone=phone, contact=contact, address="1 Harbour Rd", model="X200",
                           fault="Display flickers", severity=severity, service=service, team_id=team_row.id)
        ticket = await register_ticket(s, reg, now=now, today=date(2026, 3, 1), warranty=timedelta(days=365),
                                       clocks=app.sla)
        if engineer is not None:
            apply_action(s, ticket, Action.DISPATCH, now=now, actor_id=dispatcher, assignee_id=engineer,
                         clocks=app.sla)
            for action in then:
                apply_action(s, ticket, action, now=now, actor_id=engineer, clocks=app.sla, **kw)
        return ticket


async def act(app: App, ticket: Ticket, *actions: Action, actor: int | None = None, **kw: object) -> None:
    async with app.db.write() as s:
        row = await s.get(Ticket, ticket.id)
        for action in actions:
            apply_action(s, row, action, now=app.clock.now(), actor_id=actor, clocks=app.sla, **kw)


async def report(app: App, engineer: int, ticket: Ticket, kind: CheckinKind = CheckinKind.PROGRESS) -> None:
    """A check-in row as the check-in flow stores it (the flow itself: test_flow_checkins.py)."""
    async with app.db.write() as s:
        s.add(Checkin(ticket_id=ticket.id, engineer_id=engineer, kind=kind, text="Progress",
                      server_at=app.clock.now()))


async def as_person(app: App, person_id: int, fn: Callable[[Ctx, Any], Awaitable[Any]], *,
                    data: str | None = None) -> Any:  # noqa: ANN401
    """Run ``fn(ctx, session)`` as a handler would for ``person_id`` (one transaction); ``data``
    makes it a button press."""
    async with app.db.write() as s:
        who = await s.get(Person, person_id)
        uid = f"p{person_id}"
        inbound = Inbound(channel=Channel.TELEGRAM, update_id=f"test-{next(_updates)}", session_key=f"test:{uid}",
                          user_id=uid, chat_id=uid, received_at=app.clock.now(), callback_data=data)
        ctx = Ctx(app=app, session=s, inbound=inbound, person=who,
                  state=ConversationState(session_key=f"test:{uid}", data={}))
        return await fn(ctx, s)


async def checkin(app: App, engineer: int, ticket: Ticket, kind: CheckinKind = CheckinKind.ARRIVAL,
                  text: str = "On site, starting diagnosis") -> int:
    """A check-in through the shared helper: stored, acknowledgement opened, supervisor pushed."""
    async def run(ctx: Ctx, s: Any) -> int:  # noqa: ANN401
        row = await s.get(Ticket, ticket.id)
        return (await record_checkin(ctx, row, kind, text=text, photos=[], location=None, client_at=None)).id
    return await as_person(app, engineer, run)


async def acknowledge(app: App, person_id: int, checkin_id: int) -> None:
    """Press **Acknowledge** (the supervisor flow's real handler)."""
    await as_person(app, person_id, lambda ctx, s: supervisor_flow.acknowledge(ctx), data=f"ack:{checkin_id}")


async def tick(app: App, moment: datetime, job: Callable[[App, datetime], Awaitable[int]]) -> int:
    """Move the clock to ``moment`` and run ``job`` once, as the scheduler would."""
    app.clock.at = moment
    return await job(app, moment)


def title(ticket: Ticket) -> str:
    return f"{ticket.number} · X200 · 1 Harbour Rd"


# -- reading what was written ---------------------------------------------------------------------
class Outbox:
    """Outbox rows written since the last look, as (recipient, text, buttons, not_before local)."""

    def __init__(self, app: App):
        self.app, self.last = app, 0

    async def skip(self) -> None:
        await self.new()

    async def new(self) -> list[tuple[str, str, list[list[tuple[str, str]]], str]]:
        async with self.app.db.read() as s:
            rows = (await s.scalars(select(OutboxMessage).where(OutboxMessage.id > self.last)
                                    .order_by(OutboxMessage.id))).all()
            names = dict((await s.execute(select(Person.id, Person.name))).all())
        if rows:
            self.last = rows[-1].id
        return [(names.get(r.person_id, ""), r.payload["text"],
                 [[(b["label"], b["data"]) for b in row] for row in r.payload.get("buttons", [])],
                 shown(r.not_before)) for r in rows]


async def outbox_keys(app: App, prefix: str = "") -> list[str]:
    """The outbox's dedupe keys starting with ``prefix``, in the order written."""
    async with app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage.dedupe_key)
                                     .where(OutboxMessage.dedupe_key.like(f"{prefix}%"))
                                     .order_by(OutboxMessage.id))).all())


async def ack_row(app: App, checkin_id: int) -> Acknowledgement:
    async with app.db.read() as s:
        return await s.scalar(select(Acknowledgement).where(Acknowledgement.checkin_id == checkin_id))


async def _events(app: App, ticket: Ticket, prefix: str) -> list[TicketEvent]:
    async with app.db.read() as s:
        rows = (await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.id))).all()
    return [e for e in rows if e.kind.startswith(prefix)]


async def chase_events(app: App, ticket: Ticket, prefix: str = "chase_") -> list[tuple[str, dict]]:
    """The ticket's events whose kind starts with ``prefix``, as (kind, details)."""
    return [(e.kind, e.details) for e in await _events(app, ticket, prefix)]


async def timed_events(app: App, ticket: Ticket, prefix: str) -> list[tuple[str, dict, str]]:
    """The same with the local time each was written at: (kind, details, time)."""
    return [(e.kind, e.details, shown(e.at)) for e in await _events(app, ticket, prefix)]
