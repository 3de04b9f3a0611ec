"""What a person typed and gets back in a reply (an unknown command, a ticket number that does
not exist, a bad month, search words, a name in a dialog) is a short one-line preview, never the
whole paste: end to end through the emulator, in English and Chinese; and :func:`preview` itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from handlers.i18n import PREVIEW_LIMIT, error_text, preview
from models.enums import Action, Role
from models.errors import DomainError
from tests.support.cast import join_customer, pid
from tests.support.tickets import move, new_ticket
from tests.support.world import World, world

SUP, ENG, CUST = 800, 801, 802
ZH = "zh-hans"  # what a Chinese Telegram client reports
LONG = "a" * 5000
#: A paste with line breaks, tabs, a control character and a direction override.
MESSY = "first line\nsecond\tline\x07 \u202eevil\u202c " + "x" * 300
#: Every reply that echoes input stays within this (the brief: a short line, not a wall of text).
SHORT = 200


def short_line(text: str) -> bool:
    return len(text) <= SHORT and "\n" not in text and "\u202e" not in text and "\x07" not in text


async def one_reply(w: World, uid: int, text: str, lang: str) -> str:
    w.say(uid, text)
    [reply] = await w.expect(uid)
    return reply.text


def test_preview_is_one_short_line_cut_between_characters() -> None:
    assert preview("FS-2026-000123") == "FS-2026-000123"
    assert preview("  two\n\nlines\r\n\tand a tab  ") == "two lines and a tab"
    assert preview("bell\x07 nul\x00 rtl\u202etxt\u2066x") == "bell nul rtl txt x"
    assert preview(None) == "" and preview(7) == "7"
    cut = preview(LONG)
    assert len(cut) == PREVIEW_LIMIT and cut == "a" * (PREVIEW_LIMIT - 1) + "…"
    assert preview("工单" * 100, limit=10) == "工单工单工单工单工…"
    # Never inside what people see as one character: accents, emoji sequences, flags.
    assert preview("e\u0301" * 30, limit=10) == "e\u0301" * 4 + "…"
    assert preview("👍🏽" * 30, limit=10) == "👍🏽" * 4 + "…"
    assert preview("x" + "🇨🇳" * 30, limit=10) == "x" + "🇨🇳" * 4 + "…"
    assert preview("👩\u200d🔧" * 10, limit=10) == "👩\u200d🔧" * 3 + "…"
    assert preview("\ud800x") == "\ufffdx"  # a lone surrogate no chat API would take


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_error_text_cuts_every_text_parameter(lang: str) -> None:
    text = error_text(lang, DomainError("no_ticket", number=MESSY))
    assert short_line(text) and "…" in text
    # Translated parameters are ours and stay whole.
    text = error_text(lang, DomainError("role_conflict", role="engineer", invited="customer"))
    assert ("engineer" in text) if lang == "en" else ("工程师" in text)


@pytest.mark.parametrize("lang", ["en", ZH])
async def test_commands_echo_a_preview_of_what_was_typed(tmp_path: Path, channel: str, lang: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei", lang=lang)
        await w.join(ENG, Role.ENGINEER, "Li Lei", lang=lang)
        head = "a" * (PREVIEW_LIMIT - 1) + "…"

        text = await one_reply(w, SUP, "/" + LONG, lang)
        assert text == {"en": f"Unknown command /{head}. Send /help to see what you can do.",
                        ZH: f"未知命令 /{head}。发送 /help 查看可用命令。"}[lang]
        text = await one_reply(w, SUP, "/ticket " + LONG, lang)
        assert text == {"en": f"No ticket {head}.", ZH: f"没有工单 {head}。"}[lang]
        text = await one_reply(w, SUP, "/report 2026-" + "1" * 5000, lang)
        assert text.startswith({"en": '"2026-111', ZH: "“2026-111"}[lang]) and short_line(text), text
        # /kb: a paste over the query limit is refused without an echo; words it searches for
        # (up to 200 characters) come back as a preview when nothing matches.
        assert short_line(await one_reply(w, SUP, "/kb " + LONG, lang))
        text = await one_reply(w, SUP, "/kb " + " ".join(["flicker"] * 25), lang)
        assert text.startswith({"en": 'No past fix matches "flicker flicker',
                                ZH: "没有找到与“flicker flicker"}[lang])
        assert short_line(text) and "…" in text, text

        for command in ("/dispatch", "/reassign", "/lang", "/ticket"):
            text = await one_reply(w, SUP, f"{command} {MESSY}", lang)
            assert short_line(text), (command, text)
        for command in ("/checkin", "/parts", "/" + "b" * 5000):
            text = await one_reply(w, ENG, f"{command} {MESSY}", lang)
            assert short_line(text), (command, text)


@pytest.mark.parametrize("lang", ["en", ZH])
async def test_dialog_answers_echo_a_preview(tmp_path: Path, channel: str, lang: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei", lang=lang)
        await w.join(ENG, Role.ENGINEER, "Li Lei", lang=lang)

        # /new: a new customer's name (the registry takes up to 200 characters) is echoed as a
        # preview in the next question; the summary at the end still shows it whole.
        name = "Very Long Company Name\nBranch Office " + "Z" * 150
        w.say(SUP, "/new")
        await w.expect(SUP)
        w.say(SUP, name)
        [asked] = await w.expect(SUP)
        assert len(asked.text) <= SHORT and name not in asked.text, asked.text
        assert preview(name) in asked.text
        w.say(SUP, "skip" if lang == "en" else "跳过")  # no contact person known
        [asked] = await w.expect(SUP)
        assert len(asked.text) <= SHORT and preview(name) in asked.text, asked.text
        # A bad phone number with line breaks: the reason is one line.
        w.say(SUP, "call\nme\nmaybe")
        [refused] = await w.expect(SUP)
        reason = refused.text.split("\n")[0]
        assert "call me maybe" in reason and len(refused.text) <= SHORT, refused.text
        w.say(SUP, "/cancel")
        await w.expect(SUP)

        # The engineer's dialogs: the part asked for, and a bad arrival time.
        ticket = await new_ticket(w)
        await move(w, ticket, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
        await move(w, ticket, Action.ACCEPT, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        part = "Display cable assembly\n" + "Q" * 170
        w.say(ENG, f"/parts {ticket.number}")
        await w.expect(ENG)
        text = await one_reply(w, ENG, part, lang)
        assert short_line(text) and preview(part) in text, text
        w.say(ENG, "/cancel")
        await w.expect(ENG)

        other = await new_ticket(w, model="Z9")
        await move(w, other, Action.DISPATCH, actor_uid=SUP, assignee_id=await pid(w, ENG))
        await move(w, other, Action.ACCEPT, actor_uid=ENG)
        w.press_data(ENG, w.messages(ENG)[-1].id, f"go:{other.id}")
        await w.expect(ENG)
        text = await one_reply(w, ENG, "soon\nish\n" + "9" * 25, lang)
        assert short_line(text), text


@pytest.mark.parametrize("lang", ["en", ZH])
async def test_a_customer_command_echoes_a_preview(tmp_path: Path, channel: str, lang: str) -> None:
    async with world(tmp_path, channel) as w:
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin", lang=lang)
        for command in ("/complain", "/" + LONG):
            text = await one_reply(w, CUST, f"{command} {MESSY}", lang)
            assert short_line(text), (command, text)
