"""Fault types for real (``[faults]``): registration asks the symptom's category and resolve the
confirmed one, each with the team's list as buttons plus Other, in the person's language; typed
exact names are taken, anything else is refused and changes nothing; the confirmed one goes on the
ticket and into the resolve event; the monthly report counts by it (else by the category); the
config refuses bad lists; CSV import checks the column against the list; views show both.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update
from sqlalchemy.orm import selectinload

from bot.config import ConfigError, parse_config
from bot.csv_import import parse_rows
from handlers.report_view import export_sections, report_text
from handlers.views import ticket_fields
from models.db import Database
from models.enums import Action, Role, TicketStatus
from models.reports import Month, monthly_report
from models.runtime import ConversationState
from models.tickets import Ticket
from tests.support.cast import CUST, ENG, join_customer, team
from tests.support.chat import card_of
from tests.support.history import engineer, job, utc
from tests.support.tickets import T, events, load, ticket
from tests.support.world import Message, World, world

DSP, EAST_DSP, WEST_DSP = 101, 110, 120
FAULTS = """
[faults]
types = ["Power", "Mechanical", "Control software"]
[[faults.teams]]
name = "East"
types = ["Cooling", "Wiring"]
[[faults.teams]]
name = "West"
types = []
"""
ASK_EN = "Which fault type is it? Tap one (Other if none fits)."
ASK_ZH = "属于哪种故障类型？请点选（都不符合请点“其他”）。"


async def say(w: World, uid: int, text: str) -> Message:
    w.say(uid, text)
    [reply] = await w.expect(uid)
    return reply


async def press(w: World, uid: int, message: Message, label: str) -> Message:
    w.press(uid, message, label)
    [reply] = await w.expect(uid)
    return reply


async def dialog(w: World, flow: str) -> tuple[str | None, dict]:
    """(step, data) of the one dialog of ``flow`` in progress, or (None, {})."""
    async with w.app.db.read() as s:
        state = await s.scalar(select(ConversationState).where(ConversationState.flow == flow))
        return (state.step, dict(state.data or {})) if state else (None, {})


async def shown(w: World, t: T, lang: str) -> dict[str, str]:
    """The ticket's fields as ``ticket show`` and ``/ticket`` list them."""
    async with w.app.db.read() as s:
        row = await s.get(Ticket, t.id, options=[selectinload(Ticket.customer)])
        return dict(ticket_fields(lang, row, ZoneInfo("Asia/Shanghai"), {}))


async def ticket_count(w: World) -> int:
    async with w.app.db.read() as s:
        return await s.scalar(select(func.count(Ticket.id)))


async def to_fault(w: World, uid: int, customer: str = "Acme Ltd") -> Message:
    """``/new`` answered by typing up to the fault symptom; the reply to it."""
    await say(w, uid, "/new")
    for answer in (customer, "skip", "+86 138-0013-8000", "1 Harbour Rd", "X200", "SN-1", "2025-06-01"):
        await say(w, uid, answer)
    return await say(w, uid, "Display goes dark")


