"""``fieldbot ticket show`` (text and ``--json``) lists every SLA clock a ticket runs: due time in
the team's zone, met (minutes early / late), or time left / overdue — working time for business
clocks, wall time for 24×7 ones — and the chase level; in both languages.

The command is run through the real argument parser and handler with an app on a fixed clock
(the calendar of tests/support/sla.py: March 2026, Shanghai, 08:30–22:00 Mon–Fri), so "time
left" is exact; one test goes through ``main`` with the wall clock, as a user runs it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import update

from bot.app import App
from bot.cli import build_parser, main
from handlers.views import ticket_fields
from models.enums import Action, ServiceType
from models.tickets import Ticket
from tests.support import sla as sla_world
from tests.support.sla import Crew, act, register, run_every, sh

app = sla_world.app  # the fixtures, found by pytest under these names
crew = sla_world.crew

Show = Callable[..., Awaitable[str]]


@pytest.fixture
def show(app: App, capsys: pytest.CaptureFixture[str]) -> Show:
    async def run(number: str, *, at: datetime, lang: str = "en", as_json: bool = False) -> str:
        app.clock.at = at
        args = build_parser().parse_args(["--lang", lang, "ticket", "show", number, *(["--json"] if as_json else [])])
        capsys.readouterr()
        assert await args.handler(app, args) == 0
        return capsys.readouterr().out

    return run


def field(out: str, label: str) -> str:
    """The value printed after ``label`` (labels are padded to one column)."""
    for line in out.splitlines():
        if line.startswith(label + " "):
            return line[len(label):].strip()
    raise AssertionError(f"no {label!r} line in:\n{out}")


async def worked_ticket(app: App, crew: Crew) -> str:
    """Severity 2 on site, Monday 2 March 09:00: respond due 10:00, arrive 14:00, resolve 19:00;
    accepted 10 min early, arrived 20 min late; the chase runs at each step."""
    number = await register(app, crew, sh(2, 9), 2)
    await act(app, number, Action.DISPATCH, sh(2, 9), assignee_id=crew.engineer)
    await run_every(app, sh(2, 9, 48), sh(2, 9, 48))  # respond warned
    await act(app, number, Action.ACCEPT, sh(2, 9, 50))
    await run_every(app, sh(2, 13), sh(2, 13))  # arrive warned
    await act(app, number, Action.DEPART, sh(2, 13, 30))
    await run_every(app, sh(2, 14), sh(2, 14))  # arrive breached: supervisor told
    await act(app, number, Action.ARRIVE, sh(2, 14, 20))
    await run_every(app, sh(2, 17), sh(2, 17))  # resolve warned
    return number


async def test_show_lists_met_and_open_clocks_in_both_languages(app: App, crew: Crew, show: Show) -> None:
    number = await worked_ticket(app, crew)

    out = await show(number, at=sh(2, 17, 30))
    assert field(out, "respond by") == "2026-03-02 10:00, met 2026-03-02 09:50 (10 min early)"
    assert field(out, "arrive by") == "2026-03-02 14:00, met 2026-03-02 14:20 (20 min late)"
    assert field(out, "resolve by") == "2026-03-02 19:00, 1 h 30 min of working time left; warned"
    assert "product model  X200" in out  # the clock labels keep the field column as it was
    assert "2026-03-02 09:48  The response time limit (due 2026-03-02 10:00) is close: the engineer was warned" in out
    assert "2026-03-02 14:00  The arrival time limit (due 2026-03-02 14:00) was missed: the supervisor was told" in out

    zh = await show(number, at=sh(2, 17, 30), lang="zh-CN")
    assert field(zh, "响应时限") == "2026-03-02 10:00，2026-03-02 09:50 达成（提前 10 分钟）"
    assert field(zh, "到场时限") == "2026-03-02 14:00，2026-03-02 14:20 达成（超时 20 分钟）"
    assert field(zh, "解决时限") == "2026-03-02 19:00，剩余工作时间 1 小时 30 分钟；已预警"
    assert "2026-03-02 17:00  解决时限（2026-03-02 19:00 到期）：已预警工程师" in zh

    # Overdue counts working time only: at 22:30 the 19:00 clock is 3 h late (the day closed at 22:00).
    await run_every(app, sh(2, 19), sh(2, 20), sh(2, 20) - sh(2, 19))
    out = await show(number, at=sh(2, 22, 30))
    assert field(out, "resolve by") == "2026-03-02 19:00, overdue by 3 h of working time; escalated"
    zh = await show(number, at=sh(2, 22, 30), lang="zh-CN")
    assert field(zh, "解决时限") == "2026-03-02 19:00，已超时工作时间 3 小时；已升级"

    await act(app, number, Action.RESOLVE, sh(3, 9), findings="f", actions_taken="a")
    out = await show(number, at=sh(3, 10))
    assert field(out, "resolve by") == "2026-03-02 19:00, met 2026-03-03 09:00 (3 h 30 min late)"


async def test_show_json_has_every_clock(app: App, crew: Crew, show: Show) -> None:
    number = await worked_ticket(app, crew)
    shown = json.loads(await show(number, at=sh(2, 17, 30), as_json=True))
    assert shown["sla"] == {
        "respond": {"due": "2026-03-02T10:00:00+08:00", "met": "2026-03-02T09:50:00+08:00", "diff_min": 10,
                    "remaining_min": None, "level": "warned"},
        "arrive": {"due": "2026-03-02T14:00:00+08:00", "met": "2026-03-02T14:20:00+08:00", "diff_min": -20,
                   "remaining_min": None, "level": "breached"},
        "resolve": {"due": "2026-03-02T19:00:00+08:00", "met": None, "diff_min": None,
                    "remaining_min": 90, "level": "warned"},
    }
    assert [e["kind"] for e in shown["timeline"] if e["kind"].startswith("sla_")] == [
        "sla_warned", "sla_warned", "sla_breached", "sla_warned"]
    shown = json.loads(await show(number, at=sh(2, 22, 30), as_json=True))
    assert shown["sla"]["resolve"]["remaining_min"] == -180  # 19:00–22:00 is working time, 22:00–22:30 not


async def test_round_the_clock_paused_and_cancelled_clocks(app: App, crew: Crew, show: Show) -> None:
    # Severity 1 counts wall time: registered Monday 21:00, shown at 22:30 (after the day's close).
    fast = await register(app, crew, sh(2, 21), 1)
    out = await show(fast, at=sh(2, 22, 30))
    assert field(out, "respond by") == "2026-03-02 21:50, overdue by 40 min"
    assert field(out, "arrive by") == "2026-03-03 01:00, 2 h 30 min left"
    assert field(out, "resolve by") == "2026-03-03 07:00, 8 h 30 min left"

    # A paused phone ticket: no arrive clock; the resolve clock stands still at what was left.
    paused = await register(app, crew, sh(5, 9), 3, ServiceType.PHONE)
    await act(app, paused, Action.DISPATCH, sh(5, 9), assignee_id=crew.engineer)
    await act(app, paused, Action.ACCEPT, sh(5, 9, 10))
    await act(app, paused, Action.PAUSE, sh(6, 12), pause_reason="parts")
    out = await show(paused, at=sh(7, 10))
    assert field(out, "respond by") == "2026-03-05 11:00, met 2026-03-05 09:10 (1 h 50 min early)"
    assert "arrive by" not in out
    assert field(out, "resolve by") == "2026-03-06 15:30, 3 h 30 min of working time left; clock stopped while paused"
    assert json.loads(await show(paused, at=sh(9, 20), as_json=True))["sla"]["resolve"]["remaining_min"] == 210
    zh = await show(paused, at=sh(7, 10), lang="zh-CN")
    assert field(zh, "解决时限") == "2026-03-06 15:30，剩余工作时间 3 小时 30 分钟；暂停期间停止计时"

    await act(app, fast, Action.CANCEL, sh(3, 8), reason="duplicate")
    out = await show(fast, at=sh(3, 9))
    assert field(out, "respond by") == "2026-03-02 21:50, not met"
    assert json.loads(await show(fast, at=sh(3, 9), as_json=True))["sla"]["arrive"]["remaining_min"] is None


async def test_a_step_nobody_could_be_told_is_on_the_timeline(app: App, crew: Crew, show: Show) -> None:
    number = await register(app, crew, sh(2, 9), 2, ServiceType.PHONE)
    async with app.db.write() as s:  # no team: no supervisor to warn about the unassigned ticket
        await s.execute(update(Ticket).where(Ticket.number == number).values(team_id=None))
    await run_every(app, sh(2, 9, 48), sh(2, 9, 48))
    out = await show(number, at=sh(2, 9, 50))
    assert ("The response time limit (due 2026-03-02 10:00) is close: the supervisor was warned — but nobody could "
            "be reached" in out)
    assert field(out, "respond by") == "2026-03-02 10:00, 10 min of working time left; warned"


async def test_chat_view_without_a_clock_shows_due_times(app: App, crew: Crew) -> None:
    """Callers that pass no ``now`` / policy (the safe default) still list every clock's due time."""
    number = await register(app, crew, sh(2, 9), 2)
    async with app.db.read() as s:
        from models.queries import ticket_by_number

        row = await ticket_by_number(s, number)
    rows = dict(ticket_fields("en", row, app.tz, {}))
    assert (rows["respond by"], rows["arrive by"], rows["resolve by"]) == (
        "2026-03-02 10:00", "2026-03-02 14:00", "2026-03-02 19:00")
    rows = dict(ticket_fields("en", row, app.tz, {}, now=sh(2, 9, 30), policy=app.sla))
    assert rows["respond by"] == "2026-03-02 10:00, 30 min of working time left"


def test_the_real_command_prints_the_clocks(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n[telegram]\nbot_username = "FsBot"\n')
    assert main(["--config", str(cfg), "db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["--config", str(cfg), "ticket", "create", "--customer", "ACME", "--phone", "13800138000",
                 "--address", "1 Road", "--model", "X200", "--fault", "no power", "--severity", "2",
                 "--service", "phone", "--json"]) == 0
    number = json.loads(capsys.readouterr().out)["number"]
    assert main(["--config", str(cfg), "ticket", "show", number, "--json"]) == 0
    clocks = json.loads(capsys.readouterr().out)["sla"]
    assert set(clocks) == {"respond", "resolve"}  # a phone ticket has no arrive clock
    # Default severity 2: respond within 1 working hour; just registered, so at most 60 min left.
    assert 0 <= clocks["respond"]["remaining_min"] <= 60 and clocks["respond"]["level"] == "none"
    assert main(["--config", str(cfg), "--lang", "zh-CN", "ticket", "show", number]) == 0
    out = capsys.readouterr().out
    assert "响应时限" in out and "解决时限" in out and "剩余工作时间" in out
    assert main(["--config", str(cfg), "ticket", "list", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)[0]["sla"]) == {"respond", "resolve"}
