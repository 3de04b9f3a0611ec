"""Pushes held for quiet hours are checked again when they come due: one whose ticket moved on in
the night is dropped, not sent; a newer push with the same supersede key replaces a waiting one;
in working hours every push goes out as written.

Team hours are Mon–Fri 08:30–22:00 in Shanghai; the night is Monday 2026-03-02 23:00 local.
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import select

from bot.app import FixedClock
from handlers.context import push
from handlers.messages import Msg
from models.enums import Action, OutboxStatus, Role, TicketStatus
from models.runtime import OutboxMessage
from models.still import applies, still
from models.tickets import Ticket
from models.transitions import apply_action
from tests.support.cast import DSP, ENG, ENG2, SUP, person_id, team
from tests.support.tickets import new_ticket, ticket
from tests.support.world import World

HOURS = "[bot.working_hours]\n" + "".join(f'{d} = "08:30-22:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))
NIGHT = datetime(2026, 3, 2, 15, 0, tzinfo=timezone.utc)  # Mon 23:00 in Shanghai
MORNING = datetime(2026, 3, 3, 0, 31, tzinfo=timezone.utc)  # Tue 08:31
OPENING = datetime(2026, 3, 3, 0, 30, tzinfo=timezone.utc)


def night_world(tmp_path: Path, channel: str) -> World:
    return World(tmp_path, channel, extra_config=HOURS, clock=FixedClock(NIGHT))


async def outbox(w: World, purpose: str) -> list[OutboxMessage]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(OutboxMessage).where(OutboxMessage.purpose == purpose)
                                     .order_by(OutboxMessage.id))).all())


async def say(w: World, person: int, text: str, *, key: str, valid_if=None, supersede=None) -> None:  # noqa: ANN001
    async with w.app.db.write() as s:
        await push(s, w.app, person, Msg("start.welcome_back", {"name": text}), purpose="test", ticket_id=None,
                   dedupe=key, now=w.clock.now(), valid_if=valid_if, supersede=supersede)


async def test_a_push_whose_ticket_moved_on_in_the_night_is_dropped(tmp_path: Path, channel: str) -> None:
    w = night_world(tmp_path, channel)
    w.clock.at = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # set up in the day
    async with w:
        await team(w)
        t = await ticket(w, TicketStatus.ACCEPTED)
        eng = await person_id(w, "Li Lei")
        sup = await person_id(w, "Wang Wei")
        w.clock.at = NIGHT
        await say(w, eng, "still accepted", key="a", valid_if=still(ticket=t.id, status={TicketStatus.ACCEPTED},
                                                                      assignee=eng))
        await say(w, sup, "still with Li", key="b", valid_if=still(ticket=t.id, assignee=eng))
        await say(w, eng, "no condition", key="c")
        held = await outbox(w, "test")
        assert {r.not_before for r in held} == {OPENING}  # all three wait for the morning
        async with w.app.db.write() as s:  # the engineer sets off in the night
            apply_action(s, await s.get(Ticket, t.id), Action.DEPART, now=w.clock.now(), actor_id=eng,
                         eta_at=NIGHT)
        assert await w.quiet(ENG) == [] and await w.quiet(SUP) == []  # nothing at night
        w.clock.at = MORNING
        await w.settle()
        assert [m.text for m in await w.quiet(ENG)] == ["Welcome back, no condition."]
        assert [m.text for m in await w.quiet(SUP)] == ["Welcome back, still with Li."]
        states = {r.dedupe_key: (r.status, r.last_error) for r in await outbox(w, "test")}
        assert states["a"] == (OutboxStatus.DROPPED, "no longer applies (the ticket moved on while it waited)")
        assert states["b"][0] is OutboxStatus.SENT and states["c"][0] is OutboxStatus.SENT


async def test_a_newer_push_replaces_a_waiting_one_but_not_in_working_hours(tmp_path: Path, channel: str) -> None:
    w = night_world(tmp_path, channel)
    w.clock.at = datetime(2026, 3, 2, 2, 0, tzinfo=timezone.utc)  # Mon 10:00: working hours
    async with w:
        await team(w)
        eng = await person_id(w, "Li Lei")
        await say(w, eng, "accepted", key="d1", supersede="status:1")
        await say(w, eng, "on the way", key="d2", supersede="status:1")
        assert [m.text for m in await w.expect(ENG, 2)] == ["Welcome back, accepted.",
                                                            "Welcome back, on the way."]
        w.clock.at = NIGHT
        await say(w, eng, "arrived", key="n1", supersede="status:1")
        await say(w, eng, "resolved", key="n2", supersede="status:1")
        await say(w, eng, "other ticket", key="n3", supersede="status:2")
        w.clock.at = MORNING
        await w.settle()
        assert [m.text for m in await w.quiet(ENG)] == ["Welcome back, resolved.", "Welcome back, other ticket."]
        states = {r.dedupe_key: r.status for r in await outbox(w, "test")}
        assert states == {"d1": OutboxStatus.SENT, "d2": OutboxStatus.SENT, "n1": OutboxStatus.DROPPED,
                          "n2": OutboxStatus.SENT, "n3": OutboxStatus.SENT}


async def test_conditions(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        eng = await person_id(w, "Li Lei")
        async with w.app.db.write() as s:  # the arrive clock was met (the flows' act() records it)
            (await s.get(Ticket, t.id)).arrive_met_at = w.clock.now()
        async with w.app.db.read() as s:
            assert await applies(s, None) and await applies(s, {})
            assert await applies(s, still(ticket=t.id, status={TicketStatus.ON_SITE, TicketStatus.PAUSED}))
            assert not await applies(s, still(ticket=t.id, status={TicketStatus.DISPATCHED}))
            assert await applies(s, still(ticket=t.id, assignee=eng))
            assert not await applies(s, still(ticket=t.id, assignee=None))
            assert await applies(s, still(ticket=t.id, clock="resolve"))
            assert not await applies(s, still(ticket=t.id, clock="arrive"))  # met on arrival
            assert not await applies(s, still(ticket=999_999))
            assert not await applies(s, still(ack=999_999))
            assert await applies(s, {"ticket": t.id, "future_key": 1})  # unknown parts never block


async def test_a_night_of_declines_and_re_dispatches_leaves_only_what_still_applies(tmp_path: Path,
                                                                                    channel: str) -> None:
    """The case seen in a real trial: "declined, please re-dispatch" and a "New job" card both
    waited for the morning, for a ticket re-dispatched in the night."""
    w = night_world(tmp_path, channel)
    w.clock.at = datetime(2026, 3, 2, 13, 50, tzinfo=timezone.utc)  # Mon 21:50, still working hours
    async with w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min")
        t = await new_ticket(w)
        w.say(DSP, f"/dispatch {t.number}")
        [picker] = await w.expect(DSP)
        w.press(DSP, picker, "Li Lei · 0 open")
        [done] = await w.expect(DSP)
        assert done.text == f"{t.number} dispatched to Li Lei. I'll tell you when they accept or decline."
        [card] = await w.expect(ENG)  # in working hours: at once

        w.clock.at = datetime(2026, 3, 2, 14, 30, tzinfo=timezone.utc)  # 22:30: quiet hours
        w.press(ENG, card, "Decline")
        await w.expect(ENG)
        w.say(ENG, "Car broke down")
        await w.expect(ENG)
        assert await w.quiet(DSP) == []  # the decline notice waits for the morning

        w.clock.at = datetime(2026, 3, 2, 14, 40, tzinfo=timezone.utc)  # 22:40: the supervisor re-dispatches
        w.say(SUP, f"/dispatch {t.number}")
        [picker] = await w.expect(SUP)
        w.press(SUP, picker, "Zhao Min · 0 open")
        [done] = await w.expect(SUP)
        assert done.text == (f"{t.number} dispatched to Zhao Min. I'll tell you when they accept or decline.\n"
                             "Outside working hours: Zhao Min will get it at 08:30 tomorrow.")
        assert await w.quiet(ENG2) == []

        w.clock.at = MORNING
        await w.settle()
        [morning_card] = await w.quiet(ENG2)
        assert morning_card.text.startswith(f"New job for you:\n{t.number}")
        assert await w.quiet(DSP) == []  # "declined, please re-dispatch" no longer applies
        [dropped] = await outbox(w, "declined")
        assert dropped.status is OutboxStatus.DROPPED