# -- registration ----------------------------------------------------------------------------------
async def test_registration_asks_the_fault_type_in_english(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, extra_config=FAULTS) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        ask = await to_fault(w, DSP)
        assert ask.text == ASK_EN
        assert ask.buttons == ["Power", "Mechanical", "Control software", "Other"]
        assert (await dialog(w, "register"))[0] == "fault_type"

        # Typed words that name no list entry, a photo, a forged button: refused, nothing moves.
        bad = await say(w, DSP, "it overheats")
        assert bad.text == f"\"it overheats\" is not on the list: tap a fault type below.\n{ASK_EN}"
        assert bad.buttons == ask.buttons  # asked again, with its buttons
        w.send_photo(DSP)
        [bad] = await w.expect(DSP)
        assert bad.text == f"Please type the answer as text.\n{ASK_EN}"
        rid = ask.button_data("Power").split(":")[1]
        w.press_data(DSP, ask.id, f"reg:{rid}:f:7")
        [bad] = await w.expect(DSP)
        assert bad.text == f"\"7\" is not on the list: tap a fault type below.\n{ASK_EN}"
        step, data = await dialog(w, "register")
        assert step == "fault_type" and "fault_type" not in data and await ticket_count(w) == 0

        # A list entry's exact name, typed (case aside), is taken.
        severity_ask = await say(w, DSP, "mechanical")
        assert severity_ask.text == "How severe is it?"
        service_ask = await press(w, DSP, severity_ask, "3 – partly degraded")
        billable_ask = await press(w, DSP, service_ask, "remote")
        summary = await press(w, DSP, billable_ask, "Free of charge")
        assert "\nFault: Display goes dark\nFault type: Mechanical\nSeverity: 3 – partly degraded\n" in summary.text
        w.press(DSP, summary, "Confirm")
        _photo, done = await w.expect(DSP, 2)
        assert "\nFault type: Mechanical\n" in done.text
        async with w.app.db.read() as s:
            [row] = (await s.scalars(select(Ticket))).all()
        assert (row.fault_type, row.fault_cause) == ("Mechanical", None)


async def test_registration_other_by_button_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN", extra_config=FAULTS) as w:
        await w.join(DSP, Role.DISPATCHER, "陈静")
        ask = await to_fault(w, DSP, customer="华东机电")
        assert ask.text == ASK_ZH
        assert ask.buttons == ["Power", "Mechanical", "Control software", "其他"]  # names as configured
        bad = await say(w, DSP, "过热")
        assert bad.text == f"“过热”不在列表中：请点选下面的故障类型。\n{ASK_ZH}"
        severity_ask = await press(w, DSP, ask, "其他")
        assert severity_ask.text == "故障级别？"
        service_ask = await press(w, DSP, severity_ask, severity_ask.buttons[1])
        billable_ask = await press(w, DSP, service_ask, service_ask.buttons[0])
        summary = await press(w, DSP, billable_ask, billable_ask.buttons[1])
        assert "\n故障现象：Display goes dark\n故障类型：其他\n" in summary.text
        w.press(DSP, summary, "确认")
        await w.expect(DSP, 2)
        async with w.app.db.read() as s:
            [row] = (await s.scalars(select(Ticket))).all()
        assert row.fault_type == "other"  # one code whatever the language: one row in the report


async def test_each_team_gets_its_own_list_or_none(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, extra_config=FAULTS) as w:
        await w.join(EAST_DSP, Role.DISPATCHER, "Zhou Yu", team="East")
        await w.join(WEST_DSP, Role.DISPATCHER, "Wu Hao", team="West")
        ask = await to_fault(w, EAST_DSP)
        assert (ask.text, ask.buttons) == (ASK_EN, ["Cooling", "Wiring", "Other"])
        bad = await say(w, EAST_DSP, "Power")  # the common list's, not East's
        assert bad.text.startswith("\"Power\" is not on the list")
        assert (await say(w, EAST_DSP, "WIRING")).text == "How severe is it?"
        assert (await dialog(w, "register"))[1]["fault_type"] == "Wiring"
        # West's list is empty: not asked, straight from the symptom to the severity.
        severity_ask = await to_fault(w, WEST_DSP)
        assert severity_ask.text == "How severe is it?"


# -- resolve ---------------------------------------------------------------------------------------
async def on_site(w: World, fault_type: str | None) -> T:
    t = await ticket(w, TicketStatus.ON_SITE)
    async with w.app.db.write() as s:
        await s.execute(update(Ticket).where(Ticket.id == t.id).values(fault_type=fault_type))
    return t


