"""Callback survey (回访): on a controllable clock and a real business calendar, the survey goes out
``callback_after`` after sign-off (held until the morning by quiet hours, even for severity 1),
expires after ``callback_expire`` to the team's dispatchers (or the supervisor) with whom to call,
goes straight to the desk when no customer joined, starts anew after a reopen, and is written once
however many instances run the job.  End to end through the emulator: sign-off → survey → rating
and comment in chat → Feedback stored; unanswered → the dispatcher is told, ``/callbacks`` lists
it, a late answer is still taken and the desk hears of it.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import App, FixedClock
from models.enums import Action, FeedbackSource, Role, TicketStatus
from models.tickets import Ticket
from models.transitions import apply_action
from models.work import Feedback
from scheduler import callback
from tests.support import chase
from tests.support.calendars import DAILY_CHASE, at, calendar_app, calendar_app_fixture, shown
from tests.support.cast import join_customer, pid
from tests.support.chase import Outbox, act, outbox_keys, person, tick, timed_events
from tests.support.chat import last_id
from tests.support.tickets import new_ticket as desk_ticket
from tests.support.tickets import resolved
from tests.support.world import T0, World

capp = calendar_app_fixture(DAILY_CHASE)  # the callback survey's calendar: a fixture of this module
DONE = (Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE, Action.SIGN_OFF)
BUTTONS = [("1", "cbr:{id}:1"), ("2", "cbr:{id}:2"), ("3", "cbr:{id}:3"), ("4", "cbr:{id}:4"), ("5", "cbr:{id}:5")]


async def new_ticket(app: App, **kw: object) -> Ticket:
    """A ticket whose contact is Mr Lin (the survey and the call list name the contact)."""
    return await chase.new_ticket(app, **{"contact": "Mr Lin", **kw})


def buttons(ticket: Ticket) -> list[list[tuple[str, str]]]:
    return [[(label, data.format(id=ticket.id)) for label, data in BUTTONS]]


def survey(ticket: Ticket) -> str:
    return (f"Callback for ticket {ticket.number} (X200, 1 Harbour Rd): we finished your service request a few "
            "days ago. How satisfied are you with the result now? 1 = very unsatisfied, 5 = very satisfied.")


async def state(app: App, ticket: Ticket) -> tuple[str | None, str | None, str | None]:
    async with app.db.read() as s:
        row = await s.get(Ticket, ticket.id)
    return (row.callback_state, row.callback_sent_at and shown(row.callback_sent_at),
            row.callback_next_at and shown(row.callback_next_at))


# -- the scan, on SQLite and PostgreSQL ----------------------------------------------------------------
async def test_survey_waits_for_the_morning_then_expires_to_the_dispatchers(capp: App) -> None:
    await person(capp, Role.SUPERVISOR, "Wang Wei")
    chen = await person(capp, Role.DISPATCHER, "Chen Jing")
    await person(capp, Role.DISPATCHER, "Ma Li", lang="zh-CN")
    li = await person(capp, Role.ENGINEER, "Li Lei")
    capp.clock.at = at(6, 22, 30)  # Friday night: severity 1, signed off after hours
    ticket = await new_ticket(capp, engineer=li, then=DONE, severity=1)
    await person(capp, Role.CUSTOMER, "Mr Lin", team=None, customer_id=ticket.customer_id, ticket_id=ticket.id)
    assert await state(capp, ticket) == ("due", None, "2026-03-09 22:30")
    out = Outbox(capp)
    await out.new()

    assert await tick(capp, at(9, 22, 29), callback.run) == 0
    assert await tick(capp, at(9, 22, 30), callback.run) == 1
    # Monday 22:30 is after closing: the survey waits for Tuesday 08:30, and the customer gets
    # the whole callback_expire (2 days) from then.
    assert await out.new() == [("Mr Lin", survey(ticket), buttons(ticket), "2026-03-10 08:30")]
    assert await state(capp, ticket) == ("sent", "2026-03-09 22:30", "2026-03-12 08:30")
    for moment in (at(9, 23), at(10, 9), at(12, 8, 29)):
        assert await tick(capp, moment, callback.run) == 0
    assert await out.new() == []

    assert await tick(capp, at(12, 8, 30), callback.run) == 1
    assert await out.new() == [
        ("Chen Jing", f"Callback unanswered: Acme Ltd did not answer the survey for {ticket.number} (sent "
                      "2026-03-10 08:30). Please call Mr Lin at +8613800000001. /callbacks lists every open callback.",
         [], "2026-03-12 08:30"),
        ("Ma Li", f"回访未回复：Acme Ltd未回复工单 {ticket.number} 的回访问卷（发送于 2026-03-10 08:30）。"
                  "请致电Mr Lin，电话 +8613800000001。发送 /callbacks 查看全部待回访。", [], "2026-03-12 08:30"),
    ]
    assert await state(capp, ticket) == ("expired", "2026-03-09 22:30", None)
    assert await tick(capp, at(12, 9), callback.run) == 0 and await out.new() == []
    assert [(kind, when) for kind, _, when in await timed_events(capp, ticket, "callback_")] == [
        ("callback_sent", "2026-03-09 22:30"), ("callback_expired", "2026-03-12 08:30")]
    assert chen


async def test_no_customer_in_chat_goes_to_the_supervisor_at_once(capp: App) -> None:
    """Team South has no dispatcher: its supervisor is told, in working time."""
    await person(capp, Role.SUPERVISOR, "Zhou Yu", team="South", lang="zh-CN")
    li = await person(capp, Role.ENGINEER, "Li Lei", team="South")
    capp.clock.at = at(2, 10)
    ticket = await new_ticket(capp, engineer=li, then=DONE, team="South", customer="Beta Co", contact="Ms Ma",
                              phone="+8613800000002")
    out = Outbox(capp)
    await out.new()
    assert await tick(capp, at(5, 10), callback.run) == 1
    assert await out.new() == [(
        "Zhou Yu", f"工单 {ticket.number} 无法在聊天中回访：Beta Co无人可在聊天中联系。请致电Ms Ma，电话 +8613800000002。"
                   "发送 /callbacks 查看全部待回访。", [], "2026-03-05 10:00")]
    assert await state(capp, ticket) == ("expired", None, None)
    assert [kind for kind, _, _ in await timed_events(capp, ticket, "callback_")] == ["callback_no_customer"]
    assert await tick(capp, at(5, 11), callback.run) == 0 and await out.new() == []


async def test_reopened_and_signed_off_again_is_a_new_survey(capp: App) -> None:
    li = await person(capp, Role.ENGINEER, "Li Lei")
    capp.clock.at = at(2, 10)
    ticket = await new_ticket(capp, engineer=li, then=DONE)
    customer = await person(capp, Role.CUSTOMER, "Mr Lin", team=None, customer_id=ticket.customer_id)
    assert await tick(capp, at(5, 10), callback.run) == 1
    capp.clock.at = at(5, 11)  # the customer disputes the fix before answering
    await act(capp, ticket, Action.REOPEN, reason="Flickers again")
    assert await state(capp, ticket) == (None, None, None)
    assert await tick(capp, at(9, 10), callback.run) == 0  # nothing scheduled while it is being reworked
    capp.clock.at = at(5, 15)
    await act(capp, ticket, Action.DEPART, Action.ARRIVE, Action.RESOLVE, Action.SIGN_OFF, actor=li)
    assert await state(capp, ticket) == ("due", None, "2026-03-08 15:00")
    assert await tick(capp, at(8, 15), callback.run) == 1  # Sunday: written now, delivered Monday
    rows = await Outbox(capp).new()
    assert [(to, when) for to, _, _, when in rows if to == "Mr Lin"] == [("Mr Lin", "2026-03-05 10:00"),
                                                                         ("Mr Lin", "2026-03-09 08:30")]
    keys = await outbox_keys(capp, f"callback:{ticket.id}:")
    assert len(keys) == len(set(keys)) == 2 and all(k.endswith(f":survey:{customer}") for k in keys)


async def test_written_once_by_two_instances(capp: App, db_url: str, tmp_path: Path) -> None:
    await person(capp, Role.DISPATCHER, "Chen Jing")
    li = await person(capp, Role.ENGINEER, "Li Lei")
    capp.clock.at = at(2, 10)
    tickets = [await new_ticket(capp, engineer=li, then=DONE) for _ in range(6)]
    await person(capp, Role.CUSTOMER, "Mr Lin", team=None, customer_id=tickets[0].customer_id)
    other = calendar_app(db_url, tmp_path, DAILY_CHASE)
    try:
        for moment, acted in ((at(5, 10), 6), (at(9, 10), 6)):
            capp.clock.at = other.clock.at = moment
            counts = await asyncio.gather(callback.run(capp, moment), callback.run(other, moment),
                                          callback.run(other, moment), callback.run(capp, moment))
            assert sum(counts) == acted
    finally:
        await other.close()
    keys = await outbox_keys(capp, "callback:")
    assert len(keys) == len(set(keys)) == 12
    assert sum(":survey:" in k for k in keys) == 6 and sum(":expired:" in k for k in keys) == 6
    assert {await state(capp, t) for t in tickets} == {("expired", "2026-03-05 10:00", None)}


# -- end to end through the emulator (SQLite) ----------------------------------------------------
SUP, ENG, CUST, CUST2, DSP = 300, 301, 302, 303, 304
WORKDAYS = ("[bot.working_hours]\n" + "".join(f'{d} = "08:30-22:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))
            + 'sat = "off"\nsun = "off"\n[chase]\ncallback_after = "3d"\ncallback_expire = "2d"\n'
            + "[scheduler]\nenabled = false\n")


def world(tmp_path: Path, channel: str) -> World:
    return World(tmp_path, channel, clock=FixedClock(T0), extra_config=WORKDAYS)


async def signed_off(w: World, ticket: Ticket) -> None:
    """The customer confirms and rates the sign-off in chat (the customer flow), without comment."""
    await resolved(w, ticket, sup=SUP, eng=ENG)
    [request] = await w.expect(CUST)
    w.press(CUST, request, "Confirm")
    [ask] = await w.expect(CUST)
    w.press(CUST, ask, "5")
    [comment] = await w.expect(CUST)
    w.press(CUST, comment, "No comment")
    await w.expect(CUST)
    await w.quiet(ENG), await w.quiet(SUP), await w.quiet(CUST)  # and the service report (PDF)


async def run_callbacks(w: World, moment) -> int:  # noqa: ANN001
    w.clock.at = moment
    acted = await callback.run(w.app, moment)
    await w.settle()
    return acted


# The survey goes out 3 days after the sign-off; 微信客服 lets the bot write to a customer only within
# 48 h of their last message, so on WeCom the survey cannot reach them in chat.
@pytest.mark.telegram
async def test_survey_answered_in_chat(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await desk_ticket(w)
        other = await desk_ticket(w, customer="Beta Co", phone="+8613800000002", model="Z9")
        await join_customer(w, CUST, ticket, "Mr Lin")
        await join_customer(w, CUST2, other, "Ms Ma")
        await signed_off(w, ticket)

        assert await run_callbacks(w, T0 + timedelta(days=3) - timedelta(minutes=1)) == 0
        assert await w.quiet(CUST) == []
        assert await run_callbacks(w, T0 + timedelta(days=3)) == 1  # Thursday 10:30
        [asked] = await w.expect(CUST)
        assert asked.text == survey(ticket) and asked.buttons == ["1", "2", "3", "4", "5"]

        # Someone else's ticket, a bad rating: refused, nothing stored.
        w.press_data(CUST2, last_id(w, CUST2), f"cbr:{ticket.id}:4")
        [reply] = await w.expect(CUST2)
        assert reply.text == "That ticket is not (or no longer) available to you."
        w.press_data(CUST, asked.id, f"cbr:{ticket.id}:9")
        [reply] = await w.expect(CUST)
        assert reply.text == "Ratings go from 1 to 5."

        w.press(CUST, asked, "4")
        [comment_ask] = await w.expect(CUST)
        assert comment_ask.text == (f"Thank you! Anything else you'd like to tell us about {ticket.number}? "
                                    "Write a comment, or press No comment.")
        assert comment_ask.buttons == ["No comment"]
        answered = w.current(CUST, asked)
        assert answered.text == f"Your callback rating for {ticket.number}: 4/5." and answered.buttons == []
        w.say(CUST, "Still working fine, thanks")
        [thanks] = await w.expect(CUST)
        assert thanks.text == f"Thank you for your answer about {ticket.number}!"
        assert w.current(CUST, comment_ask).text == "Comment received."

        # A second answer, a late No comment: one clear line each, nothing changes.
        w.press_data(CUST, asked.id, f"cbr:{ticket.id}:1")
        w.press_data(CUST, comment_ask.id, f"cbn:{ticket.id}")
        assert [m.text for m in await w.expect(CUST, 2)] == [
            f"You already answered the callback survey for {ticket.number} (4/5). Thank you!"] * 2
        async with w.app.db.read() as s:
            feedback = (await s.execute(select(Feedback.source, Feedback.rating, Feedback.comment, Feedback.person_id)
                                        .where(Feedback.ticket_id == ticket.id).order_by(Feedback.id))).all()
        assert [tuple(f) for f in feedback] == [(FeedbackSource.SIGNOFF, 5, None, await pid(w, CUST)),
                                                (FeedbackSource.CALLBACK, 4, "Still working fine, thanks",
                                                 await pid(w, CUST))]
        assert await state(w.app, ticket) == ("answered", "2026-03-05 10:30", None)
        assert [(k, d.get("rating")) for k, d, _ in await timed_events(w.app, ticket, "callback_")] == [
            ("callback_sent", None), ("callback_answered", 4), ("callback_comment", None)]
        assert await run_callbacks(w, T0 + timedelta(days=10)) == 0
        assert await w.quiet(CUST) == [] and await w.quiet(SUP) == []


# The survey goes out 3 days after the sign-off; 微信客服 lets the bot write to a customer only within
# 48 h of their last message, so on WeCom the survey cannot reach them in chat.
@pytest.mark.telegram
async def test_unanswered_callback_goes_to_the_dispatcher_and_a_late_answer_still_counts(tmp_path: Path,
                                                                                         channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        ticket = await desk_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        await signed_off(w, ticket)
        beta = await desk_ticket(w, customer="Beta Co", phone="+8613800000002", model="Z9")  # nobody joined
        async with w.app.db.write() as s:
            row = await s.get(Ticket, beta.id)
            for action in (Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE,
                           Action.SIGN_OFF):
                apply_action(s, row, action, now=T0, assignee_id=await pid(w, ENG), clocks=w.app.sla)
        assert {"callbacks"} <= w.menu(DSP) and {"callbacks"} <= w.menu(SUP) and "callbacks" not in w.menu(ENG)
        w.say(DSP, "/callbacks")
        [reply] = await w.expect(DSP)
        assert reply.text == "No unanswered callbacks."

        assert await run_callbacks(w, T0 + timedelta(days=3)) == 2
        [asked] = await w.expect(CUST)
        [no_chat] = await w.expect(DSP)
        assert no_chat.text == (f"Callback for {beta.number} cannot be done in chat: nobody from Beta Co can be "
                                "reached there. Please call Beta Co at +8613800000002. /callbacks lists every open callback.")
        # Unanswered until Saturday 10:30: expired then, but the desk hears it on Monday morning.
        assert await run_callbacks(w, T0 + timedelta(days=5)) == 1
        assert await w.quiet(DSP) == [] and await w.quiet(SUP) == []
        assert await run_callbacks(w, T0 + timedelta(days=7) - timedelta(hours=2)) == 0  # Monday 08:30
        [told] = await w.expect(DSP)
        assert told.text == (f"Callback unanswered: Acme Ltd did not answer the survey for {ticket.number} "
                             "(sent 2026-03-05 10:30). Please call Acme Ltd at +8613800000001. "
                             "/callbacks lists every open callback.")
        assert await w.quiet(SUP) == []  # the team has a dispatcher

        w.say(DSP, "/callbacks")
        w.say(SUP, "/callbacks")
        w.say(ENG, "/callbacks")
        acme = (f"{ticket.number} · Acme Ltd · Acme Ltd +8613800000001 · signed off 2026-03-02 10:30, "
                "survey sent 2026-03-05 10:30")
        listing = (f"Callbacks to make by phone (2, oldest first):\n{acme}\n{beta.number} · Beta Co · Beta Co "
                   "+8613800000002 · signed off 2026-03-02 10:30, customer not in chat")
        [dsp_list] = await w.expect(DSP)
        assert dsp_list.text == listing
        assert dsp_list.buttons == [f"Record the call: {ticket.number}", f"Record the call: {beta.number}"]
        assert [m.text for m in await w.expect(SUP)] == [listing]
        assert [m.text for m in await w.expect(ENG)] == ["You can't do that with your role."]

        # The dispatcher phones Beta Co and records the answer; it leaves the list.
        w.press(DSP, dsp_list, f"Record the call: {beta.number}")
        [phone_ask] = await w.expect(DSP)
        assert phone_ask.text == (f"{beta.number}: how did Beta Co rate the service on the phone? "
                                  "1 = very unsatisfied, 5 = very satisfied.")
        w.press(DSP, phone_ask, "3")
        await w.settle()
        assert w.current(DSP, phone_ask).text == f"Recorded: {beta.number} rated 3/5 on the phone. It is off the list."
        w.press(DSP, dsp_list, f"Record the call: {beta.number}")
        w.say(DSP, "/callbacks")
        assert [m.text for m in await w.expect(DSP, 2)] == [
            f"The callback for {beta.number} is already answered (3/5).",
            f"Callbacks to make by phone (1, oldest first):\n{acme}"]
        assert (await state(w.app, beta))[0] == "answered"

        # The customer answers late after all: taken, and the dispatcher need not call.
        w.press(CUST, asked, "2")
        [comment_ask] = await w.expect(CUST)
        w.press(CUST, comment_ask, "No comment")
        [thanks] = await w.expect(CUST)
        assert thanks.text == f"Thank you for your answer about {ticket.number}!"
        assert w.current(CUST, comment_ask).text == "No comment."
        [late] = await w.expect(DSP)
        assert late.text == f"Mr Lin answered the callback survey for {ticket.number} after all: 2/5. No need to call."
        assert (await state(w.app, ticket))[0] == "answered"
        w.say(DSP, "/callbacks")
        [reply] = await w.expect(DSP)
        assert reply.text == "No unanswered callbacks."
        async with w.app.db.read() as s:
            row = await s.get(Ticket, ticket.id)
        assert row.status is TicketStatus.CLOSED
