"""SlaPolicy on a ticket row (no database): reopening resumes the resolve clock like a pause, and a
paused clock's remaining time stands still."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.config import parse_config
from models.calendar import calendar_for
from models.clocks import NONE, SlaPolicy, WARNED
from models.enums import Action, ServiceType, TicketStatus
from models.tickets import Ticket

UTC = timezone.utc
# Mon 2026-03-02 10:00 Shanghai = 02:00 UTC; working hours 08:30-22:00 Mon-Fri (the defaults).
MON_10 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


def policy() -> SlaPolicy:
    cfg = parse_config('[bot]\ntimezone = "Asia/Shanghai"\n[sla.3]\nrespond = "1h"\narrive = "4h"\nresolve = "8h"\n',
                       environ={})
    return SlaPolicy(cfg.sla, cfg.chase, calendar_for(cfg.bot))


def ticket() -> Ticket:
    return Ticket(severity=3, service_type=ServiceType.ONSITE, status=TicketStatus.ON_SITE, paused_seconds=0)


def test_reopen_resumes_the_resolve_clock_with_what_it_had_left() -> None:
    p, t = policy(), ticket()
    p.start(t, MON_10)
    assert t.resolve_due_at == MON_10 + timedelta(hours=8)  # Mon 18:00
    p.meet(t, "respond", MON_10 + timedelta(minutes=20))
    p.meet(t, "arrive", MON_10 + timedelta(hours=2))
    p.meet(t, "resolve", MON_10 + timedelta(hours=6))  # resolved Mon 16:00, 2 h early
    t.resolve_level = WARNED
    assert t.resolve_diff_min == 120
    reopened = MON_10 + timedelta(days=1)  # Tue 10:00: 8 working hours later (16:00-22:00, 08:30-10:00)
    p.on_transition(t, Action.REOPEN, reopened, None)
    assert t.resolve_met_at is None and t.resolve_diff_min is None and t.resolve_level == NONE
    assert p.remaining(t, "resolve", reopened) == timedelta(hours=2)  # the 2 h it had left
    # The ladder starts again: more than 80 % of the clock is used, so the warning ("2 h left")
    # is due at once, and the breach will come at the new due time.
    assert t.sla_next_at <= reopened
    assert t.resolve_due_at == reopened + timedelta(hours=2)


def test_a_paused_clock_stands_still() -> None:
    p, t = policy(), ticket()
    p.start(t, MON_10)
    t.paused_at = MON_10 + timedelta(hours=1)
    later = MON_10 + timedelta(days=3)
    assert p.remaining(t, "resolve", later) == timedelta(hours=7)
    p.plan(t)
    assert t.sla_next_at is None
