"""Telling the people around a ticket from a flow: its customer (everyone of theirs who joined in
chat), its team's supervisor.  Whom to tell is a query in :mod:`models.queries`; this adds the
handler's side — the push in each recipient's language, and the truth on the timeline when
nobody could be reached."""

from __future__ import annotations

from handlers.context import Ctx
from handlers.messages import Msg
from models.queries import customer_people
from models.queries import supervisor_of as team_supervisor
from models.tickets import Ticket
from models.transitions import record_event


async def supervisor_of(ctx: Ctx, ticket: Ticket) -> int | None:
    """The ticket team's supervisor; for an unteamed ticket, the asker's team's."""
    return await team_supervisor(ctx.session, ticket, ctx.person.team_id if ctx.person else None)


async def notify_customer(ctx: Ctx, ticket: Ticket, msg: Msg, *, purpose: str, ref: str | None = None,
                          status_update: bool = False) -> bool:
    """Push to the ticket's customer; if nobody has joined through the link, the timeline says so.

    ``status_update``: one of the "where is my engineer" pushes (accepted, on the way, arrived,
    resolved); after a quiet night only the newest of them reaches the customer.
    """
    reached = False
    for person_id in await customer_people(ctx.session, ticket.customer_id):
        reached |= await ctx.notify(person_id, msg, purpose=purpose, ticket_id=ticket.id, ref=ref,
                                    supersede=f"status:{ticket.id}:{person_id}" if status_update else None)
    if not reached:
        record_event(ctx.session, ticket, "customer_not_reached", now=ctx.now, what=purpose)
    return reached


async def tell_supervisor(ctx: Ctx, ticket: Ticket, msg: Msg, *, purpose: str) -> None:
    """A line to the supervisor about what the engineer did (not to themselves, if they are it)."""
    supervisor_id = await supervisor_of(ctx, ticket)
    if supervisor_id is not None and supervisor_id != ctx.person.id:
        await ctx.notify(supervisor_id, msg, purpose=purpose, ticket_id=ticket.id)
