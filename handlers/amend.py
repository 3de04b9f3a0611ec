"""Cancelling, reopening and correcting a ticket, with whom each tells — shared by the chat flows
(:mod:`handlers.flows.cancel`, :mod:`handlers.flows.edit`, the customer's **Not fixed**) and the
command line (``fieldbot ticket cancel|reopen|edit``), so both move the ticket and tell people
the same way.

Pushes go through a :data:`Tell` the caller gives: a flow's is :meth:`Ctx.notify` (held for quiet
hours, noted for the asker), the command line's writes outbox rows with keys of its own (a running
bot delivers them within seconds).

* **cancel** (reason required): the lifecycle's CANCEL (the SLA clocks and the dispatch chase
  stop), the ticket's open acknowledgements stop being chased, a job offer still waiting for the
  morning is withdrawn (the engineer never saw it: not told), the engineer and the customer told
  with the reason;
* **reopen** (reason required): the lifecycle's REOPEN back to the engineer (accepted); with
  ``dispute`` the customer said it is not fixed.  The engineer gets the card to go back to it, the
  supervisor a line;
* **edit**: :func:`models.corrections.correct`; the engineer hears of a new address or severity.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from handlers.amend_view import CANCELLERS, EDITORS, ChangeText  # noqa: F401 (the flows' names)
from handlers.cards import engineer_card
from handlers.context import drop_superseded
from handlers.messages import L, Msg, Raw
from models.corrections import ENGINEER_NEEDS, Change, correct
from models.enums import Action, Role, TicketStatus
from models.errors import DomainError
from models.lifecycle import ASSIGNED_STATES, allowed_actions
from models.people import Person
from models.queries import customer_people, person_name, supervisor_of
from models.still import job_key
from models.tickets import Ticket
from models.transitions import apply_action, record_event
from models.work import Acknowledgement, Checkin

if TYPE_CHECKING:
    from datetime import datetime

    from bot.app import App
    from handlers.context import Ctx

#: ``(person id, message, purpose) → reached``: how the caller pushes.
Tell = Callable[[int, Msg, str], Awaitable[bool]]
#: The longest reason (or what the customer says is still wrong) kept.
REASON_LIMIT = 500


#: The refusal when the ticket's state does not allow the action.
NOT_NOW = {Action.CANCEL: "amend_cancel_not_open", Action.REOPEN: "amend_reopen_not_done"}


def check(ticket: Ticket, action: Action) -> None:
    """Raise unless ``action`` (cancel, reopen) applies to the ticket in its state now."""
    if action not in allowed_actions(ticket.status, ticket.service_type):
        raise DomainError(NOT_NOW[action], number=ticket.number, status=ticket.status.value)


def who(actor: Person | None) -> Any:
    return Raw(actor.name) if actor is not None else L("amend.office")


def _engineer(ticket: Ticket) -> int | None:
    """The engineer on the ticket, if it is with one."""
    return ticket.assignee_id if ticket.status in ASSIGNED_STATES else None


async def cancel(session: Any, app: App, ticket: Ticket, *, reason: str, actor: Person | None, now: datetime,
                 tell: Tell) -> dict[str, bool | None]:
    """Cancel; returns whether the engineer and the customer were reached (None: nobody to tell)."""
    engineer = _engineer(ticket)
    apply_action(session, ticket, Action.CANCEL, now=now, actor_id=actor.id if actor else None, reason=reason,
                 clocks=app.sla)
    checkins = select(Checkin.id).where(Checkin.ticket_id == ticket.id)
    await session.execute(update(Acknowledgement).where(Acknowledgement.checkin_id.in_(checkins),
                                                        Acknowledgement.acked_at.is_(None))
                          .values(next_reminder_at=None).execution_options(synchronize_session=False))
    facts = {"number": ticket.number, "model": Raw(ticket.product_model), "address": Raw(ticket.address),
             "who": who(actor), "reason": Raw(reason)}
    told: dict[str, bool | None] = {"engineer": None, "customer": False}
    # A job offer still waiting for the morning is withdrawn: that engineer never had the job.
    if engineer is not None and not await drop_superseded(session, job_key(ticket.id, engineer), now):
        told["engineer"] = await tell(engineer, Msg("amend.cancel.engineer", facts), "cancelled")
    for person_id in await customer_people(session, ticket.customer_id):
        told["customer"] |= await tell(person_id, Msg("amend.cancel.customer", facts), "cancelled")
    if not told["customer"]:
        record_event(session, ticket, "customer_not_reached", now=now, what="cancelled")
    return told


async def reopen(session: Any, app: App, ticket: Ticket, *, reason: str, actor: Person | None, now: datetime,
                 tell: Tell, dispute: bool = False, team_id: int | None = None) -> dict[str, bool | None]:
    """Reopen to the engineer; returns whether the engineer and the supervisor were reached."""
    apply_action(session, ticket, Action.REOPEN, now=now, actor_id=actor.id if actor else None, reason=reason,
                 clocks=app.sla, **({"dispute": True} if dispute else {}))
    kind = "dispute" if dispute else "reopen"
    facts = {"number": ticket.number, "who": who(actor), "reason": Raw(reason),
             "engineer": Raw(await person_name(session, ticket.assignee_id))}
    told: dict[str, bool | None] = {"engineer": None, "supervisor": None}
    if ticket.assignee_id is not None:
        head = L(f"amend.{kind}.engineer", facts)
        told["engineer"] = await tell(ticket.assignee_id, engineer_card(ticket, app.tz, head), "reopened")
    supervisor = await supervisor_of(session, ticket, team_id)
    if supervisor is not None and (actor is None or supervisor != actor.id):
        told["supervisor"] = await tell(supervisor, Msg(f"amend.{kind}.supervisor", facts), "reopened")
    return told


async def edit(session: Any, app: App, ticket: Ticket, field: str, value: Any, *, actor: Person | None,
               now: datetime, tell: Tell) -> tuple[Change | None, bool | None]:
    """Correct one field; returns the change (None: nothing changed) and whether the engineer was
    told of it (None: not theirs to hear)."""
    change = await correct(session, ticket, field, value, now=now, today=app.local(now).date(),
                           warranty=app.config.bot.warranty, policy=app.sla, actor_id=actor.id if actor else None)
    engineer = _engineer(ticket)
    if change is None or change.field not in ENGINEER_NEEDS or engineer is None \
            or ticket.status is TicketStatus.NEW:
        return change, None
    head = L("amend.edit.engineer", {"number": ticket.number, "who": who(actor)})
    card = engineer_card(ticket, app.tz, head, change_text(change, app.tz))
    return change, await tell(engineer, card, "edited")


def change_text(change: Change, tz: Any) -> ChangeText:
    """"address: 1 Harbour Rd → 2 River Rd" (and a severity's new due times), per recipient."""
    return ChangeText(change.field, change.old, change.new, change.due, tz)


def ctx_tell(ctx: Ctx, ticket: Ticket) -> Tell:
    """A flow's :data:`Tell`: pushes from this update (held for quiet hours, noted for the asker)."""
    async def tell(person_id: int, msg: Msg, purpose: str) -> bool:
        return await ctx.notify(person_id, msg, purpose=purpose, ticket_id=ticket.id)
    return tell


async def told_line(ctx: Ctx, person_id: int | None, reached: bool | None) -> list[L]:
    """"Li Lei has been told." (and when, if it waits for working hours) — or that they could not
    be reached; nothing when there was nobody to tell."""
    if reached is None or person_id is None:
        return []
    name = await person_name(ctx.session, person_id)
    if not reached:
        return [L("amend.not_reached", {"name": Raw(name)})]
    held = ctx.held_note(person_id, name)
    return [L("amend.told", {"name": Raw(name)})] + ([held] if held else [])


async def actor_named(session: Any, name: str | None, roles: frozenset[Role]) -> Person | None:
    """The active staff member called ``name`` in one of ``roles`` (the command line's ``--by``)."""
    if not name:
        return None
    return await session.scalar(select(Person).where(Person.name == name.strip(), Person.role.in_(roles),
                                                     Person.active.is_(True)).limit(1))
