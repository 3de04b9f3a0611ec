"""What the bad-input corpora watch and hold against every answer, shared by the Telegram corpus
(:mod:`tests.fault.test_bad_input`) and the WeCom callback's (:mod:`tests.fault.test_bad_input_wecom`):
the tables a refusal must leave alone and their snapshots, the texts nobody may ever be shown (the
internal-error apology, anything like a traceback), how long a reply may be, the Chinese an English
reply may rightly carry — and the world's tickets in every state, made directly.

``w`` is either world (:class:`tests.support.telegram.TelegramWorld` or
:class:`tests.support.world.World`): anything with the bot's ``app`` and ``clock``.
"""

from __future__ import annotations

import re
from collections import Counter
from datetime import timedelta
from typing import Any

from sqlalchemy import text

from handlers.i18n import t as catalog_text
from models.customers import Customer
from models.enums import Action, InboxStatus, Role, ServiceType, TicketStatus
from models.invites import create_invite, team_by_name
from models.registry import Registration, register_ticket
from models.tickets import Ticket
from models.transitions import apply_action
from tests.fault import corpus as C

SHORT = 300
NO_SCHEDULER = "[scheduler]\nenabled = false\n"
APOLOGIES = {catalog_text("en", "core.internal_error"), catalog_text("zh-CN", "core.internal_error")}
TRACEBACK = re.compile(r"Traceback|File \"|\b[A-Z][A-Za-z]*(Error|Exception):|sqlalchemy|aiogram|pydantic|"
                       r"validation error|\bline \d+, in\b")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef]")
OUR_LOGGERS = ("bot", "handlers", "models")


PATHS = {
    TicketStatus.NEW: [],
    TicketStatus.DISPATCHED: [Action.DISPATCH],
    TicketStatus.ACCEPTED: [Action.DISPATCH, Action.ACCEPT],
    TicketStatus.EN_ROUTE: [Action.DISPATCH, Action.ACCEPT, Action.DEPART],
    TicketStatus.ON_SITE: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE],
    TicketStatus.PAUSED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.PAUSE],
    TicketStatus.RESOLVED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE],
    TicketStatus.SIGNED_OFF: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE,
                              Action.SIGN_OFF],
    TicketStatus.CLOSED: [Action.DISPATCH, Action.ACCEPT, Action.DEPART, Action.ARRIVE, Action.RESOLVE,
                          Action.SIGN_OFF, Action.CLOSE],
    TicketStatus.CANCELLED: [Action.DISPATCH, Action.ACCEPT, Action.CANCEL],
}
CUSTOMERS = {"acme": ("Acme Ltd", "+8613800000001", "1 Harbour Rd", "North"),
             "huaxing": ("华星电子", "+8613900000002", "深圳市南山区科技园1号", "North"),
             "south": ("Southern Co", "+8613700000003", "9 Bay Rd", "South")}
#: Chinese that may rightly appear in an English reply: names and customer data shown back.
KNOWN_CJK = set(CJK.findall(" ".join([m.name for m in C.CAST] + [v[0] + v[2] for v in CUSTOMERS.values()]
                                     + ["太慢", "新客户"])))


async def make_ticket(w: Any, status: TicketStatus, *, engineer: int | None = None, customer: str = "acme",
                      service: ServiceType = ServiceType.ONSITE, model: str = "X200") -> Ticket:
    name, phone, address, team = CUSTOMERS[customer]
    now = w.clock.now()
    async with w.app.db.write() as s:
        team_row = await team_by_name(s, team, create=True)
        reg = Registration(customer=name, phone=phone, address=address, model=model, fault="Display flickers",
                           severity=2, service=service, team_id=team_row.id)
        row = await register_ticket(s, reg, now=now, today=w.app.today(), warranty=w.app.config.bot.warranty)
        for action in PATHS[status]:
            kw: dict[str, Any] = {}
            if action is Action.DISPATCH:
                kw["assignee_id"] = engineer
            elif action is Action.DEPART:
                kw["eta_at"] = now + timedelta(hours=1)
            elif action is Action.CANCEL:
                kw["reason"] = "customer withdrew"
            elif action is Action.RESOLVE:
                kw.update(findings="fan dead", actions_taken="fan replaced")
            apply_action(s, row, action, now=now, actor_id=engineer, **kw)
        await s.flush()
        return row


