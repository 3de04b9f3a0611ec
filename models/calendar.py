"""Business calendars: how much *working* time lies between two moments, and where a span ends.

Why this exists: the regulations' time limits (DESIGN §2) are counted in the team's working
hours, not wall-clock hours. A one-hour respond clock started at 21:30 on a Friday is due on
Monday morning, not at 22:30. Quiet hours (non-urgent pushes wait for the working day) ask
the same question the other way round: when does the next working period start?

Pure arithmetic: no database, no I/O, no message text. Every input must be timezone-aware
(a naive time is ambiguous, the same rule as :class:`models.base.UTCDateTime`), and every
result is UTC-aware, so results can go straight into a UTC column.

Semantics, chosen so that the tests and the scheduler can rely on them:

* A working day has one period ``[open, close)``: half-open, so exactly at the closing time
  it is no longer working time, and exactly at the opening it is.
* ``add`` returns the *earliest* moment at which the duration has elapsed, so a span that
  uses up a day exactly ends at that day's close (Thursday 22:00), not at the next opening.
* A day is a holiday (no working time), else a make-up working day (调休: it stands in for a
  full working weekday, so it gets the hours of the first working weekday, Monday to Friday —
  whatever hours its own weekday has; ``check-config`` warns about a make-up date that already is
  a working weekday), else its weekday's hours.
* The config writes "24:00" as 23:59:59; an end of 23:59:59 is read as midnight, so a
  round-the-clock business calendar has no one-second gaps.
* Local opening/closing times are placed on the time line by the zone (DST-correct): a
  spring-forward Sunday open 00:00–24:00 holds 23 hours, an autumn one 25. Each time is placed at
  the first moment the wall clock reads it or has passed it: a time inside a spring-forward gap
  (Berlin 02:30 on the last Sunday of March) at the jump itself (03:00 CEST), a time inside an
  autumn fold at its first occurrence. A day opens once and closes once.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import TYPE_CHECKING, Protocol
from zoneinfo import ZoneInfo

if TYPE_CHECKING:  # the domain does not depend on the runtime; only the type is borrowed
    from bot.config import BotSection

UTC = timezone.utc
#: How many days without any working time a search may cross before it gives up. A year of
#: holidays in a row is a configuration mistake; an endless loop would hide it.
MAX_IDLE_DAYS = 400
_DAY = timedelta(days=1)
_ZERO = timedelta(0)
_END_OF_DAY = time(23, 59, 59)

Hours = tuple[time, time] | None
Period = tuple[datetime, datetime]


class Calendar(Protocol):
    """What the SLA clocks and the scheduler need from a calendar (business or 24×7)."""

    def is_working_time(self, moment: datetime) -> bool: ...
    def add(self, start: datetime, duration: timedelta) -> datetime: ...
    def working_between(self, a: datetime, b: datetime) -> timedelta: ...
    def next_opening(self, moment: datetime) -> datetime: ...
    def in_quiet_hours(self, moment: datetime) -> bool: ...


def _utc(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment.isoformat()}: attach a time zone")
    return moment.astimezone(UTC)


def _check_duration(duration: timedelta) -> None:
    if duration < _ZERO:
        raise ValueError(f"duration must not be negative, got {duration}")


class BusinessCalendar:
    """Working hours per weekday in one time zone, with holidays and make-up working days."""

    def __init__(
        self,
        tz: ZoneInfo | str,
        week: Sequence[Hours],
        holidays: Iterable[date] = (),
        makeup_workdays: Iterable[date] = (),
    ):
        """``week`` holds seven entries, Monday first: ``(start, end)`` local times or ``None``."""
        self.tz = ZoneInfo(tz) if isinstance(tz, str) else tz
        if len(week) != 7:
            raise ValueError(f"working hours need 7 weekdays (Monday first), got {len(week)}")
        self.week: tuple[Hours, ...] = tuple(week)
        for hours in self.week:
            if hours is not None and hours[1] <= hours[0]:
                raise ValueError(f"working hours {hours[0]}-{hours[1]}: the end must be after the start")
        working = [h for h in self.week if h is not None]
        if not working:
            raise ValueError("no working hours on any weekday: a business calendar needs at least one working day")
        weekdays = [h for h in self.week[:5] if h is not None]
        self.makeup_hours: tuple[time, time] = (weekdays or working)[0]
        self.holidays = frozenset(holidays)
        self.makeup_workdays = frozenset(makeup_workdays)
        both = self.holidays & self.makeup_workdays
        if both:
            listed = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"{listed}: listed both as holiday and as make-up working day")
        self._cache: dict[date, Period | None] = {}

    @classmethod
    def from_config(cls, bot: BotSection) -> BusinessCalendar:
        week = [bot.working_hours.for_weekday(day) for day in range(7)]
        return cls(bot.tz, week, bot.holidays, bot.makeup_workdays)

    # -- the working period of one local date ------------------------------------------------

    def hours_on(self, day: date) -> Hours:
        """Local working hours of a date, ``None`` when it has no working time."""
        if day in self.holidays:
            return None
        if day in self.makeup_workdays:
            return self.makeup_hours
        return self.week[day.weekday()]

    def period(self, day: date) -> Period | None:
        """The UTC ``[open, close)`` of a local date, ``None`` on a day off."""
        if day not in self._cache:
            hours = self.hours_on(day)
            if hours is None:
                self._cache[day] = None
            else:
                start, end = hours
                opens = self._place(day, start)
                closes = self._place(day + _DAY, time(0)) if end == _END_OF_DAY else self._place(day, end)
                self._cache[day] = (opens, closes) if closes > opens else None
        return self._cache[day]

    def _place(self, day: date, wall: time) -> datetime:
        """The first UTC moment at which the local wall clock on ``day`` reads ``wall`` or later.

        An existing time is its first occurrence (``fold=0``); a time the clock skips (a
        spring-forward gap) is the jump itself, found between the two offsets' readings."""
        local = datetime.combine(day, wall, self.tz)
        placed = local.astimezone(UTC)
        if placed.astimezone(self.tz).replace(tzinfo=None) == local.replace(tzinfo=None):
            return placed
        # The transition lies in (lo, hi]: the reading with the later offset is before it, the
        # reading with the earlier offset after it.  Zone transitions fall on whole seconds.
        lo, hi = int(local.replace(fold=1).astimezone(UTC).timestamp()), int(placed.timestamp())
        after = placed.astimezone(self.tz).utcoffset()
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if datetime.fromtimestamp(mid, self.tz).utcoffset() == after:
                hi = mid
            else:
                lo = mid
        return datetime.fromtimestamp(hi, UTC)

    def _local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    def _periods_from(self, moment: datetime) -> Iterator[Period]:
        """Working periods that end after ``moment``, in order; bounded by :data:`MAX_IDLE_DAYS`."""
        day = self._local_date(moment)
        idle = 0
        while True:
            found = self.period(day)
            if found is not None and found[1] > moment:
                idle = 0
                yield found
            else:
                idle += 1
                if idle > MAX_IDLE_DAYS:
                    raise ValueError(
                        f"no working time within {MAX_IDLE_DAYS} days after {moment.isoformat()}; "
                        "check the holidays and working hours"
                    )
            day += _DAY

    # -- the public questions -----------------------------------------------------------------

    def is_working_time(self, moment: datetime) -> bool:
        moment = _utc(moment)
        found = self.period(self._local_date(moment))
        return found is not None and found[0] <= moment < found[1]

    def in_quiet_hours(self, moment: datetime) -> bool:
        """Quiet hours are simply everything that is not working time."""
        return not self.is_working_time(moment)

    def next_opening(self, moment: datetime) -> datetime:
        """``moment`` itself during working time, else the start of the next working period.

        A non-urgent push due at ``moment`` may go out at this time (quiet hours).
        """
        moment = _utc(moment)
        for opens, _closes in self._periods_from(moment):
            return max(opens, moment)
        raise AssertionError("unreachable: _periods_from never ends without raising")

    def add(self, start: datetime, duration: timedelta) -> datetime:
        """The earliest moment at which ``duration`` of working time has elapsed after ``start``.

        Time before the next opening does not count, so a start at night or on a holiday counts
        from the next opening. A zero duration returns ``start`` unchanged.
        """
        _check_duration(duration)
        start = _utc(start)
        if duration == _ZERO:
            return start
        left = duration
        for opens, closes in self._periods_from(start):
            begin = max(opens, start)
            span = closes - begin
            if left <= span:
                return begin + left
            left -= span
        raise AssertionError("unreachable: _periods_from never ends without raising")

    def working_between(self, a: datetime, b: datetime) -> timedelta:
        """Working time in ``[a, b)``; negative when ``b`` is before ``a``.

        ``working_between(now, due)`` is the time left on a clock and ``working_between(met, due)``
        how early it was met (negative: how late), both in working time.
        """
        a, b = _utc(a), _utc(b)
        if b < a:
            return -self.working_between(b, a)
        total = _ZERO
        day, last = self._local_date(a), self._local_date(b)
        while day <= last:
            found = self.period(day)
            if found is not None:
                overlap = min(found[1], b) - max(found[0], a)
                if overlap > _ZERO:
                    total += overlap
            day += _DAY
        return total


class TwentyFourSeven:
    """Round-the-clock calendar (severity-1 clocks): every moment is working time."""

    def is_working_time(self, moment: datetime) -> bool:
        _utc(moment)
        return True

    def in_quiet_hours(self, moment: datetime) -> bool:
        _utc(moment)
        return False

    def next_opening(self, moment: datetime) -> datetime:
        return _utc(moment)

    def add(self, start: datetime, duration: timedelta) -> datetime:
        _check_duration(duration)
        return _utc(start) + duration

    def working_between(self, a: datetime, b: datetime) -> timedelta:
        return _utc(b) - _utc(a)


def calendar_for(bot: BotSection) -> BusinessCalendar:
    """The team's business calendar from the ``[bot]`` config section."""
    return BusinessCalendar.from_config(bot)
