"""The SLA clock arithmetic against a deliberately simple reference that walks minute by minute.

The reference knows nothing of :mod:`models.calendar`'s periods, caches or binary searches: it
reads the documented semantics (config.example.toml, ``models/calendar.py``'s docstring) and
nothing else —

* a date's hours: none on a holiday; a make-up date (调休) gets the first working weekday's hours
  (Monday to Friday first); any other date its weekday's;
* a working day opens at the first minute the wall clock reads the opening time or later and
  closes at the first minute it reads the closing time or later ("24:00" = the next midnight);
* a due time is the end of the minute in which the duration's last working minute, outside
  every pause, was counted; the minutes early or late are the working minutes between.

Random calendars in three zones with DST or without, holidays and make-up days, starts at night,
at weekends and on holidays, durations of 1 minute to 10 days, 0–3 pauses. Examples per property:
``FIELDBOT_CALENDAR_EXAMPLES`` (default 200; the issue's 10,000-calendar run is
``FIELDBOT_CALENDAR_EXAMPLES=10000 pytest tests/test_calendar_reference.py``).
"""

from __future__ import annotations

import os
from datetime import date, datetime, time, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.calendar import BusinessCalendar
from models.sla import met_diff_minutes, shift_for_pause

UTC = timezone.utc
MINUTE = timedelta(minutes=1)
ZONES = ("Asia/Shanghai", "Europe/Berlin", "America/New_York")
EXAMPLES = int(os.environ.get("FIELDBOT_CALENDAR_EXAMPLES", "200"))
CHECK = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: 2026 with both DST changes of Berlin (29 Mar, 25 Oct) and New York (8 Mar, 1 Nov).
FIRST, LAST = date(2026, 1, 5), date(2026, 12, 20)
END_OF_DAY = time(23, 59, 59)


class Reference:
    """Minute walking over the documented rules; slow on purpose, obviously right."""

    def __init__(self, zone: str, week: list[tuple[time, time] | None], holidays: set[date], makeup: set[date]):
        self.tz, self.week, self.holidays, self.makeup = ZoneInfo(zone), week, holidays, makeup
        weekdays = [h for h in week[:5] if h is not None]
        self.makeup_hours = (weekdays or [h for h in week if h is not None])[0]
        self.first_reach = lru_cache(maxsize=None)(self._first_reach)
        self.working = lru_cache(maxsize=None)(self._working)

    def __repr__(self) -> str:  # what a falsifying example prints: the calendar itself
        week = ", ".join("off" if h is None else f"{h[0]:%H:%M}-{h[1]:%H:%M}" for h in self.week)
        return (f"Reference({self.tz.key}, [{week}], holidays={sorted(map(str, self.holidays))}, "
                f"makeup={sorted(map(str, self.makeup))})")

    def hours(self, day: date) -> tuple[time, time] | None:
        if day in self.holidays:
            return None
        if day in self.makeup:
            return self.makeup_hours
        return self.week[day.weekday()]

    def _first_reach(self, wall: datetime) -> datetime:
        """The first UTC minute at which the local clock reads ``wall`` (naive) or later."""
        moment = datetime.combine(wall.date(), wall.time(), UTC) - timedelta(hours=16)  # UTC-14 … UTC+14
        assert moment.astimezone(self.tz).replace(tzinfo=None) < wall
        while moment.astimezone(self.tz).replace(tzinfo=None) < wall:
            moment += MINUTE
        return moment

    def period(self, day: date) -> tuple[datetime, datetime] | None:
        hours = self.hours(day)
        if hours is None:
            return None
        opens = self.first_reach(datetime.combine(day, hours[0]))
        end = datetime.combine(day + timedelta(days=1), time(0)) if hours[1] == END_OF_DAY else \
            datetime.combine(day, hours[1])
        return opens, self.first_reach(end)

    def _working(self, minute: datetime) -> bool:
        found = self.period(minute.astimezone(self.tz).date())
        return found is not None and found[0] <= minute < found[1]

    def due(self, start: datetime, minutes: int, pauses: list[tuple[datetime, datetime]]) -> datetime:
        counted, minute = 0, start
        while True:
            if self.working(minute) and not any(a <= minute < b for a, b in pauses):
                counted += 1
                if counted == minutes:
                    return minute + MINUTE
            minute += MINUTE

    def between(self, a: datetime, b: datetime) -> int:
        sign, (lo, hi) = (1, (a, b)) if a <= b else (-1, (b, a))
        count, minute = 0, lo
        while minute < hi:
            count += self.working(minute)
            minute += MINUTE
        return sign * count


