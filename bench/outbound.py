"""Outbound pacing: a 1000-message escalation wave against the emulator's Telegram flood limits.

The real bot (``bot.stage.Stage``: aiogram polling through its HTTP client, the outbox sender,
SQLite) runs with the sender at its default pace — ``telegram.rate = 25`` and
``chat_interval = "1s"`` (the stage's test default of ``"0s"`` is replaced before the bot
starts) — against the emulator enforcing 30/s overall and 1/s per private chat.

* The wave: 1000 outbox rows (unique dedupe keys), one each to 1000 distinct private chats,
  written in one transaction, then the sender is woken.
* Achieved rate = messages delivered (the wave's and the interactive replies, which share the
  overall limit and go first) ÷ (emulator's receipt of the last wave message − the time the wave
  was committed), divided by the configured rate (target ≥ 0.95×); the wave's own rate is
  reported beside it.
* 429s: the emulator's ``counters`` (target 0), split into wave chats and the interactive chat.
* Interactive replies: one person sends ``/help`` every ``help_interval`` seconds while the
  wave drains; delay = emulator's receipt of the reply's (first) sendMessage − injection time;
  target p99 ≤ 1.5 s.
"""

from __future__ import annotations

import asyncio
import math
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func, select

WAVE_BASE_UID = 500_000
HELP_UID = 100  # the interactive people are HELP_UID, HELP_UID + 1, …


def _pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def _sends(emu, chat_ids: set[str] | None = None) -> list[dict]:  # noqa: ANN001
    calls = [c for c in emu.api_calls("sendMessage") if c["ok"]]
    if chat_ids is None:
        return calls
    return [c for c in calls if str(c["params"].get("chat_id")) in chat_ids]


