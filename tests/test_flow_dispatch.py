"""Dispatching end to end (emulator + the real bot on each channel + SQLite): ``/dispatch`` list and picker,
the dispatch card's Accept / Decline (with a reason), ``/ticket``; both languages; forged, foreign
and stale buttons change nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.flows import dispatch as dispatch_flow
from models.enums import Action, Role, TicketStatus
from models.people import Person
from models.tickets import Ticket
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import events, get, move, new_ticket
from tests.support.world import T0, world


# -- the tests -----------------------------------------------------------------------------------
SUP, DSP, ENG, ENG2, CUST, FOREIGN_ENG = 100, 101, 102, 103, 104, 105


# Also on PostgreSQL (``db_url``), one of the handful of end-to-end scenarios CI runs on both databases.
async def test_dispatch_from_the_list_then_accept(tmp_path: Path, channel: str, db_url: str,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    async with world(tmp_path, channel, db_url=db_url) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        await w.join(FOREIGN_ENG, Role.ENGINEER, "Sun Qi", team="South")
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        eng, eng2 = await pid(w, ENG), await pid(w, ENG2)

        w.say(DSP, "/dispatch")
        [listing] = await w.expect(DSP)
        assert listing.text == ("New tickets waiting for dispatch (most severe first):\n"
                                f"{ticket.number} · severity 2 · X200 · 1 Harbour Rd")
        w.press(DSP, listing, ticket.number)
        [picker] = await w.expect(DSP)
        assert picker.text == f"Dispatch {ticket.number} (X200, 1 Harbour Rd) to which engineer?"
        assert picker.buttons == ["Li Lei · 0 open", "Zhao Min · 0 open"]  # not the South engineer
        assert picker.button_data("Li Lei · 0 open") == f"dsp:{ticket.id}:{eng}"

        w.press(DSP, picker, "Li Lei · 0 open")
        [done] = await w.expect(DSP)
        assert done.text == (f"{ticket.number} dispatched to Li Lei. "
                             "I'll tell you when they accept or decline.")
        assert w.current(DSP, picker).text == f"{ticket.number}: Li Lei chosen."
        assert w.current(DSP, picker).buttons == []
        [card] = await w.expect(ENG)
        assert card.text.startswith(f"New job for you:\n{ticket.number} · X200 · 1 Harbour Rd\nStatus: dispatched")
        assert card.buttons == ["Accept", "Decline"]
        assert await w.quiet(ENG2) == [] and await w.quiet(SUP) == []

        # The stale picker pressed again: the ticket is taken, nothing changes.
        w.press_data(DSP, picker.id, f"dsp:{ticket.id}:{eng2}")
        [reply] = await w.expect(DSP)
        assert reply.text == f"{ticket.number} is already dispatched (engineer: Li Lei)."
        # Another engineer forging the accept, and a made-up ticket.
        w.press_data(ENG2, last_id(w, ENG2), f"acc:{ticket.id}")
        w.press_data(ENG, card.id, "acc:999")
        assert [m.text for m in await w.expect(ENG2)] == ["That ticket is not (or no longer) available to you."]
        assert [m.text for m in await w.expect(ENG)] == ["That ticket is not (or no longer) available to you."]
        assert (await get(w, Ticket, ticket.id)).assignee_id == eng

        w.press(ENG, card, "Accept")
        [eng_card] = await w.expect(ENG)
        assert eng_card.text.startswith(f"{ticket.number} · X200 · 1 Harbour Rd\nStatus: accepted")
        assert "On my way" in eng_card.buttons
        assert w.current(ENG, card).text == f"You accepted {ticket.number}."
        assert w.current(ENG, card).buttons == []
        [pushed] = await w.expect(CUST)
        assert pushed.text == f"Engineer Li Lei accepted your ticket {ticket.number}."
        [told] = await w.expect(DSP)
        assert told.text == f"Li Lei accepted {ticket.number}."
        assert await w.quiet(SUP) == []

        # Accepting twice: the lifecycle says no, nothing changes.
        w.press_data(ENG, card.id, f"acc:{ticket.id}")
        [again] = await w.expect(ENG)
        assert again.text == "Cannot accept this ticket: it is accepted (on-site)."
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id, row.accepted_at) == (TicketStatus.ACCEPTED, eng, T0)
        kinds = [(e.kind, e.action, e.actor_id) for e in await events(w, ticket)]
        assert kinds == [("registered", None, None), ("customer_joined", None, await pid(w, CUST)),
                         ("transition", Action.DISPATCH, await pid(w, DSP)), ("transition", Action.ACCEPT, eng)]

        # /ticket: fields and timeline in the team's time zone, for the dispatcher and the engineer.
        w.say(DSP, f"/ticket {ticket.number.lower()}")
        [view] = await w.expect(DSP)
        assert view.text.startswith(f"ticket: {ticket.number}\nstatus: accepted\nregistered: 2026-03-02 10:30\n"
                                    "time zone: Beijing time (UTC+8)\ncustomer: Acme Ltd\n")
        assert "engineer: Li Lei" in view.text
        assert view.text.endswith(
            "Timeline:\n2026-03-02 10:30  The system registered the ticket\n"
            "2026-03-02 10:30  Mr Lin joined through the customer link\n"
            "2026-03-02 10:30  Chen Jing dispatched the ticket to Li Lei\n"
            "2026-03-02 10:30  Li Lei accepted the ticket")
        w.say(ENG, f"/ticket {ticket.number}")
        [view] = await w.expect(ENG)
        assert view.text.startswith(f"ticket: {ticket.number}\n")
        w.say(ENG2, f"/ticket {ticket.number}")
        w.say(FOREIGN_ENG, f"/ticket {ticket.number}")
        assert [m.text for m in await w.expect(ENG2)] == [f"No ticket {ticket.number}."]
        assert [m.text for m in await w.expect(FOREIGN_ENG)] == [f"No ticket {ticket.number}."]

        w.say(DSP, "/dispatch")
        [empty] = await w.expect(DSP)
        assert empty.text == "No new tickets are waiting for dispatch."

        # A long list is cut; the most severe come first.
        monkeypatch.setattr(dispatch_flow, "LIST_LIMIT", 2)
        more = [await new_ticket(w, severity=sev, address=f"{sev} Pier St") for sev in (3, 1, 4)]
        w.say(DSP, "/dispatch")
        [listing] = await w.expect(DSP)
        assert listing.text.split("\n")[1:] == [
            f"{more[1].number} · severity 1 · X200 · 1 Pier St", f"{more[0].number} · severity 3 · X200 · 3 Pier St",
            "…and 1 more. Dispatch those with /dispatch NUMBER."]
        assert listing.buttons == [more[1].number, more[0].number]


async def test_decline_asks_a_reason_and_returns_the_ticket_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(ENG2, Role.ENGINEER, "赵敏", lang="en")
        ticket = await new_ticket(w)
        eng = await pid(w, ENG)

        w.say(SUP, f"/dispatch {ticket.number}")
        [picker] = await w.expect(SUP)
        assert picker.text == f"将 {ticket.number}（X200，1 Harbour Rd）派给哪位工程师？"
        assert picker.buttons == ["李雷 · 进行中 0", "赵敏 · 进行中 0"]
        w.press(SUP, picker, "李雷 · 进行中 0")
        [done] = await w.expect(SUP)
        assert done.text == f"{ticket.number} 已派给李雷。对方接单或拒单时会通知您。"
        [card] = await w.expect(ENG)
        assert card.text.startswith(f"您有新的派单：\n{ticket.number} · X200")
        assert card.buttons == ["接单", "拒单"]

        w.press(ENG, card, "拒单")
        [ask] = await w.expect(ENG)
        assert ask.text == f"您为什么不能接 {ticket.number}？请简要说明原因（或发送 /cancel 保留此工单）。"
        w.send_photo(ENG)  # not a reason: asked again, nothing changes
        [again] = await w.expect(ENG)
        assert again.text == f"拒单 {ticket.number} 需要填写原因，请输入（或发送 /cancel）。"
        assert (await get(w, Ticket, ticket.id)).status is TicketStatus.DISPATCHED

        w.say(ENG, "今天在外地，赶不回来")
        [declined] = await w.expect(ENG)
        assert declined.text == f"您已拒单 {ticket.number}，已通知派单人。"
        assert w.current(ENG, card).text == f"您已拒单 {ticket.number}。"
        assert w.current(ENG, card).buttons == []
        [told] = await w.expect(SUP)
        assert told.text == (f"李雷拒单 {ticket.number}：今天在外地，赶不回来\n"
                             f"发送 /dispatch {ticket.number} 重新选择工程师。")
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id) == (TicketStatus.NEW, None)
        last = (await events(w, ticket))[-1]
        assert (last.action, last.actor_id, last.details["reason"], last.details["engineer_id"]) == \
            (Action.DECLINE, eng, "今天在外地，赶不回来", eng)
        w.say(SUP, f"/ticket {ticket.number}")  # the timeline reads as sentences, in Chinese
        [view] = await w.expect(SUP)
        assert view.text.endswith("  王伟派单给李雷\n2026-03-02 10:30  李雷拒单，原因：今天在外地，赶不回来")

        # The old card is stale now; the dialog is over, so plain text is not a reason any more.
        w.press_data(ENG, card.id, f"acc:{ticket.id}")
        w.say(ENG, "还有一句")
        replies = await w.expect(ENG, 2)
        assert [r.text for r in replies] == ["您无权查看该工单（或已不再由您负责）。", "我没看懂。发送 /help 查看可用命令。"]

        # Dispatch again, to the English-speaking engineer: their card is in English.
        w.say(SUP, f"/dispatch {ticket.number}")
        [picker] = await w.expect(SUP)
        w.press(SUP, picker, "赵敏 · 进行中 0")
        await w.expect(SUP)
        [card] = await w.expect(ENG2)
        assert card.text.startswith("New job for you:") and card.buttons == ["Accept", "Decline"]
        # Decline then /cancel keeps the job.
        w.press(ENG2, card, "Decline")
        await w.expect(ENG2)
        w.say(ENG2, "/cancel")
        await w.expect(ENG2)
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id) == (TicketStatus.DISPATCHED, await pid(w, ENG2))


async def test_who_may_dispatch_and_to_whom(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(FOREIGN_ENG, Role.ENGINEER, "Sun Qi", team="South")
        await w.join(106, Role.DISPATCHER, "Gao Fei", team="South")
        ticket = await new_ticket(w)
        south = await new_ticket(w, team="South", customer="Beta Co", phone="+8613800000002")
        await join_customer(w, CUST, ticket, "Mr Lin")
        foreign = await pid(w, FOREIGN_ENG)
        assert {"dispatch", "ticket"} <= w.menu(DSP) and {"dispatch", "ticket"} <= w.menu(SUP)
        assert "ticket" in w.menu(ENG) and "dispatch" not in w.menu(ENG)
        assert "status" in w.menu(CUST) and not {"dispatch", "ticket"} & w.menu(CUST)

        w.say(CUST, "/dispatch")
        w.say(ENG, f"/dispatch {ticket.number}")
        w.press_data(CUST, last_id(w, CUST), f"dsp:{ticket.id}:{await pid(w, ENG)}")
        assert [m.text for m in await w.expect(CUST, 2)] == ["You can't do that with your role."] * 2
        assert [m.text for m in await w.expect(ENG)] == ["You can't do that with your role."]
        w.say(CUST, f"/ticket {ticket.number}")
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]

        # Another team's ticket is invisible; another team's engineer cannot be chosen.
        w.say(DSP, f"/dispatch {south.number}")
        w.say(DSP, f"/ticket {south.number}")
        w.press_data(DSP, last_id(w, DSP), f"dspt:{south.id}")
        w.press_data(DSP, last_id(w, DSP), f"dsp:{ticket.id}:{foreign}")
        w.press_data(DSP, last_id(w, DSP), f"dsp:{ticket.id}:{await pid(w, DSP)}")
        w.press_data(DSP, last_id(w, DSP), f"dsp:{ticket.id}")
        w.say(DSP, "/dispatch FS-2026-999")
        assert [m.text for m in await w.expect(DSP, 7)] == [
            f"No ticket {south.number}.", f"No ticket {south.number}.", "That ticket is not (or no longer) available to you.",
            f"That engineer is not an active engineer of {ticket.number}'s team.",
            f"That engineer is not an active engineer of {ticket.number}'s team.",
            "That button is out of date.", "No ticket FS-2026-999."]
        # A team without engineers says so.
        w.say(106, f"/dispatch {south.number}")
        [picker] = await w.expect(106)
        assert picker.buttons == w.shown(["Sun Qi · 0 open"])
        async with w.app.db.write() as s:
            (await s.get(Person, foreign)).active = False
        w.press(106, picker, "Sun Qi · 0 open")
        w.say(106, f"/dispatch {south.number}")
        assert [m.text for m in await w.expect(106, 2)] == [
            f"That engineer is not an active engineer of {south.number}'s team.",
            "There are no active engineers in team South."]
        for t in (ticket, south):
            row = await get(w, Ticket, t.id)
            assert (row.status, row.assignee_id) == (TicketStatus.NEW, None)
        assert [e.kind for e in await events(w, south)] == ["registered"]

        # A cancelled ticket cannot be dispatched.
        await move(w, ticket, Action.CANCEL, reason="duplicate")
        w.say(DSP, f"/dispatch {ticket.number}")
        [reply] = await w.expect(DSP)
        assert reply.text == "Cannot dispatch this ticket: it is cancelled (on-site)."
