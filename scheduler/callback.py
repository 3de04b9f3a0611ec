"""Callback survey (回访): ``callback_after`` after the customer's sign-off, the customer is asked
again how it went (rating 1–5 and a comment, :mod:`handlers.flows.callback`); unanswered after
``callback_expire`` it is handed to the desk — the team's dispatchers (the supervisor when the team
has none) are told whom to call, and ``/callbacks`` lists it.

State on the ticket (:class:`models.enums.CallbackState`, set up by :class:`models.clocks.SlaPolicy`
at sign-off)::

    due ──survey sent──► sent ──answered──► answered
     │                    └──callback_next_at passes──► expired ──late answer──► answered
     └──no customer in chat──► expired

``callback_next_at`` is the one column scanned (partial index ``ix_tickets_callback_next``); each
step claims the row with a conditional UPDATE on (state, next time) that also bumps the ticket's
version, so a second instance claims nothing and a handler that loaded the ticket meanwhile starts
over.  The outbox rows carry dedupe keys per sign-off, so a survey after a reopen and a new
sign-off is a new survey.

A survey is never urgent: it waits for working hours even on a severity-1 ticket.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Select, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.cards import rating_buttons
from handlers.context import push
from handlers.messages import Msg, Raw
from handlers.views import local_time
from models.callbacks import delivered, desk_of
from models.customers import Customer
from models.enums import CallbackState, TicketStatus
from models.queries import customer_people
from models.still import still
from models.tickets import Ticket
from models.transitions import record_event
from scheduler.base import BATCH, claim, in_batches

if TYPE_CHECKING:
    from bot.app import App

log = logging.getLogger(__name__)
DUE, SENT, EXPIRED = CallbackState.DUE, CallbackState.SENT, CallbackState.EXPIRED


def cycle(ticket: Ticket) -> str:
    """Names one sign-off's survey in dedupe keys (a reopened and re-signed ticket gets a new one)."""
    moment = ticket.signed_off_at or ticket.callback_sent_at or ticket.callback_next_at
    return str(int(moment.timestamp())) if moment else "0"


#: A survey waiting for the morning goes out only if the job is still done (not reopened).
SURVEYED = (TicketStatus.SIGNED_OFF, TicketStatus.CLOSED)


async def send_calm(session: AsyncSession, app: App, person_id: int | None, msg: Msg, *, dedupe: str,
                    now: datetime, ticket_id: int, purpose: str, ref: str | None = None,
                    valid_if: dict | None = None) -> bool:
    """Like :func:`scheduler.base.send`, but never urgent: the push waits for working hours even
    when the ticket is severity 1 (a satisfaction survey at 03:00 helps nobody)."""
    if person_id is None:
        return False
    try:
        async with session.begin_nested():
            return await push(session, app, person_id, msg, purpose=purpose, ticket_id=ticket_id, dedupe=dedupe,
                              now=now, not_before=app.calendar.next_opening(now), ref=ref, valid_if=valid_if)
    except IntegrityError:
        return False


def survey(ticket: Ticket) -> Msg:
    return Msg("followup.callback.survey", {"number": Raw(ticket.number), "model": Raw(ticket.product_model),
                                            "address": Raw(ticket.address)}, buttons=rating_buttons(ticket, "cbr"))


async def _tell_desk(session: AsyncSession, app: App, ticket: Ticket, now: datetime, *, reason: str) -> int:
    """Hand the callback to the desk: whom to call, and why it could not be done in chat."""
    customer = await session.scalar(select(Customer.name).where(Customer.id == ticket.customer_id))
    msg = Msg(f"followup.callback.{reason}", {
        "number": Raw(ticket.number), "customer": Raw(customer or ""),
        "contact": Raw(ticket.contact_name or customer or ""),  # no contact person given: the company
        "phone": Raw(ticket.contact_phone), "sent": Raw(local_time(delivered(app.calendar, ticket), app.tz))})
    told = 0
    for person_id in await desk_of(session, ticket.team_id):
        told += await send_calm(session, app, person_id, msg, now=now, ticket_id=ticket.id,
                                dedupe=f"callback:{ticket.id}:{cycle(ticket)}:expired:{person_id}",
                                purpose="callback_expired", ref=f"cbx:{ticket.id}")
    return told


