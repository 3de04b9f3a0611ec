"""``/report performance`` end to end (emulator + the real bot on each channel + a real database):
the sheet for the asker's team in English and Chinese with the rule behind each figure; a manager
gets **Approve**, approving twice is refused, and afterwards the approved figures come with a later
correction listed; dispatchers, engineers and customers are refused.  Then a day whose sign-off and
rating happen in chat rebuilds from the event log to the live report (the 'rated' event)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from models.enums import Action, Role, ServiceType
from models.reports import Month
from models.verify import verify_month
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.logged import Play
from tests.support.tickets import new_ticket, resolved
from tests.support.world import world

SUP, DSP, MGR, ENG, ENG2, CUST, SOUTH_ENG = 400, 401, 402, 403, 404, 405, 406
PAY = '[pay]\nallowance_per_job = "50"\nno_complaint_bonus = "200"\ncomplaint_deduction = "20"\nbonus_lost_from = 2\n'
FEB = datetime(2026, 2, 9, 1, tzinfo=timezone.utc)  # Monday 09:00 in Shanghai; T0 is 2 March: last month


async def _february(w) -> dict[str, Play]:  # noqa: ANN001
    """Li Lei: one job that counts, one resolved and not signed; Wang Fang: one job by phone and two
    complaints; Sun Qi (South): one job."""
    li, wang, sun = await pid(w, ENG), await pid(w, ENG2), await pid(w, SOUTH_ENG)
    a = await Play(w.app.db, w.app.sla, FEB).register()
    await a.whole_job(li, rating=5)
    b = await Play(w.app.db, w.app.sla, FEB + timedelta(days=1)).register()
    await b.act(Action.DISPATCH, assignee_id=li)
    c = await Play(w.app.db, w.app.sla, FEB + timedelta(days=2)).register(service=ServiceType.PHONE)
    await c.whole_job(wang, rating=3)
    await c.complain()
    await c.complain()
    d = await Play(w.app.db, w.app.sla, FEB + timedelta(days=3)).register(team="South")
    await d.whole_job(sun, rating=4)
    return {"a": a, "b": b, "c": c}


async def test_performance_in_chat_approval_and_refusals(tmp_path: Path, channel: str, db_url: str) -> None:
    async with world(tmp_path, channel, extra_config=PAY, db_url=db_url) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(MGR, Role.MANAGER, "Zhou Lin", team=None, lang="zh-CN")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Wang Fang")
        await w.join(SOUTH_ENG, Role.ENGINEER, "Sun Qi", team="South")
        plays = await _february(w)

        w.say(SUP, "/report performance")
        [sheet] = await w.expect(SUP)
        lines = sheet.text.splitlines()
        assert lines[:3] == ["Performance sheet for February 2026 · North", "Not approved yet.", ""]
        assert "  allowance: ¥50 × 1 = ¥50 (per-job allowance, jobs with a complete signed report)" in lines
        assert "  bonus lost: complaints 2 ≥ 2 (no-complaint bonus ¥200 not paid)" in lines
        assert "  deductions: 2 complaints × ¥20 = ¥40 (per-complaint deduction)" in lines
        assert "Sun Qi" not in sheet.text and "Acme" not in sheet.text  # the team's rows; no customer data
        assert sheet.buttons == []  # only a manager approves

        w.say(MGR, "/report 绩效 2026-02")
        [zh] = await w.expect(MGR)
        assert zh.text.splitlines()[:2] == ["2026年2月 月度绩效 · 全部团队", "尚未审批。"]
        assert "Sun Qi" in zh.text and "  取消奖励：投诉 2 次 ≥ 2 次（无投诉奖励 ¥200 不发放）" in zh.text
        assert zh.buttons == ["审批本月绩效"]
        w.press(MGR, zh, "审批本月绩效")
        [done] = await w.expect(MGR)
        assert "已由Zhou Lin审批" in done.text
        w.press_data(MGR, last_id(w, MGR), "pfa:202602")
        [again] = await w.expect(MGR)
        assert "已审批" in again.text and "不能重复审批" in again.text
        assert "（Zhou Lin，北京时间 2026-03-02 10:30）" in again.text  # when, in the team's zone, said so

        await plays["a"].complain()  # a complaint about Li Lei's February job, recorded late (in February)
        w.say(SUP, "/report performance 2026-02")
        [after] = await w.expect(SUP)
        lines = after.text.splitlines()
        assert lines[1].startswith("Approved by Zhou Lin on 2026-03-02 10:30")
        assert lines[-4:] == ["Changed since the approval (3) — the records now say:",
                              "  Li Lei · complaints: approved 0, now 1",
                              "  Li Lei · deductions: approved ¥0, now ¥20",
                              "  Li Lei · total: approved ¥250, now ¥230"]
        assert after.buttons == []

        w.say(DSP, "/report performance")
        w.say(ENG, "/report performance")
        [dsp] = await w.expect(DSP)
        [eng] = await w.expect(ENG)
        assert dsp.text == "Only supervisors and managers can see the performance sheet."
        assert eng.text == "You can't do that with your role."
        w.say(SUP, "/report performance 2026-13")
        [bad] = await w.expect(SUP)
        assert bad.text == "Write /report performance or /report performance YYYY-MM."
        for uid in (SUP, DSP, MGR, ENG):
            assert await w.quiet(uid) == []


async def test_a_chat_sign_off_and_rating_rebuild_from_the_log(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        await resolved(w, ticket, sup=SUP, eng=ENG)
        [request] = await w.expect(CUST)
        w.press(CUST, request, "Confirm")
        [ask] = await w.expect(CUST)
        w.press_data(CUST, ask, f"rate:{ticket.id}:4")
        await w.expect(CUST)
        async with w.app.db.read() as s:
            result = await verify_month(s, Month(2026, 3), w.app.tz)
        assert result.differences == [] and result.not_in_log == {}
        assert result.figures == 1 + 7 * 4  # one job: total, its model, its (unset) fault, its engineer
