"""kill -9 under load: ``fieldbot run`` SIGKILLed at random moments and restarted while engineers
send check-ins with photos; polling and webhook, SQLite and PostgreSQL.

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