async def measure(messages: int = 1000, help_interval: float = 0.5, rate: float = 25.0,
                  chat_interval: float = 1.0, help_users: int = 1) -> dict:
    """``help_users`` > 1 spreads the /help stream round-robin over that many people (each then
    sends every ``help_interval * help_users`` s), which takes the per-chat limit out of the figure."""
    from handlers.channel import Outbound
    from bot.emulator import RateLimits
    from bot.stage import Stage
    from models.enums import Channel, Role
    from models.runtime import OutboxMessage

    with tempfile.TemporaryDirectory(prefix="fieldbot-bench-out-") as tmp:
        async with Stage(Path(tmp)) as s:
            # The stage runs the sender without per-chat pacing (tests); restore the real pace.
            await s.stop_bot()
            s.app.config.telegram.rate = rate
            s.app.config.telegram.chat_interval = timedelta(seconds=chat_interval)
            await s.start_bot()
            pacing = s.rt.adapter.pacing
            assert pacing.chat_interval == chat_interval and pacing.overall_per_second == rate

            uids = [HELP_UID + k for k in range(help_users)]
            for k, uid in enumerate(uids):
                await s.join(uid, Role.SUPERVISOR, f"Helper{k}")
            help_chat = {str(HELP_UID)}
            help_chats = {str(u) for u in uids}
            # One /help before the limits are on, to learn how many messages a reply has.
            before = len(_sends(s.emu, help_chat))
            s.say(HELP_UID, "/help")
            await s.settle()
            per_help = len(_sends(s.emu, help_chat)) - before
            if per_help < 1:
                raise RuntimeError("/help produced no sendMessage")
            await asyncio.sleep(1.5)  # let the join's and the probe's sends leave the 1 s windows

            wave_chats = {str(WAVE_BASE_UID + i) for i in range(messages)}
            for i in range(messages):
                s.emu.add_user(WAVE_BASE_UID + i, first_name=f"Eng{i}")
            s.emu.enable_rate_limits(RateLimits(overall=(30, 1.0), private_chat=(1, 1.0), group_chat=(20, 60.0)))
            help_before = {u: len(_sends(s.emu, {str(u)})) for u in uids}
            async with s.app.db.read() as session:
                max_id_before = await session.scalar(select(func.max(OutboxMessage.id))) or 0

            now = s.clock.now()
            rows = [OutboxMessage(person_id=None, channel=Channel.TELEGRAM, chat_id=str(WAVE_BASE_UID + i),
                                  payload=Outbound(text=f"Escalation: ticket FS-BENCH-{i:04d} is overdue").to_payload(),
                                  dedupe_key=f"bench-wave:{i}", not_before=now, purpose="escalation",
                                  created_at=now) for i in range(messages)]
            async with s.app.db.write() as session:
                session.add_all(rows)
            written_at = time.time()
            s.rt.sender.wake()

            injected: dict[int, list[float]] = {u: [] for u in uids}
            n_injected = 0
            loop = asyncio.get_running_loop()
            deadline = loop.time() + messages / rate * 4 + 60
            next_help = loop.time() + help_interval / 2
            while len(_sends(s.emu, wave_chats)) < messages:
                if loop.time() > deadline:
                    raise TimeoutError(f"the wave did not drain: {len(_sends(s.emu, wave_chats))} of {messages}")
                if loop.time() >= next_help:
                    uid = uids[n_injected % len(uids)]
                    injected[uid].append(time.time())
                    s.say(uid, "/help")
                    n_injected += 1
                    next_help += help_interval
                await asyncio.sleep(min(0.05, max(0.0, next_help - loop.time())))
            wave = _sends(s.emu, wave_chats)
            wave_done = time.time()
            # Replies still queued after the wave are counted too (their delay includes the wait).
            want = sum(help_before.values()) + per_help * n_injected
            reply_deadline = loop.time() + 60 + 2 * per_help * n_injected
            while len(_sends(s.emu, help_chats)) < want and loop.time() < reply_deadline:
                await asyncio.sleep(0.1)
            replies = {u: [c for c in _sends(s.emu, help_chats) if str(c["params"].get("chat_id")) == str(u)]
                       [help_before[u]:] for u in uids}
            # The reply rows in the order they were written (= the order of the /help messages),
            # each with the Telegram message id it was delivered as: exact pairing even when a
            # 429 retry delivers a chat's rows out of order.
            async with s.app.db.read() as session:
                reply_rows = {u: (await session.execute(
                    select(OutboxMessage.id, OutboxMessage.external_message_id)
                    .where(OutboxMessage.chat_id == str(u), OutboxMessage.id > max_id_before)
                    .order_by(OutboxMessage.id))).all() for u in uids}
            counters = s.emu.counters
            attempts = [c for c in s.emu.api_calls("sendMessage") if c["at"] >= written_at]
            sender_stats = {"sent": s.rt.sender.sent, "failed": s.rt.sender.failed}

    delays: list[float] = []
    last_reply_at = float("-inf")
    reordered = 0
    for u in uids:  # the k-th /help's reply is the k-th group of rows written for that chat
        at_by_id = {str(c["result"]["message_id"]): c["at"] for c in replies[u]}
        rows = reply_rows[u]
        first_at = [at_by_id.get(rows[k * per_help][1]) for k in range(len(injected[u])) if k * per_help < len(rows)]
        delays += [at - inj for at, inj in zip(first_at, injected[u]) if at is not None]
        last_reply_at = max([last_reply_at, *(a for a in first_at if a is not None)])
        delivered = [at_by_id[r[1]] for r in rows if r[1] in at_by_id]
        reordered += sum(1 for a, b in zip(delivered, delivered[1:]) if b < a)
    undelivered = n_injected - len(delays)
    by_chat = counters.get("rate_limited_by_chat", {}) if isinstance(counters, dict) else counters.rate_limited_by_chat
    total_429 = counters["too_many_requests"] if isinstance(counters, dict) else counters.too_many_requests
    wave_429 = sum(v for k, v in by_chat.items() if str(k) in wave_chats)
    help_429 = sum(v for k, v in by_chat.items() if str(k) in help_chats)
    wave_at = sorted(c["at"] for c in wave)
    # The sender's achieved rate: every message it delivered while the wave drained — the
    # interactive replies share the same 25/s with the wave (and go first), so they count too.
    during = [c for c in attempts if c["ok"] and written_at <= c["at"] <= wave_at[-1]]
    # Where the 429s come from: the most send attempts the emulator saw in any 1 s window,
    # and when the first 429 came (relative to the wave's commit).
    tries = sorted(c["at"] for c in attempts)
    lo, peak = 0, 0
    for hi, at in enumerate(tries):
        while tries[lo] <= at - 1.0:
            lo += 1
        peak = max(peak, hi - lo + 1)
    refused = [c["at"] - written_at for c in attempts if c["status"] == 429]
    ok_before_first_429 = (sum(1 for c in attempts if c["ok"] and min(refused) - 1.0 < c["at"] - written_at < min(refused))
                           if refused else None)
    return {
        "messages": messages, "configured_rate": rate, "chat_interval_s": chat_interval,
        "rate": len(during) / (wave_at[-1] - written_at),
        "wave_rate": messages / (wave_at[-1] - written_at), "sent_during_wave": len(during),
        "rate_first_to_last": (messages - 1) / (wave_at[-1] - wave_at[0]),
        "wave_s": wave_at[-1] - written_at, "first_send_after_s": wave_at[0] - written_at,
        "too_many_requests": total_429, "rate_limited_wave": wave_429, "rate_limited_interactive": help_429,
        "attempts_peak_per_1s": peak, "first_429_after_s": min(refused) if refused else None,
        "last_429_after_s": max(refused) if refused else None,
        "ok_sends_in_1s_before_first_429": ok_before_first_429,
        "replies_out_of_order": reordered,
        "help_sent": n_injected, "help_users": help_users, "messages_per_help": per_help, "replies_undelivered": undelivered,
        "reply_p50_s": _pct(delays, 0.50), "reply_p99_s": _pct(delays, 0.99),
        "reply_max_s": max(delays) if delays else float("nan"),
        "reply_min_s": min(delays) if delays else float("nan"),
        "wave_done_to_last_reply_s": last_reply_at - wave_done,
        "sender": sender_stats,
    }