async def test_resolve_asks_the_confirmed_fault_type(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, extra_config=FAULTS) as w:
        await team(w)
        t = await on_site(w, "Mechanical")
        await join_customer(w, CUST, t, "Zhang San")
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Resolve")
        await w.expect(ENG)
        ask = await say(w, ENG, "Blown fuse on the power board")
        assert ask.text == ("Registered as: Mechanical.\n"
                            "Which fault type did you confirm? Tap one (Other if none fits).")
        assert ask.buttons == ["Mechanical", "Power", "Control software", "Other"]  # registration's first

        # Anything but a list entry: one line, nothing changes, the buttons still work.
        assert (await say(w, ENG, "the fuse")).text == \
            "\"the fuse\" is not on the list: tap one of the fault types above."
        w.send_photo(ENG)
        [reply] = await w.expect(ENG)
        assert reply.text == "Please tap one of the fault types above."
        w.press_data(ENG, ask.id, f"rsvf:{t.id}:9")
        [reply] = await w.expect(ENG)
        assert reply.text == "That button is out of date."
        step, data = await dialog(w, "resolve")
        assert step == "cause" and "fault_cause" not in data
        assert (await load(w, t)).status is TicketStatus.ON_SITE

        actions_ask = await press(w, ENG, ask, "Power")
        assert actions_ask.text == "Confirmed fault type: Power.\nWhat did you do to fix it?"
        # The same button again, now that the step has moved on: stale.
        w.press(ENG, ask, "Other")
        [reply] = await w.expect(ENG)
        assert reply.text == "That button is out of date."
        await say(w, ENG, "Replaced the fuse")
        w.say(ENG, "Fuse 5A")
        [done] = await w.expect(ENG)
        assert done.text.startswith("Resolved. Now collect the customer's sign-off.")
        row = await load(w, t)
        assert (row.status, row.fault_type, row.fault_cause) == (TicketStatus.RESOLVED, "Mechanical", "Power")
        [resolve] = [e for e in await events(w, t) if e.action is Action.RESOLVE]
        assert resolve.details["fault_cause"] == "Power"
        assert resolve.details["findings"] == "Blown fuse on the power board"

        # Shown with the ticket's fields, in both languages.
        fields = await shown(w, t, "en")
        assert (fields["fault type"], fields["confirmed fault type"]) == ("Mechanical", "Power")


async def test_resolve_other_typed_in_chinese(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, extra_config=FAULTS) as w:
        await team(w, eng_lang="zh-CN")
        t = await on_site(w, None)  # registered without a category (e.g. before the list existed)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, card.buttons[-1])  # 完成 (Resolve)
        await w.expect(ENG)
        ask = await say(w, ENG, "风扇轴承磨损")
        assert ask.text == "确认的故障类型是哪种？请点选（都不符合请点“其他”）。"
        assert ask.buttons == ["Power", "Mechanical", "Control software", "其他"]
        actions_ask = await say(w, ENG, "其他")
        assert actions_ask.text == "确认的故障类型：其他。\n采取了哪些处理措施？"
        await say(w, ENG, "更换风扇")
        w.say(ENG, "无")
        await w.expect(ENG)
        row = await load(w, t)
        assert (row.status, row.fault_cause) == (TicketStatus.RESOLVED, "other")
        fields = await shown(w, t, "zh-CN")
        assert (fields["故障类型"], fields["确认的故障类型"]) == ("", "其他")


