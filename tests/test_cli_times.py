"""The command line names the zone its times are in: once per output (``ticket show``'s time zone
row, a line under ``ticket list`` and ``inbox``), or on a single time (an invite's, a customer link's expiry)."""

from __future__ import annotations

import asyncio
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest

from models.db import Database
from models.enums import Channel, InboxStatus
from models.runtime import InboundEvent
from tests.support.cli import cli_runner

CREATE = ["ticket", "create", "--customer", "ACME Ltd", "--phone", "+86 138 0013 8000", "--address", "1 Road",
          "--model", "X200", "--fault", "won't start", "--severity", "2", "--service", "onsite"]
FULL = r"\d{4}-\d\d-\d\d \d\d:\d\d"


def test_ticket_show_and_invite_name_the_zone(db_url: str, tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    cli = cli_runner(db_url, tmp_path, capsys)
    assert cli(*CREATE)[0] == 0
    code, out, _ = cli("ticket", "list")
    assert code == 0 and out.splitlines()[-1] == "Times are Beijing time (UTC+8)."
    code, out, _ = cli("ticket", "show", "FS-2026-000001")
    assert code == 0
    assert re.search(rf"^registered +{FULL}\ntime zone +Beijing time \(UTC\+8\)$", out, re.M)
    code, out, _ = cli("--lang", "zh", "ticket", "show", "FS-2026-000001")
    assert re.search(r"^时区 +北京时间（UTC\+8）$", out, re.M)
    code, out, _ = cli("invite", "--role", "engineer", "--name", "Li Lei")
    assert code == 0 and re.match(rf"Invite for Li Lei \(engineer\), valid until {FULL} \(UTC\+8\):", out)
    code, out, _ = cli("--lang", "zh", "invite", "--role", "engineer", "--name", "Li Lei")
    assert re.match(rf"Li Lei（工程师）的邀请，有效期至 北京时间 {FULL}：", out)
    code, out, _ = cli("ticket", "link", "FS-2026-000001", "--name", "Mr Lin")
    assert code == 0 and re.match(rf"Customer link to FS-2026-000001 \(ACME Ltd\) for Mr Lin, valid until {FULL} "
                                  r"\(UTC\+8\);", out)


def test_another_zone_is_named_with_its_offset(db_url: str, tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    cli = cli_runner(db_url, tmp_path, capsys)
    (tmp_path / "config.toml").write_text((tmp_path / "config.toml").read_text().replace(
        '[bot]\n', '[bot]\ntimezone = "Europe/Berlin"\n'))
    assert cli(*CREATE)[0] == 0
    _, out, _ = cli("ticket", "show", "FS-2026-000001")
    assert re.search(r"^time zone +Europe/Berlin \(UTC\+[12]\)$", out, re.M)  # CET or CEST, as of now
    _, out, _ = cli("invite", "--role", "engineer", "--name", "Li Lei")
    assert re.match(rf"Invite for Li Lei \(engineer\), valid until {FULL} \(UTC\+[12]\):", out)


def test_inbox_says_its_times_are_the_teams(db_url: str, tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    cli = cli_runner(db_url, tmp_path, capsys)

    async def park() -> None:
        db = Database(db_url)
        try:
            async with db.write() as s:
                s.add(InboundEvent(channel=Channel.TELEGRAM, external_id="8001", status=InboxStatus.PARKED,
                                   received_at=datetime(2026, 3, 2, 15, 40, tzinfo=timezone.utc),
                                   payload={"update_id": 8001}, attempts=3, last_error="boom"))
        finally:
            await db.dispose()

    asyncio.run(park())
    code, out, _ = cli("inbox")
    lines = out.splitlines()
    assert code == 0 and "received 2026-03-02 23:40:00" in lines[1]  # stored 15:40 UTC, shown in Shanghai
    assert lines[-1] == "Times are Beijing time (UTC+8)."
