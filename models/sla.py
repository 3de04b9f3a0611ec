"""SLA clocks: the regulations' time limits (DESIGN §2) as due times on a calendar.

Each ticket runs up to three clocks, all started when the ticket is registered:

* ``respond`` — until an engineer accepts it;
* ``arrive``  — until the engineer checks in on site (on-site tickets only);
* ``resolve`` — until the work is reported done.

Each severity's ``[sla]`` level says how long each clock is and whether it counts working time
(``calendar = "business"``) or every hour (``"24x7"``, e.g. severity 1: a system that is down
does not wait for Monday). These functions only compute; the transitions store the results in
the ticket's ``*_due_at`` / ``*_met_at`` / ``*_diff_min`` columns and the scheduler scans them.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from models.calendar import Calendar, TwentyFourSeven
from models.enums import ServiceType

if TYPE_CHECKING:  # the domain does not depend on the runtime; only the types are borrowed
    from bot.config import SlaLevel, SlaSection

CLOCKS: tuple[str, ...] = ("respond", "arrive", "resolve")
_MINUTE = timedelta(minutes=1)
_ROUND_THE_CLOCK = TwentyFourSeven()


def clocks_for(service_type: ServiceType | str) -> tuple[str, ...]:
    """The clocks a ticket runs: nobody travels for a phone or remote ticket, so no ``arrive``."""
    if ServiceType(service_type) is ServiceType.ONSITE:
        return CLOCKS
    return tuple(c for c in CLOCKS if c != "arrive")


def level_calendar(level: SlaLevel, business_calendar: Calendar) -> Calendar:
    """The calendar a severity's clocks count on: the team's business hours or round the clock."""
    return _ROUND_THE_CLOCK if level.calendar == "24x7" else business_calendar


def severity_calendar(severity: int, sla: SlaSection, business_calendar: Calendar) -> Calendar:
    """Calendar of a severity's clocks; every later computation for the clock must use it too."""
    return level_calendar(sla.for_severity(severity), business_calendar)


def due_times(
    ticket_start: datetime,
    severity: int,
    service_type: ServiceType | str,
    sla: SlaSection,
    business_calendar: Calendar,
) -> dict[str, datetime]:
    """Due time of every clock the ticket runs, keyed by clock name (UTC-aware).

    A business clock started outside working hours counts from the next opening, so a ticket
    registered on Friday night is due some working hours into Monday.
    """
    level = sla.for_severity(severity)
    calendar = level_calendar(level, business_calendar)
    return {clock: calendar.add(ticket_start, getattr(level, clock)) for clock in clocks_for(service_type)}


def shift_for_pause(due: datetime, paused_from: datetime, resumed_at: datetime, calendar: Calendar) -> datetime:
    """``due`` moved later by the working time that elapsed while the ticket was paused.

    Waiting for parts or for the customer is not the engineer's time (DESIGN §2), so the clock
    stops: whatever was left (or overdue) at the pause is left (or overdue) again at the resume.
    Only working time counts, so a pause from Friday 21:00 to Monday 10:00 on a 08:30–22:00
    calendar costs 2 h 30 min, not 61 h. Apply it only to clocks not yet met; it works for any
    moment on the clock, so shift the clock's start too when :func:`warn_at` needs it.
    """
    lost = calendar.working_between(paused_from, resumed_at)
    if lost <= timedelta(0):
        return calendar.add(due, timedelta(0))
    return calendar.add(due, lost)


def remaining(due: datetime, now: datetime, calendar: Calendar) -> timedelta:
    """Working time left until ``due``; negative once overdue (how much working time late).

    ``fieldbot ticket show`` prints this as "remaining" or "overdue".
    """
    return calendar.working_between(now, due)


def met_diff_minutes(due: datetime, met: datetime, calendar: Calendar) -> int:
    """Minutes met early (positive) or late (negative), in working minutes for business clocks.

    Rounded down, so being late by any part of a minute counts as late (-1) and the sign alone
    tells the monthly statistics whether the clock was met. A clock due at Friday's close and
    met on Saturday lost no working time, so it counts as met on time (0).
    """
    return calendar.working_between(met, due) // _MINUTE


def warn_at(start: datetime, due: datetime, fraction: float, calendar: Calendar) -> datetime:
    """The moment when ``fraction`` (e.g. 0.8 from ``[sla] warn_at``) of the clock has elapsed.

    Counted in the clock's own working time, so an 80 % warning for a clock that spans a night
    comes in the morning, not at 3 a.m. After a pause, pass ``start`` and ``due`` both shifted
    by :func:`shift_for_pause`, so the warning keeps its place in the running time.
    """
    if not 0 <= fraction <= 1:
        raise ValueError(f"fraction must be between 0 and 1, got {fraction}")
    total = calendar.working_between(start, due)
    if total <= timedelta(0):
        return calendar.add(due, timedelta(0))
    return calendar.add(start, total * fraction)
