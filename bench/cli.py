"""The benchmark command line, shared by ``python -m bench`` and ``fieldbot bench``.

Each figure is a ratio against a baseline measured in the same run (shared, noisy machines);
targets are reported, never asserted in tests.  ``--compare OLD.json`` shows, per figure, the
previous ratio and flags a regression: a ratio more than ``--tolerance`` worse in the direction
its target points.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

PARTS = ["throughput", "latency", "sweep", "outbound", "memory", "postgresql"]
DEFAULT_PARTS = ["throughput", "latency", "sweep", "outbound", "memory"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--part", action="append", choices=PARTS,
                        help="run only this part (repeatable); postgresql runs by default when a server URL is given")
    parser.add_argument("--pg-url", default=os.environ.get("FIELDBOT_BENCH_PG_URL", ""),
                        help="postgresql: a server URL (postgresql+asyncpg://user@host:port/postgres); a scratch "
                             "database is created and dropped (default $FIELDBOT_BENCH_PG_URL)")
    parser.add_argument("--sizes", default="100000,1000000", help="sweep: ticket counts, smallest first")
    parser.add_argument("--messages", type=int, default=1000, help="outbound: size of the escalation wave")
    parser.add_argument("--help-users", type=int, default=5,
                        help="outbound: people sharing the /help stream (one every 0.5 s in all)")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="memory: tickets in the database")
    parser.add_argument("--memory-db", type=Path, default=None,
                        help="memory: SQLite file to populate (or reuse, if it exists) instead of a temporary one")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency: length of each Poisson run")
    parser.add_argument("--rate", type=float, default=100.0, help="latency: the fixed arrival rate, updates/s")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"), help="where to write results")
    parser.add_argument("--compare", type=Path, default=None, metavar="FILE",
                        help="an earlier results JSON: show each figure's previous ratio and flag regressions")
    parser.add_argument("--tolerance", type=float, default=0.10,
                        help="--compare: a ratio this much worse (fraction, default 0.10) is a regression")


def run_parts(args: argparse.Namespace) -> list[dict[str, Any]]:
    parts = args.part or DEFAULT_PARTS + (["postgresql"] if args.pg_url else [])
    results = []
    if "throughput" in parts:
        from bench import throughput

        results.append(throughput.run())
    if "latency" in parts:
        from bench import latency

        results.append(latency.run(args.rate, args.seconds))
    if "sweep" in parts:
        from bench import sweep

        results.append(sweep.run(tuple(int(s) for s in args.sizes.split(","))))
    if "outbound" in parts:
        from bench import outbound

        results.append(outbound.run(args.messages, help_users=args.help_users))
    if "memory" in parts:
        from bench import memory

        results.append(memory.run(args.tickets, db=args.memory_db))
    if "postgresql" in parts:
        from bench import throughput

        results.append(throughput.run_postgresql(args.pg_url))
    return results


def _rows(result: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(key, figure) for the part's headline and each of its checks: what --compare matches on."""
    rows = [(result["part"], result)]
    rows += [(f"{result['part']}/{i}", check) for i, check in enumerate(result.get("checks", []))]
    return rows


def _worse(new: float, old: float, op: str | None, tolerance: float) -> bool:
    if op == "≥":
        return new < old * (1 - tolerance)
    return new > old * (1 + tolerance)


def compare(results: list[dict[str, Any]], previous: list[dict[str, Any]], tolerance: float) -> list[str]:
    """Annotate each figure with ``previous_ratio`` / ``regressed``; return the regressions."""
    before = {key: row for old in previous for key, row in _rows(old)}
    regressions = []
    for result in results:
        for key, row in _rows(result):
            old = before.get(key)
            if old is None or old.get("ratio") is None or row.get("ratio") is None:
                continue
            op = row.get("target_op") or result.get("target_op")
            if key != result["part"]:  # a check: its target string starts with its operator
                op = "≥" if str(row.get("target", "")).startswith("≥") else "≤"
            row["previous_ratio"] = old["ratio"]
            row["regressed"] = _worse(row["ratio"], old["ratio"], op, tolerance)
            if row["regressed"]:
                regressions.append(f"{key}: {old['ratio']:.2f} → {row['ratio']:.2f}")
    return regressions


def _verdict(row: dict[str, Any]) -> str:
    if row.get("pass") is None:
        return "reported"
    return "pass" if row["pass"] else "MISS"


def _line(part: str, row: dict[str, Any], target: str) -> str:
    previous = row.get("previous_ratio")
    was = ""
    if previous is not None:
        was = f"  (was {previous:.2f}{', REGRESSED' if row.get('regressed') else ''})"
    return (f"{part:<10} {row['figure']:<52} {row['baseline']:<50} {row['ratio']:>7.2f} {target:>7}  "
            f"{_verdict(row)}{was}")


def table(results: list[dict[str, Any]]) -> str:
    lines = [f"{'part':<10} {'figure':<52} {'baseline':<50} {'ratio':>7} {'target':>7}  result"]
    for r in results:
        target = "—" if r.get("target") is None else f"{r.get('target_op', '≤')} {r['target']}"
        lines.append(_line(r["part"], r, target))
        for c in r.get("checks", []):  # parts with several targets: one line each
            lines.append(_line("", c, str(c["target"])))
    return "\n".join(lines)


def main(argv: list[str] | None = None, prog: str = "python -m bench") -> int:
    parser = argparse.ArgumentParser(prog=prog, description="Fieldbot benchmarks: ratios against same-run baselines.")
    add_arguments(parser)
    return run(parser.parse_args(argv), error=parser.error)


def run(args: argparse.Namespace, error: Callable[[str], Any]) -> int:
    """Run the chosen parts; exit code 1 when ``--compare`` found a regression."""
    previous = None
    if args.compare is not None:  # read first: a missing file should not cost a whole run
        try:
            previous = json.loads(args.compare.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            return error(f"--compare {args.compare}: {exc}")
    if "postgresql" in (args.part or []) and not args.pg_url:
        return error("the postgresql part needs --pg-url or $FIELDBOT_BENCH_PG_URL")
    results = run_parts(args)
    regressions = compare(results, previous, args.tolerance) if previous is not None else []
    print(table(results))
    if previous is not None:
        print(f"\nagainst {args.compare}: " + ("; ".join(regressions) if regressions else "no regressions"))
    args.json.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return 1 if regressions else 0
