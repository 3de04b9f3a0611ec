"""Dispatch suggestions and **Reassign** on any open ticket, end to end (emulator + the real bot on
each channel + SQLite): the picker ordered by load then distance with each engineer's distance and the
age of their location; ``/ticket``'s **Reassign** button and ``/reassign NUMBER`` asking a reason,
then the suggestions; the old engineer told and their buttons stale, the new one's card accepted;
the reason in the event log and the timeline; both languages; bad input, people who must not,
and tickets that cannot be reassigned change nothing.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from bot.app import FixedClock
from models.enums import Action, Role, ServiceType, TicketStatus
from models.invites import team_by_name
from models.people import Person
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from tests.support.cast import join_customer, pid
from tests.support.chat import last_id
from tests.support.tickets import checkin, events, get, move, new_ticket
from tests.support.world import T0, World

SUP, DSP, ENG, ENG2, ENG3, ENG4, CUST = 400, 401, 402, 403, 404, 405, 406
SOUTH_SUP, SOUTH_ENG, MGR = 410, 411, 412
#: People's Square, Shanghai; Zhao Min was last seen in Pudong, ~2.7 km away.
SITE = (31.2304, 121.4737)
PUDONG = (31.2397, 121.4998)
ORDER_HINT = ("Least busy first; among equally busy, nearest to the site "
              "(from each engineer's last check-in location).")


def world(tmp_path: Path, channel: str, language: str = "en") -> World:
    """The scheduler is off: the clock is moved by hand and no chase should join in."""
    return World(tmp_path, channel, language=language, clock=FixedClock(T0),
                 extra_config="[scheduler]\nenabled = false\n")


async def sited_ticket(w: World, address: str = "1 Harbour Rd") -> Ticket:
    """A ticket whose site has coordinates (registration recorded them)."""
    async with w.app.db.write() as s:
        team = await team_by_name(s, "North", create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address=address, model="X200",
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=team.id,
                           lat=SITE[0], lon=SITE[1])
        return await register_ticket(s, reg, now=w.clock.now(), today=date(2026, 3, 2), warranty=timedelta(days=365))


async def place(w: World, uid: int, where: tuple[float, float], at: datetime) -> None:
    """Set an engineer's last known location (as an arrival check-in elsewhere would have)."""
    async with w.app.db.write() as s:
        person = await s.get(Person, await pid(w, uid))
        person.last_lat, person.last_lon, person.last_located_at = where[0], where[1], at


