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
    parser.add_argument("--part", action="append", choices=["sweep"], help="run only this part (repeatable)")
    parser.add_argument("--sizes", default="100000,1000000", help="sweep: ticket counts, smallest first")
    parser.add_argument("--json", type=Path, default=Path("bench-results.json"), help="where to write results")
    args = parser.parse_args(argv)
    parts = args.part or ["sweep"]
    results = []
    if "sweep" in parts:
        from bench import sweep

        sizes = tuple(int(s) for s in args.sizes.split(","))
        results.append(sweep.run(sizes))
    print(f"{'part':<10} {'figure':<32} {'baseline':<32} {'ratio':>7} {'target':>7}  result")
    for r in results:
        print(f"{r['part']:<10} {r['figure']:<32} {r['baseline']:<32} {r['ratio']:>7.2f} "
              f"{'≤ ' + str(r['target']):>7}  {'pass' if r['pass'] else 'MISS'}")
    args.json.write_text(json.dumps(results, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
