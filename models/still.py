"""Whether a message that waited still applies when it comes due.

A push can wait for hours: quiet hours hold non-urgent pushes until the working day starts, and a
failed send waits for its retry.  Meanwhile the ticket moves on — declined and re-dispatched,
accepted, resolved.  So a push carries *what it was about* as a small condition (stored in
``outbox.valid_if``), written by whoever makes the push, and the sender checks it when a row that
waited comes due: a "New job" card whose ticket went to someone else, or a "declined, please
re-dispatch" after the re-dispatch, is dropped, not sent.  One mechanism, no per-flow cases.

The condition is plain JSON (it lives in the outbox row), built with :func:`still`:

* ``ticket`` — the ticket it is about; with it
  * ``status`` — the ticket must be in one of these states,
  * ``assignee`` — the ticket must still be with this engineer (``None``: with nobody),
  * ``clock`` — this SLA clock (``respond``/``arrive``/``resolve``) must still be running;
* ``ack`` — this acknowledgement must still be open (nobody answered the check-in, and its ticket
  was not cancelled).

A message replaced by a newer one about the same thing (a customer's status push) uses a
supersede key instead (``outbox.supersede_key``): see :func:`models.outbox.supersede`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import TicketStatus
from models.tickets import Ticket
from models.work import Acknowledgement, Checkin

CLOCKS = ("respond", "arrive", "resolve")
_UNSET = object()


def still(*, ticket: int | None = None, status: Iterable[TicketStatus] | None = None,
          assignee: Any = _UNSET, clock: str | None = None, ack: int | None = None) -> dict[str, Any]:
    """A condition for ``outbox.valid_if`` (see the module doc)."""
    cond: dict[str, Any] = {}
    if ticket is not None:
        cond["ticket"] = ticket
        if status is not None:
            cond["status"] = sorted(TicketStatus(s).value for s in status)
        if assignee is not _UNSET:
            cond["assignee"] = assignee
        if clock is not None:
            if clock not in CLOCKS:
                raise ValueError(f"unknown clock {clock!r}")
            cond["clock"] = clock
    elif status is not None or assignee is not _UNSET or clock is not None:
        raise ValueError("status, assignee and clock need the ticket")
    if ack is not None:
        cond["ack"] = ack
    return cond


async def applies(session: AsyncSession, cond: dict[str, Any] | None) -> bool:
    """True if every part of ``cond`` still holds (an empty or missing condition always does).
    An unknown key counts as holding: a newer version's condition never blocks a message."""
    if not cond:
        return True
    if "ticket" in cond:
        row = (await session.execute(
            select(Ticket.status, Ticket.assignee_id, Ticket.respond_met_at, Ticket.arrive_met_at,
                   Ticket.resolve_met_at).where(Ticket.id == cond["ticket"])
        )).first()
        if row is None:
            return False
        if "status" in cond and row.status.value not in cond["status"]:
            return False
        if "assignee" in cond and row.assignee_id != cond["assignee"]:
            return False
        clock = cond.get("clock")
        if clock in CLOCKS:
            if getattr(row, f"{clock}_met_at") is not None:
                return False
            if row.status in (TicketStatus.CANCELLED, TicketStatus.CLOSED):
                return False
    if "ack" in cond:
        acked = (await session.execute(
            select(Acknowledgement.acked_at, Ticket.status).join(Checkin, Checkin.id == Acknowledgement.checkin_id)
            .join(Ticket, Ticket.id == Checkin.ticket_id).where(Acknowledgement.id == cond["ack"])
        )).first()
        if acked is None or acked.acked_at is not None or acked.status is TicketStatus.CANCELLED:
            return False
    return True


def job_offer(ticket: Ticket, engineer_id: int) -> dict[str, Any]:
    """What a dispatch card (or its reminder) to ``engineer_id`` carries while it may wait for the
    morning: it applies only while the job still waits for that engineer, and a newer message
    about the job to them (taken off it) replaces it."""
    return {"valid_if": still(ticket=ticket.id, status={TicketStatus.DISPATCHED}, assignee=engineer_id),
            "supersede": job_key(ticket.id, engineer_id)}


def job_key(ticket_id: int, engineer_id: int | None) -> str:
    """The supersede key of the messages offering a job to an engineer."""
    return f"job:{ticket_id}:{engineer_id}"
