"""Tickets for the end-to-end tests, registered and moved along the lifecycle directly (the steps
another flow owns), and acting as a person the way a handler does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from handlers.cards import signoff_request
from handlers.channel import Inbound
from handlers.context import Ctx
from handlers.evidence import record_checkin
from handlers.notify import notify_customer
from models.enums import Action, CheckinKind, ServiceType, TicketStatus
from models.invites import team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.runtime import ConversationState
from models.tickets import Ticket, TicketEvent
from models.transitions import apply_action
from tests.support.cast import person_id, pid
from tests.support.world import World

#: How far along the lifecycle to move a fresh ticket (the dispatch/accept UI is another module).
PATHS = {
    TicketStatus.DISPATCHED: [Action.DISPATCH],
    TicketStatus.ACCEPTED: [Action.DISPATCH, Action.ACCEPT],
    TicketStatus.EN_ROUTE: [Action.DISPATCH, Action.ACCEPT, Action.DEPART],
    TicketStatus.ON_SITE: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE],
    TicketStatus.PAUSED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.PAUSE],
    TicketStatus.RESOLVED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE],
}

#: The service report of :func:`resolved`.
REPORT = {"findings": "Loose display cable", "actions_taken": "Reseated and secured the cable",
          "parts_replaced": "", "result": "Display stable"}


@dataclass
class T:
    """What a test keeps of a ticket made by :func:`ticket`."""
    id: int
    number: str
    customer_id: int


async def new_ticket(w: World, *, team: str = "North", customer: str = "Acme Ltd", phone: str = "+8613800000001",
                     service: ServiceType = ServiceType.ONSITE, severity: int = 2, model: str = "X200",
                     address: str = "1 Harbour Rd") -> Ticket:
    """A new ticket (not dispatched) of ``team``, as the desk registers it."""
    async with w.app.db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        reg = Registration(customer=customer, phone=phone, address=address, model=model,
                           fault="Display flickers", severity=severity, service=service, team_id=team_row.id)
        return await register_ticket(s, reg, now=w.clock.now(), today=date(2026, 3, 2), warranty=timedelta(days=365))


async def ticket(w: World, status: TicketStatus = TicketStatus.ACCEPTED, *, engineer: str = "Li Lei",
                 service: ServiceType = ServiceType.ONSITE, model: str = "X100") -> T:
    """A ticket of team North, assigned to ``engineer`` and moved to ``status``."""
    eng_id = await person_id(w, engineer)
    now = w.clock.now()
    async with w.app.db.write() as s:
        north = await team_by_name(s, "North", create=True)
        reg = Registration(customer="Acme Plant", phone="+86 138 0013 8000", address="1 River Road",
                           model=model, fault="No power", severity=2, service=service, team_id=north.id)
        row = await register_ticket(s, reg, now=now, today=w.app.today(), warranty=w.app.config.bot.warranty)
        for action in PATHS[status]:
            if action is Action.DEPART:
                apply_action(s, row, action, now=now, actor_id=eng_id, eta_at=now + timedelta(hours=1))
            else:
                apply_action(s, row, action, now=now, actor_id=eng_id, assignee_id=eng_id
                             if action is Action.DISPATCH else None)
        return T(row.id, row.number, row.customer_id)


async def move(w: World, ticket: Ticket | T, *actions: Action, actor_uid: int | None = None, **kw) -> None:  # noqa: ANN003
    """Advance a ticket with the lifecycle directly (steps owned by other flows)."""
    actor = await pid(w, actor_uid) if actor_uid else None
    async with w.app.db.write() as s:
        row = await s.get(Ticket, ticket.id)
        for action in actions:
            apply_action(s, row, action, now=w.clock.now(), actor_id=actor, **kw)


async def get(w: World, model: type, ident: int):  # noqa: ANN201
    async with w.app.db.read() as s:
        return await s.get(model, ident)


async def load(w: World, t: Ticket | T) -> Ticket:
    """The ticket's row as stored now."""
    return await get(w, Ticket, t.id)


async def events(w: World, ticket: Ticket | T) -> list[TicketEvent]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                     .order_by(TicketEvent.id))).all())


_calls = 0


async def as_person(w: World, uid: int, fn) -> object:  # noqa: ANN001
    """Run ``fn(ctx, ticket_session)`` as person ``uid`` the way a handler would (one transaction,
    outbox rows written in it), for steps whose flow belongs to another module."""
    global _calls
    _calls += 1
    async with w.app.db.write() as s:
        person = await s.get(Person, await pid(w, uid))
        inbound = Inbound(channel=w.chat_channel(uid), update_id=f"test-{_calls}-{id(fn)}", session_key=f"test:{uid}",
                          user_id=w.address(uid), chat_id=w.address(uid), received_at=w.clock.now())
        ctx = Ctx(app=w.app, session=s, inbound=inbound, person=person,
                  state=ConversationState(session_key=f"test:{uid}", data={}))
        result = await fn(ctx, s)
    await w.settle()
    return result


async def checkin(w: World, engineer_uid: int, ticket: Ticket, kind: CheckinKind = CheckinKind.ARRIVAL,
                  text: str | None = "On site, starting diagnosis") -> int:
    """A check-in through the shared helper: stored, acknowledgement opened, supervisor pushed."""
    async def run(ctx: Ctx, s) -> int:  # noqa: ANN001
        row = await s.get(Ticket, ticket.id)
        return (await record_checkin(ctx, row, kind, text=text, photos=[], location=(31.23, 121.47),
                                     client_at=None)).id
    return await as_person(w, engineer_uid, run)


async def resolved(w: World, ticket: Ticket, *, sup: int, eng: int) -> None:
    """Dispatch (by ``sup``) to ``eng``, accept, travel, arrive, resolve with :data:`REPORT` (the
    other flows' steps), then the engineer's sign-off request reaches the customer."""
    await move(w, ticket, Action.DISPATCH, actor_uid=sup, assignee_id=await pid(w, eng))
    await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=eng)
    await move(w, ticket, Action.RESOLVE, actor_uid=eng, **REPORT)

    async def request(ctx, s) -> None:  # noqa: ANN001
        row = await s.get(Ticket, ticket.id)
        await notify_customer(ctx, row, signoff_request(row), purpose="signoff_request")
    await as_person(w, eng, request)