async def _send_survey(session: AsyncSession, app: App, ticket: Ticket, now: datetime) -> bool:
    chase = app.config.chase
    goes_out = app.calendar.next_opening(now)
    expires = goes_out + chase.callback_expire  # the customer gets the whole window to answer
    if not await claim(session, Ticket, ticket.id, {"callback_state": DUE, "callback_next_at": ticket.callback_next_at},
                       {"callback_state": SENT, "callback_sent_at": now, "callback_next_at": expires,
                        "version": Ticket.version + 1}):
        return False
    ticket_cycle = cycle(ticket)
    reached = []
    for person_id in await customer_people(session, ticket.customer_id):
        if await send_calm(session, app, person_id, survey(ticket), now=now, ticket_id=ticket.id,
                           dedupe=f"callback:{ticket.id}:{ticket_cycle}:survey:{person_id}",
                           purpose="callback", ref=f"cbr:{ticket.id}",
                           valid_if=still(ticket=ticket.id, status=SURVEYED)):
            reached.append(person_id)
    if reached:
        record_event(session, ticket, "callback_sent", now=now, at=local_time(goes_out, app.tz))
        return True
    # Nobody to ask in chat: straight to the desk, who will phone.
    await session.execute(update(Ticket).where(Ticket.id == ticket.id)
                          .values(callback_state=EXPIRED, callback_next_at=None, callback_sent_at=None)
                          .execution_options(synchronize_session=False))
    record_event(session, ticket, "callback_no_customer", now=now)
    await _tell_desk(session, app, ticket, now, reason="no_customer")
    return True


async def _expire(session: AsyncSession, app: App, ticket: Ticket, now: datetime) -> bool:
    if not await claim(session, Ticket, ticket.id, {"callback_state": SENT, "callback_next_at": ticket.callback_next_at},
                       {"callback_state": EXPIRED, "callback_next_at": None, "version": Ticket.version + 1}):
        return False
    record_event(session, ticket, "callback_expired", now=now)
    await _tell_desk(session, app, ticket, now, reason="expired")
    return True


async def _stray(session: AsyncSession, ticket: Ticket) -> None:
    """A next time on a ticket in a state that has none (answered, or unknown): clear it."""
    await claim(session, Ticket, ticket.id, {"callback_state": ticket.callback_state,
                                             "callback_next_at": ticket.callback_next_at},
                {"callback_next_at": None, "version": Ticket.version + 1})


async def run(app: App, now: datetime) -> int:
    """Send due surveys and hand expired ones to the desk; returns the number of tickets moved."""
    return await in_batches(_batch, app, now)


def due_tickets(now: datetime) -> Select:
    """Tickets whose callback needs the scheduler (partial index ``ix_tickets_callback_next``)."""
    return (select(Ticket).where(Ticket.callback_next_at.is_not(None), Ticket.callback_next_at <= now)
            .order_by(Ticket.callback_next_at, Ticket.id).limit(BATCH))


async def _batch(app: App, now: datetime) -> tuple[int, int]:
    async with app.db.write() as session:
        tickets = (await session.scalars(due_tickets(now))).all()
        acted = 0
        for ticket in tickets:
            try:
                async with session.begin_nested():  # one bad row does not hold up the others
                    if ticket.callback_state == DUE:
                        acted += await _send_survey(session, app, ticket, now)
                    elif ticket.callback_state == SENT:
                        acted += await _expire(session, app, ticket, now)
                    else:
                        await _stray(session, ticket)
            except Exception:
                log.exception("callback of ticket %s failed; retried next tick", ticket.id)
        return acted, len(tickets)
