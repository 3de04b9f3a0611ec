"""How times are shown (handlers/times.py): a clock time says its day when it is not the reader's
today — worded for when the message is *seen*, so a push held overnight reads right in the
morning; full records name their zone; ``fieldbot run``'s log says it is UTC.  (The demo's
working morning: tests/test_demo.py.)"""

from __future__ import annotations

import logging
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.app import FixedClock, OffsetClock
from bot.cli_run import LOG_FORMAT, UtcFormatter
from handlers.i18n import error_text
from handlers.messages import L, Msg, Raw
from handlers.times import Stamp, When, clock, labelled, offset_text, zone_long, zone_note, zone_short
from models.errors import DomainError

SH = ZoneInfo("Asia/Shanghai")
BERLIN = ZoneInfo("Europe/Berlin")


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in March 2026 given as Shanghai wall time (Monday is the 2nd)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=SH)


NOW = sh(2, 23, 50)  # Monday night


@pytest.mark.parametrize(("moment", "en", "zh"), [
    (sh(2, 23, 55), "23:55", "23:55"),
    (sh(3, 0, 26), "00:26 tomorrow", "明天 00:26"),  # an ETA just past midnight
    (sh(3, 8, 30), "08:30 tomorrow", "明天 08:30"),
    (sh(4, 8, 30), "08:30 the day after tomorrow", "后天 08:30"),
    (sh(5, 9, 0), "09:00 on Thursday", "星期四 09:00"),
    (sh(8, 9, 0), "09:00 on Sunday", "星期日 09:00"),  # six days ahead: still a weekday
    (sh(9, 9, 0), "03-09 09:00", "03-09 09:00"),  # a week ahead: the date
    (sh(1, 21, 45), "21:45 yesterday", "昨天 21:45"),
    (sh(1, 0, 5), "00:05 yesterday", "昨天 00:05"),
    (sh(2, 0, 0), "00:00", "00:00"),  # today's midnight is today
    (datetime(2026, 2, 27, 10, 0, tzinfo=SH), "02-27 10:00", "02-27 10:00"),  # further back: the date
    (datetime(2027, 1, 4, 9, 0, tzinfo=SH), "2027-01-04 09:00", "2027-01-04 09:00"),  # another year
])
def test_a_clock_time_says_its_day(moment: datetime, en: str, zh: str) -> None:
    utc = moment.astimezone(timezone.utc)  # stored in UTC, shown in the team's zone
    assert clock("en", utc, SH, NOW) == en
    assert clock("zh-CN", utc, SH, NOW) == zh


def test_the_day_is_the_team_zones_not_utcs() -> None:
    """00:26 Tuesday in Shanghai is 16:26 Monday in UTC: it is still "tomorrow" to the team."""
    eta = datetime(2026, 3, 2, 16, 26, tzinfo=timezone.utc)
    assert clock("en", eta, SH, NOW) == "00:26 tomorrow"
    assert clock("en", eta, BERLIN, NOW) == "17:26"  # a team in Berlin: the same moment is today


def test_without_a_reading_moment_the_date_is_given() -> None:
    assert clock("en", sh(3, 0, 26), SH, None) == "2026-03-03 00:26"


def test_zone_labels() -> None:
    winter, summer = sh(2, 12), datetime(2026, 7, 1, 12, tzinfo=SH)
    assert (zone_short("zh-CN", SH, winter), zone_short("en", SH, winter)) == ("北京时间", "UTC+8")
    assert (zone_long("zh-CN", SH, winter), zone_long("en", SH, winter)) == ("北京时间（UTC+8）", "Beijing time (UTC+8)")
    assert zone_long("en", BERLIN, winter) == "Europe/Berlin (UTC+1)"
    assert zone_long("en", BERLIN, summer) == "Europe/Berlin (UTC+2)"  # the offset at that moment
    assert zone_short("zh-CN", BERLIN, winter) == "UTC+1"
    assert offset_text(ZoneInfo("Asia/Kolkata"), winter) == "UTC+5:30"
    assert offset_text(ZoneInfo("America/St_Johns"), winter) == "UTC-3:30"
    assert offset_text(ZoneInfo("UTC"), winter) == "UTC"
    assert labelled("en", sh(3, 9, 30), SH) == "2026-03-03 09:30 (UTC+8)"
    assert labelled("zh-CN", sh(3, 9, 30), SH) == "北京时间 2026-03-03 09:30"  # as Chinese writes it
    assert zone_note("en", SH, winter) == "Times are Beijing time (UTC+8)."
    assert zone_note("zh-CN", SH, winter) == "以上时间均为北京时间（UTC+8）。"


def test_a_message_is_worded_for_when_it_is_seen() -> None:
    """A push written at 23:50 and held for the morning: "08:30 tomorrow" tonight is "08:30" at
    08:30, and a check-in's 21:45 becomes "yesterday"."""
    msg = Msg(body=L("common.held_until", {"name": Raw("Li Lei"), "time": When(sh(3, 8, 30), SH)}))
    assert msg.render("en", NOW).text == "Outside working hours: Li Lei will get it at 08:30 tomorrow."
    assert msg.render("en", sh(3, 8, 30)).text == "Outside working hours: Li Lei will get it at 08:30."
    assert "明天 08:30" in msg.render("zh-CN", NOW).text
    keyed = Msg("desk.ack.done", {"number": "FS-1", "time": When(sh(2, 21, 45), SH)})
    assert keyed.render("en", sh(3, 8, 30)).text == "Check-in on FS-1 acknowledged at 21:45 yesterday."
    stamp = Msg("perf.approved", {"by": Raw("Zhou Lin"), "at": Stamp(sh(2, 10, 0), SH)})
    assert stamp.render("en", NOW).text.startswith("Approved by Zhou Lin on 2026-03-02 10:00 (UTC+8):")


def test_a_moment_in_an_error_says_its_zone() -> None:
    error = DomainError("sheet_already_approved", month="2026-10", at=sh(2, 10, 0), by="Zhou Lin")
    assert "(by Zhou Lin, 2026-03-02 10:00 (UTC+8))" in error_text("en", error, SH)
    assert "（Zhou Lin，北京时间 2026-03-02 10:00）" in error_text("zh-CN", error, SH)
    assert "2026-03-02 02:00 (UTC)" in error_text("en", error)  # no team zone known: UTC, said so


def test_the_log_is_in_utc_and_says_so() -> None:
    record = logging.LogRecord("bot.outbox", logging.INFO, __file__, 1, "sent %s", ("7",), None)
    record.created = datetime(2026, 11, 22, 1, 30, 5, 123000, tzinfo=timezone.utc).timestamp()
    record.msecs = 123.0
    assert UtcFormatter(LOG_FORMAT).format(record) == "2026-11-22T01:30:05.123Z INFO bot.outbox: sent 7"


def test_the_offset_clock_only_moves_forward() -> None:
    clock_ = OffsetClock(FixedClock(sh(7, 2, 13)))
    clock_.advance_to(sh(9, 9, 0))
    assert clock_.now() == sh(9, 9, 0)
    clock_.advance_to(sh(9, 8, 0))  # already past: nothing happens
    assert clock_.now() == sh(9, 9, 0)
    assert clock_.offset == timedelta(days=2, hours=6, minutes=47)
    assert date(2026, 3, 9) == clock_.now().astimezone(SH).date()
