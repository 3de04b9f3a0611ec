"""The business calendar the scheduler tests run on: 08:30–22:00 Mon–Fri in Asia/Shanghai, Wednesday
2026-03-04 a holiday and Saturday 2026-03-07 a make-up working day, with an App on it whose clock a
test moves (``capp.clock.at = at(3, 21)``), and the plain working hours the flow tests use for their
quiet hours."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bot.app import App, FixedClock, build_app
from bot.config import Config, parse_config
from models.migrate import upgrade

TZ = ZoneInfo("Asia/Shanghai")
UTC = timezone.utc

#: Mon–Fri 08:30–22:00, a holiday on Wednesday 4 March 2026, a make-up Saturday on 7 March.
MARCH_2026 = """
[bot]
language = "en"
timezone = "Asia/Shanghai"
holidays = ["2026-03-04"]
makeup_workdays = ["2026-03-07"]
[bot.working_hours]
mon = "08:30-22:00"
tue = "08:30-22:00"
wed = "08:30-22:00"
thu = "08:30-22:00"
fri = "08:30-22:00"
sat = "off"
sun = "off"
"""
#: The acknowledgement and dispatch chases, in minutes and hours.
ACK_CHASE = """[chase]
ack_reminder = "30m"
ack_repeat = "1h"
ack_max_reminders = 2
dispatch_reminder = "15m"
dispatch_escalate = "1h"
"""
#: The daily check-in and the callback survey.
DAILY_CHASE = """[chase]
daily_checkin_due = "18:00"
daily_checkin_escalate = "2h"
callback_after = "3d"
callback_expire = "2d"
"""
#: Working hours Mon–Fri 08:30–22:00 (weekends unset), for flow tests that need quiet hours.
WORKDAYS = "[bot.working_hours]\n" + "".join(f'{d} = "08:30-22:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A local Shanghai time in March 2026, as UTC (what the database holds)."""
    return datetime(2026, 3, day, hour, minute, tzinfo=TZ).astimezone(UTC)


def shown(moment: datetime) -> str:
    """``moment`` as the bot shows it: Shanghai wall-clock time."""
    return moment.astimezone(TZ).strftime("%Y-%m-%d %H:%M")


def calendar_config(db_url: str, tmp_path: Path, chase: str) -> Config:
    return parse_config(MARCH_2026 + chase
                        + f'[database]\nurl = "{db_url}"\n[storage]\nmedia_dir = "{tmp_path / "media"}"\n',
                        environ={})


def calendar_app(db_url: str, tmp_path: Path, chase: str) -> App:
    """An App (not migrated, not started) on the calendar, its clock at Monday 2 March 09:00."""
    return build_app(calendar_config(db_url, tmp_path, chase), FixedClock(at(2, 9)))


def calendar_app_fixture(chase: str) -> Any:  # noqa: ANN401 (a pytest fixture)
    """A ``capp`` fixture for a test module: an App on the calendar with ``chase`` settings, on the
    test's database (``db_url``: SQLite, and PostgreSQL in CI), whose clock the test moves."""
    @pytest.fixture
    async def capp(db_url: str, tmp_path: Path) -> AsyncIterator[App]:
        application = calendar_app(db_url, tmp_path, chase)
        await upgrade(application.db)
        yield application
        await application.close()

    return capp
