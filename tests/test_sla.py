"""SLA clocks on the simulated Shanghai fortnight: due times per severity and service type,
pauses, met differences and the 80 % warning."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import SlaSection
from models.calendar import BusinessCalendar, TwentyFourSeven
from models.enums import ServiceType
from models.sla import (
    CLOCKS,
    clocks_for,
    due_times,
    met_diff_minutes,
    remaining,
    severity_calendar,
    shift_for_pause,
    warn_at,
)

SH = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc
DAY = (time(8, 30), time(22, 0))
# March 2026: holiday Wednesday 4, make-up Saturday 14.
CAL = BusinessCalendar(SH, [DAY] * 5 + [None, None], holidays=[date(2026, 3, 4)], makeup_workdays=[date(2026, 3, 14)])
SLA = SlaSection()  # defaults: level 1 is 24x7 (1h/8h/24h), level 2 business (1h/24h/48h)


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=SH)


def test_which_clocks_run() -> None:
    assert CLOCKS == ("respond", "arrive", "resolve")
    assert clocks_for(ServiceType.ONSITE) == CLOCKS
    assert clocks_for(ServiceType.PHONE) == ("respond", "resolve")
    assert clocks_for("remote") == ("respond", "resolve")


def test_severity_1_runs_round_the_clock() -> None:
    due = due_times(sh(6, 21, 30), 1, ServiceType.ONSITE, SLA, CAL)
    assert due == {"respond": sh(6, 22, 30), "arrive": sh(7, 5, 30), "resolve": sh(7, 21, 30)}
    assert isinstance(severity_calendar(1, SLA, CAL), TwentyFourSeven)


def test_severity_2_runs_on_business_hours() -> None:
    due = due_times(sh(6, 21, 30), 2, ServiceType.ONSITE, SLA, CAL)
    # respond 1h: 30 min Friday + 30 min Monday.
    # arrive 24h: Fri 0.5 + Mon 13.5 = 14, then 10h on Tuesday.
    # resolve 48h: … + Tue 13.5 = 27.5, Wed 11 13.5 = 41, then 7h on Thursday.
    assert due == {"respond": sh(9, 9), "arrive": sh(10, 18, 30), "resolve": sh(12, 15, 30)}
    assert all(d.tzinfo is UTC for d in due.values())
    assert severity_calendar(2, SLA, CAL) is CAL


def test_phone_ticket_has_no_arrive_clock() -> None:
    due = due_times(sh(13, 21, 30), 3, ServiceType.PHONE, SLA, CAL)
    # respond 4h: 30 min Friday, 3.5h on the make-up Saturday.
    assert set(due) == {"respond", "resolve"}
    assert due["respond"] == sh(14, 12)


def test_pause_stops_the_clock_for_working_time_only() -> None:
    paused, resumed = sh(6, 21), sh(9, 10)
    lost = timedelta(hours=1) + timedelta(hours=1, minutes=30)
    assert CAL.working_between(paused, resumed) == lost
    assert shift_for_pause(sh(10, 12), paused, resumed, CAL) == sh(10, 14, 30)
    # Due during the pause (Friday 21:30): 30 min were left, so 30 min after the resume.
    assert shift_for_pause(sh(6, 21, 30), paused, resumed, CAL) == sh(9, 10, 30)
    # Already overdue at the pause by 1h: overdue by 1h again at the resume.
    shifted = shift_for_pause(sh(6, 20), paused, resumed, CAL)
    assert remaining(shifted, resumed, CAL) == -timedelta(hours=1)
    # A pause wholly outside working hours changes nothing.
    assert shift_for_pause(sh(10, 12), sh(6, 22, 30), sh(9, 8), CAL) == sh(10, 12)


def test_pause_on_a_24x7_clock_shifts_by_wall_time() -> None:
    clock = TwentyFourSeven()
    assert shift_for_pause(sh(10, 12), sh(6, 21), sh(9, 10), clock) == sh(10, 12) + timedelta(hours=61)


def test_remaining_is_signed_working_time() -> None:
    assert remaining(sh(9, 9), sh(6, 21, 30), CAL) == timedelta(hours=1)
    assert remaining(sh(9, 9), sh(9, 10), CAL) == -timedelta(hours=1)
    assert remaining(sh(9, 9), sh(7, 12), CAL) == timedelta(minutes=30)  # weekend does not count


def test_met_diff_early_and_late() -> None:
    assert met_diff_minutes(sh(9, 12), sh(9, 11, 30), CAL) == 30
    assert met_diff_minutes(sh(9, 12), sh(9, 12), CAL) == 0
    # Due Monday 21:30, met Tuesday 09:00: 30 min Monday + 30 min Tuesday late.
    assert met_diff_minutes(sh(9, 21, 30), sh(10, 9), CAL) == -60
    # Due Friday 21:30, met Monday 08:00 before opening: 30 working minutes late, not 58 hours.
    assert met_diff_minutes(sh(6, 21, 30), sh(9, 8), CAL) == -30
    # Any part of a minute late is late; any part early is on time.
    assert met_diff_minutes(sh(9, 12), sh(9, 12) + timedelta(seconds=20), CAL) == -1
    assert met_diff_minutes(sh(9, 12), sh(9, 12) - timedelta(seconds=20), CAL) == 0
    # 24x7 clocks count every minute.
    assert met_diff_minutes(sh(6, 21, 30), sh(9, 8), TwentyFourSeven()) == -(58 * 60 + 30)


def test_warn_at_80_percent() -> None:
    assert warn_at(sh(2, 9), sh(2, 13), 0.8, CAL) == sh(2, 12, 12)
    # 4h clock from Monday 20:00 → due Tuesday 10:30; 3h12m elapsed = 2h Monday + 1h12m Tuesday.
    due = CAL.add(sh(2, 20), timedelta(hours=4))
    assert due == sh(3, 10, 30)
    assert warn_at(sh(2, 20), due, 0.8, CAL) == sh(3, 9, 42)
    # The same clock round the clock: due at midnight, warned at 23:12.
    assert warn_at(sh(2, 20), sh(3, 0), 0.8, TwentyFourSeven()) == sh(2, 23, 12)
    with pytest.raises(ValueError):
        warn_at(sh(2, 9), sh(2, 13), 1.5, CAL)


def test_warn_at_after_a_pause_keeps_its_place_in_running_time() -> None:
    # 10h clock from Monday 09:00 (due 19:00); paused 10:00–12:00 (2h lost).
    start, due = sh(2, 9), sh(2, 19)
    moved = [shift_for_pause(t, sh(2, 10), sh(2, 12), CAL) for t in (start, due)]
    assert moved == [sh(2, 11), sh(2, 21)]
    # 8h of running time: 1h before the pause, 7h after 12:00.
    assert warn_at(*moved, 0.8, CAL) == sh(2, 19)


starts = st.datetimes(min_value=datetime(2026, 2, 20), max_value=datetime(2026, 4, 10), timezones=st.just(UTC))
spans = st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=10))


@settings(max_examples=100, deadline=None)
@given(starts, spans, starts, st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=5)))
def test_pause_preserves_what_was_left(start, length, paused, pause_length) -> None:
    """Whatever was left (or overdue) when the pause began is left again when it ends."""
    due = CAL.add(start, length)
    resumed = paused + pause_length
    shifted = shift_for_pause(due, paused, resumed, CAL)
    assert remaining(shifted, resumed, CAL) == remaining(due, paused, CAL)
    assert shifted >= due


@settings(max_examples=100, deadline=None)
@given(starts, spans, st.floats(min_value=0, max_value=1))
def test_warn_at_lies_between_start_and_due(start, length, fraction) -> None:
    due = CAL.add(start, length)
    warn = warn_at(start, due, fraction, CAL)
    assert CAL.add(start, timedelta(0)) <= warn <= due
    elapsed = CAL.working_between(start, warn)
    assert abs(elapsed - length * fraction) <= timedelta(microseconds=1)
