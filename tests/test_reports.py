"""The monthly statistics (models/reports.py) on a small hand-made month, on SQLite and (in CI)
PostgreSQL: every figure computed exactly; incomplete reports, other months, other teams and
unsigned jobs left out; the month's edges taken in the team's time zone (Asia/Shanghai, UTC+8).

October 2026 in Shanghai is 2026-09-30 16:00 UTC to 2026-10-31 16:00 UTC.
"""

from __future__ import annotations

from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest

from models.db import Database
from models.enums import ServiceType
from models.invites import team_by_name
from models.reports import Month, ReportRow, month_before, monthly_report, parse_month
from tests.support.history import engineer, job, utc

SHANGHAI = ZoneInfo("Asia/Shanghai")
OCTOBER = Month(2026, 10)


@pytest.fixture
async def october(db: Database) -> dict[str, int]:
    li, wang = await engineer(db, "Li Lei", "North"), await engineer(db, "Wang Fang", "North")
    sun = await engineer(db, "Sun Qi", "South")
    # Counted (team North): four jobs signed off in October, Shanghai time.
    await job(db, li, model="X200", fault="power", created=utc(10, 5, 1), resolved=utc(10, 5, 5),
              signed=utc(10, 5, 6), ratings=(5,))
    await job(db, li, model="X200", fault="power", created=utc(10, 10), resolved=utc(10, 10, 10),
              signed=utc(10, 11), arrivals=2, paused=timedelta(hours=2), late=True, ratings=(2, 4), complaints=1)
    await job(db, wang, model="Z9", fault="display", created=utc(10, 20), resolved=utc(10, 20, 1),
              signed=utc(10, 31, 15, 59), service=ServiceType.PHONE, arrivals=0, ratings=(4,))  # Oct 31 23:59
    await job(db, wang, model="Z9", fault=None, created=utc(9, 30, 10), resolved=utc(9, 30, 12),
              signed=utc(9, 30, 16, 30))  # Oct 1 00:30 in Shanghai: October
    # Left out.
    await job(db, li, model="X200", fault="power", created=utc(10, 30), resolved=utc(10, 31, 2),
              signed=utc(10, 31, 16, 30), complaints=1)  # Nov 1 00:30 in Shanghai: November
    await job(db, li, model="X200", fault="power", created=utc(9, 29), resolved=utc(9, 30, 2),
              signed=utc(9, 30, 15, 30))  # Sep 30 23:30 in Shanghai: September
    await job(db, li, model="X200", fault="power", created=utc(10, 6), resolved=utc(10, 6, 3),
              signed=utc(10, 6, 4), findings="  ", complaints=1)  # no findings: incomplete
    await job(db, wang, model="Z9", fault="display", created=utc(10, 7), resolved=utc(10, 7, 3),
              signed=utc(10, 7, 4), signoff=False)  # no sign-off on file: incomplete
    await job(db, wang, model="Z9", fault="display", created=utc(10, 8), resolved=utc(10, 8, 3),
              signed=None)  # resolved, never signed off: not completed
    await job(db, sun, model="Q1", fault="power", created=utc(10, 9), resolved=utc(10, 9, 3),
              signed=utc(10, 9, 4), team="South", ratings=(1,))
    async with db.read() as s:
        north = (await team_by_name(s, "North")).id
    return {"north": north}


async def test_figures_of_a_hand_made_month(db: Database, october: dict[str, int]) -> None:
    async with db.read() as s:
        report = await monthly_report(s, OCTOBER, SHANGHAI, team_id=october["north"])
    hour = 3600.0
    assert report.total == ReportRow(label=None, jobs=4, handling_seconds=(4 + 8 + 1 + 2) * hour / 4,
                                     first_visit_rate=2 / 3, sla_met_rate=3 / 4, satisfaction=15 / 4, ratings=4,
                                     complaints=1)
    assert report.by_model == [
        ReportRow("X200", 2, 6 * hour, 1 / 2, 1 / 2, 11 / 3, 3, 1),
        ReportRow("Z9", 2, 1.5 * hour, 1.0, 1.0, 4.0, 1, 0),
    ]
    assert report.by_fault == [
        ReportRow("power", 2, 6 * hour, 1 / 2, 1 / 2, 11 / 3, 3, 1),
        ReportRow("display", 1, 1 * hour, None, 1.0, 4.0, 1, 0),  # a phone job: no visit to count
        ReportRow(None, 1, 2 * hour, 1.0, 1.0, None, 0, 0),  # no fault type recorded, no rating
    ]
    assert report.by_engineer == [
        ReportRow("Li Lei", 2, 6 * hour, 1 / 2, 1 / 2, 11 / 3, 3, 1),
        ReportRow("Wang Fang", 2, 1.5 * hour, 1.0, 1.0, 4.0, 1, 0),
    ]
    assert report.incomplete == 2


async def test_all_teams_and_other_months(db: Database, october: dict[str, int]) -> None:
    async with db.read() as s:
        everyone = await monthly_report(s, OCTOBER, SHANGHAI)
        november = await monthly_report(s, Month(2026, 11), SHANGHAI)
        september = await monthly_report(s, Month(2026, 9), SHANGHAI)
        in_utc = await monthly_report(s, OCTOBER, ZoneInfo("UTC"))
    assert (everyone.total.jobs, [r.label for r in everyone.by_engineer]) == (5, ["Li Lei", "Wang Fang", "Sun Qi"])
    assert everyone.total.satisfaction == 16 / 5
    assert (november.total.jobs, november.total.complaints, november.by_model[0].label) == (1, 1, "X200")
    assert september.total.jobs == 1
    # Counted in UTC, the Oct 1 00:30 sign-off falls in September and the Nov 1 00:30 one in October.
    assert (in_utc.total.jobs, in_utc.total.complaints, [r.label for r in in_utc.by_fault]) == (
        5, 2, ["power", "display"])


async def test_an_empty_month(db: Database) -> None:
    async with db.read() as s:
        report = await monthly_report(s, OCTOBER, SHANGHAI)
    assert report.total == ReportRow(None, 0, None, None, None, None, 0, 0)
    assert (report.by_model, report.by_fault, report.by_engineer, report.incomplete) == ([], [], [], 0)


@pytest.mark.parametrize("text", ["2026-13", "abc", "2026-00", "26-10", "2026/10", "", "2026-10-01"])
def test_bad_months_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_month(text)


def test_months() -> None:
    assert parse_month(" 2026-3 ") == Month(2026, 3) and str(Month(2026, 3)) == "2026-03"
    assert month_before(date(2026, 1, 15)) == Month(2025, 12)
    assert month_before(date(2026, 11, 2)) == Month(2026, 10)
    assert Month(2026, 12).next() == Month(2027, 1)
    assert OCTOBER.bounds(SHANGHAI) == (utc(9, 30, 16), utc(10, 31, 16))


def test_a_month_without_a_next_month_is_refused() -> None:
    from models.reports import parse_month

    for text in ("9999-12", "1999-01", "10000-01"):
        with pytest.raises(ValueError):
            parse_month(text)
    assert (parse_month("9998-12").year, parse_month("9998-12").month) == (9998, 12)
