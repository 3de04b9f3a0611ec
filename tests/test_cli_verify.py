"""``fieldbot report --verify`` on the command line (real SQLite file; PostgreSQL when
FIELDBOT_TEST_PG_URL is set): exit 0 with "all N figures agree"; a correction made to the rows behind
the log's back exits 1 naming every differing figure and the ticket; tickets from before the log
carried the details are listed apart as "not in the event log"."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from models.calendar import calendar_for
from models.clocks import SlaPolicy
from models.db import Database
from models.tickets import Ticket
from tests.conftest import make_config
from tests.support.cli import cli_runner
from tests.support.logged import make_legacy, october_jobs


def _policy(db_url: str, tmp_path: Path) -> SlaPolicy:
    config = make_config(db_url, tmp_path)
    return SlaPolicy(config.sla, config.chase, calendar_for(config.bot))


# -- the command line --------------------------------------------------------------------------------
@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    run = cli_runner(db_url, tmp_path, capsys)
    return run


async def _seeded(db_url: str, tmp_path: Path) -> dict[str, int]:
    db = Database(db_url)
    try:
        return await october_jobs(db, _policy(db_url, tmp_path))
    finally:
        await db.dispose()


async def _numbers(db_url: str, *ids: int) -> list[str]:
    db = Database(db_url)
    try:
        async with db.read() as s:
            return [(await s.get(Ticket, i)).number for i in ids]
    finally:
        await db.dispose()


async def _correct_behind_the_logs_back(db_url: str, ticket_id: int) -> None:
    db = Database(db_url)
    try:
        async with db.write() as s:
            (await s.get(Ticket, ticket_id)).paused_seconds += 3600
    finally:
        await db.dispose()


def test_cli_agrees_then_names_every_difference(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    ids = asyncio.run(_seeded(db_url, tmp_path))
    code, out, err = cli("report", "--verify", "--month", "2026-10")
    assert (code, err) == (0, "")
    figures = int(out.split("all ")[1].split(" figures")[0])
    assert out.strip() == f"2026-10: all {figures} figures agree with the event log."
    assert figures == 1 + 7 * (1 + 2 + 3 + 2)  # incomplete; total, 2 models, 3 faults (one unset), 2 engineers

    asyncio.run(_correct_behind_the_logs_back(db_url, ids["second"]))
    [second] = asyncio.run(_numbers(db_url, ids["second"]))
    code, out, err = cli("--lang", "en", "report", "--verify", "--month", "2026-10")
    assert code == 1
    lines = out.strip().splitlines()
    assert lines[0] == f"2026-10: 4 of {figures} figures differ from the event log:"
    assert len(lines) == 5 and all(line.endswith(f"tickets: {second}") for line in lines[1:])
    assert any(line.startswith("total · average handling time: live ") for line in lines)
    assert any(line.startswith("engineer Wang Fang · average handling time") for line in lines)

    code, out, _ = cli("--lang", "zh-CN", "report", "--verify", "--month", "2026-10")
    assert code == 1 and "项数据中有 4 项与事件日志不一致" in out and second in out


def test_cli_names_tickets_not_in_the_event_log(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    ids = asyncio.run(_seeded(db_url, tmp_path))
    asyncio.run(_legacy_in(db_url, ids["first"]))
    [first] = asyncio.run(_numbers(db_url, ids["first"]))
    code, out, _ = cli("report", "--verify", "--month", "2026-10")
    assert code == 0
    assert out.splitlines()[:2] == [
        "Not in the event log: 1 ticket recorded before the log carried what the statistics need; its "
        "figures are taken from the ticket row, not rebuilt:",
        f"  {first}: registered before the log carried the model, fault type and team"]
    assert "figures agree with the event log" in out.splitlines()[2]
    code, out, _ = cli("report", "--verify", "--month", "2026-09")  # nothing signed off: nothing to disagree
    assert code == 0 and out.strip() == "2026-09: all 8 figures agree with the event log."  # the empty total


async def _legacy_in(db_url: str, ticket_id: int) -> None:
    db = Database(db_url)
    try:
        await make_legacy(db, ticket_id)
    finally:
        await db.dispose()
