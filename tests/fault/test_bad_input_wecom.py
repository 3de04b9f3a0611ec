"""Fault suite: the WeCom callback's bad-input corpus (:mod:`tests.fault.corpus_wecom`) played
against the real bot's WeCom adapters with the local WeCom emulator.

Each family runs in worlds of its own (:class:`tests.support.world.World` on the ``wecom`` driver:
the WeCom emulator, the real bot with its WeCom and 微信客服 adapters serving the callback URL over
HTTP, a real SQLite file; the scheduler off) with the Telegram corpus' cast — staff of every role
in two teams as members of the company app, two customers in 微信客服, members who never joined —
and tickets in every state, check-ins, parts requests and complaints to point buttons at (made as
the Telegram corpus makes them, :mod:`tests.fault.watched`).  WeCom drops what exceeds 30
messages a minute to one member, and the bot keeps under 25: a world is set aside for a fresh one
before anyone in it got :data:`BUDGET` messages in the last minute.  For every case:

1. the case's own objects are made (``fresh``), every dialog is cleared and the case's put in
   place, the legitimate prelude is played;
2. the watched tables are snapshotted (:data:`tests.fault.watched.WATCHED`, the inbox by
   status), the case is sent — raw HTTP requests to the callback URL (``transport``), or a
   plaintext sealed, signed and delivered by the emulator as WeCom does, or what the emulator's
   device API sends — the bot settles, and the tables are snapshotted again;
3. checked —
   transport: each request answered with the status the case allows (a refusal is a 4xx, WeCom
   re-delivers it and gives up), no traceback-like text in a response body, the URL check
   answered with the bare plaintext;
   inbox: nothing stored by a refused or ignored request, exactly one row for what was accepted
   however often it was delivered (a replay inside the window, a retry with a new nonce), one
   parked row for what is genuinely unreadable and none otherwise, none left pending;
   logs: no ERROR record and no record carrying a traceback from the bot (``bot``, ``handlers``,
   ``models``) or from the HTTP server (an exception escaping the callback is aiohttp's ERROR and
   a 500), at most one WARNING line per refused request, no handling retried after an exception;
   refusal: where one is due nothing watched changed (the sender's own dialog only where the case
   says ``dialog_moves``), nobody else was written to, and the sender got an answer — unless the
   case is silent (unreadable, refused at the callback, an ignored kind), which must get none;
   replies: to the sender at most :data:`SHORT` characters unless ``long_ok``, in the sender's
   language (on WeCom a stranger's is the bot's, English here), no internal-error apology and no
   traceback-like text to anyone;
   afterwards: a transport case is followed by a normal message from a member, which must be
   answered; a 微信客服 case by the customer's next message, likewise.

Cases that found a defect in the bot name it (:data:`DEFECTS`, all fixed); a failing case names
its defect in the report, so a regression says what came back.  The figures per family are
printed (``pytest -s``); ``FIELDBOT_BAD_INPUT_DUMP=FILE`` appends every case with what the bot
answered as JSON lines, for review.  ``FIELDBOT_BAD_INPUT_WECOM=full`` plays the full corpus.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import delete, select

from bot.channels.wecom import crypto as wecom_crypto
from bot.channels.wecom import xmlmsg
from handlers.channel import Button, Outbound
from handlers.flow_list import FLOWS
from handlers.registry import build_router
from models.enums import (
    Channel,
    FeedbackSource,
    InboxStatus,
    PartsStatus,
    Role,
    TicketStatus,
)
from models.people import ChannelIdentity
from models.runtime import ConversationState
from models.tickets import Ticket
from models.work import Complaint, Feedback, PartsRequest
from tests.fault import corpus_wecom as W
from tests.fault.corpus import Member
from tests.fault.corpus_wecom import BY_KEY, CAST
from tests.fault.watched import (
    APOLOGIES,
    CJK,
    KNOWN_CJK,
    NO_SCHEDULER,
    OUR_LOGGERS,
    SHORT,
    TRACEBACK,
    bind_ticket,
    changes,
    customer_link,
    make_ticket,
    snapshot,
)
from tests.support.tickets import checkin as record_checkin_as
from tests.support.world import World

router = build_router(FLOWS)
#: Messages one member may have had in the last minute before a case is played in a new world
#: (WeCom drops over 30 a minute silently; the bot waits at 25).
BUDGET = 18
SENT_PATHS = {"message/send", "message/update_template_card", "kf/send_msg", "kf/send_msg_on_event"}
LOGGERS = (*OUR_LOGGERS, "aiohttp")

#: Defects this corpus found, all fixed since: name → what was wrong.  Cases name theirs
#: (``Case.defect``); a failing one names it in the report.
DEFECTS: dict[str, str] = {
    "envelope_not_read_as_utf8": (
        "bot/channels/wecom/crypto.py parse_envelope() handed the raw bytes to ElementTree: a body declaring an "
        "encoding the parser does not know (encoding=\"x-no-such-charset\", or a codec such as rot13) raised "
        "LookupError, which no except caught — the callback answered 500 and aiohttp logged an ERROR traceback, "
        "for any stranger's POST, before the signature was even checked; and a body in UTF-16 passed the "
        "DOCTYPE/ENTITY check (it looked for the ASCII bytes) and had its entities expanded — a correctly signed "
        "ciphertext hidden in an entity was accepted, as was a body declaring Latin-1"),
    "timestamp_out_of_the_platforms_range": (
        "bot/channels/wecom/app.py _check_fresh() caught TypeError, ValueError and OverflowError from "
        "datetime.fromtimestamp, but a signed timestamp such as 10**18 raises OSError (EOVERFLOW) on Linux: "
        "the callback answered 500 with an ERROR traceback instead of refusing the request"),
    "create_time_out_of_the_platforms_range": (
        "bot/channels/wecom/app.py _time() (CreateTime, the phone's clock) missed OSError the same way: a "
        "member's message with CreateTime 10**18 made parse() raise, so the message was parked as unreadable and "
        "never answered"),
    "plaintext_nested_too_deep": (
        "bot/channels/wecom/xmlmsg.py read() turned elements into dicts recursively without a limit: a "
        "decrypted plaintext nested 3000 deep raised RecursionError, which the callback did not catch — a 500 "
        "and an ERROR traceback (WeCom re-delivers it three times)"),
    "odd_kinds_left_unanswered": (
        "bot/channels/wecom/app.py parse() returned None for every message kind but text, image and location: "
        "a member's voice message, video, file or link was not even stored and got no answer — also in the "
        "middle of a dialog (the arrival's photo step), where Telegram answers the same with the step's ask"),
    "unhandled_event_without_a_sender_parked": (
        "bot/channels/wecom/app.py parse() demanded FromUserName before looking at the kind: an event Fieldbot "
        "does not handle and that names no member (batch_job_result, change_contact, any event WeCom adds) was "
        "parked for an operator as unreadable, where any other unhandled event is dropped unstored"),
    "sender_not_a_name": (
        "bot/channels/wecom/app.py parse() took str() of FromUserName whatever it was: a FromUserName holding "
        "an element became the user id \"{'id': 'u100'}\", a stranger the bot then tried to answer through "
        "message/send (refused by WeCom)"),
    "kf_token_refused_kept_and_logged_with_a_traceback": (
        "bot/channels/wecom/kf.py kept the Token of the latest kf_msg_or_event for every later pull: a Token WeCom "
        "refuses (95007: forged, expired after its 10 minutes, or another 微信客服 account's, whose events reach "
        "the same URL) failed the pull with a WARNING carrying a traceback, and kept failing every pull after "
        "it — each minute's re-pull too — until another event brought a new Token; messages waiting meanwhile "
        "were not pulled"),
}


def corpus() -> list[W.Case]:
    return W.generate(prefixes={k: r.roles for k, r in router.callbacks.items()},
                      commands_={k: r.roles for k, r in router.commands.items()})


CASES = corpus()
#: Chinese that may rightly appear in an English reply: names and customer data shown back.
ALLOWED_CJK = KNOWN_CJK | set(CJK.findall(" ".join(m.name for m in CAST)))


# -- the world ------------------------------------------------------------------------------------
class Env(dict):
    """Ids, numbers and tokens of the world by name, to fill the corpus' placeholders; the
    emulator's clock and ids for plaintexts."""

    def __init__(self, w: World) -> None:
        super().__init__()
        emu = w.driver.emu
        self.w, self.emu, self.corp, self.agent_id = w, emu, emu.world.corp_id, emu.world.agent_id
        self._ids = 0

    def now(self) -> float:
        return self.emu.now()

    def next_id(self) -> int:
        self._ids += 1
        return self._ids

    def format(self, text: str) -> str:
        return text.format_map(self)

    def fill(self, value: Any) -> Any:
        if isinstance(value, str):
            out = self.format(value)
            whole = re.fullmatch(r"\{(\w+)\}", value)
            return int(out) if whole and out.isdigit() else out
        if isinstance(value, dict):
            return {k: self.fill(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.fill(v) for v in value]
        return value


async def build(w: World) -> Env:
    """The cast, and something in every state to point at (as the Telegram corpus builds it)."""
    env = Env(w)
    emu = env.emu
    for m in CAST:
        if m.role is None:
            emu.add_member(W.address(m), m.name)  # in the company, never joined
    for role in (Role.SUPERVISOR, Role.MANAGER, Role.DISPATCHER, Role.ENGINEER):
        for m in (m for m in CAST if m.role is role):
            await w.join(m.uid, role, m.name, team=m.team, lang="zh-CN" if m.expects == "zh-CN" else None)
            env[f"p_{m.key}"] = str(await _person(w, m))
    eng, eng_zh, eng_s = (int(env[f"p_{k}"]) for k in ("eng_en", "eng_zh", "eng_s_en"))
    plan = {
        "T_new": (TicketStatus.NEW, None, "acme"), "T_disp": (TicketStatus.DISPATCHED, eng, "acme"),
        "T_acc": (TicketStatus.ACCEPTED, eng, "acme"), "T_route": (TicketStatus.EN_ROUTE, eng, "acme"),
        "T_site": (TicketStatus.ON_SITE, eng, "acme"), "T_paused": (TicketStatus.PAUSED, eng, "acme"),
        "T_res": (TicketStatus.RESOLVED, eng, "acme"), "T_signed": (TicketStatus.SIGNED_OFF, eng, "acme"),
        "T_rated": (TicketStatus.SIGNED_OFF, eng, "acme"), "T_closed": (TicketStatus.CLOSED, eng, "acme"),
        "T_cancel": (TicketStatus.CANCELLED, eng, "acme"), "T_cb": (TicketStatus.CLOSED, eng, "acme"),
        "T_cbx": (TicketStatus.CLOSED, eng, "acme"),
        "Z_disp": (TicketStatus.DISPATCHED, eng_zh, "acme"), "Z_acc": (TicketStatus.ACCEPTED, eng_zh, "acme"),
        "Z_route": (TicketStatus.EN_ROUTE, eng_zh, "acme"), "Z_site": (TicketStatus.ON_SITE, eng_zh, "acme"),
        "Z_res": (TicketStatus.RESOLVED, eng_zh, "acme"),
        "H_res": (TicketStatus.RESOLVED, eng_zh, "huaxing"), "H_cbf": (TicketStatus.CLOSED, eng_zh, "huaxing"),
        "S_new": (TicketStatus.NEW, None, "south"), "S_disp": (TicketStatus.DISPATCHED, eng_s, "south"),
        "S_site": (TicketStatus.ON_SITE, eng_s, "south"),
    }
    rows = {}
    for name, (status, engineer, customer) in plan.items():
        rows[name] = await make_ticket(w, status, engineer=engineer, customer=customer)
        await bind_ticket(env, name, rows[name])
    # Customers join by their ticket's link in 微信客服: Mr Lin for Acme, 张三 for 华星电子.
    for key, ticket in (("cust_en", "T_site"), ("cust_zh", "H_res")):
        m = BY_KEY[key]
        await w.redeem(m.uid, await customer_link(w, rows[ticket].id), name=m.name,
                       lang="zh-CN" if m.expects == "zh-CN" else "en", customer=True)
        env[f"p_{key}"] = str(await _person(w, m))
    now = w.clock.now()
    async with w.app.db.write() as s:
        for name, state in (("T_cb", "sent"), ("T_cbx", "expired"), ("H_cbf", "answered")):
            ticket = await s.get(Ticket, rows[name].id)
            ticket.callback_state, ticket.callback_sent_at = state, now
        cust_en, cust_zh = int(env["p_cust_en"]), int(env["p_cust_zh"])
        s.add(Feedback(ticket_id=rows["H_cbf"].id, source=FeedbackSource.CALLBACK, rating=4, person_id=cust_zh, at=now))
        s.add(Feedback(ticket_id=rows["T_rated"].id, source=FeedbackSource.SIGNOFF, rating=5, person_id=cust_en, at=now))
        for name, ticket, status in (("PR", "T_site", PartsStatus.PENDING), ("PR_closed", "T_closed", PartsStatus.PENDING)):
            request = PartsRequest(ticket_id=rows[ticket].id, requested_by_id=eng, part="fan", quantity=1,
                                   status=status, created_at=now)
            s.add(request)
            await s.flush()
            env[name] = str(request.id)
        complaint = Complaint(ticket_id=rows["T_site"].id, engineer_id=eng, customer_person_id=cust_en, text="late",
                              created_at=now)
        s.add(complaint)
        await s.flush()
        env["CP"] = str(complaint.id)
    env["CHK"] = str(await record_checkin_as(w, BY_KEY["eng_en"].uid, rows["T_site"]))
    env["CHK_S"] = str(await record_checkin_as(w, BY_KEY["eng_s_en"].uid, rows["S_site"]))
    await w.settle()
    return env


async def _person(w: World, m: Member) -> int:
    async with w.app.db.read() as s:
        return await s.scalar(select(ChannelIdentity.person_id).where(
            ChannelIdentity.external_user_id == W.address(m)))


async def make_fresh(w: World, env: Env, specs: tuple[str, ...]) -> Env:
    """Objects made for one case, bound on a copy of ``env``: ``NAME=kind[:args]``."""
    out = Env(w)
    out.update(env)
    out._ids = env._ids
    now = w.clock.now()
    for spec in specs:
        name, _, kind = spec.partition("=")
        what, *args = kind.split(":", 2)
        if what == "ticket":  # ticket:STATUS[:ENGINEER]
            status = TicketStatus(args[0])
            engineer = int(env[f"p_{args[1]}"]) if len(args) > 1 else int(env["p_eng_en"])
            await bind_ticket(out, name, await make_ticket(w, status, engineer=None if status is TicketStatus.NEW
                                                           else engineer))
        elif what == "parts":
            row = await make_ticket(w, TicketStatus.ON_SITE, engineer=int(env["p_eng_en"]))
            async with w.app.db.write() as s:
                request = PartsRequest(ticket_id=row.id, requested_by_id=int(env["p_eng_en"]), part="belt", quantity=2,
                                       status=PartsStatus.PENDING, created_at=now)
                s.add(request)
                await s.flush()
                out[name] = str(request.id)
        elif what == "checkin":
            row = await make_ticket(w, TicketStatus.ON_SITE, engineer=int(env["p_eng_en"]))
            out[name] = str(await record_checkin_as(w, BY_KEY["eng_en"].uid, row))
        elif what == "card":  # card:OWNER:DATA — a real card the bot sent OWNER, with one button
            owner, data = BY_KEY[args[0]], env.format(args[1])
            adapter = w.rt.adapters[Channel.WECOM]
            out[name] = await adapter.send(W.address(owner), Outbound(text="Your ticket", buttons=[[Button("Open", data)]],
                                                                     lang="en"))
        else:
            raise ValueError(f"unknown fresh object {spec!r}")
    return out


# -- playing a case -------------------------------------------------------------------------------
@dataclass
class Reply:
    to: str
    text: str


@dataclass
class Outcome:
    case: W.Case
    problems: list[str] = field(default_factory=list)
    replies: list[Reply] = field(default_factory=list)
    statuses: list[int | None] = field(default_factory=list)
    parked: int = 0


def reply_text(call: dict) -> list[tuple[str, str]]:
    """(recipient, words shown) of one logged API call that sent something."""
    body = call.get("body") or {}
    path = call["path"]
    if path == "message/update_template_card":
        card = body.get("template_card") or {}
        words = "\n".join(p for p in ((card.get("main_title") or {}).get("title", ""), card.get("sub_title_text", ""))
                          if p)
        return [(str(u), words) for u in body.get("userids") or []]
    kind = body.get("msgtype")
    if kind == "text":
        words = (body.get("text") or {}).get("content", "")
    elif kind == "template_card":
        card = body.get("template_card") or {}
        words = "\n".join(p for p in ((card.get("main_title") or {}).get("title", ""), card.get("sub_title_text", ""))
                          if p)
    elif kind == "msgmenu":
        words = (body.get("msgmenu") or {}).get("head_content", "")
    else:
        words = ""  # a photo
    return [(u, words) for u in str(body.get("touser") or "").split("|") if u]


class Player:
    def __init__(self, w: World, env: Env, caplog: pytest.LogCaptureFixture, http: aiohttp.ClientSession) -> None:
        self.w, self.env, self.caplog, self.http = w, env, caplog, http
        self.emu = w.driver.emu
        self.tx = W.Tx(env.corp, self.emu.token, self.emu.encoding_aes_key, env.agent_id, self.emu.now)
        self.pings = 0
        self.typed: list[str] = []

    def busy(self) -> str | None:
        """Who here got :data:`BUDGET` messages in the last minute (WeCom's window), if anyone."""
        now = self.emu.world.clock.ticks()
        return next((who for who, times in self.emu.world.send_times.items()
                     if sum(1 for t in times if t > now - 60) >= BUDGET), None)

    # the emulator's log, read in place --------------------------------------------------------
    def _mark(self) -> dict | None:
        calls = self.emu.world.calls
        return calls[-1] if calls else None

    def _sent_since(self, mark: dict | None) -> list[Reply]:
        out = []
        for record in reversed(self.emu.world.calls):
            if record is mark:
                break
            if record["path"] in SENT_PATHS and record.get("errcode") == 0:
                out.extend(Reply(to, words) for to, words in reply_text(record))
        return out[::-1]

    # sending ---------------------------------------------------------------------------------
    async def request(self, r: W.Request) -> tuple[int, bytes]:
        url = self.emu.callback_url
        async with self.http.request(r.method, url, params=r.params, data=r.body or None,
                                     headers=dict(r.headers) or None) as resp:
            return resp.status, await resp.read()

    async def deliver(self, plaintext: str, m: Member, *, kind: str = "text", agent: bool = True) -> list[int | None]:
        record = await self.emu.callbacks.deliver(plaintext, kind=kind, userid=W.address(m).lower(), agent=agent)
        return [a["status"] for a in record["attempts"]]

    async def send(self, env: Env, m: Member, send: W.Send, out: Outcome | None = None) -> None:
        if isinstance(send, W.Http):
            for r in send.build(self.tx, m):
                status, body = await self.request(r)
                if out is not None:
                    out.statuses.append(status)
                    if status not in send.status:
                        out.problems.append(f"HTTP {status} (expected {'/'.join(map(str, send.status))})")
                    if TRACEBACK.search(body.decode("utf-8", "replace")):
                        out.problems.append(f"traceback-like text in the HTTP answer: {body[:200]!r}")
                    if send.echo and status == 200 and not re.fullmatch(rb"\d+", body):
                        out.problems.append(f"the URL check was not answered with the bare plaintext: {body[:80]!r}")
        elif isinstance(send, W.Deliver):
            plaintext = send.build(env, m)
            self.typed.append(plaintext)
            kind = "template_card_event" if "template_card_event" in plaintext else "text"
            for _ in range(send.times):
                statuses = await self.deliver(plaintext, m, kind=kind)
                if out is not None:
                    out.statuses += statuses
                    want = 400 if send.outcome == "refused" else 200
                    if statuses[0] != want:
                        out.problems.append(f"the callback answered {statuses} (expected {want})")
        elif isinstance(send, W.Typed):
            self.typed.append(send.text)
            if m.role is Role.CUSTOMER:
                await self.emu.customer_text(W.address(m), send.text)
            else:
                await self.emu.user_text(W.address(m), send.text)
        elif isinstance(send, W.KfWake):
            await self.kf_wake(m, send.token, out)
        else:  # pragma: no cover
            raise TypeError(send)

    async def kf_wake(self, m: Member, token: str, out: Outcome | None) -> None:
        emu = self.emu
        if token == "other_account":  # a real Token of another 微信客服 account of the company, as WeCom sends it
            other = next((k for k in emu.world.kf_accounts if k != emu.open_kfid), None) or emu.add_kf_account("售前")
            record = await emu._notify(other, W.address(m), True)
        else:
            fields: list[tuple[str, Any]] = [("Event", "kf_msg_or_event")]
            if token == "forged":
                fields.append(("Token", f"ENCforged{self.env.next_id():034d}"))
            fields.append(("OpenKfId", emu.open_kfid))
            plaintext = W.plain("event", *fields, user=None, agent=False)(self.env, m)
            record = await emu.callbacks.deliver(plaintext, kind="kf_msg_or_event", external_userid=W.address(m),
                                                 agent=False)
        statuses = [a["status"] for a in record["attempts"]]
        if out is not None:
            out.statuses += statuses
            if statuses[0] != 200:
                out.problems.append(f"the callback answered {statuses} (expected 200)")

    async def settle(self) -> str | None:
        """Everything delivered is stored, handled, pulled (微信客服) and its answers sent."""
        rt = self.w.rt
        kf = rt.adapters.get(Channel.WECOM_KF)
        try:
            if kf is not None:
                await asyncio.wait_for(kf.idle.wait(), 10)
            await rt.intake.drain(timeout=10)
            await rt.sender.drain(timeout=10)
        except TimeoutError:
            return "the bot did not settle within 10 s"
        if rt.intake._tasks:
            return "updates still being handled after 10 s"
        return None

    async def ping(self) -> str | None:
        """A normal message from a member, which must be answered (the bot still works)."""
        staff = [m for m in CAST if m.role not in (None, Role.CUSTOMER)]
        m = staff[self.pings % len(staff)]
        self.pings += 1
        mark = self._mark()
        await self.emu.user_text(W.address(m), "hello")
        if problem := await self.settle():
            return f"afterwards: {problem}"
        if not [r for r in self._sent_since(mark) if r.to == W.address(m)]:
            return f"afterwards: a normal message from {m.key} was not answered"
        return None

    # one case --------------------------------------------------------------------------------
    async def play(self, case: W.Case) -> Outcome:
        w, out = self.w, Outcome(case)
        m = BY_KEY[case.sender]
        self.typed = []
        env = await make_fresh(w, self.env, case.fresh) if case.fresh else self.env
        async with w.app.db.write() as s:
            await s.execute(delete(ConversationState))
            if case.dialog:
                owner, flow, step, data = case.dialog
                who = BY_KEY[owner or case.sender]
                s.add(ConversationState(session_key=f"wc:{W.address(who)}:{W.address(who)}", flow=flow, step=step,
                                        data=env.fill(data)))
        log_start = len(self.caplog.records)
        for step in case.prelude:
            await self.send(env, m, step)
            if problem := await self.settle():
                out.problems.append(f"prelude: {problem}")
        self.typed = []
        before, inbox_before = await snapshot(w)
        mark, log_start = self._mark(), len(self.caplog.records)
        await self.send(env, m, case.send, out)
        if problem := await self.settle():
            out.problems.append(problem)
        after, inbox_after = await snapshot(w)
        out.replies = self._sent_since(mark)
        self._check_logs(out, self.caplog.records[log_start:])
        self._check_inbox(out, inbox_before, inbox_after)
        if case.refusal:
            own = {f"wc:{W.address(m)}:{W.address(m)}"} if case.dialog_moves else set()
            for change in changes(before, after, sender_keys=own):
                out.problems.append(f"state changed on a refusal: {change}"[:600])
        self._check_replies(out, m)
        if case.then is not None:
            mark = self._mark()
            await self.send(env, m, W.Typed(case.then))
            if problem := await self.settle():
                out.problems.append(f"afterwards: {problem}")
            if not [r for r in self._sent_since(mark) if r.to == W.address(m)]:
                out.problems.append(f"afterwards: {case.sender}'s next message {case.then!r} was not answered")
        if case.family == "transport" and (problem := await self.ping()):
            out.problems.append(problem)
        if out.problems and case.defect:
            out.problems.append(f"(the defect {case.defect!r} is back)")
        return out

    # checks ----------------------------------------------------------------------------------
    def _check_logs(self, out: Outcome, records: list[logging.LogRecord]) -> None:
        refused = sum(1 for s in out.statuses if s is not None and 400 <= s < 500)
        warnings = 0
        for r in records:
            if r.name.split(".")[0] not in LOGGERS:
                continue
            crash = r.levelno >= logging.ERROR or (r.levelno >= logging.WARNING and r.exc_info)
            retried = r.name == "handlers.core" and "failed (try" in r.getMessage()
            if crash or retried:
                out.problems.append(f"log {r.levelname} {r.name}: {r.getMessage()[:200]}"
                                    + (f" [{r.exc_info[0].__name__}: {r.exc_info[1]}]"[:300] if r.exc_info else ""))
            elif r.levelno == logging.WARNING and r.name.startswith("bot.channels.wecom"):
                warnings += 1 + r.getMessage().count("\n")
        if warnings > max(refused, 0) and (refused or out.case.family == "transport"):
            out.problems.append(f"{warnings} WARNING line(s) for {refused} refused request(s)")

    def _check_inbox(self, out: Outcome, before: Counter, after: Counter) -> None:
        send = out.case.send
        parked = after[InboxStatus.PARKED] - before[InboxStatus.PARKED]
        stored = sum(after.values()) - sum(before.values())
        out.parked = parked
        if isinstance(send, W.Http):
            want_stored, want_parked = send.stored, 0
        elif isinstance(send, W.Deliver):
            want_stored = 0 if send.outcome in ("ignored", "refused") else 1
            want_parked = 1 if send.outcome == "parked" else 0
        elif isinstance(send, W.Typed):
            want_stored, want_parked = 1, 0
        else:  # a 微信客服 wake-up: nothing of its own is stored
            want_stored, want_parked = 0, 0
        if parked != want_parked:
            out.problems.append(f"{parked} update(s) parked (expected {want_parked})")
        if stored != want_stored:
            out.problems.append(f"{stored} inbox row(s) stored (expected {want_stored})")
        if after[InboxStatus.PENDING]:
            out.problems.append(f"{after[InboxStatus.PENDING]} update(s) left pending")

    def _check_replies(self, out: Outcome, m: Member) -> None:
        case = out.case
        me = W.address(m)
        expects = case.lang or W.expects(m)
        allowed = ALLOWED_CJK | set(CJK.findall(json.dumps(self.typed, ensure_ascii=False)))
        for r in out.replies:
            if r.text in APOLOGIES:
                out.problems.append(f"internal-error apology to {r.to}")
            if TRACEBACK.search(r.text):
                out.problems.append(f"traceback-like text to {r.to}: {r.text[:200]!r}")
        mine = [r for r in out.replies if r.to == me]
        others = [r for r in out.replies if r.to != me]
        if case.silent:
            if out.replies:
                out.problems.append(f"answered a case that must stay silent: {[(r.to, r.text[:80]) for r in out.replies]}")
            return
        if case.refusal and others:
            out.problems.append(f"wrote to others on a refusal: {[(r.to, r.text[:80]) for r in others]}")
        if case.refusal and not [r for r in mine if r.text]:
            out.problems.append("a refusal without any answer")
        if case.messages is not None and len(mine) != case.messages:
            out.problems.append(f"{len(mine)} messages to the sender, expected {case.messages}: "
                                f"{[r.text[:60] for r in mine]}")
        for r in mine:
            if not r.text:
                continue
            if len(r.text) > SHORT and not case.long_ok:
                out.problems.append(f"a reply of {len(r.text)} characters: {r.text[:120]!r}…")
            found = set(CJK.findall(r.text))
            if expects == "zh-CN" and not found:
                out.problems.append(f"a reply not in Chinese for a zh-CN sender: {r.text[:120]!r}")
            if expects == "en" and found - allowed:
                out.problems.append(f"a reply with Chinese for an en sender: {r.text[:120]!r}")


# -- the tests ------------------------------------------------------------------------------------
async def play_all(tmp_path: Path, cases: list[W.Case],
                   caplog: pytest.LogCaptureFixture) -> tuple[list[Outcome], list[str]]:
    """Every case, in as many worlds as WeCom's per-member limits need; (outcomes, why each world
    after the first was needed)."""
    caplog.set_level(logging.WARNING)
    outcomes: list[Outcome] = []
    worlds, full = 0, []
    todo = list(cases)
    async with aiohttp.ClientSession() as http:
        while todo:
            worlds += 1
            if worlds > 40:
                raise RuntimeError("WeCom's per-member limits leave no room: the corpus is lopsided")
            where = tmp_path / f"world{worlds}"
            where.mkdir()
            # No scheduler: a chase or the monthly report coming due mid-run would write to people out of turn.
            async with World(where, "wecom", extra_config=NO_SCHEDULER) as w:
                env = await build(w)
                player = Player(w, env, caplog, http)
                played = 0
                while todo and (played == 0 or not player.busy()):
                    outcomes.append(await player.play(todo.pop(0)))
                    played += 1
                if todo:
                    full.append(f"{player.busy()} after {played}")
    if dump := os.environ.get("FIELDBOT_BAD_INPUT_DUMP"):  # every case and what the bot said, for review
        lines = [json.dumps({"case": o.case.id, "refusal": o.case.refusal, "silent": o.case.silent,
                             "problems": o.problems, "parked": o.parked, "statuses": o.statuses,
                             "replies": [[r.to, r.text] for r in o.replies]}, ensure_ascii=False) + "\n"
                 for o in outcomes]
        with Path(dump).open("a", encoding="utf-8") as fh:  # noqa: ASYNC230 (a test's report, once)
            fh.writelines(lines)
    return outcomes, full


def _figures(family: str, outcomes: list[Outcome], full: list[str], seconds: float) -> str:
    refused = sum(1 for o in outcomes if o.statuses and all(s is not None and 400 <= s < 500 for s in o.statuses))
    silent = sum(1 for o in outcomes if not o.replies)
    longest = max((len(r.text) for o in outcomes if not o.case.long_ok for r in o.replies), default=0)
    return (f"[bad-input wecom] {family:9} cases={len(outcomes):3} refused={refused:3} "
            f"refusals={sum(o.case.refusal for o in outcomes):3} silent={silent:3} "
            f"replies={sum(len(o.replies) for o in outcomes):3} max_reply={longest:3} (long_ok aside) "
            f"parked={sum(o.parked for o in outcomes):2} problems={sum(bool(o.problems) for o in outcomes)} "
            f"worlds={1 + len(full)}{' (' + ', '.join(full) + ')' if full else ''} {seconds:5.1f}s")


def _report(outcomes: list[Outcome]) -> str:
    return "\n".join(f"{o.case.id}: " + " | ".join(o.problems) for o in outcomes if o.problems)


@pytest.mark.parametrize("family", W.FAMILIES)
async def test_bad_input_wecom_family(family: str, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    cases = [c for c in CASES if c.family == family]
    started = time.monotonic()
    outcomes, full = await play_all(tmp_path, cases, caplog)
    print("\n" + _figures(family, outcomes, full, time.monotonic() - started))
    assert not any(o.problems for o in outcomes), _report(outcomes)


def test_the_wecom_corpus_covers_what_the_bot_knows() -> None:
    """Every family; every button prefix pressed with a bad id; every role-restricted command from a
    stranger and from a wrong role, with the slash and as a word; every defect named by its cases."""
    assert {c.family for c in CASES} == set(W.FAMILIES)
    pressed = {c.name.split("/")[1] for c in CASES if c.name.startswith("bad_id/")}
    assert set(router.callbacks) <= pressed, set(router.callbacks) - pressed
    restricted = {k: r.roles for k, r in router.commands.items() if r.roles is not None}
    staff = {Role.SUPERVISOR, Role.MANAGER, Role.DISPATCHER, Role.ENGINEER}
    for who, need in (("stranger", set(restricted)), ("wrong_role", {k for k, r in restricted.items() if staff - r})):
        for form in ("slash", "word"):
            said = {c.name.split("/")[1] for c in CASES if c.name.startswith(f"{who}/") and f"/{form}" in c.name}
            assert need <= said, (who, form, need - said)
    by_customers = {c.send.text.lstrip("/").split()[0] for c in CASES if c.name.startswith("customer/")}
    assert {k for k, r in restricted.items() if not staff - r} <= by_customers  # only a customer may not
    named = {c.defect for c in CASES if c.defect}
    assert named == set(DEFECTS), named ^ set(DEFECTS)
    again = corpus()  # deterministic: the same cases, in the same order
    assert [c.id for c in again] == [c.id for c in CASES]
    counts = Counter(c.family for c in CASES)
    print("\n[bad-input wecom] corpus " + " ".join(f"{f}={counts[f]}" for f in W.FAMILIES)
          + f" total={len(CASES)} size={W.SIZE} defects={len(DEFECTS)}")


# -- the defects, one by one at the unit they were in ---------------------------------------------
KEY = "jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C"
CORP = "wx5823bf96d3bd56c7"


def _signed(body: bytes, encrypt: str) -> tuple[bytes, str, str, str]:
    return body, wecom_crypto.signature("QDG6eK", "1409659813", "1372623149", encrypt), "1409659813", "1372623149"


@pytest.mark.parametrize("declaration", ["x-no-such-charset", "rot13", "GBK", "ISO-8859-1", "utf-16"])
def test_an_envelope_declaring_another_encoding_is_malformed(declaration: str) -> None:
    c = wecom_crypto.WeComCrypto("QDG6eK", KEY, CORP)
    encrypt = c.encrypt("<xml><Content>x</Content></xml>")
    body = f'<?xml version="1.0" encoding="{declaration}"?><xml><Encrypt>{encrypt}</Encrypt></xml>'.encode()
    with pytest.raises(wecom_crypto.MalformedMessage):
        c.decrypt_callback(*_signed(body, encrypt))
    plain = f'<?xml version="1.0" encoding="UTF-8"?><xml><Encrypt>{encrypt}</Encrypt></xml>'.encode()
    assert c.decrypt_callback(*_signed(plain, encrypt)) == "<xml><Content>x</Content></xml>"


def test_an_entity_hidden_in_utf16_is_refused() -> None:
    c = wecom_crypto.WeComCrypto("QDG6eK", KEY, CORP)
    encrypt = c.encrypt("<xml><Content>x</Content></xml>")
    body = f'<!DOCTYPE x [<!ENTITY e "{encrypt}">]><xml><Encrypt>&e;</Encrypt></xml>'.encode("utf-16")
    with pytest.raises(wecom_crypto.MalformedMessage):
        c.decrypt_callback(*_signed(body, encrypt))


def test_a_plaintext_nested_too_deep_is_bad_xml_and_wecoms_own_depth_is_read() -> None:
    with pytest.raises(xmlmsg.BadXml):
        xmlmsg.read("<xml>" + "<a>" * 3000 + "</a>" * 3000 + "</xml>")
    pics = xmlmsg.read("<xml><SendPicsInfo><Count>1</Count><PicList><item><PicMd5Sum>x</PicMd5Sum></item></PicList>"
                       "</SendPicsInfo></xml>")
    assert pics["SendPicsInfo"]["PicList"]["item"]["PicMd5Sum"] == "x"
