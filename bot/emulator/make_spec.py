"""Generate ``api_spec.json``: the compact parameter table the emulator validates against.

Why: the full Bot API description (``shared/telegram-bot-api/api.json``, ~1 MB of prose)
is the reference for what a bot may send. The emulator only needs, per method, the
parameter names, whether each is required and its declared types (to turn form-encoded
strings back into integers, booleans and JSON objects). Keeping that extract in the
package means the emulator never depends on the shared folder at run time.

Usage (from the repository root)::

    python -m bot.emulator.make_spec ../shared/telegram-bot-api/api.json

It rewrites ``bot/emulator/api_spec.json`` next to this file (``-o`` for another path).
Re-run it when the shared spec moves to a new Bot API version.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

DEFAULT_OUTPUT = Path(__file__).with_name("api_spec.json")


def compact_spec(full: dict) -> dict:
    """Reduce the full machine-readable spec to ``{version, methods: {name: [params]}}``.

    Each parameter is ``{"name", "required", "types"}``; methods are sorted so the
    generated file diffs cleanly between versions.
    """
    methods = {}
    for name in sorted(full["methods"]):
        fields = full["methods"][name].get("fields", [])
        methods[name] = [
            {"name": f["name"], "required": bool(f.get("required")), "types": list(f["types"])}
            for f in fields
        ]
    return {"version": full.get("version", "unknown"), "methods": methods}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("api_json", type=Path, help="path to telegram-bot-api/api.json")
    parser.add_argument("-o", "--output", type=Path, default=DEFAULT_OUTPUT)
    args = parser.parse_args(argv)
    full = json.loads(args.api_json.read_text(encoding="utf-8"))
    spec = compact_spec(full)
    # One method per line: compact, yet a reviewer can still read a diff.
    lines = [f"  {json.dumps(m)}: {json.dumps(p, ensure_ascii=False)}" for m, p in spec["methods"].items()]
    text = '{"version": %s, "methods": {\n%s\n}}\n' % (json.dumps(spec["version"]), ",\n".join(lines))
    args.output.write_text(text, encoding="utf-8")
    print(f"wrote {len(spec['methods'])} methods ({spec['version']}) to {args.output}")


if __name__ == "__main__":
    main()
