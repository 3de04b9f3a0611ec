"""The figures of a run, from what :mod:`tests.fault.count` found, and how they are printed: one
table row per run (kills, updates, confirmed, lost, duplicated, kills inside a send, sends in flight,
the longest answer after a restart) and the details below it (anomalies, log errors, where the
logs are)."""

from __future__ import annotations

import contextlib
import json
import statistics
import time
from typing import TYPE_CHECKING, Any

from tests.fault.count import Effects, Sends
from tests.fault.procs import Life

if TYPE_CHECKING:
    from tests.fault.harness import Run


def log_errors(lives: list[Life], limit: int = 8) -> list[str]:
    """Distinct ERROR lines and exception headlines in the bots' logs (for the report)."""
    found: list[str] = []
    for life in lives:
        with contextlib.suppress(OSError):
            for line in life.log.read_text(errors="replace").splitlines():
                if " ERROR " in line or " CRITICAL " in line:
                    text = f"{life.process}-{life.index}: {line.split(' ERROR ', 1)[-1][:200]}"
                    if text.split(": ", 1)[1] not in {f.split(": ", 1)[1] for f in found}:
                        found.append(text)
    return found[:limit]


def figures(run: "Run", sends: Sends, effects: Effects, obs: Any) -> dict[str, Any]:
    lives = run.lives()
    killed = [life for life in lives if life.how == "killed"]
    answered = [p for p in run.probes if p.answered is not None and not p.cut_short]
    latencies = [p.latency for p in answered]
    in_flight = {k: len(v) for k, v in sends.in_flight.items()}
    anomalies = list(run.anomalies) + effects.anomalies
    if obs.spec_mismatches:
        anomalies.append(f"{len(obs.spec_mismatches)} call(s) did not match the Bot API spec: "
                         f"{obs.spec_mismatches[:3]}")
    if sends.rows_missing:
        anomalies.append(f"{len(sends.rows_missing)} outbox row(s) marked sent with no such message at the "
                         f"emulator: {[r['id'] for r in sends.rows_missing[:10]]}")
    for gap, call in sorted(sends.late, key=lambda g: -g[0])[:5]:
        anomalies.append(f"unrecorded {call['method']} to {call['chat_id']} finished {gap:.1f} s before its kill")
    for call in sends.unexplained[:10]:
        anomalies.append(f"duplicate or unrecorded send no kill accounts for: {call['method']} to {call['chat_id']} "
                         f"at {call['at']:.3f}: {str((call.get('params') or {}).get('text', ''))[:80]!r}")
    anomalies += [f"duplicate effect: {d}" for d in effects.duplicate_effects[:10]]
    anomalies += [f"per-session order: {d}" for d, _ in effects.misordered[:10]]
    if effects.inbox_not_done:
        anomalies.append(f"inbox rows not done: {[(r['external_id'], r['status'], r['last_error']) for r in effects.inbox_not_done[:10]]}")
    return {
        "mode": run.spec.mode, "db": run.spec.db, "seed": run.spec.seed,
        "kills": len(killed),
        "early_kills": sum(1 for p in run.probes if p.cut_short),
        "restarts": len(lives) - len(run.bots),
        "updates_sent": len(run.load.sent),
        "confirmed": len(effects.confirmed),
        "pending_at_end": len(obs.pending),
        "lost": len(effects.lost) + len(effects.inbox_missing) + len(effects.inbox_not_done),
        "lost_effects": len(effects.lost),
        "lost_detail": [f"{what}: {detail}" for what, detail, _ in effects.lost[:20]]
                       + [f"update {i} confirmed but never stored" for i in effects.inbox_missing[:20]]
                       + [f"update {r['external_id']} {r['status']}: {r['last_error']}" for r in effects.inbox_not_done[:20]],
        "duplicated": sends.duplicated,
        "duplicated_by_content": len(sends.marker_extras),
        "kills_inside_send": len(in_flight),
        "sends_in_flight_at_kills": sum(in_flight.values()),
        "in_flight_per_kill": {f"{p}-{i}": n for (p, i), n in sorted(in_flight.items())},
        "unexplained": len(sends.unexplained) + len(effects.duplicate_effects),
        "misordered": len(effects.misordered),
        "max_answer_s": round(max(latencies), 2) if latencies else None,
        "median_answer_s": round(statistics.median(latencies), 2) if latencies else None,
        "answers": f"{len([p for p in run.probes if p.answered is not None])}/{len(run.probes)}",
        "unanswered_restarts": [p.restart for p in run.probes if p.answered is None],
        "checkins": effects.checkins,
        "photos_sent": sum(1 for s in run.load.sent if s.kind == "photo"),
        "photos_stored": effects.photos_stored,
        "messages_delivered": sends.delivered,
        "log_errors": log_errors(lives),
        "anomalies": anomalies,
        "wall_s": round(time.time() - run.started, 1),
        "phases": run.phases,
        "workdir": str(run.workdir),
        "lives": [life.as_dict() for life in lives],
    }


COLUMNS = [("mode", "mode"), ("db", "db"), ("kills", "kills"), ("before answer", "early_kills"),
           ("updates", "updates_sent"), ("confirmed", "confirmed"), ("lost", "lost"),
           ("duplicated", "duplicated"), ("kills in send", "kills_inside_send"),
           ("sends in flight", "sends_in_flight_at_kills"), ("max answer s", "max_answer_s"),
           ("wall s", "wall_s")]


def table(results: list[dict[str, Any]], columns: list[tuple[str, str]] = COLUMNS) -> str:
    rows = [[h for h, _ in columns]] + [[str(r.get(k, "")) for _, k in columns] for r in results]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in rows]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def report(result: dict[str, Any]) -> str:
    extra = [f"  {k}: {result[k]}" for k in ("answers", "median_answer_s", "checkins", "photos_sent",
                                              "photos_stored", "messages_delivered", "in_flight_per_kill",
                                              "duplicated_by_content", "unexplained", "phases", "workdir")
             if k in result]
    for key in ("leader", "reminders", "proxy"):
        if key in result:
            extra.append(f"  {key}: {json.dumps(result[key], default=str)}")
    if result.get("order_defect", {}).get("items"):
        extra.append("  order_defect:")
        extra += [f"    - {line}" for line in result["order_defect"]["items"]]
    for key in ("lost_detail", "anomalies", "log_errors"):
        if result.get(key):
            extra.append(f"  {key}:")
            extra += [f"    - {line}" for line in result[key]]
    return "\n".join(extra)


def check(result: dict) -> None:
    """The promises, with the figures in every failure message."""
    shown = f"\n{table([result])}\n{report(result)}"
    assert result["pending_at_end"] == 0, "updates left unconfirmed at the emulator" + shown
    assert result["lost"] == 0, "confirmed updates lost" + shown
    assert result["duplicated"] <= result["sends_in_flight_at_kills"], "more duplicates than sends cut short" + shown
    assert result["unexplained"] == 0, "duplicates or unrecorded sends no kill accounts for" + shown
    assert result["unanswered_restarts"] == [], "a restart never answered /help" + shown
    assert result["anomalies"] == [], "anomalies" + shown
