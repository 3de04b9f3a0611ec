"""How a moment is shown to people: stored in UTC, shown in the team's zone (``bot.timezone``).

One place decides it, so a chat, a card, a reminder and the command line agree:

* :func:`clock` — a short time that says its day when it is not the reader's today: ``09:30``,
  ``00:26 tomorrow`` / ``明天 00:26``, ``后天``, a weekday within the week ahead, ``yesterday``,
  else the date (``11-29 09:30``; the year only when it is another year).  "Today" is the day the
  reader *sees* the message: a push held for quiet hours is read at the opening, so it is worded
  for then (:class:`When`, rendered with the moment the message goes out).
* :func:`date_time` — the full ``2026-11-22 09:30`` of a record (the timeline, ``ticket show``).
* :func:`zone_short` / :func:`zone_long` — the zone those times are in: ``北京时间`` / ``UTC+8``,
  ``Beijing time (UTC+8)`` / ``Europe/Berlin (UTC+1)``.  Chat clock times carry no label (a
  team reads its own zone); every full record and every command-line output says it once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo

from handlers.i18n import t

#: Zone names that mean China's one time (UTC+8, no daylight saving): 北京时间.
CHINA_ZONES = frozenset({"Asia/Shanghai", "Asia/Chongqing", "Asia/Chungking", "Asia/Harbin", "PRC"})
#: Future days (counted from the reader's today) named by their weekday; further ones by date.
WEEKDAY_AHEAD = 6


def date_time(moment: datetime | None, tz: tzinfo) -> str:
    """``2026-11-22 09:30`` in the team's zone; empty for no moment."""
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else ""


def clock(lang: str, moment: datetime, tz: tzinfo, seen: datetime | None) -> str:
    """``moment`` as a clock time for someone reading it at ``seen``, with its day when that is
    not ``seen``'s day (both in ``tz``).  Without ``seen`` (nobody knows when it is read) the
    date is always given."""
    local = moment.astimezone(tz)
    hhmm = local.strftime("%H:%M")
    if seen is None:
        return t(lang, "time.date", date=_date(local, None), time=hhmm)
    today = seen.astimezone(tz).date()
    days = (local.date() - today).days
    if days == 0:
        return t(lang, "time.today", time=hhmm)
    if days == 1:
        return t(lang, "time.tomorrow", time=hhmm)
    if days == 2:
        return t(lang, "time.day_after", time=hhmm)
    if days == -1:
        return t(lang, "time.yesterday", time=hhmm)
    if 2 < days <= WEEKDAY_AHEAD:
        return t(lang, "time.weekday", time=hhmm, weekday=t(lang, f"weekday.{local.weekday()}"))
    return t(lang, "time.date", date=_date(local, today.year), time=hhmm)


def _date(local: datetime, year: int | None) -> str:
    return local.strftime("%m-%d" if local.year == year else "%Y-%m-%d")


def offset_text(tz: tzinfo, at: datetime) -> str:
    """``UTC+8``, ``UTC-3:30``, ``UTC``: the zone's offset at ``at``."""
    offset = at.astimezone(tz).utcoffset() or timedelta(0)
    minutes = int(offset.total_seconds() // 60)
    if not minutes:
        return "UTC"
    hours, rest = divmod(abs(minutes), 60)
    return f"UTC{'+' if minutes > 0 else '-'}{hours}" + (f":{rest:02d}" if rest else "")


def _beijing(tz: tzinfo, at: datetime) -> bool:
    return getattr(tz, "key", None) in CHINA_ZONES and offset_text(tz, at) == "UTC+8"


def zone_short(lang: str, tz: tzinfo, at: datetime) -> str:
    """The label after one full time: ``北京时间`` (Chinese, China's zone) or the offset."""
    if _beijing(tz, at):
        return t(lang, "time.zone_beijing")
    return offset_text(tz, at)


def zone_long(lang: str, tz: tzinfo, at: datetime) -> str:
    """The zone named once for a whole output: ``Beijing time (UTC+8)`` / ``北京时间（UTC+8）``,
    or the zone's name with its offset at ``at`` (``Europe/Berlin (UTC+1)``)."""
    if _beijing(tz, at):
        return t(lang, "time.zone_beijing_long")
    return t(lang, "time.zone_named", zone=getattr(tz, "key", None) or str(tz), offset=offset_text(tz, at))


def labelled(lang: str, moment: datetime | None, tz: tzinfo) -> str:
    """A full time with its zone: ``2026-11-29 09:30 (UTC+8)`` / ``北京时间 2026-11-29 09:30``."""
    if moment is None:
        return ""
    return t(lang, "time.labelled", time=date_time(moment, tz), zone=zone_short(lang, tz, moment))


def zone_note(lang: str, tz: tzinfo, at: datetime) -> str:
    """One line under a command's output: ``Times are Beijing time (UTC+8).``"""
    return t(lang, "time.zone_note", zone=zone_long(lang, tz, at))


def month_note(lang: str, tz: tzinfo, at: datetime) -> str:
    """Under a monthly report: the month's bounds are midnights in the team's zone."""
    return t(lang, "time.month_note", zone=zone_long(lang, tz, at))


@dataclass(frozen=True)
class When:
    """A moment inside a message (:mod:`handlers.messages`), worded by :func:`clock` for the
    moment the reader sees it: the ``seen`` the message is rendered with — when a reply is
    written, or when a push held for quiet hours goes out."""

    moment: datetime
    tz: tzinfo

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return clock(lang, self.moment, self.tz, seen)


@dataclass(frozen=True)
class Stamp:
    """A full time with its zone inside a message (:func:`labelled`): when a record was made —
    a sheet's approval — read the same whenever and wherever it is read."""

    moment: datetime
    tz: tzinfo

    def render(self, lang: str, seen: datetime | None = None) -> str:
        return labelled(lang, self.moment, self.tz)
