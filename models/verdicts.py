"""How an SLA verdict came about, from the ticket's own record: the working time each clock
counted, the pauses it did not, the due time they add up to, and the minutes early or late.

A supervisor checks a disputed verdict by hand with this (``fieldbot ticket show N --explain``,
``/ticket N sla``): every line is a stretch of time on the team's calendar, and the counted lines
add up to the clock's duration.  It replays what :mod:`models.clocks` did — the due time is
``add(registration, duration)``, moved on by the working time of each pause the clock was running
through (and, for the resolve clock, of the time the ticket sat resolved before a reopen) — from
the event log, and says so when the stored due time differs from the replay (the rules in the
config changed after registration).

Pure: the ticket, its events, the policy and ``now`` in; dataclasses out, no text.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.calendar import BusinessCalendar, Calendar
from models.clocks import SlaPolicy
from models.enums import Action, TicketStatus
from models.sla import shift_for_pause
from models.tickets import Ticket, TicketEvent

_ZERO = timedelta(0)
_MINUTE = timedelta(minutes=1)


@dataclass(frozen=True)
class Hold:
    """Time the clock stood still: a pause (``reason``: parts / customer / other) or, for the
    resolve clock, the time between a resolve and the reopen (``reason`` = ``"reopened"``)."""
    start: datetime
    end: datetime | None  # None: still paused
    reason: str


@dataclass(frozen=True)
class Stretch:
    """One line of the explanation.  ``kind``: ``counted`` (working time on the clock),
    ``held`` (a hold while the clock ran: its working time not counted), ``held_overdue`` (a hold
    that began when the clock was already overdue: the due time moves on by its working time, so
    the overdue time stands), ``holding`` (paused now: the clock stands still)."""
    kind: str
    start: datetime
    end: datetime | None
    working: timedelta
    reason: str | None = None
    due_after: datetime | None = None  # for held_overdue: the due time it moved to


@dataclass
class ClockStory:
    clock: str
    round_the_clock: bool
    start: datetime
    duration: timedelta
    due: datetime  # the replay's due time
    stored_due: datetime | None
    met: datetime | None
    diff_min: int | None  # as stored when the clock was met (early > 0, late < 0)
    stretches: list[Stretch] = field(default_factory=list)

    @property
    def counted(self) -> timedelta:
        return sum((s.working for s in self.stretches if s.kind == "counted"), _ZERO)

    @property
    def agrees(self) -> bool:
        return self.stored_due is None or self.stored_due == self.due


def holds(events: Sequence[TicketEvent], clock: str) -> list[Hold]:
    """The ticket's pauses (every clock) and resolved-then-reopened stretches (resolve clock)."""
    found: list[Hold] = []
    paused: TicketEvent | None = None
    resolved: datetime | None = None
    for event in sorted(events, key=lambda e: (e.at, e.id or 0)):
        if event.kind != "transition":
            continue
        if paused is not None and event.from_status is TicketStatus.PAUSED:
            found.append(Hold(paused.at, event.at, (paused.details or {}).get("pause_reason") or "other"))
            paused = None
        if event.action is Action.PAUSE:
            paused = event
        if event.action is Action.RESOLVE:
            resolved = event.at
        if event.action is Action.REOPEN and resolved is not None and clock == "resolve":
            found.append(Hold(resolved, event.at, "reopened"))
            resolved = None
    if paused is not None:
        found.append(Hold(paused.at, None, (paused.details or {}).get("pause_reason") or "other"))
    return sorted(found, key=lambda h: h.start)


def explain(ticket: Ticket, events: Sequence[TicketEvent], policy: SlaPolicy, clock: str,
            now: datetime) -> ClockStory:
    """The story of one of the ticket's clocks (see the module docstring)."""
    calendar = policy.calendar(ticket)
    duration: timedelta = getattr(policy.sla.for_severity(ticket.severity), clock)
    start = ticket.created_at
    met = getattr(ticket, f"{clock}_met_at")
    due = calendar.add(start, duration)
    still: list[Hold] = []  # holds the clock was running into (not yet due)
    held: list[Stretch] = []  # the finished ones of those, with the working time they took
    late: list[Stretch] = []
    counted_until: datetime | None = None  # the due time when the first overdue hold began
    for hold in holds(events, clock):
        if met is not None and hold.start >= met:
            break  # met before this hold: it did not move the clock
        if hold.end is None:  # paused now: the clock stands still until the resume
            late.append(Stretch("holding", hold.start, None, calendar.working_between(hold.start, now), hold.reason))
            if hold.start < due:
                still.append(hold)
            continue
        lost = calendar.working_between(hold.start, hold.end)
        before, due = due, shift_for_pause(due, hold.start, hold.end, calendar)
        if hold.start >= before:  # began overdue: the due time moves, the overdue time stands
            counted_until = counted_until or before
            late.append(Stretch("held_overdue", hold.start, hold.end, lost, hold.reason, due_after=due))
        else:
            still.append(hold)
            held.append(Stretch("held", hold.start, hold.end, lost, hold.reason))
    stretches = list(_counted(calendar, start, counted_until or due, still, now)) + held
    stretches = sorted(stretches, key=lambda s: s.start) + late
    return ClockStory(clock, not isinstance(calendar, BusinessCalendar), start, duration, due,
                      getattr(ticket, f"{clock}_due_at"), met, getattr(ticket, f"{clock}_diff_min"), stretches)


def _periods(calendar: Calendar, a: datetime, b: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Working periods within ``[a, b)``: a business calendar's days, or the whole span."""
    if not isinstance(calendar, BusinessCalendar):
        yield a, b
        return
    day, last = a.astimezone(calendar.tz).date(), b.astimezone(calendar.tz).date()
    while day <= last:
        found = calendar.period(day)
        if found is not None and min(found[1], b) > max(found[0], a):
            yield max(found[0], a), min(found[1], b)
        day += timedelta(days=1)


def _counted(calendar: Calendar, start: datetime, due: datetime, still: list[Hold],
             now: datetime) -> Iterator[Stretch]:
    """The working time between registration and ``due`` outside the holds, period by period."""
    for begin, end in _periods(calendar, start, due):
        pieces = [(begin, end)]
        for hold in still:
            stop = hold.end or max(now, due)
            pieces = [p for a, b in pieces for p in ((a, min(b, hold.start)), (max(a, stop), b)) if p[1] > p[0]]
        for a, b in pieces:
            yield Stretch("counted", a, b, b - a)


def story_json(story: ClockStory) -> dict[str, object]:
    """The story as JSON (UTC ISO times, working minutes)."""
    def iso(moment: datetime | None) -> str | None:
        return moment.isoformat() if moment else None

    return {
        "start": iso(story.start), "duration_min": story.duration // _MINUTE,
        "round_the_clock": story.round_the_clock, "counted_min": story.counted // _MINUTE,
        "due": iso(story.due), "stored_due": iso(story.stored_due), "agrees": story.agrees,
        "met": iso(story.met), "diff_min": story.diff_min,
        "stretches": [{"kind": s.kind, "start": iso(s.start), "end": iso(s.end),
                       "working_min": s.working // _MINUTE, "reason": s.reason, "due_after": iso(s.due_after)}
                      for s in story.stretches],
    }
