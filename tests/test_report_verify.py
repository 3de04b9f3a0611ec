"""``fieldbot report --verify``: the month's statistics rebuilt from the event log (models/rebuild.py)
against the live SQL report, on a real SQLite file and (when FIELDBOT_TEST_PG_URL is set) PostgreSQL.

* a property test: random ticket histories (register, dispatch, decline, reassign, accept, depart,
  arrival check-ins, progress check-ins, pause/resume, resolve with or without findings, sign-off in
  chat or on paper, ratings, callbacks, complaints, reopen, close, cancel, corrections of the model and
  the severity) played through the real
  model functions → the live report equals the rebuilt one, figure by figure
  (``FIELDBOT_VERIFY_EXAMPLES`` examples, 12 by default);
* a correction made to the rows behind the log's back shows as a difference naming the ticket;
* tickets from before the log carried the details are listed as "not in the event log".
(The command line: tests/test_cli_verify.py.)
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from models.calendar import calendar_for
from models.clocks import SlaPolicy
from models.db import Database
from models.enums import Action, CheckinKind, PauseReason, ServiceType, TicketStatus
from models.lifecycle import OPEN_STATES, allowed_actions
from models.migrate import upgrade
from models.reports import Month, monthly_report
from models.tickets import Ticket
from models.verify import verify_month
from tests.conftest import make_config
from tests.support.logged import Play, make_legacy, october_jobs, staff

EXAMPLES = int(os.environ.get("FIELDBOT_VERIFY_EXAMPLES", "12"))
OCTOBER = Month(2026, 10)


def _policy(db_url: str, tmp_path: Path) -> tuple[SlaPolicy, object]:
    config = make_config(db_url, tmp_path)
    return SlaPolicy(config.sla, config.chase, calendar_for(config.bot)), config.bot.tz


async def _random_history(data: st.DataObject, play: Play, engineers: list[int]) -> None:
    """Moves valid in the ticket's state, drawn one by one; the forward move is the likeliest."""
    service = data.draw(st.sampled_from(list(ServiceType)), label="service")
    await play.register(model=data.draw(st.sampled_from(["X200", "Z9"]), label="model"),
                        fault_type=data.draw(st.sampled_from(["power", "display", None]), label="fault"),
                        severity=data.draw(st.integers(1, 4), label="severity"), service=service,
                        team=data.draw(st.sampled_from(["North", "South", None]), label="team"))
    status, engineer, rated, signed = TicketStatus.NEW, None, False, False
    forward = {TicketStatus.NEW: Action.DISPATCH, TicketStatus.DISPATCHED: Action.ACCEPT,
               TicketStatus.ACCEPTED: Action.DEPART if service is ServiceType.ONSITE else Action.RESOLVE,
               TicketStatus.EN_ROUTE: Action.ARRIVE, TicketStatus.ON_SITE: Action.RESOLVE,
               TicketStatus.PAUSED: Action.RESUME, TicketStatus.RESOLVED: Action.SIGN_OFF,
               TicketStatus.SIGNED_OFF: Action.CLOSE}
    for _ in range(data.draw(st.integers(4, 24), label="steps")):
        moves = allowed_actions(status, service)
        if not moves:
            break
        extras = ["complain"] + (["progress"] if status in (TicketStatus.ON_SITE, TicketStatus.ACCEPTED) else [])
        extras += ["correct"] if status in OPEN_STATES else []
        if status in (TicketStatus.SIGNED_OFF, TicketStatus.CLOSED):
            extras += ["callback"] + ([] if rated else ["rate"])
        choices = [forward.get(status)] * 4 + [m for m in moves if m is not Action.CANCEL] + extras
        choices += [Action.CANCEL] if Action.CANCEL in moves and data.draw(st.integers(0, 9)) == 0 else []
        step = data.draw(st.sampled_from([c for c in choices if c is not None]), label="step")
        play.wait(data.draw(st.integers(1, 600), label="minutes"))
        if step == "complain":
            await play.complain()
        elif step == "correct":
            field = data.draw(st.sampled_from(["model", "severity"]), label="field")
            await play.correct(field, data.draw(st.sampled_from(["X200", "Z9", "Q1"]), label="model")
                               if field == "model" else data.draw(st.integers(1, 4), label="severity"))
        elif step == "progress":
            await play.checkin(engineer, CheckinKind.PROGRESS)
        elif step in ("rate", "callback"):
            await play.rate(data.draw(st.integers(1, 5), label="rating"), callback=step == "callback")
            rated = rated or step == "rate"
        elif step in (Action.DISPATCH, Action.REASSIGN):
            engineer = data.draw(st.sampled_from([e for e in engineers if e != engineer]), label="engineer")
            await play.act(step, assignee_id=engineer, **({"reason": "closer"} if step is Action.REASSIGN else {}))
        elif step is Action.DECLINE:
            await play.act(step, reason="busy")
            engineer = None
        elif step in (Action.CANCEL, Action.REOPEN):
            await play.act(step, reason="customer says it is not fixed")
        elif step is Action.ARRIVE:
            await play.arrive(engineer)
        elif step is Action.PAUSE:
            await play.pause(data.draw(st.sampled_from(list(PauseReason)), label="why"))
        elif step is Action.RESOLVE:
            blank = data.draw(st.integers(0, 5), label="blank") == 0
            cause = data.draw(st.sampled_from([None, "power", "mechanical"]), label="cause")
            await play.resolve(findings="  " if blank else "Loose connector",
                               **({"fault_cause": cause} if cause else {}))
        elif step is Action.SIGN_OFF:
            await play.sign_off(paper=signed or data.draw(st.booleans(), label="paper"))
            signed = True
        else:
            await play.act(step)
        if isinstance(step, Action):
            async with play.db.read() as s:
                status = (await s.get(Ticket, play.ticket_id)).status


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgresql", marks=pytest.mark.skipif(
    not os.environ.get("FIELDBOT_TEST_PG_URL"), reason="FIELDBOT_TEST_PG_URL not set"))])
