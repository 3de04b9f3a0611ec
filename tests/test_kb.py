"""The knowledge base's search (models/kb.py): terms for Chinese and English, the pure ranking,
masking of customer data, and the SQL narrowing on a real database (SQLite; PostgreSQL in CI).
"""

from __future__ import annotations

from dataclasses import fields
from datetime import timedelta

import pytest
from sqlalchemy import update

from models import kb
from models.db import Database
from models.tickets import Ticket
from models.enums import TicketStatus
from models.kb import Fix, Query, find_fixes, mask, rank, score, terms
from tests.support.history import NOW, past_fix


def fix(ident: int, *, model: str = "X200", fault_type: str | None = None, symptom: str = "",
        findings: str = "", actions: str = "", days_ago: int = 1) -> Fix:
    return Fix(ticket_id=ident, number=f"FS-2026-{ident:06d}", model=model, fault_type=fault_type, symptom=symptom,
               findings=findings, actions=actions, parts=None, result=None,
               resolved_at=NOW - timedelta(days=days_ago))


# -- terms --------------------------------------------------------------------------------------
def test_chinese_is_cut_into_bigrams_and_english_into_trimmed_words() -> None:
    assert terms("屏幕闪烁，更换电源板") == {"屏幕", "幕闪", "闪烁", "更换", "换电", "电源", "源板"}
    assert terms("闪") == {"闪"}
    assert terms("The display flickers; replaced the cables") == {"display", "flicker", "replac", "cabl"}
    assert terms("flickering cable replacing") == terms("flickers cables replaced")
    # A model name stays whole and also gives its parts; mixed scripts split at the boundary.
    assert terms("KFR-35GW/BP不制冷") == {"kfr-35gw/bp", "kfr", "35gw", "bp", "不制", "制冷"}
    assert terms("x200屏幕") == {"x200", "屏幕"}
    assert terms("") == set() and terms("!!! ,,, a") == set()
    # Terms never carry LIKE wildcards, so they go into patterns unescaped.
    assert terms("100% load_test") == {"100", "load", "test"}


def test_a_query_names_models_by_words_pairs_and_latin_tokens() -> None:
    query = Query.from_text("X200 Pro 屏幕闪烁")
    assert {"x200", "x200pro", "pro"} <= query.models
    assert Query.from_text("x200屏幕闪烁").models >= {"x200"}
    assert Query.from_text("   ").empty and Query.from_text("“ ” ，").empty


# -- ranking --------------------------------------------------------------------------------------
def test_model_match_beats_text_only_and_fault_type_beats_word_overlap() -> None:
    query = Query.from_text("X200 display flickers loose cable")
    text_only = fix(1, model="Y300", findings="display flickers: loose cable")  # 4 words, other model
    model_only = fix(2, findings="fan noise")
    model_fault = fix(3, fault_type="display", findings="fan noise")
    model_words = fix(4, findings="loose cable behind the display")
    unrelated = fix(5, model="Y300", findings="fan noise")
    assert score(text_only, query) == kb.Score(model=False, fault=False, overlap=4)
    assert score(model_fault, query) == kb.Score(model=True, fault=True, overlap=1)
    ranked = rank([text_only, model_only, model_fault, model_words, unrelated], query, limit=5)
    assert [f.ticket_id for f in ranked] == [3, 4, 2, 1]  # the unrelated one is left out
    assert [f.ticket_id for f in rank([text_only, model_only, model_fault, model_words], query, limit=2)] == [3, 4]


def test_ties_go_to_the_most_recent_fix() -> None:
    query = Query.from_text("X200 fan")
    old, new, newest_other = fix(1, findings="fan", days_ago=30), fix(2, findings="fan", days_ago=2), \
        fix(3, model="Y300", findings="fan", days_ago=1)
    assert [f.ticket_id for f in rank([old, newest_other, new], query, limit=5)] == [2, 1, 3]


def test_chinese_query_finds_chinese_findings_and_english_finds_english() -> None:
    chinese = fix(1, model="KFR-35GW", symptom="空调不制冷", findings="冷媒泄漏，压力不足", actions="补焊铜管并加注冷媒")
    english = fix(2, model="KFR-35GW", symptom="No cooling", findings="Refrigerant leak at the valve",
                  actions="Brazed the pipe, recharged refrigerant")
    other = fix(3, model="KFR-35GW", findings="遥控器电池没电", actions="更换电池")
    zh = Query.from_text("不制冷 冷媒泄漏")
    en = Query.from_text("refrigerant leaking")
    assert [f.ticket_id for f in rank([chinese, english, other], zh, limit=5)] == [1]
    assert [f.ticket_id for f in rank([chinese, english, other], en, limit=5)] == [2]
    assert score(chinese, zh).overlap == 5  # 不制 制冷 冷媒 媒泄 泄漏
    assert score(other, zh).overlap == 0


def test_accept_tips_keep_same_model_fixes_without_shared_words() -> None:
    query = Query.like_ticket("X200", "display", "Display flickers")
    match, plain = fix(1, fault_type="Display", findings="cable"), fix(2, findings="fan", days_ago=0)
    assert rank([plain, match], query, limit=3, relevant_only=False) == [match, plain]