def hours_strategy() -> st.SearchStrategy[tuple[time, time] | None]:
    """Office hours, short shifts, round the clock — and times near the small hours, where DST
    gaps and folds are (01:00–03:30 local)."""
    def clock(minutes: int) -> time:
        return time(minutes // 60, minutes % 60)

    minutes = st.one_of(st.integers(0, 1439), st.integers(55, 215))
    pair = st.tuples(minutes, st.one_of(minutes, st.just(1440))).filter(lambda p: p[0] < p[1])
    hours = pair.map(lambda p: (clock(p[0]), END_OF_DAY if p[1] == 1440 else clock(p[1])))
    return st.one_of(st.none(), hours, st.just((time(8, 30), time(22, 0))))


@st.composite
def calendars(draw: st.DrawFn) -> tuple[BusinessCalendar, Reference, date]:
    zone = draw(st.sampled_from(ZONES))
    week = draw(st.lists(hours_strategy(), min_size=7, max_size=7).filter(lambda w: any(w)))
    around = draw(st.dates(min_value=FIRST, max_value=LAST))
    near = st.dates(min_value=around - timedelta(days=10), max_value=around + timedelta(days=30))
    holidays = set(draw(st.lists(near, max_size=6)))
    makeup = set(draw(st.lists(near, max_size=3))) - holidays
    product = BusinessCalendar(zone, week, holidays=holidays, makeup_workdays=makeup)
    return product, Reference(zone, week, holidays, makeup), around


@st.composite
def clocks(draw: st.DrawFn) -> tuple[BusinessCalendar, Reference, datetime, int, list[tuple[datetime, datetime]]]:
    product, reference, around = draw(calendars())
    start = datetime.combine(around, time(0), UTC) + draw(st.integers(0, 2 * 1440)) * MINUTE
    minutes = draw(st.one_of(st.integers(1, 600), st.integers(1, 10 * 1440)))
    week = [reference.week[d] for d in range(7)]
    weekly = sum((datetime.combine(FIRST, h[1]) - datetime.combine(FIRST, h[0])) // MINUTE for h in week if h)
    minutes = min(minutes, 6 * weekly)  # a 10-day clock on a calendar open an hour a week: not this century
    pauses, moment = [], start
    for _ in range(draw(st.integers(0, 3))):
        begin = moment + draw(st.integers(0, 3 * 1440)) * MINUTE
        end = begin + draw(st.integers(1, 3 * 1440)) * MINUTE
        pauses.append((begin, end))
        moment = end
    return product, reference, start, minutes, pauses


@CHECK
@given(clocks())
def test_due_times_with_pauses_match_the_reference(case) -> None:
    product, reference, start, minutes, pauses = case
    due = product.add(start, minutes * MINUTE)
    running: list[tuple[datetime, datetime]] = []
    for begin, end in pauses:
        if begin >= due:  # the clock was met (or the ticket left alone) before this pause
            break
        due = shift_for_pause(due, begin, end, product)  # what SlaPolicy.shift does on a resume
        running.append((begin, end))
    assert due == reference.due(start, minutes, running)


@CHECK
@given(calendars(), st.integers(0, 3 * 1440), st.integers(-2 * 1440, 4 * 1440))
def test_working_time_between_and_verdicts_match_the_reference(case, offset, span) -> None:
    product, reference, around = case
    a = datetime.combine(around, time(0), UTC) + offset * MINUTE
    b = a + span * MINUTE
    assert product.working_between(a, b) == reference.between(a, b) * MINUTE
    assert met_diff_minutes(b, a, product) == reference.between(a, b)  # met at a, due at b
    assert product.is_working_time(a) == reference.working(a)