def test_random_histories_rebuild_to_the_live_report(db_url: str, tmp_path: Path) -> None:
    policy, tz = _policy(db_url, tmp_path)
    months = iter(Month(2030 + i // 12, i % 12 + 1) for i in range(10_000))
    asyncio.run(_upgraded(db_url))
    engineers = asyncio.run(_engineers(db_url))
    counted: list[int] = []

    @settings(max_examples=EXAMPLES, deadline=None, derandomize=False,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(st.data())
    def check(data: st.DataObject) -> None:
        month = next(months)  # each example has a month of its own in the same database
        jobs = asyncio.run(_example(data, db_url, policy, tz, month, engineers))
        if jobs:
            counted.append(jobs)

    check()
    assert counted, "no example reached a signed-off job: the histories are not exercising the report"


async def _upgraded(db_url: str) -> None:
    db = Database(db_url)
    await upgrade(db)
    await db.dispose()


async def _engineers(db_url: str) -> list[int]:
    db = Database(db_url)
    try:
        return [await staff(db, name, team) for name, team in
                (("Li Lei", "North"), ("Wang Fang", "North"), ("Sun Qi", "South"))]
    finally:
        await db.dispose()


async def _example(data: st.DataObject, db_url: str, policy: SlaPolicy, tz, month: Month,  # noqa: ANN001
                   engineers: list[int]) -> int:
    db = Database(db_url)
    try:
        start = month.bounds(tz)[0] + timedelta(days=1)
        for n in range(data.draw(st.integers(1, 4), label="tickets")):
            play = Play(db, policy, start + timedelta(hours=n))
            await _random_history(data, play, engineers)
        async with db.read() as s:
            result = await verify_month(s, month, tz)
            live = await monthly_report(s, month, tz)
        assert result.differences == [], (result.differences, month)
        assert result.not_in_log == {}
        assert result.figures >= 1 + 7 * (1 + len(live.by_model) + len(live.by_fault) + len(live.by_engineer))
        return live.total.jobs + live.incomplete
    finally:
        await db.dispose()


# -- hand-made months --------------------------------------------------------------------------------
async def test_a_hand_made_month_agrees_and_a_silent_correction_does_not(db: Database, app) -> None:  # noqa: ANN001
    ids = await october_jobs(db, app.sla)
    async with db.read() as s:
        result = await verify_month(s, OCTOBER, app.tz)
        live = await monthly_report(s, OCTOBER, app.tz)
    assert result.differences == [] and result.not_in_log == {}
    assert live.total.jobs == 3 and live.total.complaints == 1 and live.total.ratings == 3
    assert live.total.first_visit_rate == 1 / 2  # the second job needed two arrivals
    # Someone edits the rows behind the log's back: the engineer and the findings of the first job.
    async with db.write() as s:
        first = await s.get(Ticket, ids["first"])
        first.assignee_id = ids["wang"]
        first.findings = ""
        number = first.number
    async with db.read() as s:
        result = await verify_month(s, OCTOBER, app.tz)
    figures = {(d.dimension, d.label, d.figure) for d in result.differences}
    assert ("incomplete", None, "incomplete") in figures
    assert ("total", None, "jobs") in figures
    assert ("engineer", "Li Lei", "jobs") in figures
    assert all(number in d.tickets for d in result.differences)


async def test_tickets_from_before_the_log_carried_the_details_are_named(db: Database, app) -> None:  # noqa: ANN001
    ids = await october_jobs(db, app.sla)
    await make_legacy(db, ids["first"])
    async with db.read() as s:
        number = (await s.get(Ticket, ids["first"])).number
        result = await verify_month(s, OCTOBER, app.tz)
    assert result.not_in_log == {number: "registered_before"}
    assert result.differences == []  # its share is taken from its rows, and said so: no false difference
