"""The views end to end (emulator + the real bot on each channel + SQLite): the engineer's
``/tickets``, the desk's ``/board`` and the supervisor's ``/pending`` — grouped mine / to follow / paused /
closed, overdue first, each clock's due time in the team's time zone (Shanghai) with the time
left, paged with ◀ / ▶ (edited in place), in English and Chinese; people who must not see a view
or a ticket are refused, and forged buttons change nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import event, select

from bot.app import FixedClock
from models import board as q
from models.enums import Action, PauseReason, Role, ServiceType, TicketStatus
from models.invites import team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from models.transitions import apply_action
from models.work import Acknowledgement, Complaint
from tests.support.cast import join_customer, pid
from tests.support.tickets import checkin
from tests.support.world import Message, World

#: Monday 2026-03-02 10:30 in Shanghai (UTC+8), the team's time zone.
T0 = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)
SUP, DSP, ENG, ENG2, CUST, SOUTH_SUP, MGR = 100, 101, 102, 103, 104, 105, 106

NO_SCHEDULER = "[scheduler]\nenabled = false\n"

#: The lifecycle path from ``new`` to each status (the actions belong to other flows).
PATHS = {
    TicketStatus.NEW: [],
    TicketStatus.DISPATCHED: [Action.DISPATCH],
    TicketStatus.ACCEPTED: [Action.DISPATCH, Action.ACCEPT],
    TicketStatus.ON_SITE: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE],
    TicketStatus.PAUSED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.PAUSE],
    TicketStatus.RESOLVED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE],
    TicketStatus.CLOSED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE,
                          Action.SIGN_OFF, Action.CLOSE],
}


def world(tmp_path: Path, channel: str, language: str = "en") -> World:
    """The stage at T0; the scheduler stays off, so no SLA chase writes into the chats under test."""
    return World(tmp_path, channel, language=language, clock=FixedClock(T0), extra_config=NO_SCHEDULER)


async def make(w: World, status: TicketStatus, *, engineer: int | None = ENG, at: datetime = T0,
               team: str = "North", model: str = "X200", by: int | None = None, dispatcher: int | None = None,
               done_at: datetime | None = None, address: str = "1 Harbour Rd") -> Ticket:
    """A ticket registered at ``at`` (by ``by``), moved to ``status`` at ``at`` with the real SLA
    clocks (dispatched by ``dispatcher``); the last move (close, pause…) happens at ``done_at``."""
    eng = await pid(w, engineer) if engineer else None
    creator = await pid(w, by) if by else None
    sender = await pid(w, dispatcher) if dispatcher else None
    async with w.app.db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address=address, model=model,
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=team_row.id)
        ticket = await register_ticket(s, reg, now=at, today=date(2026, 3, 2), warranty=timedelta(days=365),
                                       actor_id=creator, clocks=w.app.sla)
        path = PATHS[status]
        for i, action in enumerate(path):
            when = done_at if done_at and i == len(path) - 1 else at
            kw = {"assignee_id": eng} if action is Action.DISPATCH else {}
            if action is Action.PAUSE:
                kw["pause_reason"] = PauseReason.PARTS.value
            actor = sender if action is Action.DISPATCH else eng
            apply_action(s, ticket, action, now=when, actor_id=actor, clocks=w.app.sla, **kw)
        return ticket


async def complaint(w: World, ticket: Ticket, text: str, *, at: datetime = T0, answered: bool = False) -> int:
    async with w.app.db.write() as s:
        row = Complaint(ticket_id=ticket.id, engineer_id=ticket.assignee_id, text=text, created_at=at,
                        answered_at=at if answered else None)
        s.add(row)
        await s.flush()
        return row.id


async def ack_row(w: World, checkin_id: int) -> Acknowledgement:
    async with w.app.db.read() as s:
        return await s.scalar(select(Acknowledgement).where(Acknowledgement.checkin_id == checkin_id))


async def ask(w: World, uid: int, text: str) -> Message:
    w.say(uid, text)
    [reply] = await w.expect(uid)
    assert await w.quiet(uid) == []
    return reply


async def press(w: World, uid: int, message: Message, label: str) -> Message:
    """Press a button; return what came back (a new message, or the pressed one edited)."""
    before = len(w.messages(uid))
    w.press(uid, message, label)
    await w.settle()
    after = w.messages(uid)
    if len(after) > before:
        w.mark_seen(uid)
        return after[-1]
    return w.current(uid, message)


def lines(message: Message) -> list[str]:
    return message.text.split("\n")


ARRIVE_24H = "   ⏱ arrive by 10:30 tomorrow: 24 h left; resolve by 10:30 the day after tomorrow: 48 h left"
LATE_CLOCKS = "   ⏱ arrive by 04:30: overdue by 6 h; resolve by 04:30 tomorrow: 18 h left"


# -- /tickets ------------------------------------------------------------------------------------
async def test_engineer_tickets_grouped_overdue_first_and_each_line_opens_its_card(tmp_path: Path,
                                                                                   channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        assert (await ask(w, ENG, "/tickets")).text == "You have no open tickets."

        fresh = await make(w, TicketStatus.ACCEPTED)
        late = await make(w, TicketStatus.ACCEPTED, at=T0 - timedelta(hours=30))  # arrival 6 h overdue
        resolved = await make(w, TicketStatus.RESOLVED)
        paused = await make(w, TicketStatus.PAUSED, at=T0 - timedelta(hours=2), done_at=T0 - timedelta(hours=1))
        closed = await make(w, TicketStatus.CLOSED, at=T0 - timedelta(days=2), done_at=T0 - timedelta(days=1))
        await make(w, TicketStatus.CLOSED, at=T0 - timedelta(days=12), done_at=T0 - timedelta(days=10))  # too old
        await make(w, TicketStatus.ACCEPTED, engineer=ENG2)  # someone else's

        listing = await ask(w, ENG, "/tickets")
        assert lines(listing) == [
            "Your tickets", "",
            "Mine (2)",
            f"⚠️ {late.number} · accepted · X200 · 1 Harbour Rd", LATE_CLOCKS,  # overdue first
            f"{fresh.number} · accepted · X200 · 1 Harbour Rd", ARRIVE_24H, "",
            "To follow (1)",
            f"{resolved.number} · resolved · X200 · 1 Harbour Rd", "",
            "Paused (1)",
            f"{paused.number} · paused (waiting for parts) · X200 · 1 Harbour Rd",
            # registered 08:30, paused 09:30: the clock stands at 47 h left, due 03-04 08:30 local
            "   ⏸ resolve by 08:30 the day after tomorrow: 47 h left (clocks stopped while paused)", "",
            "Closed in the last 7 days (1)",
            f"{closed.number} · closed 10:30 yesterday · X200 · 1 Harbour Rd",
        ]
        assert listing.buttons == [late.number, fresh.number, resolved.number, paused.number, closed.number]
        assert listing.button_data(late.number) == f"card:{late.id}"

        card = await press(w, ENG, listing, late.number)
        assert card.text.startswith(f"{late.number} · X200 · 1 Harbour Rd\nStatus: accepted")
        assert card.buttons == ["On my way"]
        # Another engineer pressing the same pointer learns nothing.
        theirs = await ask(w, ENG2, "/tickets")
        w.press_data(ENG2, theirs.id, f"card:{late.id}")
        [refused] = await w.expect(ENG2)
        assert refused.text == "That ticket is not (or no longer) available to you."


async def test_tickets_and_board_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, language="zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "李雷")
        fresh = await make(w, TicketStatus.ACCEPTED)
        late = await make(w, TicketStatus.ACCEPTED, at=T0 - timedelta(hours=30))
        new = await make(w, TicketStatus.NEW, engineer=None)
        complaint_id = await complaint(w, fresh, "工程师迟到了")

        listing = await ask(w, ENG, "/tickets")
        assert lines(listing) == [
            "您的工单", "",
            "我的工单（2）",
            f"⚠️ {late.number} · 已接单 · X200 · 1 Harbour Rd",
            "   ⏱ 到场时限 04:30：已超时 6 小时；解决时限 明天 04:30：剩余 18 小时",
            f"{fresh.number} · 已接单 · X200 · 1 Harbour Rd",
            "   ⏱ 到场时限 明天 10:30：剩余 24 小时；解决时限 后天 10:30：剩余 48 小时",
        ]
        board = await ask(w, SUP, "/board")
        assert lines(board) == [
            "工单看板 · North", "",
            "待答复的投诉（1）",
            f"{fresh.number} · 10:30 · 李雷：“工程师迟到了”", "",
            "我的工单（1）",
            f"{fresh.number} · 已接单 · X200 · 李雷",
            "   ⏱ 到场时限 明天 10:30：剩余 24 小时；解决时限 后天 10:30：剩余 48 小时", "",
            "待跟进（2）",
            f"⚠️ {late.number} · 已接单 · X200 · 李雷",
            "   ⏱ 到场时限 04:30：已超时 6 小时；解决时限 明天 04:30：剩余 18 小时",
            f"{new.number} · 新建 · X200 · 未派单",
            "   ⏱ 响应时限 11:30：剩余 1 小时；到场时限 明天 10:30：剩余 24 小时；解决时限 后天 10:30：剩余 48 小时",
        ]
        assert board.button_data(f"答复 {fresh.number}") == f"cpa:{complaint_id}"
        view = await press(w, SUP, board, late.number)  # the desk's ticket view, as /ticket shows it
        assert lines(view)[:2] == [f"工单：{late.number}", "状态：已接单"]  # full-width colons in Chinese
        # Bad input: a page that is not a number.
        w.press_data(SUP, board.id, "brd:x")
        [stale] = await w.expect(SUP)
        assert stale.text == "该按钮已过期。"


# -- /board --------------------------------------------------------------------------------------
async def test_desk_board_groups_team_tickets_and_complaints(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(MGR, Role.MANAGER, "Zhou Hua")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        await w.join(SOUTH_SUP, Role.SUPERVISOR, "Sun Qi", team="South")
        assert (await ask(w, SUP, "/board")).text == (
            "The board is empty: no open tickets, no complaints to answer, nothing closed in the last 7 days.")

        registered = await make(w, TicketStatus.ACCEPTED, by=DSP)                    # the dispatcher's own
        dispatched = await make(w, TicketStatus.ON_SITE, engineer=ENG2, dispatcher=DSP)  # dispatched by them
        others = await make(w, TicketStatus.ACCEPTED)                                # nobody's in particular
        late = await make(w, TicketStatus.ACCEPTED, at=T0 - timedelta(hours=30))    # overdue: to follow
        waiting = await make(w, TicketStatus.DISPATCHED, at=T0 - timedelta(minutes=90))  # not accepted, late
        new = await make(w, TicketStatus.NEW, engineer=None, by=DSP)
        paused = await make(w, TicketStatus.PAUSED, at=T0 - timedelta(hours=2), done_at=T0 - timedelta(hours=1))
        cancelled_at = T0 - timedelta(days=3)
        south = await make(w, TicketStatus.NEW, team="South", engineer=None)
        cancelled = await make(w, TicketStatus.NEW, engineer=None)
        first = await complaint(w, others, "Nobody called back", at=T0 - timedelta(days=1))
        second = await complaint(w, late, "The engineer is late")
        await complaint(w, others, "Answered already", answered=True)
        await complaint(w, south, "South's own")
        async with w.app.db.write() as s:
            row = await s.get(Ticket, cancelled.id)
            apply_action(s, row, Action.CANCEL, now=cancelled_at, reason="duplicate", clocks=w.app.sla)

        board = await ask(w, SUP, "/board")
        assert lines(board) == [
            "Board — team North", "",
            "Complaints to answer (2)",
            f"{others.number} · 10:30 yesterday · Li Lei: “Nobody called back”",  # oldest first
            f"{late.number} · 10:30 · Li Lei: “The engineer is late”", "",
            "Mine (3)",  # the supervisor's: the whole team's jobs under way
            f"{registered.number} · accepted · X200 · Li Lei", ARRIVE_24H,  # soonest clock first
            f"{others.number} · accepted · X200 · Li Lei", ARRIVE_24H,
            f"{dispatched.number} · on site · X200 · Zhao Min", "   ⏱ resolve by 10:30 the day after tomorrow: 48 h left", "",
            "To follow (3)",
            f"⚠️ {late.number} · accepted · X200 · Li Lei", LATE_CLOCKS,
            f"⚠️ {waiting.number} · dispatched · X200 · Li Lei",
            "   ⏱ respond by 10:00: overdue by 30 min; arrive by 09:00 tomorrow: 22 h 30 min left; "
            "resolve by 09:00 the day after tomorrow: 46 h 30 min left",
            f"{new.number} · new · X200 · not assigned",
            "   ⏱ respond by 11:30: 1 h left; arrive by 10:30 tomorrow: 24 h left; resolve by 10:30 the day after tomorrow: 48 h left",
            "", "Page 1 of 2",
        ]
        labels = board.buttons
        assert labels == [f"Answer {others.number}", f"Answer {late.number}", registered.number,
                          others.number, dispatched.number, late.number, waiting.number, new.number, "Next ▶"]
        assert board.button_data(f"Answer {others.number}") == f"cpa:{first}"
        assert board.button_data(f"Answer {late.number}") == f"cpa:{second}"
        assert board.button_data(late.number) == f"bdt:{late.id}"
        page2 = await press(w, SUP, board, "Next ▶")
        if w.driver.platform == "telegram":  # edited in place (WeCom: nine buttons make page 1 text,
            assert page2.id == board.id      # its ▶ a typed command, answered with a new message)
        assert lines(page2) == [
            "Board — team North", "",
            "Paused (1)",
            f"{paused.number} · paused (waiting for parts) · X200 · Li Lei",
            "   ⏸ resolve by 08:30 the day after tomorrow: 47 h left (clocks stopped while paused)", "",
            "Closed in the last 7 days (1)",
            f"{cancelled.number} · cancelled 02-27 10:30 · X200 · not assigned", "",
            "Page 2 of 2",
        ]
        assert page2.buttons == [paused.number, cancelled.number, "◀ Previous"]

        # The dispatcher's "mine": only what they registered or dispatched.
        mine = lines(await ask(w, DSP, "/board"))
        assert mine[6:11] == ["Mine (2)", f"{registered.number} · accepted · X200 · Li Lei", ARRIVE_24H,
                              f"{dispatched.number} · on site · X200 · Zhao Min",
                              "   ⏱ resolve by 10:30 the day after tomorrow: 48 h left"]
        assert (await ask(w, MGR, "/board")).text.startswith("Board — team North\n\nComplaints to answer (2)")

        # A supervisor of another team sees theirs only, and cannot open North's tickets.
        theirs = await ask(w, SOUTH_SUP, "/board")
        assert lines(theirs) == [
            "Board — team South", "", "Complaints to answer (1)",
            f"{south.number} · 10:30 · not assigned: “South's own”",
            "", "To follow (1)", f"{south.number} · new · X200 · not assigned",
            "   ⏱ respond by 11:30: 1 h left; arrive by 10:30 tomorrow: 24 h left; resolve by 10:30 the day after tomorrow: 48 h left"]
        w.press_data(SOUTH_SUP, theirs.id, f"bdt:{late.id}")
        [refused] = await w.expect(SOUTH_SUP)
        assert refused.text == "That ticket is not (or no longer) available to you."


# -- paging --------------------------------------------------------------------------------------
@pytest.mark.telegram  # in place: on WeCom a page of more than 6 buttons is a text, which cannot be edited
async def test_long_lists_are_paged_in_place_and_forged_pages_are_clamped(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        tickets = [await make(w, TicketStatus.ACCEPTED, at=T0 - timedelta(minutes=n)) for n in range(10)]
        # Registered a minute apart: the oldest is due soonest, so it comes first.
        order = [t.number for t in reversed(tickets)]

        listing = await ask(w, ENG, "/tickets")
        assert lines(listing)[:3] == ["Your tickets", "", "Mine (10)"]
        assert lines(listing)[-2:] == ["", "Page 1 of 2"]
        assert listing.buttons == order[:8] + ["Next ▶"]

        page2 = await press(w, ENG, listing, "Next ▶")
        assert page2.id == listing.id  # the same message, edited
        assert lines(page2) == [
            "Your tickets", "", "Mine (10)",
            f"{order[8]} · accepted · X200 · 1 Harbour Rd",
            "   ⏱ arrive by 10:29 tomorrow: 23 h 59 min left; resolve by 10:29 the day after tomorrow: 47 h 59 min left",
            f"{order[9]} · accepted · X200 · 1 Harbour Rd",
            "   ⏱ arrive by 10:30 tomorrow: 24 h left; resolve by 10:30 the day after tomorrow: 48 h left",
            "", "Page 2 of 2"]
        assert page2.buttons == order[8:] + ["◀ Previous"]
        back = await press(w, ENG, page2, "◀ Previous")
        assert back.text == listing.text and back.buttons == listing.buttons

        # A forged page number is clamped to the pages there are; garbage is refused.
        w.press_data(ENG, listing.id, "tks:99")
        await w.settle()
        assert lines(w.current(ENG, listing))[-1] == "Page 2 of 2"
        w.press_data(ENG, listing.id, "tks:0")
        await w.settle()
        assert lines(w.current(ENG, listing))[-1] == "Page 1 of 2"
        w.press_data(ENG, listing.id, "tks:-1")
        [stale] = await w.expect(ENG)
        assert stale.text == "That button is out of date."
        # Typed as a command (channels without buttons): answered as a new message.
        typed = await ask(w, ENG, "/_tks_2")
        assert typed.id != listing.id and lines(typed)[-1] == "Page 2 of 2"

        # The list shrinks under a stale ▶: the last page there is now is shown.
        async with w.app.db.write() as s:
            for t in tickets[:3]:
                apply_action(s, await s.get(Ticket, t.id), Action.CANCEL, now=T0 - timedelta(days=10),
                             reason="duplicate", clocks=w.app.sla)  # long enough ago to leave the view
        assert "Next ▶" in w.current(ENG, listing).buttons  # still showing page 1 of 2
        again = await press(w, ENG, w.current(ENG, listing), "Next ▶")
        assert lines(again)[2] == "Mine (7)" and "Page" not in again.text

        # Long registered fields are cut, so a full page stays one chat message.
        address = "Building 7, Harbour Industrial Park, " * 10
        for _ in range(8):
            await make(w, TicketStatus.PAUSED, model="Model " * 20, address=address)
        full = await ask(w, ENG, "/tickets")
        assert f"· paused (waiting for parts) · {('Model ' * 7)[:39]}… · Building 7, Harbour Industrial Park, Bu…" \
            in full.text
        assert len(full.text) < 4096


# -- who may see what ----------------------------------------------------------------------------
async def test_views_refuse_the_wrong_roles(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        ticket = await make(w, TicketStatus.ACCEPTED)
        await join_customer(w, CUST, ticket, "Mr Lin")
        assert {"board", "pending"} <= w.menu(SUP) and "board" in w.menu(DSP) and "pending" not in w.menu(DSP)
        assert "tickets" in w.menu(ENG) and not {"board", "pending"} & (w.menu(ENG) | w.menu(CUST))
        refused = "You can't do that with your role."
        assert (await ask(w, ENG, "/board")).text == refused
        assert (await ask(w, CUST, "/pending")).text == refused
        assert (await ask(w, CUST, "/board")).text == refused
        assert (await ask(w, CUST, "/tickets")).text == refused
        assert (await ask(w, DSP, "/pending")).text == refused
        assert (await ask(w, SUP, "/tickets")).text == refused
        # Buttons are pointers: the role is checked again when pressed.
        mine = await ask(w, ENG, "/tickets")
        for data in ("brd:1", f"bdt:{ticket.id}", "pnd:1"):
            w.press_data(ENG, mine.id, data)
            [reply] = await w.expect(ENG)
            assert reply.text == refused
        board = await ask(w, SUP, "/board")
        w.press_data(SUP, board.id, "tks:1")
        [reply] = await w.expect(SUP)
        assert reply.text == refused
        assert w.current(SUP, board).text == board.text  # nothing edited
        w.press_data(CUST, last_message(w, CUST).id, f"bdt:{ticket.id}")
        [reply] = await w.expect(CUST)
        assert reply.text == refused


def last_message(w: World, uid: int) -> Message:
    return w.messages(uid)[-1]


# -- /pending ------------------------------------------------------------------------------------
async def test_pending_lists_own_unacknowledged_checkins_oldest_first_and_acknowledges(tmp_path: Path,
                                                                                       channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(SOUTH_SUP, Role.SUPERVISOR, "Sun Qi", team="South")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min", team="South")
        assert (await ask(w, SUP, "/pending")).text == "No check-ins are waiting for your acknowledgement."
        north = await make(w, TicketStatus.ON_SITE)
        south = await make(w, TicketStatus.ON_SITE, team="South", engineer=ENG2)
        ids = []
        for minutes, text in ((90, "Arrived, starting"), (60, "Replaced the board"), (30, None)):
            w.clock.at = T0 - timedelta(minutes=minutes)
            ids.append(await checkin(w, ENG, north, text=text))
        w.clock.at = T0 - timedelta(minutes=45)
        await checkin(w, ENG2, south, text="South's own")
        w.clock.at = T0
        await w.quiet(SUP)
        await w.quiet(SOUTH_SUP)

        pending = await ask(w, SUP, "/pending")
        assert lines(pending) == [
            "Check-ins waiting for your acknowledgement (3), oldest first:",
            f"1. Li Lei · arrival · {north.number} · 09:00", "   “Arrived, starting”",
            f"2. Li Lei · arrival · {north.number} · 09:30", "   “Replaced the board”",
            f"3. Li Lei · arrival · {north.number} · 10:00",
        ]
        assert pending.buttons == ["Acknowledge 1", "Acknowledge 2", "Acknowledge 3"]
        assert pending.button_data("Acknowledge 1") == f"ack:{ids[0]}"

        await w.quiet(ENG)
        reply = await press(w, SUP, pending, "Acknowledge 1")
        assert reply.text == f"Check-in on {north.number} acknowledged at 10:30."
        row = await ack_row(w, ids[0])
        assert row.acked_at == T0 and row.acked_by_id == await pid(w, SUP)
        [told] = await w.expect(ENG)
        assert told.text == f"Wang Wei acknowledged your arrival check-in on {north.number} at 10:30."
        # Pressed again: nothing changes, and it says so.
        again = await press(w, SUP, pending, "Acknowledge 1")
        assert again.text == "Already acknowledged by Wang Wei at 10:30."

        assert lines(await ask(w, SUP, "/pending"))[:2] == [
            "Check-ins waiting for your acknowledgement (2), oldest first:",
            f"1. Li Lei · arrival · {north.number} · 09:30"]
        # The other team's supervisor sees only their own, and cannot acknowledge North's.
        theirs = await ask(w, SOUTH_SUP, "/pending")
        assert lines(theirs) == ["Check-ins waiting for your acknowledgement (1), oldest first:",
                                 f"1. Zhao Min · arrival · {south.number} · 09:45", "   “South's own”"]
        w.press_data(SOUTH_SUP, theirs.id, f"ack:{ids[1]}")
        [refused] = await w.expect(SOUTH_SUP)
        assert refused.text == "This check-in is waiting for another supervisor's acknowledgement."
        assert (await ack_row(w, ids[1])).acked_at is None


async def test_pending_in_chinese_is_paged(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, language="zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "李雷")
        ticket = await make(w, TicketStatus.ON_SITE)
        for n in range(9):
            w.clock.at = T0 - timedelta(minutes=10 * (9 - n))
            await checkin(w, ENG, ticket, text=f"第 {n + 1} 次进展")
        w.clock.at = T0
        await w.quiet(SUP)
        first = await ask(w, SUP, "/pending")
        assert lines(first)[:3] == ["待您确认的签到和汇报（9 条），按时间先后排列：",
                                    f"1. 李雷 · 到场签到 · {ticket.number} · 09:00", "   “第 1 次进展”"]
        assert lines(first)[-2:] == ["", "第 1 页，共 2 页"]
        assert first.buttons == [f"确认 {n}" for n in range(1, 9)] + ["下一页 ▶"]
        second = await press(w, SUP, first, "下一页 ▶")
        if w.driver.platform == "telegram":  # edited in place (WeCom: page 1 is text, ▶ a typed command)
            assert second.id == first.id
        assert lines(second) == ["待您确认的签到和汇报（9 条），按时间先后排列：",
                                 f"9. 李雷 · 到场签到 · {ticket.number} · 10:20", "   “第 9 次进展”",
                                 "", "第 2 页，共 2 页"]
        assert second.buttons == ["确认 9", "◀ 上一页"]
        reply = await press(w, SUP, second, "确认 9")
        assert reply.text == f"{ticket.number} 的汇报已于 10:30 确认。"


# -- the queries use the indexes -----------------------------------------------------------------
async def test_view_queries_read_by_index(tmp_path: Path, channel: str) -> None:
    """The open groups, pending acknowledgements and complaints are found through indexes, not by
    reading every ticket (SQLite's own query plan, taken with the real parameters)."""
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        async with w.app.db.read() as s:
            eng, sup, dsp = [await s.get(Person, await pid(w, uid)) for uid in (ENG, SUP, DSP)]
        engineer = {g.name: g for g in q.engineer_groups(eng, T0)}
        desk = {g.name: g for g in q.desk_groups(sup, T0)}
        for stmt in (q.group_select(engineer["mine"]), q.group_select(engineer["closed"])):
            assert "USING INDEX ix_tickets_status_assignee" in await plan(w, stmt)
        for group in (*desk.values(), *q.desk_groups(dsp, T0)):
            assert "SCAN tickets" not in await plan(w, q.group_select(group)), group.name
        assert "USING INDEX ix_ack_supervisor_open" in await plan(w, q.pending_select(sup))
        complaints = await plan(w, q.open_complaints(sup))
        assert "SCAN" not in complaints and "USING INDEX" in complaints


async def plan(w: World, stmt) -> str:  # noqa: ANN001
    """``EXPLAIN QUERY PLAN`` of ``stmt`` as SQLAlchemy sends it (parameters processed as usual)."""
    engine = w.app.db.reader.sync_engine

    def explain(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001, ANN202
        return "EXPLAIN QUERY PLAN " + statement, parameters

    event.listen(engine, "before_cursor_execute", explain, retval=True)
    try:
        async with w.app.db.read() as s:
            conn = await s.connection()
            rows = (await conn.execute(stmt)).fetchall()
            return " | ".join(str(row[-1]) for row in rows)
    finally:
        event.remove(engine, "before_cursor_execute", explain)