async def test_suggestions_then_reassign_an_accepted_ticket_with_a_reason(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        await w.join(ENG3, Role.ENGINEER, "Wu Fang")
        await w.join(ENG4, Role.ENGINEER, "Ma Chao")
        ticket = await sited_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")
        eng, eng2, sup = await pid(w, ENG), await pid(w, ENG2), await pid(w, SUP)
        await place(w, ENG2, PUDONG, T0 - timedelta(hours=2))
        # Wu Fang is on another job next door: busy (1 open), and his arrival check-in there
        # (the real helper) is what records his location.
        busy = await new_ticket(w, address="2 Harbour Rd", phone="+8613800000009", customer="Beta Co")
        await move(w, busy, Action.DISPATCH, assignee_id=await pid(w, ENG3))
        await move(w, busy, Action.ACCEPT, Action.DEPART, Action.ARRIVE)
        await checkin(w, ENG3, busy)
        await w.quiet(SUP)

        # /dispatch: least busy first, then nearest; unknown locations after known ones.
        w.say(DSP, f"/dispatch {n}")
        [picker] = await w.expect(DSP)
        assert picker.text == f"Dispatch {n} (X200, 1 Harbour Rd) to which engineer?\n{ORDER_HINT}"
        assert picker.buttons == ["Zhao Min · 0 open · 3 km · 2 h ago", "Li Lei · 0 open",
                                  "Ma Chao · 0 open", "Wu Fang · 1 open · <1 km · just now"]
        w.press(DSP, picker, "Li Lei · 0 open")
        await w.expect(DSP)
        [card] = await w.expect(ENG)
        w.press(ENG, card, "Accept")
        [eng_card] = await w.expect(ENG)
        assert "On my way" in eng_card.buttons
        await w.expect(DSP)  # Li Lei accepted
        await w.expect(CUST)

        # Half an hour later the supervisor reassigns it from the /ticket view.
        w.clock.at = T0 + timedelta(minutes=30)
        w.say(SUP, f"/ticket {n}")
        [view] = await w.expect(SUP)
        assert view.buttons[:3] == ["Reassign", "Edit", "Cancel ticket"]
        w.press(SUP, view, "Reassign")
        [ask] = await w.expect(SUP)
        assert ask.text == (f"Reassign {n} (accepted, with Li Lei): why? Send a short reason, "
                            "or /cancel to leave it with Li Lei.")
        # No reason (a photo, a location), then too long: asked again, nothing changes.
        w.send_photo(SUP)
        w.send_location(SUP, *SITE)
        w.say(SUP, "x" * 501)
        assert [m.text for m in await w.expect(SUP, 3)] == [
            f"A reason is needed to reassign {n}. Please type it (or /cancel).",
            f"A reason is needed to reassign {n}. Please type it (or /cancel).",
            "Please keep the reason under 500 characters."]
        assert (await get(w, Ticket, ticket.id)).assignee_id == eng

        w.say(SUP, "Customer asked for the Pudong engineer")
        [pick] = await w.expect(SUP)
        assert pick.text == (f"Reassign {n} (X200, 1 Harbour Rd) from Li Lei to which engineer?\n"
                             f"Reason: Customer asked for the Pudong engineer\n{ORDER_HINT}")
        assert pick.buttons == ["Zhao Min · 0 open · 3 km · 2 h ago", "Ma Chao · 0 open",
                                "Wu Fang · 1 open · <1 km · 30 min ago"]  # not Li Lei himself
        w.say(SUP, "Zhao Min please")
        [hint] = await w.expect(SUP)
        assert hint.text == "Please choose the engineer with a button above, or /cancel."
        # Forged: Li Lei himself, someone who is not an engineer.
        w.press_data(SUP, pick.id, f"rsw:{ticket.id}:{eng}")
        w.press_data(SUP, pick.id, f"rsw:{ticket.id}:{await pid(w, DSP)}")
        assert [m.text for m in await w.expect(SUP, 2)] == [
            f"{n} is already with Li Lei.", f"That engineer is not an active engineer of {n}'s team."]
        assert (await get(w, Ticket, ticket.id)).assignee_id == eng

        w.press(SUP, pick, "Zhao Min · 0 open · 3 km · 2 h ago")
        [done] = await w.expect(SUP)
        assert done.text == f"{n} reassigned from Li Lei to Zhao Min. I'll tell you when they accept or decline."
        assert w.current(SUP, pick).text == f"{n}: Zhao Min chosen."
        assert w.current(SUP, pick).buttons == []
        [told] = await w.expect(ENG)
        assert told.text == (f"Wang Wei has taken {n} off you and given it to another engineer. "
                             "You no longer need to work on it.")
        [new_card] = await w.expect(ENG2)
        assert new_card.text.startswith(f"New job for you:\n{n} · X200 · 1 Harbour Rd\nStatus: dispatched")
        assert new_card.buttons == ["Accept", "Decline"]
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id, row.accepted_at) == (TicketStatus.DISPATCHED, eng2, None)
        last = (await events(w, ticket))[-1]
        assert (last.action, last.actor_id, last.from_status, last.details["reason"],
                last.details["from_assignee_id"], last.details["assignee_id"]) == (
            Action.REASSIGN, sup, TicketStatus.ACCEPTED, "Customer asked for the Pudong engineer", eng, eng2)

        # Li Lei's stale buttons (the old card's Accept, his job card's On my way) are refused.
        w.press_data(ENG, card.id, card.button_data("Accept"))
        w.press_data(ENG, eng_card.id, eng_card.button_data("On my way"))
        assert [m.text for m in await w.expect(ENG, 2)] == [
            "That ticket is not (or no longer) available to you."] * 2
        # The used picker is stale too: the dialog is over.
        w.press_data(SUP, pick.id, f"rsw:{ticket.id}:{await pid(w, ENG4)}")
        assert [m.text for m in await w.expect(SUP)] == [
            f"That list is out of date. Start again with /reassign {n}."]
        assert (await get(w, Ticket, ticket.id)).assignee_id == eng2

        # Zhao Min accepts: the one who reassigned hears it, the customer too.
        w.clock.at = T0 + timedelta(minutes=40)
        w.press(ENG2, new_card, "Accept")
        await w.expect(ENG2)
        [accepted] = await w.expect(SUP)
        assert accepted.text == f"Zhao Min accepted {n}."
        [pushed] = await w.expect(CUST)
        assert pushed.text == f"Engineer Zhao Min accepted your ticket {n}."
        assert (await get(w, Ticket, ticket.id)).status is TicketStatus.ACCEPTED

        w.say(DSP, f"/ticket {n}")
        [view] = await w.expect(DSP)
        assert "engineer: Zhao Min" in view.text
        assert view.text.endswith(
            "2026-03-02 10:30  Chen Jing dispatched the ticket to Li Lei\n"
            "2026-03-02 10:30  Li Lei accepted the ticket\n"
            "2026-03-02 11:00  Wang Wei reassigned the ticket to Zhao Min (from Li Lei)"
            " — reason: Customer asked for the Pudong engineer\n"
            "2026-03-02 11:10  Zhao Min accepted the ticket")
        assert view.buttons[:3] == ["Reassign", "Edit", "Cancel ticket"]


