"""The benchmark harness itself: ``--compare`` flags regressions in the right direction, the
table prints every figure, ``fieldbot bench`` refuses bad input, and the throughput part really
runs end to end (tiny sizes: the figures are not checked here — speed lives in ``bench/``)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench import throughput
from bench.cli import compare, table
from tests.conftest import PG_URL


def results(throughput_ratio: float, reply_ratio: float) -> list[dict]:
    return [
        {"part": "throughput", "figure": "f", "baseline": "b", "ratio": throughput_ratio, "target": 0.25,
         "target_op": "≥", "pass": throughput_ratio >= 0.25},
        {"part": "outbound", "figure": "f", "baseline": "b", "ratio": 1.0, "target": 0.95, "target_op": "≥",
         "pass": True, "checks": [{"figure": "reply", "baseline": "1.5 s", "ratio": reply_ratio, "target": "≤ 1.0",
                                   "pass": reply_ratio <= 1.0}]},
        {"part": "postgresql", "figure": "f", "baseline": "b", "ratio": 0.02, "target": None, "pass": None},
    ]


def test_compare_flags_a_drop_in_a_higher_is_better_ratio_and_a_rise_in_a_lower_is_better_one() -> None:
    old = results(0.10, 0.50)
    new = results(0.08, 0.60)  # throughput 20 % worse, reply delay 20 % worse
    regressions = compare(new, old, tolerance=0.10)
    assert regressions == ["throughput: 0.10 → 0.08", "outbound/0: 0.50 → 0.60"]
    assert new[0]["regressed"] and new[1]["checks"][0]["regressed"] and not new[1]["regressed"]
    text = table(new)
    assert "(was 0.10, REGRESSED)" in text and "reported" in text and text.count("\n") == 4


def test_compare_is_quiet_within_the_tolerance_and_when_things_improve() -> None:
    new = results(0.30, 0.20)
    assert compare(new, results(0.31, 0.50), tolerance=0.10) == []
    assert new[0]["previous_ratio"] == 0.31 and new[0]["regressed"] is False
    assert compare(results(0.1, 0.5), [], tolerance=0.1) == []  # nothing to compare against


def test_fieldbot_bench_refuses_a_missing_compare_file_and_postgresql_without_a_server(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "fieldbot"
    missing = subprocess.run([exe, "bench", "--compare", str(tmp_path / "nope.json")], capture_output=True, text=True,
                             env={"PATH": "/usr/bin:/bin"})
    assert missing.returncode == 2 and "nope.json" in missing.stderr and missing.stdout == ""
    no_server = subprocess.run([exe, "bench", "--part", "postgresql"], capture_output=True, text=True,
                               env={"PATH": "/usr/bin:/bin"})
    assert no_server.returncode == 2 and "--pg-url" in no_server.stderr


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_the_throughput_part_runs_through_the_whole_stack(backend: str, tmp_path: Path) -> None:
    if backend == "postgresql":
        if not PG_URL:
            pytest.skip("FIELDBOT_TEST_PG_URL not set")
        result = throughput.run_postgresql(PG_URL, engineers=4, per_engineer=2, rounds=1)
        assert result["part"] == "postgresql" and result["pass"] is None
    else:
        result = throughput.run(engineers=4, per_engineer=2, rounds=1)
        assert result["part"] == "throughput" and result["target"] == 0.25
    # measure_fieldbot raises unless every check-in made exactly one outbox row
    assert result["fieldbot_updates_per_s"] > 0 and result["bare_updates_per_s"] > 0
    assert json.loads(json.dumps(result))["ratio"] == pytest.approx(result["ratio"])
