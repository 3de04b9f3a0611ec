"""The ticket lifecycle: one pure transition function over an explicit table.

Keeping the rules in one table (and nowhere else) means the bot, the CLI and the scheduler can
never disagree about what may happen next, and the table can be checked exhaustively in tests::

    new → dispatched → accepted → en_route → on_site ⇄ paused → resolved → signed_off → closed

* decline: dispatched → new (the reason is kept in the event log);
* reassign: any assigned open state → dispatched (to another engineer);
* cancel: from any open state (new … paused), reason kept;
* reopen: resolved / signed_off / closed → accepted, when the customer disputes the fix (or the
  desk reopens it with a reason);
* phone and remote tickets skip en_route / on_site: accepted → resolved directly, and a pause
  returns to accepted.
"""

from __future__ import annotations

from collections.abc import Iterable

from models.enums import Action, ServiceType, TicketStatus
from models.errors import DomainError

S = TicketStatus
A = Action

#: action → {from status: to status}, for on-site tickets.
ONSITE_TABLE: dict[Action, dict[TicketStatus, TicketStatus]] = {
    A.DISPATCH: {S.NEW: S.DISPATCHED},
    A.ACCEPT: {S.DISPATCHED: S.ACCEPTED},
    A.DECLINE: {S.DISPATCHED: S.NEW},
    A.DEPART: {S.ACCEPTED: S.EN_ROUTE},
    A.ARRIVE: {S.EN_ROUTE: S.ON_SITE},
    A.PAUSE: {S.ON_SITE: S.PAUSED},
    A.RESUME: {S.PAUSED: S.ON_SITE},
    A.RESOLVE: {S.ON_SITE: S.RESOLVED},
    A.SIGN_OFF: {S.RESOLVED: S.SIGNED_OFF},
    A.CLOSE: {S.SIGNED_OFF: S.CLOSED},
    A.CANCEL: {s: S.CANCELLED for s in (S.NEW, S.DISPATCHED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE, S.PAUSED)},
    A.REOPEN: {S.RESOLVED: S.ACCEPTED, S.SIGNED_OFF: S.ACCEPTED, S.CLOSED: S.ACCEPTED},
    A.REASSIGN: {s: S.DISPATCHED for s in (S.DISPATCHED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE, S.PAUSED)},
}

#: Phone and remote tickets: no travel, work happens from "accepted".
DESK_TABLE: dict[Action, dict[TicketStatus, TicketStatus]] = {
    **ONSITE_TABLE,
    A.DEPART: {},
    A.ARRIVE: {},
    A.PAUSE: {S.ACCEPTED: S.PAUSED},
    A.RESUME: {S.PAUSED: S.ACCEPTED},
    A.RESOLVE: {S.ACCEPTED: S.RESOLVED},
    A.CANCEL: {s: S.CANCELLED for s in (S.NEW, S.DISPATCHED, S.ACCEPTED, S.PAUSED)},
    A.REASSIGN: {s: S.DISPATCHED for s in (S.DISPATCHED, S.ACCEPTED, S.PAUSED)},
}

OPEN_STATES = frozenset({S.NEW, S.DISPATCHED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE, S.PAUSED})
#: Work done, waiting for the customer's signature or the close.
DONE_STATES = frozenset({S.RESOLVED, S.SIGNED_OFF})
FINAL_STATES = frozenset({S.CLOSED, S.CANCELLED})
#: States in which the ticket has an engineer on it.
ASSIGNED_STATES = frozenset({S.DISPATCHED, S.ACCEPTED, S.EN_ROUTE, S.ON_SITE, S.PAUSED, S.RESOLVED, S.SIGNED_OFF})


class TransitionError(DomainError):
    """An action that the lifecycle does not allow in the ticket's current state."""

    def __init__(self, status: TicketStatus, action: Action, service: ServiceType):
        self.status, self.action, self.service = status, action, service
        super().__init__("transition", status=status.value, action=action.value, service=service.value)

    def __str__(self) -> str:
        return f"cannot {self.action.value} a {self.service.value} ticket that is {self.status.value}"


def table_for(service: ServiceType) -> dict[Action, dict[TicketStatus, TicketStatus]]:
    return ONSITE_TABLE if service is ServiceType.ONSITE else DESK_TABLE


def next_status(status: TicketStatus, action: Action, service: ServiceType) -> TicketStatus:
    """The status after ``action``; raises :class:`TransitionError` naming state and action."""
    target = table_for(service)[action].get(status)
    if target is None:
        raise TransitionError(status, action, service)
    return target


def allowed_actions(status: TicketStatus, service: ServiceType) -> list[Action]:
    """Actions valid in ``status``, in table order (used to show only the buttons that work)."""
    return [a for a, moves in table_for(service).items() if status in moves]


def replay(actions: Iterable[Action], service: ServiceType, start: TicketStatus = S.NEW) -> TicketStatus:
    """Fold a sequence of actions (e.g. from the event log) into the status it leads to."""
    status = start
    for action in actions:
        status = next_status(status, action, service)
    return status


def work_under_way(status: TicketStatus, service: ServiceType) -> bool:
    """Whether the job is being worked on (on site, or a desk ticket accepted) or paused in it:
    when progress check-ins and parts requests make sense."""
    if service is ServiceType.ONSITE:
        return status in (S.ON_SITE, S.PAUSED)
    return status in (S.ACCEPTED, S.PAUSED)