async def test_reassign_command_in_chinese_with_cancel_and_an_unknown_site(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(ENG, Role.ENGINEER, "李雷")
        await w.join(ENG2, Role.ENGINEER, "赵敏")
        await w.join(ENG3, Role.ENGINEER, "Wu Fang", lang="en")
        ticket = await new_ticket(w)  # registered without coordinates
        n = ticket.number
        eng, eng3 = await pid(w, ENG), await pid(w, ENG3)
        await place(w, ENG2, PUDONG, T0 - timedelta(days=3))
        await move(w, ticket, Action.DISPATCH, assignee_id=eng, actor_uid=DSP)
        await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.PAUSE, actor_uid=ENG)

        # /cancel at the reason: nothing changes.
        w.say(DSP, f"/reassign {n}")
        [ask] = await w.expect(DSP)
        assert ask.text == f"改派 {n}（已暂停，负责人：李雷）的原因是什么？请简要说明，或发送 /cancel 仍由李雷负责。"
        w.send_photo(DSP)
        [again] = await w.expect(DSP)
        assert again.text == f"改派 {n} 需要填写原因，请输入（或发送 /cancel）。"
        w.say(DSP, "/cancel")
        await w.expect(DSP)
        w.say(DSP, "随便说一句")
        [lost] = await w.expect(DSP)
        assert lost.text == "我没看懂。发送 /help 查看可用命令。"
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id) == (TicketStatus.PAUSED, eng)

        w.say(DSP, f"/reassign {n.lower()}")
        await w.expect(DSP)
        w.say(DSP, "李雷请病假")
        [pick] = await w.expect(DSP)
        # The site has no coordinates: by load only, no distances, no ordering note.
        assert pick.text == f"将 {n}（X200，1 Harbour Rd）从李雷改派给哪位工程师？\n原因：李雷请病假"
        assert pick.buttons == ["Wu Fang · 进行中 0", "赵敏 · 进行中 0"]
        w.press(DSP, pick, "Wu Fang · 进行中 0")
        [done] = await w.expect(DSP)
        assert done.text == f"{n} 已从李雷改派给Wu Fang。对方接单或拒单时会通知您。"
        [told] = await w.expect(ENG)
        assert told.text == f"陈静已将 {n} 从您名下撤回，改派给其他工程师，您无需再处理该工单。"
        [card] = await w.expect(ENG3)  # the new engineer reads English
        assert card.text.startswith(f"New job for you:\n{n} · X200") and "Status: dispatched" in card.text
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id, row.paused_at) == (TicketStatus.DISPATCHED, eng3, None)

        # Li Lei's Resume (he was paused) is stale now.
        w.press_data(ENG, last_id(w, ENG), f"res:{ticket.id}")
        assert [m.text for m in await w.expect(ENG)] == ["您无权查看该工单（或已不再由您负责）。"]
        w.press(ENG3, card, "Accept")
        await w.expect(ENG3)
        [accepted] = await w.expect(DSP)
        assert accepted.text == f"Wu Fang已接单 {n}。"

        w.say(SUP, f"/ticket {n}")
        [view] = await w.expect(SUP)
        assert ("陈静将工单改派给Wu Fang（原为李雷），原因：李雷请病假\n"
                "2026-03-02 10:30  Wu Fang接单") in view.text
        assert view.buttons[:3] == ["改派", "修改工单", "取消工单"]


