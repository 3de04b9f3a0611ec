"""The monthly performance sheet (月度绩效, models/performance.py) on a real SQLite file and (when
FIELDBOT_TEST_PG_URL is set) PostgreSQL: jobs that count and the reason each other job does not,
the allowance, bonus, bonus lost from N complaints and deductions in exact Decimal amounts, SLA,
satisfaction and callbacks; amounts not configured are not shown; a manager's approval freezes the
sheet, approving twice is refused, and a later correction shows as a listed difference."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from bot.config_pay import PaySection
from handlers.performance_view import approved_view, sheet_pages, sheet_text
from models.db import Database
from models.enums import Action, Role, ServiceType
from models.errors import DomainError
from models.people import Person
from models.performance import PerformanceSheet, performance_sheet
from models.reports import Month
from models.sheet_approval import approve
from tests.support.logged import Play, staff

OCTOBER = Month(2026, 10)
PAY = PaySection(allowance_per_job="50", no_complaint_bonus="200", complaint_deduction="20", bonus_lost_from=3)
START = datetime(2026, 10, 5, 1, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai


async def seed_month(db: Database, sla) -> dict[str, object]:  # noqa: ANN001
    """Li Lei: two jobs that count, one without findings, one waiting for the sign-off, three
    complaints; Wang Fang: one job, no complaint; Sun Qi (South): one job, one complaint."""
    li, wang = await staff(db, "Li Lei", "North"), await staff(db, "Wang Fang", "North")
    sun = await staff(db, "Sun Qi", "South")
    a = await Play(db, sla, START).register()
    await a.whole_job(li, rating=5)
    b = await Play(db, sla, START + timedelta(days=1)).register(model="Z9")
    await b.whole_job(li, rating=3)
    b.wait(60 * 24 * 3)
    await b.rate(4, callback=True)
    c = await Play(db, sla, START + timedelta(days=2)).register()
    await c.whole_job(li, rating=None, findings="  ")
    d = await Play(db, sla, START + timedelta(days=3)).register()
    await d.act(Action.DISPATCH, assignee_id=li)
    await d.act(Action.ACCEPT)
    await d.act(Action.DEPART)
    await d.arrive(li)
    await d.resolve()
    for _ in range(3):
        await a.complain()
    e = await Play(db, sla, START + timedelta(days=1, hours=2)).register(service=ServiceType.PHONE)
    await e.whole_job(wang, rating=4)
    f = await Play(db, sla, START + timedelta(days=2, hours=2)).register(team="South")
    await f.whole_job(sun, rating=2, paper=True)
    await f.complain()
    numbers = await _numbers(db, [p.ticket_id for p in (a, b, c, d, e, f)])
    return {"li": li, "wang": wang, "sun": sun, "numbers": numbers, "e": e}


async def _numbers(db: Database, ids: list[int]) -> list[str]:
    from models.tickets import Ticket

    async with db.read() as s:
        return [(await s.get(Ticket, i)).number for i in ids]


async def test_the_sheet_counts_pays_and_explains(db: Database, app) -> None:  # noqa: ANN001
    seeded = await seed_month(db, app.sla)
    a, b, c, d, e, f = seeded["numbers"]
    async with db.read() as s:
        sheet = await performance_sheet(s, OCTOBER, app.tz, PAY)
    li, sun, wang = sheet.engineers  # most counted jobs first, then by name
    assert (li.name, li.counted, li.excluded) == ("Li Lei", [a, b], [(c, "no_findings"), (d, "awaiting_signoff")])
    assert (li.complaints, li.allowance, li.bonus, li.deduction, li.total) == \
        (3, Decimal("100"), Decimal("0"), Decimal("60"), Decimal("40"))
    assert (li.ratings, li.rating_sum, li.callbacks_answered, li.callback_rating_sum) == (3, 12, 1, 4)
    assert (li.sla_measured, li.sla_met) == (2, 2)
    assert (li.callbacks_pending, li.callbacks_unanswered) == (1, 0)  # a's survey is still due
    assert (wang.name, wang.counted, wang.complaints, wang.allowance, wang.bonus, wang.deduction, wang.total) == \
        ("Wang Fang", [e], 0, Decimal("50"), Decimal("200"), Decimal("0"), Decimal("250"))
    assert (sun.name, sun.counted, sun.complaints, sun.bonus, sun.deduction, sun.total) == \
        ("Sun Qi", [f], 1, Decimal("200"), Decimal("20"), Decimal("230"))
    assert all(isinstance(v, Decimal) for r in sheet.engineers for v in (r.allowance, r.bonus, r.deduction, r.total))

    text = sheet_text(sheet, None, None).render("en").splitlines()
    assert text[:2] == ["Performance sheet for October 2026 · all teams", "Not approved yet."]
    assert text[3:16] == [
        "Li Lei",
        "  jobs that count: 2 (a complete service report and the customer's sign-off)",
        f"  not counted: {c} — findings missing in the service report",
        f"  not counted: {d} — resolved, waiting for the customer's sign-off",
        "  allowance: ¥50 × 2 = ¥100 (per-job allowance, jobs with a complete signed report)",
        "  complaints: 3 (recorded against the engineer in the month)",
        "  bonus lost: complaints 3 ≥ 3 (no-complaint bonus ¥200 not paid)",
        "  deductions: 3 complaints × ¥20 = ¥60 (per-complaint deduction)",
        "  total: ¥40 (allowance + bonus − deductions)",
        "  SLA met: 100% (2 of 2 counted jobs met every time limit)",
        "  satisfaction: 4.0/5 (3 ratings at sign-off and callback)",
        "  callbacks (回访): 1 answered, average 4.0/5 · 0 unanswered · 1 still open",
        "",
    ]
    assert "  no-complaint bonus: ¥200 (kept while the month has fewer complaints than 3)" in text
    zh = sheet_text(sheet, None, None).render("zh-CN")
    assert "  服务补贴：2 单 × ¥50 = ¥100（按单补贴，仅计填写完整并经客户签收的服务单）" in zh
    assert "  取消奖励：投诉 3 次 ≥ 3 次（无投诉奖励 ¥200 不发放）" in zh

    async with db.read() as s:  # the North team's view leaves Sun Qi out
        team_id = (await s.get(Person, seeded["li"])).team_id
    assert [r.name for r in sheet.for_team(team_id)] == ["Li Lei", "Wang Fang"]


async def test_amounts_not_configured_are_not_shown(db: Database, app) -> None:  # noqa: ANN001
    await seed_month(db, app.sla)
    async with db.read() as s:
        sheet = await performance_sheet(s, OCTOBER, app.tz, PaySection())
    assert {(r.allowance, r.bonus, r.deduction, r.total) for r in sheet.engineers} == {(None, None, None, None)}
    text = sheet_text(sheet, None, None).render("en")
    for absent in ("allowance:", "bonus", "deductions:", "total:"):
        assert absent not in text
    assert "  complaints: 3 (recorded against the engineer in the month)" in text
    only_bonus = PaySection(no_complaint_bonus="99.5")  # bonus_lost_from unset: any complaint loses it
    async with db.read() as s:
        sheet = await performance_sheet(s, OCTOBER, app.tz, only_bonus)
    assert [(r.name, r.bonus, r.total) for r in sheet.engineers] == [
        ("Li Lei", Decimal(0), Decimal(0)), ("Sun Qi", Decimal(0), Decimal(0)),
        ("Wang Fang", Decimal("99.5"), Decimal("99.5"))]
    assert "  bonus lost: complaints 1 ≥ 1 (no-complaint bonus ¥99.50 not paid)" in \
        sheet_text(sheet, None, None).render("en")


def test_money_is_never_a_float() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        PaySection(allowance_per_job=12.5)
    with pytest.raises(ValidationError):
        PaySection(allowance_per_job="12.505")
    with pytest.raises(ValidationError):
        PaySection(complaint_deduction="-3")
    assert PaySection(allowance_per_job=50).allowance_per_job == Decimal("50")


async def test_approval_freezes_the_sheet_and_a_correction_is_a_listed_difference(db: Database, app) -> None:  # noqa: ANN001
    seeded = await seed_month(db, app.sla)
    boss = await staff(db, "Zhou Lin", None, Role.MANAGER)
    sup = await staff(db, "Wang Wei", "North", Role.SUPERVISOR)
    async with db.write() as s:
        with pytest.raises(DomainError) as refused:
            await approve(s, await performance_sheet(s, OCTOBER, app.tz, PAY), await s.get(Person, sup), now=START)
        assert refused.value.code == "sheet_approve_managers_only"
    async with db.write() as s:
        await approve(s, await performance_sheet(s, OCTOBER, app.tz, PAY), await s.get(Person, boss),
                      now=datetime(2026, 11, 3, 2, tzinfo=timezone.utc))
    async with db.write() as s:
        with pytest.raises(DomainError) as twice:
            await approve(s, await performance_sheet(s, OCTOBER, app.tz, PAY), await s.get(Person, boss), now=START)
    assert twice.value.code == "sheet_already_approved"
    assert twice.value.params["by"] == "Zhou Lin"

    await seeded["e"].complain()  # a complaint about Wang Fang's October job, recorded late
    async with db.read() as s:
        live = await performance_sheet(s, OCTOBER, app.tz, PAY)
        shown, approved, changed = await approved_view(s, app.tz, live, OCTOBER)
    assert (approved[0], approved[1].render("en")) == ("Zhou Lin", "2026-11-03 10:00 (UTC+8)")  # zone said
    wang = next(r for r in shown.engineers if r.name == "Wang Fang")
    assert (wang.complaints, wang.total) == (0, Decimal("250"))  # the approved figures stand
    assert [(c.engineer, c.figure, c.approved, c.now) for c in changed] == [
        ("Wang Fang", "complaints", 0, 1), ("Wang Fang", "deduction", Decimal(0), Decimal(20)),
        ("Wang Fang", "total", Decimal(250), Decimal(230))]
    text = sheet_text(shown, None, None, approved=approved, changed=changed).render("en").splitlines()
    assert text[1] == "Approved by Zhou Lin on 2026-11-03 10:00 (UTC+8): the figures below are the approved ones."
    assert text[-4:] == ["Changed since the approval (3) — the records now say:",
                         "  Wang Fang · complaints: approved 0, now 1",
                         "  Wang Fang · deductions: approved ¥0, now ¥20",
                         "  Wang Fang · total: approved ¥250, now ¥230"]
    assert PerformanceSheet.from_json(shown.to_json()) == shown


async def test_a_long_sheet_is_split_between_engineers_for_chat(db: Database, app) -> None:  # noqa: ANN001
    await seed_month(db, app.sla)
    async with db.read() as s:
        sheet = await performance_sheet(s, OCTOBER, app.tz, PAY)
    whole = sheet_text(sheet, None, None).render("en")
    for limit in (200, 400, 900):
        pages = [p.render("en") for p in sheet_pages(sheet, None, None, "en", limit=limit)]
        assert len(pages) >= 2 and all(len(p) <= limit for p in pages), (limit, [len(p) for p in pages])
        lines = [line for p in pages for line in p.split("\n") if line]
        assert lines == [line for line in whole.split("\n") if line]  # nothing lost or repeated, in order
    engineers = {r.name for r in sheet.engineers}
    pages = [p.render("en") for p in sheet_pages(sheet, None, None, "en", limit=900)]
    assert [p.split("\n")[0] for p in pages][1:] and all(
        p.split("\n")[0] in engineers for p in pages[1:])  # blocks fit: pages start at an engineer
    assert [p.render("en") for p in sheet_pages(sheet, None, None, "en")] == [whole]  # short: one message