async def test_resolve_without_a_list_asks_no_fault_type(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await on_site(w, None)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Resolve")
        await w.expect(ENG)
        assert (await say(w, ENG, "Loose cable")).text == "What did you do to fix it?"
        await say(w, ENG, "Reseated it")
        w.say(ENG, "none")
        await w.expect(ENG)
        row = await load(w, t)
        [resolve] = [e for e in await events(w, t) if e.action is Action.RESOLVE]
        assert row.status is TicketStatus.RESOLVED and row.fault_cause is None
        assert "fault_cause" not in resolve.details


# -- the report ------------------------------------------------------------------------------------
async def test_report_counts_by_the_confirmed_fault_type_else_the_category(db: Database) -> None:
    li = await engineer(db, "Li Lei", "North")
    causes = {}
    for fault_type, cause in (("Power", "Mechanical"), ("Power", None), (None, "Power"), ("Mechanical", "Power"),
                              (None, None), ("Power", "other")):
        tid = await job(db, li, model="X200", fault=fault_type, created=utc(10, 5, 1), resolved=utc(10, 5, 5),
                        signed=utc(10, 5, 6))
        causes[tid] = cause
    async with db.write() as s:
        for tid, cause in causes.items():
            await s.execute(update(Ticket).where(Ticket.id == tid).values(fault_cause=cause))
    async with db.read() as s:
        report = await monthly_report(s, Month(2026, 10), ZoneInfo("Asia/Shanghai"))
    assert [(r.label, r.jobs) for r in report.by_fault] == [("Power", 3), ("Mechanical", 1), ("other", 1), (None, 1)]
    assert report.total.jobs == 6
    # "other" in the reader's language, in the chat table and the CSV / XLSX rows alike.
    text = report_text(report, None, top=5).render("en")
    assert "\n3. Other: jobs 1" in text and "\n4. (no fault type): jobs 1" in text
    sections = dict(export_sections(report, "zh-CN"))
    assert [row[1] for row in sections["故障类型"]] == ["Power", "Mechanical", "其他", "（未填故障类型）"]


# -- config and import -----------------------------------------------------------------------------
@pytest.mark.parametrize(("text", "problem"), [
    ('[faults]\ntypes = ["Power", " power "]', 'faults.types: "power" is listed twice'),
    ('[faults]\ntypes = ["Power", "  "]', "faults.types: an empty fault type name"),
    (f'[faults]\ntypes = ["{"x" * 41}"]', f'faults.types: "{"x" * 41}" is longer than 40 characters'),
    ('[faults]\ntypes = ["其他"]', 'faults.types: "其他": "other" is always offered; leave it out of the list'),
    ('[[faults.teams]]\nname = "East"\ntypes = ["A", "a"]', 'faults.teams.0.types: "a" is listed twice'),
    ('[[faults.teams]]\nname = "East"\ntypes = []\n[[faults.teams]]\nname = "east"\ntypes = []',
     'faults.teams: team "east" is listed twice'),
    ('[[faults.teams]]\nname = " "\ntypes = []', "faults.teams.0.name: an empty team name"),
])
def test_config_refuses_bad_lists_with_one_line(text: str, problem: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_config(text, {})
    assert info.value.problems == [problem]


def test_config_lists_per_team() -> None:
    faults = parse_config(FAULTS, {}).faults
    assert faults.for_team("east") == ["Cooling", "Wiring"]
    assert faults.for_team("West") == []
    assert faults.for_team("North") == faults.for_team(None) == ["Power", "Mechanical", "Control software"]
    assert parse_config("", {}).faults.for_team("North") == []  # the default: not asked


def test_csv_import_checks_the_fault_type_against_the_list() -> None:
    header = "customer,phone,address,model,fault,fault_type,severity,service\n"
    good = ("ACME,13800138000,1 Road,X200,no power,power,2,onsite\n"
            "Beta,13800138001,2 Road,X300,noise,其他,3,remote\n"
            "Gamma,13800138002,3 Road,X300,noise,,3,remote\n")
    bad = "Delta,13800138003,4 Road,X300,noise,overheating,3,remote\n"
    kinds, today = ["Power", "Mechanical"], utc(3, 2).date()
    regs, problems = parse_rows((header + good + bad).encode(), today=today, lang="en", fault_types=kinds)
    assert problems == [("line 5: \"overheating\" is not a configured fault type; use one of Power, Mechanical, "
                         "or other.")]
    regs, problems = parse_rows((header + good).encode(), today=today, lang="en", fault_types=kinds)
    assert problems == [] and [r.fault_type for r in regs] == ["Power", "other", None]
    # Without a list the column stays free text, as before.
    regs, problems = parse_rows((header + good + bad).encode(), today=today, lang="en")
    assert problems == [] and [r.fault_type for r in regs] == ["power", "其他", None, "overheating"]
