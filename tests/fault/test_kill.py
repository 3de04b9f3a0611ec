"""kill -9 under load: ``fieldbot run`` SIGKILLed at random moments and restarted while engineers
send check-ins with photos; Telegram polling and webhook, and the WeCom callback (with pauses past
WeCom's timeout, replays and forged callbacks); SQLite and PostgreSQL.

Promises checked from outside (see :mod:`tests.fault.count` for how each figure is counted):
nothing confirmed to Telegram is lost, a message goes out twice only when a kill cut its send
short (duplicates ≤ sends in flight at the kills), and every restart answers.  The figures are
printed (``-s``) and attached as the ``figures`` property; they are benchmarks of promises, not
timed assertions.

Size: ``FIELDBOT_FAULT_KILLS`` kills per run (default 8); ``FIELDBOT_FAULT_KILLS=50
.venv/bin/pytest tests/fault`` on demand.
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tests.conftest import PG_URL
from tests.fault.figures import check, report, table
from tests.fault.harness import Spec, default_kills, run_kills
from tests.fault.wecom_kill import COLUMNS as WECOM_COLUMNS
from tests.fault.wecom_kill import WecomSpec, run_wecom_kills
from tests.fault.wecom_kill import check as wecom_check
from tests.fault.wecom_kill import report as wecom_report

BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.skipif(not PG_URL, reason="FIELDBOT_TEST_PG_URL not set")),
]


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("mode", ["polling", "webhook"])
def test_kill_9_under_load(mode: str, backend: str, tmp_path, record_property) -> None:  # noqa: ANN001
    spec = Spec(mode=mode, db=backend, kills=default_kills(), seed=int(os.environ.get("FIELDBOT_FAULT_SEED", 1)),
                pg_url=PG_URL or None, workdir=tmp_path)
    result = asyncio.run(run_kills(spec))
    record_property("figures", json.dumps({k: v for k, v in result.items() if k != "lives"}, default=str))
    print(f"\n{table([result])}\n{report(result)}")
    check(result)


@pytest.mark.parametrize("backend", BACKENDS)
def test_kill_9_wecom_callback(backend: str, tmp_path, record_property) -> None:  # noqa: ANN001
    """The WeCom callback under kill -9, SIGSTOP past WeCom's 5 s (its re-delivery after a slow
    answer), replays, stale and forged callbacks (:mod:`tests.fault.wecom_kill`).  Size:
    ``FIELDBOT_FAULT_WECOM_KILLS`` kills (default 4) and a quarter as many pauses (at least one)."""
    kills = int(os.environ.get("FIELDBOT_FAULT_WECOM_KILLS", 4))
    spec = WecomSpec(db=backend, kills=kills, pauses=max(1, kills // 4),
                     seed=int(os.environ.get("FIELDBOT_FAULT_SEED", 1)), pg_url=PG_URL or None, workdir=tmp_path)
    result = asyncio.run(run_wecom_kills(spec))
    record_property("figures", json.dumps({k: v for k, v in result.items() if k != "lives"}, default=str))
    print(f"\n{table([result], WECOM_COLUMNS)}\n{wecom_report(result)}")
    wecom_check(result)
