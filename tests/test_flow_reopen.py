"""Reopening end to end (emulator + the real bot on each channel + SQLite): the customer's **Not fixed**
under the service report asks what is still wrong and reopens the ticket to its engineer (engineer and
supervisor told, the dispute on the timeline, the job no longer a first-visit fix in the monthly
report); the desk's **Reopen** on a closed ticket's page and ``/reopen NUMBER REASON``, after which
the customer confirms and rates the reworked job again; people who may not, tickets in the wrong
state and stale buttons change nothing."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

from bot.app import FixedClock
from models.enums import Action, FeedbackSource, Role, TicketStatus
from models.reports import Month, monthly_report
from models.work import Feedback
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import REPORT, events, load, move, new_ticket, resolved
from tests.support.world import T0, World

SUP, DSP, ENG, CUST = 600, 601, 602, 603
MARCH = Month(2026, 3)


def world(tmp_path: Path, channel: str, language: str = "en") -> World:
    return World(tmp_path, channel, language=language, clock=FixedClock(T0),
                 extra_config="[scheduler]\nenabled = false\n")


async def test_customer_disputes_the_fix_and_it_is_no_first_visit_fix(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")
        await resolved(w, ticket, sup=SUP, eng=ENG)
        [report] = await w.expect(CUST)
        assert report.buttons == ["Confirm", "Not fixed"]
        assert report.text.endswith("If it is correct, press Confirm; if the fault is still there, press Not fixed.")
        await w.quiet(ENG)

        w.press(CUST, report, "Not fixed")
        [ask] = await w.expect(CUST)
        assert ask.text == (f"Sorry to hear that. What is still wrong with {n}? Please describe it in a few words "
                            "(or /cancel).")
        w.send_photo(CUST)  # not words: asked again, nothing reopened
        [again] = await w.expect(CUST)
        assert again.text == f"Please type in a few words what is still wrong with {n} (or /cancel)."
        assert (await load(w, ticket)).status is TicketStatus.RESOLVED

        w.clock.at = T0 + timedelta(minutes=15)
        w.say(CUST, "The display still flickers after an hour")
        if w.driver.platform == "telegram":  # the report loses its buttons and says what the customer did
            [done] = await w.expect(CUST)
            disputed = w.current(CUST, report)
            assert disputed.text.endswith("Not fixed: reported by you at 2026-03-02 10:45.")
            assert disputed.buttons == []
        else:  # 微信客服: a menu tap points at no message to edit
            [done] = await w.expect(CUST)
        assert done.text == f"Thank you. {n} is reopened: the engineer will come back to it."
        [card] = await w.expect(ENG)
        assert card.text.startswith(f"The customer (Mr Lin) says {n} is not fixed: “The display still flickers after "
                                    "an hour”. It is reopened, please go back to it:\n"
                                    f"{n} · X200 · 1 Harbour Rd\nStatus: accepted")
        assert card.buttons == ["On my way"]
        [notice] = await w.expect(SUP)
        assert notice.text == (f"The customer (Mr Lin) disputes the fix of {n} (engineer: Li Lei): “The display still "
                               "flickers after an hour”. The ticket is reopened.")
        row = await load(w, ticket)
        assert (row.status, row.reopens, row.resolved_at) == (TicketStatus.ACCEPTED, 1, None)
        reopen = [e for e in await events(w, ticket) if e.action is Action.REOPEN][0]
        assert (reopen.actor_id, reopen.details["reason"], reopen.details["dispute"]) == (
            await pid(w, CUST), "The display still flickers after an hour", True)
        w.say(SUP, f"/ticket {n}")
        [page] = await w.expect(SUP)
        assert ("2026-03-02 10:45  Mr Lin reopened the ticket (the customer disputes the fix) — reason: The display "
                "still flickers after an hour") in page.text
        assert page.buttons[:3] == ["Reassign", "Edit", "Cancel ticket"]

        # The old report's buttons are stale now.
        w.press_data(CUST, report.id, f"cfm:{ticket.id}")
        w.press_data(CUST, report.id, f"nfx:{ticket.id}")
        assert [m.text for m in await w.expect(CUST, 2)] == [
            f"{n} is accepted; there is nothing to confirm yet.",
            f"{n} is accepted; there is no service report waiting for your answer."]

        # The engineer comes back (no arrival check-in needed for the figure), fixes it, the
        # customer confirms: the job counts, but not as fixed on the first visit.
        await move(w, ticket, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        await move(w, ticket, Action.RESOLVE, actor_uid=ENG, **REPORT)
        w.press_data(CUST, report.id, f"cfm:{ticket.id}")
        [rate] = await w.expect(CUST)
        assert rate.buttons == ["1", "2", "3", "4", "5"]
        await w.quiet(CUST)
        async with w.app.db.read() as s:
            figures = await monthly_report(s, MARCH, w.app.tz)
        assert (figures.total.jobs, figures.total.first_visit_rate) == (1, 0.0)


async def test_desk_reopens_a_closed_ticket_and_the_customer_signs_off_again(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei", lang="zh-CN")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")

        # Not yet done: nothing to reopen; engineers and customers may not.
        w.say(SUP, f"/reopen {n} flickers again")
        assert [m.text for m in await w.expect(SUP)] == [
            f"{n} is new: only a resolved, signed-off or closed ticket can be reopened."]
        await resolved(w, ticket, sup=SUP, eng=ENG)
        [report] = await w.expect(CUST)
        w.say(ENG, f"/reopen {n} 再看看")
        w.press_data(ENG, last_id(w, ENG), f"tro:{ticket.id}")
        w.say(CUST, f"/reopen {n} again")
        assert [m.text for m in await w.expect(ENG, 2)] == ["您的角色不能执行此操作。"] * 2
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]

        # The customer signs off, rates, no comment: closed.
        w.press(CUST, report, "Confirm")
        [rate] = await w.expect(CUST)
        w.press(CUST, rate, "4")
        [comment] = await w.expect(CUST)
        w.press(CUST, comment, "No comment")
        await w.quiet(CUST)
        await w.quiet(ENG)
        await w.quiet(SUP)
        assert (await load(w, ticket)).status is TicketStatus.CLOSED

        # A day later the customer phones: the supervisor reopens it from the page.
        w.clock.at = T0 + timedelta(days=1)
        w.say(SUP, f"/ticket {n}")
        [page] = await w.expect(SUP)
        assert page.buttons == ["Reopen", "Service report (PDF)"]
        w.press(SUP, page, "Reopen")
        [ask] = await w.expect(SUP)
        assert ask.text == (f"Reopen {n} (closed, Li Lei)? Send the reason (it goes to Li Lei), "
                            "or /cancel to leave it as it is.")
        w.say(SUP, "Customer phoned: flickers again")
        [done] = await w.expect(SUP)
        assert done.text == f"{n} is reopened and back with Li Lei. Reason: Customer phoned: flickers again\nLi Lei has been told."
        [card] = await w.expect(ENG)
        assert card.text.startswith(f"Wang Wei已重新打开工单 {n}。原因：Customer phoned: flickers again。请继续处理：\n")
        assert card.buttons == ["出发"]
        row = await load(w, ticket)
        assert (row.status, row.reopens, row.closed_at, row.signed_off_at) == (TicketStatus.ACCEPTED, 1, None, None)
        w.press_data(SUP, page.id, f"tro:{ticket.id}")  # pressed again: it is open now
        assert [m.text for m in await w.expect(SUP)] == [
            f"{n} is accepted: only a resolved, signed-off or closed ticket can be reopened."]

        # Reworked and resolved; the customer confirms and rates this round too.
        await move(w, ticket, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        await move(w, ticket, Action.RESOLVE, actor_uid=ENG, **REPORT)
        w.press_data(CUST, report.id, f"cfm:{ticket.id}")
        [rate] = await w.expect(CUST)
        assert rate.text.startswith(f"Thank you for confirming {n}.")
        w.press(CUST, rate, "2")
        [comment] = await w.expect(CUST)
        assert comment.buttons == ["No comment"]
        w.press(CUST, comment, "No comment")
        await w.quiet(CUST)
        assert (await load(w, ticket)).status is TicketStatus.CLOSED
        async with w.app.db.read() as s:
            ratings = (await s.scalars(select(Feedback.rating).where(
                Feedback.ticket_id == ticket.id, Feedback.source == FeedbackSource.SIGNOFF).order_by(Feedback.id))).all()
        assert ratings == [4, 2]
        await w.quiet(SUP)
        await w.quiet(ENG)

        # The dispatcher reopens it in one go; the supervisor hears of it.
        w.say(DSP, f"/reopen {n} still flickers")
        [done] = await w.expect(DSP)
        assert done.text == f"{n} is reopened and back with Li Lei. Reason: still flickers\nLi Lei has been told."
        [notice] = await w.expect(SUP)
        assert notice.text == f"{n} was reopened by Chen Jing (engineer: Li Lei). Reason: still flickers"
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Feedback)) == 2
        assert (await load(w, ticket)).reopens == 2
