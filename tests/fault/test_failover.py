"""Failover: two instances on one PostgreSQL database behind a round-robin proxy, the scheduler's
leader SIGKILLed and restarted (:mod:`tests.fault.failover`).  At every sample at most one
instance holds the scheduler lock (``pg_locks``, from outside) and the instances' logs never show
two leaders at once; another instance takes over after each kill; every acknowledgement's
reminder ladder is complete and no reminder is delivered twice except where a kill cut its send
short; nothing confirmed is lost.

One defect this test finds is known and not fixed yet (see :func:`tests.fault.failover.order_defect`):
an update stored by the instance that is then killed is handled by the survivor only at its next
heartbeat, after newer updates of the same conversation — a check-in's notes out of order, or a
note in the next check-in.  It shows only when a kill lands between storing and handling, so the
test xfails (not strictly) when that is *all* that went wrong, and fails on anything else.

Size: ``FIELDBOT_FAULT_FAILOVER_KILLS`` (default 3; 10 when ``FIELDBOT_FAULT_KILLS`` asks for a
big run, e.g. 50).
"""

from __future__ import annotations

import asyncio
import json
import os

import pytest

from tests.conftest import PG_URL
from tests.fault.failover import FAILOVER_COLUMNS, FailoverSpec, run_failover
from tests.fault.figures import report, table
from tests.fault.test_kill import check

ORDER_DEFECT = ("bot/intake.py + bot/runtime.py: with two instances, an update stored by an instance that is "
                "killed before handling it is taken over by the survivor only at its next heartbeat, after the "
                "survivor has handled newer updates of the same conversation (per-session order broken)")


def failover_kills() -> int:
    if "FIELDBOT_FAULT_FAILOVER_KILLS" in os.environ:
        return int(os.environ["FIELDBOT_FAULT_FAILOVER_KILLS"])
    if "FIELDBOT_FAULT_KILLS" in os.environ:
        return max(3, min(10, int(os.environ["FIELDBOT_FAULT_KILLS"]) // 5))
    return 3


def only_the_order_defect(result: dict) -> bool:
    """Everything that went wrong is the known ordering defect, and nothing else did."""
    known = result["order_defect"]
    others = [a for a in result["anomalies"] if not a.startswith("per-session order:")]
    return bool(known["items"]) and known["all_explained"] and not others and result["lost"] == result["lost_effects"]


@pytest.mark.skipif(not PG_URL, reason="FIELDBOT_TEST_PG_URL not set")
def test_leader_killed_and_restarted(tmp_path, record_property) -> None:  # noqa: ANN001
    spec = FailoverSpec(kills=failover_kills(), seed=int(os.environ.get("FIELDBOT_FAULT_SEED", 1)), pg_url=PG_URL,
                        workdir=tmp_path)
    result = asyncio.run(run_failover(spec))
    record_property("figures", json.dumps({k: v for k, v in result.items() if k != "lives"}, default=str))
    shown = f"\n{table([result], FAILOVER_COLUMNS)}\n{report(result)}"
    print(shown)
    leader = result["leader"]
    assert leader["max_holders"] <= 1, "two instances held the scheduler lock at once" + shown
    assert leader["log_overlaps"] == [], "two instances said they ran the scheduler at once" + shown
    assert None not in leader["takeover_s"], "no other instance took the lock after a kill" + shown
    assert result["reminders"]["reminders_missing"] == [], "reminders missing" + shown
    assert result["duplicated"] <= result["sends_in_flight_at_kills"], "more duplicates than sends cut short" + shown
    assert result["unexplained"] == 0, "duplicates or unrecorded sends no kill accounts for" + shown
    assert result["unanswered_restarts"] == [], "a restart never answered /help" + shown
    if (result["lost"] or result["misordered"]) and only_the_order_defect(result):
        pytest.xfail(ORDER_DEFECT)
    check(result)
