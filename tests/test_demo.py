"""`fieldbot demo` plays the whole day and ends with the ticket closed, in both languages and on
both Telegram runtimes (aiogram, python-telegram-bot) — at sensible hours of a working day,
whatever the hour it is run at."""

from __future__ import annotations

import re
import time
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from bot.app import Clock
from bot.cli import main
from bot.config import parse_config
from bot.demo import first_morning, run_demo
from models.calendar import calendar_for
from tests.support.telegram import RUNTIMES

LINES = {
    "en": ["── Li Lei (engineer)", "Li Lei ▸ [Accept]", "Arrival check-in from Li Lei",
           "Mr Chen ▸ [Confirm]", "Zhang Min dispatched the ticket to Li Lei", "Li Lei accepted the ticket",
           "Wang Wei acknowledged the arrival check-in of 10:05", "closed the ticket",
           "Done: the job went from registration to the customer's sign-off and was closed."],
    "zh": ["── 李雷（工程师）", "李雷 ▸ [接单]", "李雷于 10:05 到场签到", "陈先生 ▸ [确认]", "张敏派单给李雷", "李雷接单",
           "王伟确认了到场签到（10:05）", "关闭工单",
           "完成：工单从登记到客户签收并关闭。"],
}
#: Sunday 8 March 2026, 02:13 in Shanghai: the worst hour to start a working day.
NIGHT = datetime(2026, 3, 7, 18, 13, tzinfo=timezone.utc)


class NightClock(Clock):
    """The wall clock as if the demo were started at :data:`NIGHT`: real seconds still pass."""

    def __init__(self) -> None:
        self.started = time.monotonic()

    def now(self) -> datetime:
        return NIGHT + timedelta(seconds=time.monotonic() - self.started)


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_demo_plays_the_whole_day(lang: str, runtime: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(lang, runtime=runtime) == 0
    out = capsys.readouterr().out
    for line in LINES[lang]:
        assert line in out
    if lang == "zh":  # no English left in the Chinese transcript: a photo is （照片）, a role in （）
        assert "[photo]" not in out and "（照片）" in out and " (" not in out


def test_demo_on_ptb_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--runtime", "ptb"]) == 0
    assert LINES["en"][-1] in capsys.readouterr().out


def test_demo_on_ptb_without_python_telegram_bot_says_so_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(__import__("sys").modules, "telegram", None)  # as if the extra were not installed
    assert main(["demo", "--runtime", "ptb"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        'telegram.runtime: python-telegram-bot is not installed; install the ptb extra '
        '(pip install "fieldbot[ptb]") or use runtime = "aiogram"']
    assert captured.out == ""


@pytest.mark.parametrize(("channel", "lang"), [("telegram", "en"), ("wecom", "zh")])
async def test_the_day_is_played_on_a_working_morning_whatever_the_hour(
        channel: str, lang: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(lang, channel=channel, clock=NightClock()) == 0
    out = capsys.readouterr().out
    assert {"en": "The day is played on Monday 2026-03-09 from 09:00, Beijing time (UTC+8)",
            "zh": "这一天从 2026-03-09（星期一）09:00 开始，北京时间（UTC+8）"}[lang] in out
    stamps = re.findall(r"^  (\d{4}-\d\d-\d\d) (\d\d:\d\d)  ", out, re.M)  # the timeline
    assert len(stamps) >= 10 and {day for day, _ in stamps} == {"2026-03-09"}
    assert all("09:00" <= hhmm <= "15:00" for _, hhmm in stamps), stamps
    assert stamps[-1][1] == "14:36"  # signed off and closed after lunch
    assert {"en": "expected around 10:05.", "zh": "预计 10:05 左右到达"}[lang] in out  # the ETA, on the day
    assert {"en": "Times are Beijing time (UTC+8).", "zh": "以上时间均为北京时间（UTC+8）。"}[lang] in out
    assert "Outside working hours" not in out and "非工作时间" not in out  # nothing waits for a morning


def sh(day: int, hour: int, minute: int = 0) -> datetime:
    """March 2026 in Shanghai wall time (Monday is the 2nd)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=ZoneInfo("Asia/Shanghai"))


def _calendar(extra: str = ""):  # noqa: ANN202
    return calendar_for(parse_config(f'[bot]\ntimezone = "Asia/Shanghai"\n{extra}', environ={}).bot)


@pytest.mark.parametrize(("now", "morning"), [
    (sh(7, 2, 13), sh(9, 9, 0)),  # Saturday night → Monday
    (sh(9, 8, 0), sh(9, 9, 0)),  # Monday before nine → that morning
    (sh(9, 9, 30), sh(10, 9, 0)),  # already under way → the next working day
    (sh(6, 23, 0), sh(9, 9, 0)),  # Friday night → Monday
])
def test_the_demo_day_starts_on_the_next_working_morning(now: datetime, morning: datetime) -> None:
    assert first_morning(_calendar(), now) == morning


def test_the_demo_day_skips_a_holiday() -> None:
    calendar = _calendar("holidays = [2026-03-09]\n")
    assert first_morning(calendar, sh(7, 2, 13)) == sh(10, 9, 0)