async def bind_ticket(env: dict, name: str, row: Ticket) -> None:
    env[name], env[f"n_{name}"] = str(row.id), row.number
    env[f"since_{name}"] = row.dispatched_at.isoformat() if row.dispatched_at else ""



async def customer_link(w: Any, ticket_id: int, *, ttl: timedelta = timedelta(days=1)) -> str:
    async with w.app.db.write() as s:
        ticket = await s.get(Ticket, ticket_id)
        customer = await s.get(Customer, ticket.customer_id)
        return await create_invite(s, role=Role.CUSTOMER, name=customer.name, now=w.clock.now(), ttl=ttl,
                                   customer_id=ticket.customer_id, ticket_id=ticket.id)



# -- snapshots ------------------------------------------------------------------------------------
#: What a refusal must leave alone, table by table: the columns compared (``count``: only how many
#: rows).  Bookkeeping that any update may touch is left out on purpose: ``last_seen_at`` and
#: ``unreachable_reason`` of an identity, ``updated_at`` stamps, the inbox and the outbox.
WATCHED = {
    "tickets": ("id", "status", "assignee_id", "version", "team_id", "callback_state"),
    "ticket_events": "count", "checkins": "count", "attachments": "count", "signoffs": "count",
    "acknowledgements": ("id", "acked_at", "acked_by_id"),
    "parts_requests": ("id", "status", "decided_by_id"),
    "complaints": ("id", "answered_at", "answer"),
    "feedback": ("id", "rating", "comment"),
    "invites": ("id", "used_at", "used_by_id"),
    "people": ("id", "role", "language", "active", "team_id", "customer_id", "last_lat", "last_lon"),
    "channel_identities": ("id", "person_id", "external_user_id", "chat_id"),
    "teams": ("id", "supervisor_id", "manager_id"),
    "customers": "count", "sites": "count", "assets": "count",
}
_SNAPSHOT_SQL = text(" UNION ALL ".join(
    [f"SELECT '{table}', CAST(COUNT(*) AS TEXT) FROM {table}" if cols == "count" else
     f"SELECT '{table}', " + " || '|' || ".join(f"COALESCE(CAST({c} AS TEXT), '-')" for c in cols) + f" FROM {table}"
     for table, cols in WATCHED.items()]
    + [("SELECT 'conversation_states', session_key || '|' || COALESCE(flow, '-') || '|' || COALESCE(step, '-') "
        "|| '|' || COALESCE(CAST(data AS TEXT), '-') FROM conversation_states "
        "WHERE flow IS NOT NULL OR step IS NOT NULL OR CAST(data AS TEXT) NOT IN ('{}', 'null')"),
       "SELECT 'inbox', status || '|' || CAST(COUNT(*) AS TEXT) FROM inbound_events GROUP BY status"]))


async def snapshot(w: Any) -> tuple[dict[str, Any], Counter]:
    """The watched tables (one round trip), and the inbox's rows by status."""
    out: dict[str, Any] = {table: set() for table in WATCHED}
    out["conversation_states"] = {}
    inbox: Counter = Counter()
    async with w.app.db.read() as s:
        for table, row in (await s.execute(_SNAPSHOT_SQL)).all():
            if table == "inbox":
                status, _, n = row.rpartition("|")
                inbox[InboxStatus(status)] = int(n)
            elif table == "conversation_states":
                key, _, rest = row.partition("|")
                out[table][key] = rest
            else:
                out[table].add(row)
    return {k: frozenset(v) if isinstance(v, set) else v for k, v in out.items()}, inbox


def changes(before: dict, after: dict, *, sender_keys: set[str]) -> list[str]:
    out = []
    for table, old in before.items():
        new = after[table]
        if table == "conversation_states":
            old = {k: v for k, v in old.items() if k not in sender_keys}
            new = {k: v for k, v in new.items() if k not in sender_keys}
        if old != new:
            if isinstance(old, frozenset):
                out.append(f"{table}: -{sorted(old - new, key=str)} +{sorted(new - old, key=str)}")
            elif isinstance(old, dict):
                diff = {k: (old.get(k), new.get(k)) for k in old.keys() | new.keys() if old.get(k) != new.get(k)}
                out.append(f"{table}: {diff}")
            else:
                out.append(f"{table}: {old} -> {new}")
    return out
