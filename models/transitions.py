"""Applying a lifecycle action to a stored ticket: status, timestamps, and the event log entry.

:func:`models.lifecycle.next_status` decides whether a move is allowed; this module records the
move's side effects on the row.  It is the only code that changes ``Ticket.status``.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.enums import Action, PauseReason, TicketStatus
from models.errors import DomainError
from models.lifecycle import next_status
from models.tickets import Ticket, TicketEvent

if TYPE_CHECKING:
    from models.clocks import SlaPolicy

#: The SLA clocks, in the order they run (models.sla.CLOCKS).
SLA_CLOCKS = ("respond", "arrive", "resolve")
#: Actions whose reason is required and kept (DESIGN: "decline … reason kept", "cancel … reason kept").
NEEDS_REASON = frozenset({Action.DECLINE, Action.CANCEL, Action.REOPEN, Action.REASSIGN})

_STAMP = {
    Action.DISPATCH: "dispatched_at",
    Action.REASSIGN: "dispatched_at",
    Action.ACCEPT: "accepted_at",
    Action.DEPART: "departed_at",
    Action.ARRIVE: "arrived_at",
    Action.RESOLVE: "resolved_at",
    Action.SIGN_OFF: "signed_off_at",
    Action.CLOSE: "closed_at",
    Action.CANCEL: "cancelled_at",
}


def _end_pause(ticket: Ticket, now: datetime) -> None:
    if ticket.paused_at is not None:
        ticket.paused_seconds += max(0, int((now - ticket.paused_at).total_seconds()))
        ticket.paused_at = None
        ticket.pause_reason = None


def _record_verdicts(ticket: Ticket, action: Action, met_before: dict[str, datetime | None],
                     details: dict[str, Any]) -> None:
    """The SLA verdicts go into the log (``details["sla"]``: clock → minutes early (+) / late (-)):
    the clock a move met (accept, arrive), and at resolve every clock the ticket has, ``None`` for
    one with a due time that was never met — what the statistics' "SLA met" is rebuilt from."""
    verdicts: dict[str, int | None] = {}
    for clock in SLA_CLOCKS:
        due, met = getattr(ticket, f"{clock}_due_at"), getattr(ticket, f"{clock}_met_at")
        newly_met = met is not None and met_before[clock] is None
        if newly_met or (action is Action.RESOLVE and due is not None):
            verdicts[clock] = getattr(ticket, f"{clock}_diff_min") if met is not None else None
    if verdicts or action is Action.RESOLVE:
        details["sla"] = verdicts


def record_event(session: AsyncSession, ticket: Ticket, kind: str, *, now: datetime,
                 actor_id: int | None = None, **details: Any) -> TicketEvent:
    """Append a non-transition event (note, check-in, sign-off request …) to the timeline."""
    event = TicketEvent(ticket_id=ticket.id, at=now, actor_id=actor_id, kind=kind, details=details)
    session.add(event)
    return event


def apply_action(
    session: AsyncSession,
    ticket: Ticket,
    action: Action,
    *,
    now: datetime,
    actor_id: int | None = None,
    assignee_id: int | None = None,
    reason: str | None = None,
    clocks: SlaPolicy | None = None,
    **details: Any,
) -> TicketEvent:
    """Move ``ticket`` by ``action`` (or raise a DomainError) and append the event; no commit.

    With ``clocks`` (the app's :class:`~models.clocks.SlaPolicy`) the SLA, dispatch-chase and
    callback deadlines follow the move too.
    """
    before = ticket.status
    paused_from = ticket.paused_at
    after = next_status(before, action, ticket.service_type)
    reason = (reason or "").strip() or None
    if action in NEEDS_REASON and not reason:
        raise DomainError("reason_required", action=action.value)
    if action in (Action.DISPATCH, Action.REASSIGN):
        if assignee_id is None:
            raise DomainError("assignee_required", action=action.value)
        if action is Action.REASSIGN and assignee_id == ticket.assignee_id:
            raise DomainError("same_assignee")
        details["from_assignee_id"] = ticket.assignee_id
        details["assignee_id"] = assignee_id
        details["team_id"] = ticket.team_id  # an unteamed ticket joins the dispatching team first
        ticket.assignee_id = assignee_id
        ticket.accepted_at = ticket.departed_at = ticket.eta_at = None
    if action is Action.DECLINE:
        details["engineer_id"] = ticket.assignee_id
        ticket.assignee_id = None
    if action is Action.PAUSE:
        why = PauseReason(details.get("pause_reason") or PauseReason.OTHER)
        ticket.paused_at = now
        ticket.pause_reason = why.value
        details["pause_reason"] = why.value
    if before is TicketStatus.PAUSED:
        _end_pause(ticket, now)
    if action is Action.RESOLVE:
        for key in ("findings", "actions_taken", "parts_replaced", "result", "fault_cause"):
            if key in details:
                setattr(ticket, key, details[key])
    if action is Action.DEPART and details.get("eta_at"):
        ticket.eta_at = details.pop("eta_at")
        details["eta"] = ticket.eta_at.isoformat()
    if action is Action.CANCEL:
        ticket.cancel_reason = reason
    if action is Action.REOPEN:
        # The fix did not hold: the job no longer counts as done on the first visit (reports).
        ticket.resolved_at = ticket.signed_off_at = ticket.closed_at = None
        ticket.reopens = (ticket.reopens or 0) + 1
    stamp = _STAMP.get(action)
    if stamp:
        setattr(ticket, stamp, now)
    if reason:
        details["reason"] = reason
    ticket.status = after
    ticket.updated_at = now
    met_before = {c: getattr(ticket, f"{c}_met_at") for c in SLA_CLOCKS}
    if clocks is not None:
        clocks.on_transition(ticket, action, now, paused_from)
    _record_verdicts(ticket, action, met_before, details)
    event = TicketEvent(
        ticket_id=ticket.id, at=now, actor_id=actor_id, kind="transition", action=action,
        from_status=before, to_status=after, details=details,
    )
    session.add(event)
    return event
