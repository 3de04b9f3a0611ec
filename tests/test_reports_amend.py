"""What cancelling, reopening and correcting a ticket do to the monthly figures (models/reports.py,
the performance sheet, and their rebuild from the event log), on histories played through the real
model functions (SQLite; PostgreSQL in CI): a disputed job is no first-visit fix even when its rework
needed no second arrival check-in; cancelled tickets are in no figure — not even one signed off,
reopened and then cancelled; a corrected model is what both the report and its rebuild count."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from bot.config_pay import PaySection
from models.db import Database
from models.enums import Action, CheckinKind
from models.performance import performance_sheet
from models.reports import Month, monthly_report
from models.verify import verify_month
from tests.support.logged import Play, staff

OCTOBER = Month(2026, 10)
START = datetime(2026, 10, 5, 1, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai
PAY = PaySection(allowance_per_job="50")


async def _agrees(db: Database, app) -> None:  # noqa: ANN001
    async with db.read() as s:
        checked = await verify_month(s, OCTOBER, app.tz)
    assert checked.differences == [] and checked.not_in_log == {}


async def test_a_disputed_job_is_not_a_first_visit_fix(db: Database, app) -> None:  # noqa: ANN001
    li = await staff(db, "Li Lei", "North")
    plain = await Play(db, app.sla, START).register()
    await plain.whole_job(li)
    disputed = await Play(db, app.sla, START + timedelta(hours=1)).register()
    await disputed.whole_job(li, rating=None)  # one arrival check-in, signed off …
    async with db.read() as s:
        assert (await monthly_report(s, OCTOBER, app.tz)).total.first_visit_rate == 1.0
    disputed.wait(30)  # … then the customer phones: it is not fixed
    await disputed.act(Action.REOPEN, reason="still flickers", dispute=True)
    # The engineer, still on site, starts again: no second arrival check-in is made.
    await disputed.act(Action.DEPART)
    await disputed.act(Action.ARRIVE)
    disputed.wait(60)
    await disputed.resolve()
    await disputed.sign_off()
    async with db.read() as s:
        report = await monthly_report(s, OCTOBER, app.tz)
    assert (report.total.jobs, report.total.first_visit_rate) == (2, 1 / 2)
    assert [(r.label, r.first_visit_rate) for r in report.by_engineer] == [("Li Lei", 1 / 2)]
    await _agrees(db, app)


async def test_cancelled_tickets_count_nowhere(db: Database, app) -> None:  # noqa: ANN001
    li = await staff(db, "Li Lei", "North")
    done = await Play(db, app.sla, START).register()
    await done.whole_job(li)
    # Dispatched, on the way, then cancelled.
    dropped = await Play(db, app.sla, START + timedelta(hours=1)).register()
    await dropped.act(Action.DISPATCH, assignee_id=li)
    await dropped.act(Action.ACCEPT)
    await dropped.act(Action.DEPART)
    dropped.wait(30)
    await dropped.act(Action.CANCEL, reason="customer replaced the unit")
    # Signed off and rated, reopened by the desk, then cancelled: its sign-off no longer counts.
    undone = await Play(db, app.sla, START + timedelta(hours=2)).register(model="Z9")
    await undone.whole_job(li, rating=3)
    undone.wait(60 * 24)
    await undone.act(Action.REOPEN, reason="customer phoned")
    undone.wait(60)
    await undone.checkin(li, CheckinKind.PROGRESS)
    await undone.act(Action.CANCEL, reason="duplicate of another ticket")
    async with db.read() as s:
        report = await monthly_report(s, OCTOBER, app.tz)
        sheet = await performance_sheet(s, OCTOBER, app.tz, PAY)
    assert (report.total.jobs, report.incomplete, report.total.ratings) == (1, 0, 1)
    assert [r.label for r in report.by_model] == ["X200"]
    [row] = sheet.engineers
    assert (len(row.counted), row.excluded, str(row.allowance)) == (1, [], "50")
    await _agrees(db, app)


async def test_a_corrected_model_is_what_the_report_and_its_rebuild_count(db: Database, app) -> None:  # noqa: ANN001
    li = await staff(db, "Li Lei", "North")
    job = await Play(db, app.sla, START).register(model="X200")
    await job.act(Action.DISPATCH, assignee_id=li)
    job.wait(10)
    await job.correct("model", "X200 Pro")
    await job.correct("severity", 1)
    await job.act(Action.ACCEPT)
    await job.act(Action.DEPART)
    await job.arrive(li)
    await job.resolve()
    await job.sign_off()
    async with db.read() as s:
        report = await monthly_report(s, OCTOBER, app.tz)
    assert [(r.label, r.jobs) for r in report.by_model] == [("X200 Pro", 1)]
    await _agrees(db, app)
