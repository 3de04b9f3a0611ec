"""Keeping a ticket's deadline columns right as it moves: SLA clocks, the dispatch chase and the
callback survey.  :func:`models.transitions.apply_action` calls :meth:`SlaPolicy.on_transition`
for every move, so the scheduler only ever has to scan the ``*_next_at`` columns.

Arithmetic lives in :mod:`models.sla` and :mod:`models.calendar`; this module decides which
deadline applies when, per the regulations (DESIGN §2) and the ``[sla]`` / ``[chase]`` config.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from models.calendar import BusinessCalendar, Calendar, TwentyFourSeven
from models.enums import Action, CallbackState
from models.sla import clocks_for, due_times, met_diff_minutes, remaining, severity_calendar, shift_for_pause, warn_at
from models.tickets import Ticket

if TYPE_CHECKING:
    from bot.config import ChaseSection, SlaSection

#: Escalation levels of a clock.
NONE, WARNED, BREACHED, ESCALATED = 0, 1, 2, 3
#: The respond clock is met by accepting, arrive by arriving, resolve by resolving.
MEETS = {Action.ACCEPT: "respond", Action.ARRIVE: "arrive", Action.RESOLVE: "resolve"}
ROUND_THE_CLOCK = TwentyFourSeven()


class SlaPolicy:
    def __init__(self, sla: SlaSection, chase: ChaseSection, calendar: BusinessCalendar):
        self.sla, self.chase, self.business = sla, chase, calendar

    # -- calendars ---------------------------------------------------------------------------
    def calendar(self, ticket: Ticket) -> Calendar:
        """The calendar the ticket's SLA clocks count on (its severity's setting)."""
        return severity_calendar(ticket.severity, self.sla, self.business)

    def urgent(self, ticket: Ticket | None) -> bool:
        """Severity 1 (system down) does not wait for working hours."""
        return ticket is not None and ticket.severity == 1

    def chase_calendar(self, ticket: Ticket | None) -> Calendar:
        """Chases count working time, except for urgent tickets, which are chased round the clock."""
        return ROUND_THE_CLOCK if self.urgent(ticket) else self.business

    # -- SLA clocks --------------------------------------------------------------------------
    def start(self, ticket: Ticket, now: datetime) -> None:
        ticket.sla_start_at = now
        for clock, due in due_times(now, ticket.severity, ticket.service_type, self.sla, self.business).items():
            setattr(ticket, f"{clock}_due_at", due)
            setattr(ticket, f"{clock}_level", NONE)
        self.plan(ticket)

    def running(self, ticket: Ticket) -> list[str]:
        """Clocks with a due time and not yet met."""
        return [c for c in clocks_for(ticket.service_type)
                if getattr(ticket, f"{c}_due_at") is not None and getattr(ticket, f"{c}_met_at") is None]

    def next_step(self, ticket: Ticket, clock: str) -> datetime | None:
        """When the clock next needs attention: the warning, the breach, the manager escalation."""
        due = getattr(ticket, f"{clock}_due_at")
        level = getattr(ticket, f"{clock}_level")
        cal = self.calendar(ticket)
        if level == NONE:
            return warn_at(ticket.sla_start_at or due, due, self.sla.warn_at, cal)
        if level == WARNED:
            return due
        if level == BREACHED:
            return cal.add(due, self.sla.escalate_after)
        return None

    def plan(self, ticket: Ticket) -> None:
        """Recompute ``sla_next_at`` (None while paused or when every clock is met or escalated)."""
        if ticket.paused_at is not None:
            ticket.sla_next_at = None
            return
        steps = [s for c in self.running(ticket) if (s := self.next_step(ticket, c)) is not None]
        ticket.sla_next_at = min(steps) if steps else None

    def meet(self, ticket: Ticket, clock: str, now: datetime) -> None:
        due = getattr(ticket, f"{clock}_due_at")
        if due is None or getattr(ticket, f"{clock}_met_at") is not None:
            return
        setattr(ticket, f"{clock}_met_at", now)
        setattr(ticket, f"{clock}_diff_min", met_diff_minutes(due, now, self.calendar(ticket)))

    def shift(self, ticket: Ticket, paused_from: datetime, resumed_at: datetime) -> None:
        """The clocks stood still while paused: move every unmet due time (and the start) on."""
        cal = self.calendar(ticket)
        for clock in self.running(ticket):
            due = getattr(ticket, f"{clock}_due_at")
            setattr(ticket, f"{clock}_due_at", shift_for_pause(due, paused_from, resumed_at, cal))
        if ticket.sla_start_at is not None:
            ticket.sla_start_at = shift_for_pause(ticket.sla_start_at, paused_from, resumed_at, cal)

    def remaining(self, ticket: Ticket, clock: str, now: datetime) -> timedelta | None:
        """Working time left (negative: overdue); a paused clock stands still at the pause."""
        due = getattr(ticket, f"{clock}_due_at")
        if due is None:
            return None
        return remaining(due, ticket.paused_at or now, self.calendar(ticket))

    # -- the hook ----------------------------------------------------------------------------
    def on_transition(self, ticket: Ticket, action: Action, now: datetime, paused_from: datetime | None) -> None:
        clock = MEETS.get(action)
        if clock:
            self.meet(ticket, clock, now)
        if action is Action.RESOLVE and "arrive" not in clocks_for(ticket.service_type):
            ticket.arrive_due_at = None
        if paused_from is not None and action is not Action.PAUSE:
            self.shift(ticket, paused_from, now)
        if action is Action.REOPEN:
            # The time the ticket sat resolved was not the engineer's: like a pause, the resolve
            # clock resumes with what it had left, and its ladder starts again for the new due.
            resolved = ticket.resolve_met_at
            if resolved is not None and ticket.resolve_due_at is not None:
                ticket.resolve_due_at = shift_for_pause(ticket.resolve_due_at, resolved, now, self.calendar(ticket))
            ticket.resolve_met_at = ticket.resolve_diff_min = None
            ticket.resolve_level = NONE
            ticket.callback_state = ticket.callback_next_at = ticket.callback_sent_at = None
        # Unaccepted-dispatch chase: runs from each dispatch until accept/decline/cancel.
        if action in (Action.DISPATCH, Action.REASSIGN):
            ticket.dispatch_chase_level = 0
            ticket.dispatch_next_at = self.chase_calendar(ticket).add(now, self.chase.dispatch_reminder)
        elif action in (Action.ACCEPT, Action.DECLINE, Action.CANCEL):
            ticket.dispatch_next_at = None
        # Callback survey a few days after the customer's sign-off (回访).
        if action is Action.SIGN_OFF:
            ticket.callback_state = CallbackState.DUE
            ticket.callback_next_at = now + self.chase.callback_after
        if action in (Action.CANCEL, Action.CLOSE):
            ticket.sla_next_at = None
            if action is Action.CANCEL:
                return
        self.plan(ticket)
