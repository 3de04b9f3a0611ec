"""Every SLA verdict explains itself: ``fieldbot ticket show N --explain`` lists, per clock, the
working time counted and the pauses not counted, adding up to the due time and the verdict; the
replay agrees with the stored due time, and says so when the rules changed since."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select, update

from bot.app import App
from bot.cli import build_parser
from handlers.views import ticket_clocks
from models.enums import Action, ServiceType
from models.lifecycle import allowed_actions
from models.queries import timeline
from models.sla import met_diff_minutes
from models.tickets import Ticket
from models.transitions import apply_action
from models.verdicts import explain
from tests.support import sla as sla_world
from tests.support.sla import MINUTE, Crew, act, register, sh

app = sla_world.app  # the fixtures, found by pytest under these names
crew = sla_world.crew


async def explained(app: App, capsys: pytest.CaptureFixture[str], number: str, *, lang: str = "en",
                    as_json: bool = False) -> str:
    args = build_parser().parse_args(["--lang", lang, "ticket", "show", number, "--explain",
                                      *(["--json"] if as_json else [])])
    capsys.readouterr()
    assert await args.handler(app, args) == 0
    return capsys.readouterr().out


def block(out: str, heading: str) -> list[str]:
    """The explanation lines of one clock: its heading and the indented lines under it."""
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(heading))
    found = [lines[start]]
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        found.append(line)
    return found


async def paused_for_parts(app: App, crew: Crew) -> str:
    """Severity 2 (respond 1 h, arrive 5 h, resolve 10 h of working time), registered Tuesday
    3 March 21:30; Wednesday the 4th is a holiday; paused for parts Thursday 12:00 – Friday 10:00."""
    number = await register(app, crew, sh(3, 21, 30), 2)
    await act(app, number, Action.DISPATCH, sh(3, 21, 31), assignee_id=crew.engineer)
    await act(app, number, Action.ACCEPT, sh(5, 8, 50))
    await act(app, number, Action.DEPART, sh(5, 9))
    await act(app, number, Action.ARRIVE, sh(5, 10))
    await act(app, number, Action.PAUSE, sh(5, 12), pause_reason="parts")
    return number


async def test_counted_stretches_and_a_pause_add_up_to_the_verdict(app: App, crew: Crew, capsys) -> None:
    number = await paused_for_parts(app, crew)
    app.clock.at = sh(5, 15)
    out = await explained(app, capsys, number)
    assert block(out, "resolution:") == [
        "resolution: 10 h of working time, from registration 2026-03-03 21:30",
        "  counted 2026-03-03 21:30–22:00: 30 min",
        "  counted 2026-03-05 08:30–12:00: 3 h 30 min",
        "  paused since 2026-03-05 12:00 (waiting for parts): the clock stands still",
        "  = 4 h counted → due 2026-03-05 18:00, 6 h of working time left; clock stopped while paused",
    ]
    await act(app, number, Action.RESUME, sh(6, 10))
    await act(app, number, Action.RESOLVE, sh(6, 17), findings="seal worn", actions_taken="seal replaced")
    app.clock.at = sh(6, 18)
    out = await explained(app, capsys, number)
    assert block(out, "response:") == [
        "response: 1 h of working time, from registration 2026-03-03 21:30",
        "  counted 2026-03-03 21:30–22:00: 30 min",
        "  counted 2026-03-05 08:30–09:00: 30 min",  # Wednesday the 4th is a holiday
        "  = 1 h counted → due 2026-03-05 09:00, met 2026-03-05 08:50 (10 min early)",
    ]
    assert block(out, "resolution:") == [
        "resolution: 10 h of working time, from registration 2026-03-03 21:30",
        "  counted 2026-03-03 21:30–22:00: 30 min",
        "  counted 2026-03-05 08:30–12:00: 3 h 30 min",
        "  not counted 2026-03-05 12:00 – 2026-03-06 10:00 (waiting for parts): 11 h 30 min of working time",
        "  counted 2026-03-06 10:00–16:00: 6 h",
        "  = 10 h counted → due 2026-03-06 16:00, met 2026-03-06 17:00 (1 h late)",
    ]
    zh = await explained(app, capsys, number, lang="zh-CN")
    assert block(zh, "解决：")[3] == "  不计入 2026-03-05 12:00 – 2026-03-06 10:00（等待备件）：工作时间 11 小时 30 分钟"

    shown = json.loads(await explained(app, capsys, number, as_json=True))["sla_explain"]["resolve"]
    assert (shown["counted_min"], shown["duration_min"], shown["agrees"], shown["diff_min"]) == (600, 600, True, -60)
    assert [(s["kind"], s["working_min"]) for s in shown["stretches"]] == [
        ("counted", 30), ("counted", 210), ("held", 690), ("counted", 360)]


async def test_a_pause_that_began_overdue_moves_the_due_time_and_keeps_the_overdue_time(
        app: App, crew: Crew, capsys) -> None:
    number = await register(app, crew, sh(2, 9), 2)  # resolve due Monday 19:00
    await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    await act(app, number, Action.ACCEPT, sh(2, 9, 10))
    await act(app, number, Action.DEPART, sh(2, 9, 20))
    await act(app, number, Action.ARRIVE, sh(2, 10))
    await act(app, number, Action.PAUSE, sh(2, 20), pause_reason="customer")  # 1 h overdue
    await act(app, number, Action.RESUME, sh(3, 9, 30))  # 2 h + 1 h of working time later
    await act(app, number, Action.RESOLVE, sh(3, 10), findings="f", actions_taken="a")
    app.clock.at = sh(3, 11)
    lines = block(await explained(app, capsys, number), "resolution:")
    assert lines[-2:] == [
        "  paused while overdue 2026-03-02 20:00 – 2026-03-03 09:30 (waiting for the customer): "
        "the due time moved 3 h later, to 2026-03-02 22:00, so the overdue time stands",
        "  = 10 h counted → due 2026-03-02 22:00, met 2026-03-03 10:00 (1 h 30 min late)",
    ]
    assert "  counted 2026-03-02 09:00–19:00: 10 h" in lines


async def test_a_stored_due_time_the_rules_no_longer_give_is_pointed_out(app: App, crew: Crew, capsys) -> None:
    number = await register(app, crew, sh(2, 9), 2)
    async with app.db.write() as s:  # as if [sla.2] respond had been 2 h when it was registered
        await s.execute(update(Ticket).where(Ticket.number == number).values(respond_due_at=sh(2, 11)))
    app.clock.at = sh(2, 9, 30)
    lines = block(await explained(app, capsys, number), "response:")
    assert lines[-1] == ("  note: the stored due time is 2026-03-02 11:00; today's [sla] rules give 2026-03-02 10:00 "
                         "— the rules changed after this ticket was registered")


# -- the replay agrees with the clocks for any history ---------------------------------------------

STEPS = st.lists(st.tuples(st.integers(0, 3 * 24 * 60), st.integers(0, 99)), min_size=1, max_size=14)
SKIPPED = {Action.CANCEL, Action.CLOSE, Action.SIGN_OFF}


@settings(max_examples=int(os.environ.get("FIELDBOT_VERDICT_EXAMPLES", "30")), deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(severity=st.integers(1, 4), service=st.sampled_from(list(ServiceType)), steps=STEPS,
       start=st.integers(0, 9 * 24 * 60))
async def test_the_replay_agrees_with_the_stored_clocks_for_any_history(
        app: App, crew: Crew, severity: int, service: ServiceType, steps: list[tuple[int, int]], start: int) -> None:
    when = sh(2, 0) + start * MINUTE
    number = await register(app, crew, when, severity, service)
    for gap, pick in steps:
        when += gap * MINUTE
        async with app.db.write() as s:
            row = await s.scalar(select(Ticket).where(Ticket.number == number))
            choices = [a for a in allowed_actions(row.status, row.service_type) if a not in SKIPPED]
            if not choices:
                break
            action = choices[pick % len(choices)]
            extra = {"assignee_id": crew.engineer if row.assignee_id != crew.engineer else crew.supervisor} \
                if action in (Action.DISPATCH, Action.REASSIGN) else {}
            apply_action(s, row, action, now=when, clocks=app.sla, reason="r", findings="f", actions_taken="a",
                         pause_reason="parts", **extra)
    async with app.db.read() as s:
        row = await s.scalar(select(Ticket).where(Ticket.number == number))
        events = await timeline(s, row.id)
    for clock in ticket_clocks(row):
        story = explain(row, events, app.sla, clock, when)
        assert story.due == getattr(row, f"{clock}_due_at"), (clock, [(e.action, e.at) for e in events])
        if story.met is not None:
            calendar = app.sla.calendar(row)
            assert met_diff_minutes(story.due, story.met, calendar) == getattr(row, f"{clock}_diff_min")
        if not any(s.kind in ("holding", "held_overdue") for s in story.stretches):
            assert story.counted == story.duration  # the counted lines add up to the clock's duration
