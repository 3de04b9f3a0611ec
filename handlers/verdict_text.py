"""An SLA verdict explained in words (:mod:`models.verdicts`): one line per stretch of time the
clock counted or did not, then the due time and the verdict — for ``fieldbot ticket show N
--explain`` and ``/ticket N sla``, in the reader's language and the team's time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from handlers.i18n import t
from handlers.times import date_time
from handlers.views import clock_value, span_text
from models.clocks import SlaPolicy
from models.verdicts import ClockStory, Stretch

_MINUTE = timedelta(minutes=1)


def _when(start: datetime, end: datetime | None, tz: ZoneInfo) -> str:
    a = start.astimezone(tz)
    if end is None:
        return a.strftime("%Y-%m-%d %H:%M")
    b = end.astimezone(tz)
    if b.date() == a.date() or (b - a <= timedelta(days=1) and b.time() == datetime.min.time()):
        return f"{a:%Y-%m-%d %H:%M}–{'24:00' if b.date() != a.date() else f'{b:%H:%M}'}"
    return f"{a:%Y-%m-%d %H:%M} – {b:%Y-%m-%d %H:%M}"


def _reason(lang: str, reason: str | None) -> str:
    return t(lang, "sla.explain.reopened") if reason == "reopened" else t(lang, f"pause.{reason or 'other'}")


def _line(lang: str, stretch: Stretch, tz: ZoneInfo) -> str:
    span = span_text(lang, stretch.working // _MINUTE)
    when = _when(stretch.start, stretch.end, tz)
    if stretch.kind == "counted":
        return t(lang, "sla.explain.counted", when=when, span=span)
    due = date_time(stretch.due_after, tz) if stretch.due_after else ""
    return t(lang, f"sla.explain.{stretch.kind}", when=when, span=span, reason=_reason(lang, stretch.reason), due=due)


def explain_lines(lang: str, story: ClockStory, ticket, tz: ZoneInfo, *, now: datetime,  # noqa: ANN001
                  policy: SlaPolicy) -> list[str]:
    """The clock's heading, its stretches, the total and the verdict."""
    calendar = t(lang, "sla.explain.round_the_clock" if story.round_the_clock else "sla.explain.business")
    lines = [t(lang, "sla.explain.heading", clock=t(lang, f"sla.clock.{story.clock}"),
               span=span_text(lang, story.duration // _MINUTE), calendar=calendar,
               start=date_time(story.start, tz))]
    lines += ["  " + _line(lang, s, tz) for s in story.stretches]
    lines.append("  " + t(lang, "sla.explain.total", counted=span_text(lang, story.counted // _MINUTE),
                          verdict=clock_value(lang, ticket, story.clock, tz, now=now, policy=policy)))
    if not story.agrees:
        lines.append("  " + t(lang, "sla.explain.rules_changed",
                              stored=date_time(story.stored_due, tz),
                              replayed=date_time(story.due, tz)))
    return lines
