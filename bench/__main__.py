"""``python -m bench``: run the benchmarks, print a table, write JSON.

Each figure is a ratio against a baseline measured in the same run (shared, noisy machines);
targets are reported, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--part", action="append", choices=["throughput", "latency", "sweep", "outbound", "memory"], help="run only this part (repeatable)")
    parser.add_argument("--sizes", default="100000,1000000", help="sweep: ticket counts, smallest first")
    parser.add_argument("--messages", type=int, default=1000, help="outbound: size of the escalation wave")
    parser.add_argument("--help-users", type=int, default=5,
                        help="outbound: people sharing the /help stream (one every 0.5 s in all)")
    parser.add_argument("--tickets", type=int, default=1_000_000, help="memory: tickets in the database")
    parser.add_argument("--memory-db", type=Path, default=None,
                        help="memory: SQLite file to populate (or reuse, if it exists) instead of a temporary one")
    parser.add_argument("--seconds", type=float, default=10.0, help="latency: length of each Poisson run")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"), help="where to write results")
    args = parser.parse_args(argv)
    parts = args.part or ["throughput", "latency", "sweep", "outbound", "memory"]
    results = []
    capacity = None
    if "throughput" in parts:
        from bench import throughput

        results.append(throughput.run())
        capacity = results[-1]["fieldbot_updates_per_s"]
    if "latency" in parts:
        from bench import latency

        results.append(latency.run(capacity, args.seconds))
    if "sweep" in parts:
        from bench import sweep

        sizes = tuple(int(s) for s in args.sizes.split(","))
        results.append(sweep.run(sizes))
    if "outbound" in parts:
        from bench import outbound

        results.append(outbound.run(args.messages, help_users=args.help_users))
    if "memory" in parts:
        from bench import memory

        results.append(memory.run(args.tickets, db=args.memory_db))
    print(f"{'part':<10} {'figure':<32} {'baseline':<32} {'ratio':>7} {'target':>7}  result")
    for r in results:
        print(f"{r['part']:<10} {r['figure']:<32} {r['baseline']:<32} {r['ratio']:>7.2f} "
              f"{r.get('target_op', '≤') + ' ' + str(r['target']):>7}  {'pass' if r['pass'] else 'MISS'}")
        for c in r.get("checks", []):  # parts with several targets: one line each
            print(f"{'':<10} {c['figure']:<32} {c['baseline']:<32} {c['ratio']:>7.2f} "
                  f"{c['target']:>7}  {'pass' if c['pass'] else 'MISS'}")
    args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
