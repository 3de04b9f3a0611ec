"""The acknowledgement chase in real time through the emulator, with durations of a second: an
unacknowledged arrival is reminded, then escalated to the manager (the engineer is told), and an
acknowledged one is left alone.  The scheduler runs as in production (APScheduler, ticking)."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

from models.enums import Action, Role, ServiceType
from models.people import Person
from models.registry import Registration, register_ticket
from models.transitions import apply_action
from sqlalchemy import select
from tests.support.world import World

SUP, MGR, ENG = 700, 701, 702
FAST = """
[chase]
ack_reminder = "1s"
ack_repeat = "1s"
ack_max_reminders = 1
[scheduler]
tick = "1s"
"""


async def arrive(w: World, seed: int) -> None:
    """The engineer's arrival check-in, through the real dialog: button, photo, location."""
    async with w.app.db.write() as s:
        eng = await s.scalar(select(Person).where(Person.name == "Li"))
        ticket = await register_ticket(s, Registration(
            customer="ACME", phone="13800138000", address="1 Road", model="X200", fault="down", severity=2,
            service=ServiceType.ONSITE), now=w.clock.now(), today=date.today(), warranty=timedelta(days=365),
            clocks=w.app.sla)
        ticket.team_id = eng.team_id
        for action in (Action.DISPATCH, Action.ACCEPT, Action.DEPART):
            apply_action(s, ticket, action, now=w.clock.now(), assignee_id=eng.id, clocks=w.app.sla)
    w.say(ENG, "/tickets")
    [listing] = await w.expect(ENG)  # one list, a button per ticket opens its card
    w.press(ENG, listing, ticket.number)
    [card] = await w.expect(ENG)
    w.press(ENG, card, "Arrived")
    await w.expect(ENG)
    w.send_photo(ENG, seed)
    await w.expect(ENG)
    w.send_location(ENG, 31.23, 121.47)
    await w.expect(ENG, 2)  # recorded (keyboard removed), then the card


async def test_unacknowledged_arrival_is_reminded_then_escalated(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, extra_config=FAST) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang")
        await w.join(MGR, Role.MANAGER, "Zhao")
        await w.join(ENG, Role.ENGINEER, "Li")
        await arrive(w, 1)
        checkin_text = (await w.expect(SUP, 2))[-1]  # photo, then the check-in with Acknowledge
        assert checkin_text.text.startswith("Arrival check-in from Li")

        [reminder] = await w.expect(SUP, 1, timeout=10)
        assert reminder.text.startswith("Reminder 1 of 1:") and w.shows(reminder, "Acknowledge")
        [escalation] = await w.expect(MGR, 1, timeout=10)
        assert "Wang" in escalation.text and "Li" in escalation.text
        [told] = await w.expect(ENG, 1, timeout=10)
        assert "Zhao" in told.text

        # The manager acknowledges; the engineer hears who did, and the chase is over.
        w.press(MGR, escalation, "Acknowledge")
        [acked] = await w.expect(ENG, 1)
        assert acked.text.startswith("Zhao acknowledged")
        runs = w.rt.scheduler.runs["ack-chase"]
        await w.wait_until(lambda: w.rt.scheduler.runs["ack-chase"] >= runs + 3, timeout=10, what="3 ticks")
        extra = {uid: [m.text for m in await w.quiet(uid)] for uid in (SUP, ENG)}
        assert extra == {SUP: [], ENG: []}


async def test_acknowledging_stops_the_chase(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, extra_config=FAST.replace('ack_reminder = "1s"', 'ack_reminder = "2s"')) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang")
        await w.join(MGR, Role.MANAGER, "Zhao")
        await w.join(ENG, Role.ENGINEER, "Li")
        await arrive(w, 1)
        checkin_text = (await w.expect(SUP, 2))[-1]
        w.press(SUP, checkin_text, "Acknowledge")
        [acked] = await w.expect(ENG)
        assert acked.text.startswith("Wang acknowledged")
        # Well past the reminder and escalation times: the scheduler has ticked several times.
        runs = w.rt.scheduler.runs["ack-chase"]
        await w.wait_until(lambda: w.rt.scheduler.runs["ack-chase"] >= runs + 4, timeout=10, what="4 ticks")
        extra = {uid: [m.text for m in await w.quiet(uid)] for uid in (SUP, MGR, ENG)}
        assert extra == {SUP: [], MGR: [], ENG: []}