async def test_two_at_the_desk_reassign_once(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        await w.join(ENG3, Role.ENGINEER, "Wu Fang")
        ticket = await new_ticket(w)
        n = ticket.number
        await move(w, ticket, Action.DISPATCH, assignee_id=await pid(w, ENG), actor_uid=DSP)

        # Both start; the dispatcher is still typing when the supervisor finishes.
        w.say(DSP, f"/reassign {n}")
        w.say(SUP, f"/reassign {n}")
        await w.expect(DSP)
        await w.expect(SUP)
        w.say(SUP, "Li Lei is ill")
        [pick_sup] = await w.expect(SUP)
        w.clock.at = T0 + timedelta(minutes=5)
        w.press(SUP, pick_sup, "Wu Fang · 0 open")
        await w.expect(SUP)
        await w.expect(ENG3)
        w.say(DSP, "Li Lei is ill")
        [late] = await w.expect(DSP)
        assert late.text == (f"{n} changed hands meanwhile (now with Wu Fang), so nothing was done. "
                             f"Start again with /reassign {n} if it still needs it.")
        w.say(DSP, "Zhao Min")  # the dialog ended with the refusal
        [lost] = await w.expect(DSP)
        assert lost.text == "I'm not sure what you mean. Send /help to see what you can do."
        reassigned = [e for e in await events(w, ticket) if e.action is Action.REASSIGN]
        assert [(e.actor_id, e.details["reason"]) for e in reassigned] == [(await pid(w, SUP), "Li Lei is ill")]

        # Nobody else left in the team: the picker says so and the dialog ends.
        async with w.app.db.write() as s:
            (await s.get(Person, await pid(w, ENG2))).active = False
            (await s.get(Person, await pid(w, ENG))).active = False
        w.say(DSP, f"/reassign {n}")
        await w.expect(DSP)
        w.say(DSP, "Wu Fang is ill")
        [nobody] = await w.expect(DSP)
        assert nobody.text == "There is no other active engineer in team North."
        assert (await get(w, Ticket, ticket.id)).assignee_id == await pid(w, ENG3)


async def test_who_may_reassign_and_what(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        await w.join(MGR, Role.MANAGER, "Zhou Yu")
        await w.join(SOUTH_SUP, Role.SUPERVISOR, "Gao Fei", team="South")
        await w.join(SOUTH_ENG, Role.ENGINEER, "Sun Qi", team="South")
        ticket = await new_ticket(w)
        n = ticket.number
        await join_customer(w, CUST, ticket, "Mr Lin")
        eng, eng2 = await pid(w, ENG), await pid(w, ENG2)
        await move(w, ticket, Action.DISPATCH, assignee_id=eng, actor_uid=SUP)
        await move(w, ticket, Action.ACCEPT, actor_uid=ENG)

        # Engineers, customers and managers may not; the engineer's /ticket has no Reassign.
        w.say(ENG, f"/reassign {n}")
        w.press_data(ENG, last_id(w, ENG), f"rsr:{ticket.id}")
        w.press_data(ENG, last_id(w, ENG), f"rsw:{ticket.id}:{eng2}")
        assert [m.text for m in await w.expect(ENG, 3)] == ["You can't do that with your role."] * 3
        w.say(CUST, f"/reassign {n}")
        w.say(MGR, f"/reassign {n}")
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(MGR)] == ["You can't do that with your role."]
        w.say(ENG, f"/ticket {n}")
        [view] = await w.expect(ENG)
        assert view.buttons == []

        # Another team's supervisor: the ticket does not exist for them, nor its buttons.
        w.say(SOUTH_SUP, f"/reassign {n}")
        w.press_data(SOUTH_SUP, last_id(w, SOUTH_SUP), f"rsr:{ticket.id}")
        w.press_data(SOUTH_SUP, last_id(w, SOUTH_SUP), f"rsw:{ticket.id}:{await pid(w, SOUTH_ENG)}")
        assert [m.text for m in await w.expect(SOUTH_SUP, 3)] == [
            f"No ticket {n}.", "That ticket is not (or no longer) available to you.",
            "That ticket is not (or no longer) available to you."]

        # Our supervisor: no number, an unknown one, a forged picker without a dialog, another
        # team's engineer through a forged picker button.
        w.say(SUP, "/reassign")
        w.say(SUP, "/reassign FS-2026-999")
        w.press_data(SUP, last_id(w, SUP), f"rsw:{ticket.id}:{eng2}")
        assert [m.text for m in await w.expect(SUP, 3)] == [
            "Which ticket? Give its number, e.g. FS-2026-000123.", "No ticket FS-2026-999.",
            f"That list is out of date. Start again with /reassign {n}."]
        w.say(SUP, f"/reassign {n}")
        await w.expect(SUP)
        w.say(SUP, "testing")
        [pick] = await w.expect(SUP)
        assert pick.buttons == w.shown(["Zhao Min · 0 open"])
        w.press_data(SUP, pick.id, f"rsw:{ticket.id}:{await pid(w, SOUTH_ENG)}")
        assert [m.text for m in await w.expect(SUP)] == [f"That engineer is not an active engineer of {n}'s team."]
        w.say(SUP, "/cancel")
        await w.expect(SUP)
        row = await get(w, Ticket, ticket.id)
        assert (row.status, row.assignee_id) == (TicketStatus.ACCEPTED, eng)
        assert not [e for e in await events(w, ticket) if e.action is Action.REASSIGN]

        # A new ticket is dispatched, not reassigned; resolved, closed and cancelled ones stay put.
        fresh = await new_ticket(w, address="9 Pier St")
        w.say(SUP, f"/reassign {fresh.number}")
        assert [m.text for m in await w.expect(SUP)] == [
            f"{fresh.number} has no engineer yet; dispatch it with /dispatch {fresh.number}."]
        await move(w, ticket, Action.DEPART, Action.ARRIVE, Action.RESOLVE, actor_uid=ENG)
        w.say(SUP, f"/reassign {n}")
        w.press_data(SUP, last_id(w, SUP), f"rsr:{ticket.id}")
        assert [m.text for m in await w.expect(SUP, 2)] == [
            f"{n} is resolved; only open tickets can be reassigned."] * 2
        await move(w, ticket, Action.SIGN_OFF, Action.CLOSE, actor_uid=ENG)
        w.say(SUP, f"/ticket {n}")
        [view] = await w.expect(SUP)
        assert view.text.startswith(f"ticket: {n}\nstatus: closed") and view.buttons == ["Reopen", "Service report (PDF)"]
        w.say(SUP, f"/reassign {n}")
        w.press_data(SUP, view.id, f"rsr:{ticket.id}")
        assert [m.text for m in await w.expect(SUP, 2)] == [
            f"{n} is closed; only open tickets can be reassigned."] * 2
        await move(w, fresh, Action.DISPATCH, assignee_id=eng2, actor_uid=SUP)
        w.say(SUP, f"/reassign {fresh.number}")
        await w.expect(SUP)
        await move(w, fresh, Action.CANCEL, reason="duplicate")
        w.say(SUP, "Zhao Min is away")  # cancelled while the reason was being typed
        assert [m.text for m in await w.expect(SUP)] == [
            f"{fresh.number} is cancelled; only open tickets can be reassigned."]
        assert (await get(w, Ticket, ticket.id)).status is TicketStatus.CLOSED
        assert (await get(w, Ticket, fresh.id)).status is TicketStatus.CANCELLED