# -- confidentiality ------------------------------------------------------------------------------
def test_mask_hides_the_customer_and_phone_numbers() -> None:
    text = "Mr Lin (138 0013 8000) at 1 Harbour Rd; ACME LTD board SN 20240101123, +852 9123 4567"
    assert mask(text, ["Mr Lin", "1 Harbour Rd", "Acme Ltd", None, " "]) == \
        "*** (***) at ***; *** board SN 20240101123, ***"
    # The customer's own landline, as stored (+86…) and as an engineer might type it.
    assert mask("rang 0755-1234 5678, then +86 755 12345678; serial 1755123456789", ["+8675512345678"]) == \
        "rang ***, then ***; serial 1755123456789"
    assert mask("", ["x"]) == "" and mask(None, ["x"]) is None
    assert {f.name for f in fields(Fix)}.isdisjoint({"customer", "contact_name", "contact_phone", "address", "phone"})


# -- the database ---------------------------------------------------------------------------------
async def test_sql_narrows_to_resolved_reports_that_match(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    flicker = await past_fix(db, findings="LVDS cable loose", actions="Reseated the cable",
                             resolved=NOW - timedelta(days=20), status=TicketStatus.RESOLVED)
    newer = await past_fix(db, findings="Backlight inverter failing", actions="Replaced the inverter",
                           parts="inverter board", fault_type="display", resolved=NOW - timedelta(days=3))
    other_model = await past_fix(db, model="Y300", findings="Cable loose at the panel", actions="Reseated it",
                                 status=TicketStatus.SIGNED_OFF)
    await past_fix(db, model="Z9", fault="Noise", findings="Fan bearing worn", actions="Replaced fan")
    await past_fix(db, findings="loose cable", actions="", status=TicketStatus.ACCEPTED)  # still open
    async with db.read() as s:
        found = await find_fixes(s, Query.from_text("X200 loose cable"), limit=5)
        assert [f.ticket_id for f in found] == [flicker.id, newer.id, other_model.id]
        assert found[1].parts == "inverter board" and found[1].fault_type == "display"
        # Every ticket's symptom says "Display flickers": the other model still comes, but last.
        assert [f.ticket_id for f in await find_fixes(s, Query.from_text("x200 display"), limit=5)] == \
            [newer.id, flicker.id, other_model.id]
        assert await find_fixes(s, Query.from_text("compressor"), limit=5) == []
        assert await find_fixes(s, Query.from_text(""), limit=5) == []
        # Same model only, the ticket itself excluded, in the tips' order.
        tips = await find_fixes(s, Query.like_ticket("X200", "display", "flickers"), limit=3, model="x200 ",
                                exclude_ticket_id=flicker.id)
        assert [f.ticket_id for f in tips] == [newer.id]
        # The tips' cost is bounded: only the model's latest reports are looked at.
        monkeypatch.setattr(kb, "MODEL_WINDOW", 1)
        tips = await find_fixes(s, Query.like_ticket("X200", None, "loose cable"), limit=3, model="X200")
        assert [f.ticket_id for f in tips] == [newer.id]


async def test_the_candidate_limit_keeps_the_best_by_sql_preorder(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    for days in (5, 4, 3):
        await past_fix(db, findings="cable", actions="reseated", resolved=NOW - timedelta(days=days))
    best = await past_fix(db, findings="loose cable connector", actions="reseated", resolved=NOW - timedelta(days=9))
    monkeypatch.setattr(kb, "CANDIDATES", 1)
    async with db.read() as s:
        assert [f.ticket_id for f in await find_fixes(s, Query.from_text("loose cable connector"), limit=1)] \
            == [best.id]


async def test_customer_details_never_come_out(db: Database) -> None:
    await past_fix(db, customer="Harbour Foods", phone="+86 139 1234 5678", contact="Mrs Zhou",
                   address="8 Dock Road", fault="Mrs Zhou says screen dark",
                   findings="Harbour Foods unit: PSU dead; called Mrs Zhou on 13912345678",
                   actions="Replaced PSU at 8 Dock Road", result="ok, told +86 139 1234 5678")
    async with db.read() as s:
        [found] = await find_fixes(s, Query.from_text("PSU dead"), limit=5)
    shown = " ".join(str(getattr(found, f.name)) for f in fields(Fix))
    for secret in ("Harbour Foods", "Mrs Zhou", "8 Dock Road", "13912345678", "139 1234 5678"):
        assert secret not in shown
    assert found.findings == "*** unit: PSU dead; called *** on ***"
    assert found.symptom == "*** says screen dark" and found.actions == "Replaced PSU at ***"


async def test_a_past_fix_is_known_by_the_fault_type_confirmed_at_resolve(db: Database) -> None:
    """Registered as "display", confirmed as "power supply": /kb and the tips go by the confirmed one."""
    confirmed = await past_fix(db, findings="PSU capacitor bulged", actions="Replaced the PSU", fault_type="display")
    async with db.write() as s:
        await s.execute(update(Ticket).where(Ticket.id == confirmed.id).values(fault_cause="power supply"))
    unconfirmed = await past_fix(db, model="Y300", findings="Panel cracked", actions="Replaced it", fault_type="display")
    async with db.read() as s:
        by_cause = await find_fixes(s, Query.like_ticket("Q1", "power supply", ""), limit=5)
        assert [(f.ticket_id, f.fault_type) for f in by_cause] == [(confirmed.id, "power supply")]
        by_category = await find_fixes(s, Query.like_ticket("Q1", "display", ""), limit=5)
        # The category leads to the fix still filed under it; the other only by its symptom's words.
        assert [f.ticket_id for f in by_category] == [unconfirmed.id, confirmed.id]
