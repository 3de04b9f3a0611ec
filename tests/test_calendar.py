"""Business calendar arithmetic: a simulated fortnight in Shanghai, a DST spring in Berlin,
and properties that must hold for any start and duration."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.config import BotSection, WorkingHours
from models.calendar import BusinessCalendar, TwentyFourSeven, calendar_for

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")
UTC = timezone.utc
DAY = (time(8, 30), time(22, 0))
WEEKDAYS = [DAY] * 5 + [None, None]

# March 2026: Mon 2 … Sun 8, holiday Wed 4; Mon 9 … Fri 13, make-up Saturday 14.
HOLIDAY = date(2026, 3, 4)
MAKEUP = date(2026, 3, 14)


def sh(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=SH)


@pytest.fixture(scope="module")
def cal() -> BusinessCalendar:
    return BusinessCalendar(SH, WEEKDAYS, holidays=[HOLIDAY], makeup_workdays=[MAKEUP])


def test_results_are_utc(cal: BusinessCalendar) -> None:
    result = cal.add(sh(2, 9), timedelta(hours=1))
    assert result.tzinfo is UTC
    assert result == sh(2, 10)


def test_friday_evening_hour_lands_on_monday(cal: BusinessCalendar) -> None:
    # 30 minutes on Friday, Saturday and Sunday off, 30 minutes from Monday's 08:30.
    assert cal.add(sh(6, 21, 30), timedelta(hours=1)) == sh(9, 9)


def test_friday_evening_hour_lands_on_makeup_saturday(cal: BusinessCalendar) -> None:
    assert cal.add(sh(13, 21, 30), timedelta(hours=1)) == sh(14, 9)
    assert cal.is_working_time(sh(14, 12))
    assert not cal.is_working_time(sh(7, 12))  # an ordinary Saturday


def test_start_at_night_counts_from_next_opening(cal: BusinessCalendar) -> None:
    assert cal.add(sh(3, 2), timedelta(hours=2)) == sh(3, 10, 30)
    assert cal.add(sh(2, 23), timedelta(hours=1)) == sh(3, 9, 30)
    assert cal.add(sh(2, 22), timedelta(minutes=1)) == sh(3, 8, 31)


def test_start_on_holiday_counts_from_next_working_day(cal: BusinessCalendar) -> None:
    assert cal.add(sh(4, 10), timedelta(hours=1)) == sh(5, 9, 30)
    # Tuesday evening: one hour before the close, the rest on Thursday.
    assert cal.add(sh(3, 21), timedelta(hours=2)) == sh(5, 9, 30)
    assert not cal.is_working_time(sh(4, 10))


def test_multi_day_durations(cal: BusinessCalendar) -> None:
    # Monday 13.5 h + Tuesday 10.5 h.
    assert cal.add(sh(2, 8, 30), timedelta(hours=24)) == sh(3, 19)
    # Mon + Tue + (holiday) + Thu = 40.5 h ends exactly at Thursday's close, not Friday's opening.
    assert cal.add(sh(2, 8, 30), timedelta(hours=40, minutes=30)) == sh(5, 22)
    # Thu 10 h, Fri 13.5, weekend, Mon 13.5, Tue 13.5, Wed 13.5 = 64 h, then 8 h on Thursday.
    assert cal.add(sh(5, 12), timedelta(hours=72)) == sh(12, 16, 30)


def test_boundaries_are_half_open(cal: BusinessCalendar) -> None:
    assert cal.is_working_time(sh(2, 8, 30))
    assert not cal.is_working_time(sh(2, 8, 29))
    assert cal.is_working_time(sh(2, 21, 59))
    assert not cal.is_working_time(sh(2, 22))
    assert cal.add(sh(2, 21), timedelta(hours=1)) == sh(2, 22)
    assert cal.add(sh(2, 23), timedelta(0)) == sh(2, 23)


def test_working_between_across_weekends(cal: BusinessCalendar) -> None:
    assert cal.working_between(sh(6, 20), sh(9, 10)) == timedelta(hours=3, minutes=30)
    # Make-up Saturday adds a whole day.
    assert cal.working_between(sh(13, 20), sh(16, 10)) == timedelta(hours=17)
    # Across the holiday week: Mon..Fri minus Wednesday.
    assert cal.working_between(sh(2, 0), sh(9, 0)) == timedelta(hours=4 * 13.5)
    assert cal.working_between(sh(7, 1), sh(8, 23)) == timedelta(0)


def test_working_between_negative_spans(cal: BusinessCalendar) -> None:
    assert cal.working_between(sh(9, 10), sh(6, 20)) == -timedelta(hours=3, minutes=30)
    assert cal.working_between(sh(2, 12), sh(2, 12)) == timedelta(0)


def test_next_opening_and_quiet_hours(cal: BusinessCalendar) -> None:
    assert cal.next_opening(sh(6, 22, 30)) == sh(9, 8, 30)
    assert cal.next_opening(sh(13, 23)) == sh(14, 8, 30)
    assert cal.next_opening(sh(3, 23)) == sh(5, 8, 30)  # Wednesday is a holiday
    assert cal.next_opening(sh(2, 6)) == sh(2, 8, 30)
    assert cal.next_opening(sh(2, 12)) == sh(2, 12)  # already working: no wait
    assert cal.in_quiet_hours(sh(2, 23))
    assert not cal.in_quiet_hours(sh(2, 12))


def test_makeup_day_gets_the_first_working_weekdays_hours() -> None:
    """A 调休 day stands in for a full working weekday, whatever hours its own weekday has."""
    week = [(time(9, 0), time(17, 0)), DAY, DAY, DAY, DAY, (time(10, 0), time(12, 0)), None]
    cal = BusinessCalendar(SH, week, makeup_workdays=[date(2026, 3, 8), date(2026, 3, 14)])
    assert cal.hours_on(date(2026, 3, 8)) == (time(9, 0), time(17, 0))  # a Sunday: Monday's hours
    assert cal.hours_on(date(2026, 3, 14)) == (time(9, 0), time(17, 0))  # a Saturday with hours of its own
    assert cal.hours_on(date(2026, 3, 7)) == (time(10, 0), time(12, 0))  # an ordinary Saturday
    no_monday = BusinessCalendar(SH, [None, DAY, DAY, DAY, DAY, (time(10), time(12)), None],
                                 makeup_workdays=[date(2026, 3, 8)])
    assert no_monday.hours_on(date(2026, 3, 8)) == DAY  # the first *working* weekday: Tuesday


def test_makeup_saturday_with_short_hours_counts_a_full_day() -> None:
    """A severity-2 ticket of the default config (respond 1 h, arrive 24 h, resolve 48 h working time) registered Fri 2026-10-09 21:30,
    Saturday 09:00–12:00 normally, 2026-10-10 a make-up day."""
    week = [DAY] * 5 + [(time(9, 0), time(12, 0)), None]
    cal = BusinessCalendar(SH, week, makeup_workdays=[date(2026, 10, 10)])
    friday = sh(9, 21, 30, month=10)
    assert cal.add(friday, timedelta(hours=1)) == sh(10, 9, 0, month=10)
    assert cal.add(friday, timedelta(hours=24)) == sh(12, 18, 30, month=10)
    assert cal.add(friday, timedelta(hours=48)) == sh(14, 15, 30, month=10)


def test_calendar_for_reads_the_bot_section() -> None:
    bot = BotSection(holidays=[HOLIDAY], makeup_workdays=[MAKEUP])
    cal = calendar_for(bot)
    assert cal.add(sh(13, 21, 30), timedelta(hours=1)) == sh(14, 9)
    assert cal.add(sh(3, 21), timedelta(hours=2)) == sh(5, 9, 30)


def test_round_the_clock_hours_from_config_have_no_gaps() -> None:
    every_day = {day: "00:00-24:00" for day in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    bot = BotSection(timezone="UTC", working_hours=WorkingHours(**every_day))
    cal = calendar_for(bot)
    start = datetime(2026, 3, 2, 23, 59, 59, tzinfo=UTC)
    assert cal.is_working_time(start)
    assert cal.add(start, timedelta(days=3)) == start + timedelta(days=3)


def test_invalid_configurations_fail_clearly() -> None:
    with pytest.raises(ValueError, match="no working hours"):
        BusinessCalendar(SH, [None] * 7)
    with pytest.raises(ValueError, match="both as holiday"):
        BusinessCalendar(SH, WEEKDAYS, holidays=[MAKEUP], makeup_workdays=[MAKEUP])
    with pytest.raises(ValueError, match="7 weekdays"):
        BusinessCalendar(SH, WEEKDAYS[:5])
    only_monday = [DAY] + [None] * 6
    mondays = [date(2026, 1, 5) + timedelta(weeks=n) for n in range(70)]
    with pytest.raises(ValueError, match="no working time within"):
        BusinessCalendar(SH, only_monday, holidays=mondays).add(sh(1, 0, month=1), timedelta(hours=1))


def test_naive_and_negative_inputs_are_refused(cal: BusinessCalendar) -> None:
    with pytest.raises(ValueError, match="naive"):
        cal.add(datetime(2026, 3, 2, 9), timedelta(hours=1))
    with pytest.raises(ValueError, match="naive"):
        TwentyFourSeven().working_between(datetime(2026, 3, 2), sh(2, 9))
    with pytest.raises(ValueError, match="negative"):
        cal.add(sh(2, 9), timedelta(hours=-1))


def test_twenty_four_seven_is_plain_arithmetic() -> None:
    clock = TwentyFourSeven()
    start = sh(6, 21, 30)
    assert clock.add(start, timedelta(hours=1)) == sh(6, 22, 30)
    assert clock.working_between(sh(6, 20), sh(9, 10)) == timedelta(hours=62)
    assert clock.working_between(sh(9, 10), sh(6, 20)) == -timedelta(hours=62)
    assert clock.next_opening(sh(7, 3)) == sh(7, 3)
    assert clock.is_working_time(sh(7, 3)) and not clock.in_quiet_hours(sh(7, 3))
    assert clock.add(start, timedelta(hours=1)).tzinfo is UTC


# -- DST: Europe/Berlin springs forward on Sunday 29 March 2026 (02:00 CET → 03:00 CEST) ------


@pytest.fixture(scope="module")
def berlin() -> BusinessCalendar:
    return BusinessCalendar(BERLIN, WEEKDAYS)


def test_dst_opening_moves_by_an_hour_in_utc(berlin: BusinessCalendar) -> None:
    friday = datetime(2026, 3, 27, 21, 0, tzinfo=BERLIN)  # 20:00 UTC (CET)
    due = berlin.add(friday, timedelta(hours=2))
    assert due == datetime(2026, 3, 30, 9, 30, tzinfo=BERLIN)
    assert due == datetime(2026, 3, 30, 7, 30, tzinfo=UTC)  # CEST is UTC+2
    assert berlin.next_opening(friday.replace(hour=23)) == datetime(2026, 3, 30, 6, 30, tzinfo=UTC)
    # Friday 08:30 CET to Monday 08:30 CEST: one full Friday, whatever the wall clock did.
    assert berlin.working_between(
        datetime(2026, 3, 27, 8, 30, tzinfo=BERLIN), datetime(2026, 3, 30, 8, 30, tzinfo=BERLIN)
    ) == timedelta(hours=13, minutes=30)


def test_dst_days_are_23_and_25_hours_long() -> None:
    always = BusinessCalendar(BERLIN, [(time(0), time(23, 59, 59))] * 7)
    spring = datetime(2026, 3, 29, tzinfo=BERLIN), datetime(2026, 3, 30, tzinfo=BERLIN)
    autumn = datetime(2026, 10, 25, tzinfo=BERLIN), datetime(2026, 10, 26, tzinfo=BERLIN)
    assert always.working_between(*spring) == timedelta(hours=23)
    assert always.working_between(*autumn) == timedelta(hours=25)
    assert always.add(spring[0], timedelta(hours=23)) == spring[1]


def test_times_inside_the_spring_forward_gap_are_placed_at_the_jump() -> None:
    """Berlin skips 02:00–03:00 on 29 March 2026: a Sunday closing at 02:30 closes at 03:00 CEST
    (01:00 UTC), the moment the wall clock passes 02:30; an opening at 02:30 opens then too."""
    closes_in_gap = BusinessCalendar(BERLIN, [None] * 6 + [(time(1, 0), time(2, 30))])
    assert closes_in_gap.period(date(2026, 3, 29)) == (
        datetime(2026, 3, 29, 0, 0, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert not closes_in_gap.is_working_time(datetime(2026, 3, 29, 1, 15, tzinfo=UTC))  # 03:15 CEST
    opens_in_gap = BusinessCalendar(BERLIN, [None] * 6 + [(time(2, 30), time(4, 0))])
    assert opens_in_gap.period(date(2026, 3, 29)) == (
        datetime(2026, 3, 29, 1, 0, tzinfo=UTC), datetime(2026, 3, 29, 2, 0, tzinfo=UTC))
    inside = BusinessCalendar(BERLIN, [None] * 6 + [(time(2, 10), time(2, 50))])
    assert inside.period(date(2026, 3, 29)) is None  # the whole period was skipped
    # Autumn: a time in the repeated hour is its first occurrence (CEST), and the day closes once.
    fold = BusinessCalendar(BERLIN, [None] * 6 + [(time(1, 0), time(2, 30))])
    assert fold.period(date(2026, 10, 25)) == (
        datetime(2026, 10, 24, 23, 0, tzinfo=UTC), datetime(2026, 10, 25, 0, 30, tzinfo=UTC))


# -- properties ---------------------------------------------------------------------------------

CALENDARS = {
    "shanghai": BusinessCalendar(SH, WEEKDAYS, holidays=[HOLIDAY], makeup_workdays=[MAKEUP]),
    "berlin": BusinessCalendar(
        BERLIN,
        [DAY, DAY, DAY, DAY, (time(9), time(15)), None, (time(0), time(23, 59, 59))],
        holidays=[date(2026, 3, 30)],
        makeup_workdays=[date(2026, 3, 28)],
    ),
    "24x7": TwentyFourSeven(),
}
BUSINESS = [c for c in CALENDARS.values() if isinstance(c, BusinessCalendar)]

starts = st.datetimes(
    min_value=datetime(2026, 2, 20), max_value=datetime(2026, 4, 10), timezones=st.just(UTC)
)
durations = st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=30))
calendars = st.sampled_from(list(CALENDARS.values()))
business = st.sampled_from(BUSINESS)
FAST = settings(max_examples=150, deadline=None)


@FAST
@given(calendars, starts, durations, durations)
def test_add_is_monotonic(cal, start, d1, d2) -> None:
    small, large = sorted((d1, d2))
    assert cal.add(start, small) <= cal.add(start, large)


@FAST
@given(calendars, starts, durations)
def test_working_between_inverts_add(cal, start, d) -> None:
    assert cal.working_between(start, cal.add(start, d)) == d


@FAST
@given(business, starts, durations.filter(bool))
def test_add_lands_in_working_time_or_at_a_close(cal, start, d) -> None:
    end = cal.add(start, d)
    assert cal.is_working_time(end) or cal.is_working_time(end - timedelta(microseconds=1))


@FAST
@given(calendars, starts)
def test_next_opening_is_working_time(cal, moment) -> None:
    opening = cal.next_opening(moment)
    assert opening >= moment
    assert cal.is_working_time(opening)
    assert cal.working_between(moment, opening) == timedelta(0)


@FAST
@given(business, starts, starts)
def test_working_between_is_antisymmetric_and_additive(cal, a, b) -> None:
    assert cal.working_between(a, b) == -cal.working_between(b, a)
    middle = min(a, b) + (max(a, b) - min(a, b)) / 2
    lo, hi = min(a, b), max(a, b)
    assert cal.working_between(lo, hi) == cal.working_between(lo, middle) + cal.working_between(middle, hi)


@FAST
@given(starts, durations)
def test_round_the_clock_business_calendar_equals_24x7(start, d) -> None:
    always = BusinessCalendar(UTC, [(time(0), time(23, 59, 59))] * 7)
    plain = TwentyFourSeven()
    assert always.add(start, d) == plain.add(start, d)
    assert always.working_between(start, start + d) == plain.working_between(start, start + d) == d