def run(messages: int = 1000, help_interval: float = 0.5, help_users: int = 1) -> dict:
    m = asyncio.run(measure(messages, help_interval, help_users=help_users))
    ratio = m["rate"] / m["configured_rate"]
    rate_ok, no_429, reply_ok = ratio >= 0.95, m["too_many_requests"] == 0, m["reply_p99_s"] <= 1.5
    checks = [
        {"figure": f"achieved {m['rate']:.1f}/s", "baseline": f"configured {m['configured_rate']:.0f}/s",
         "ratio": ratio, "target": "≥ 0.95", "pass": rate_ok},
        {"figure": f"429s: {m['too_many_requests']} (wave {m['rate_limited_wave']}, "
                   f"interactive {m['rate_limited_interactive']})", "baseline": "0",
         "ratio": float(m["too_many_requests"]), "target": "= 0", "pass": no_429},
        {"figure": f"reply p99 {m['reply_p99_s']:.2f} s (p50 {m['reply_p50_s']:.2f}, n={m['help_sent']})",
         "baseline": "target 1.5 s", "ratio": m["reply_p99_s"] / 1.5, "target": "≤ 1.0", "pass": reply_ok},
    ]
    return {"part": "outbound", "figure": f"{m['sent_during_wave']} msgs at {m['rate']:.1f}/s in {m['wave_s']:.1f} s",
            "baseline": f"configured {m['configured_rate']:.0f}/s", "ratio": ratio, "target": 0.95,
            "target_op": "≥", "pass": rate_ok and no_429 and reply_ok, "checks": checks,
            **{k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items()}}


if __name__ == "__main__":
    import json
    import sys

    print(json.dumps(run(int(sys.argv[1]) if len(sys.argv) > 1 else 200,
                         help_users=int(sys.argv[2]) if len(sys.argv) > 2 else 1), indent=2))
