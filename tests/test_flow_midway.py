"""A command, or a button from another message, sent while a dialog is open (``handlers/midway.py``),
end to end on every channel: a look-up (``/board``, ``/ticket N``, ``/tickets``) is answered and the
dialog's question asked again; a command or button that would begin another dialog asks once —
**Leave and run …** (the command runs with its arguments, or the button as pressed) or
**Continue …** (the question again, nothing lost); an earlier question's answer is out of date;
on WeCom a word without the slash stays an answer mid-dialog.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select

from handlers.flow_list import FLOWS
from handlers.i18n import catalog
from handlers.registry import build_router
from models.enums import Role, TicketStatus
from models.runtime import ConversationState
from models.work import Checkin
from tests.support.cast import DSP, ENG, SUP, team
from tests.support.chat import card_of
from tests.support.tickets import new_ticket, ticket
from tests.support.world import Message, World, world

STILL = "Still in the middle of the ticket registration:\n"
PHONE_ASK = "Contact phone number for Globex?"


async def say(w: World, uid: int, text: str, count: int = 1) -> list[Message]:
    w.say(uid, text)
    return await w.expect(uid, count)


async def dialog(w: World, uid: int) -> tuple[str | None, str | None, dict]:
    async with w.app.db.read() as s:
        state = await s.get(ConversationState, w.session_key(uid))
        return (state.flow, state.step, dict(state.data or {})) if state else (None, None, {})


async def test_a_look_up_mid_registration_is_answered_and_the_question_asked_again(tmp_path: Path,
                                                                                     channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        known = await new_ticket(w)
        await say(w, DSP, "/new")
        await say(w, DSP, "Globex")
        [ask] = await say(w, DSP, "Ms Zhou")
        assert ask.text == PHONE_ASK

        board, again = await say(w, DSP, "/board", 2)
        assert known.number in board.text
        assert again.text == STILL + PHONE_ASK
        page, again = await say(w, DSP, f"/ticket {known.number}", 2)
        assert page.text.startswith(f"ticket: {known.number}")
        assert again.text == STILL + PHONE_ASK
        [help_text] = await say(w, DSP, "/help")  # /help keeps the dialog and asks nothing again
        assert help_text.text.startswith("You are a dispatcher.")
        assert (await dialog(w, DSP))[:2] == ("register", "phone")
        if w.driver.platform == "wecom":  # a word without the slash is an answer while a dialog is open
            [refused] = await say(w, DSP, "board")
            assert refused.text == "\"board\" is not a phone number: use digits, e.g. +86 138 0013 8000.\n" + PHONE_ASK

        [ask] = await say(w, DSP, "+86 138 0013 8000")  # the dialog went on where it was
        assert ask.text == "Address of the site?"
        flow, step, data = await dialog(w, DSP)
        assert (flow, step, data["customer"], data["contact"]) == ("register", "address", "Globex", "Ms Zhou")


async def test_another_dialog_mid_registration_asks_once_then_continue_or_leave(tmp_path: Path,
                                                                                channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(DSP, Role.DISPATCHER, "Chen Jing")
        await say(w, DSP, "/new")
        await say(w, DSP, "Globex")
        [phone_ask] = await say(w, DSP, "skip")
        assert phone_ask.text == PHONE_ASK

        [question] = await say(w, DSP, "/new")
        assert question.text == ("You are in the middle of the ticket registration. Leave it and run /new, "
                                 "or continue where you were?")
        assert question.buttons == ["Leave and run /new", "Continue the ticket registration"]
        assert (await dialog(w, DSP))[:2] == ("register", "phone")  # nothing moved yet

        w.press(DSP, question, "Continue the ticket registration")
        [again] = await w.expect(DSP)
        assert again.text == PHONE_ASK
        await w.settle()
        assert w.current(DSP, question).text == "Continuing the ticket registration."
        assert w.current(DSP, question).buttons == []
        # The answered question's Leave is out of date now.
        w.press_data(DSP, question, question.button_data("Leave and run /new"))
        [stale] = await w.expect(DSP)
        assert stale.text == "That question is out of date."
        assert (await dialog(w, DSP))[:2] == ("register", "phone")

        [question] = await say(w, DSP, "/new")
        w.press(DSP, question, "Leave and run /new")
        [fresh] = await w.expect(DSP)
        assert fresh.text.startswith("New ticket. Who is the customer?")
        await w.settle()
        assert w.current(DSP, question).text == "Left the ticket registration."
        flow, step, data = await dialog(w, DSP)
        assert (flow, step) == ("register", "customer") and "customer" not in data  # begun afresh


async def test_leave_runs_the_command_with_its_arguments_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        t = await ticket(w, TicketStatus.ACCEPTED)
        await say(w, SUP, "/new")
        [ask] = await say(w, SUP, "华东机电")
        assert ask.text.endswith("华东机电的联系人是谁？请发送姓名；不清楚请点“跳过”。")

        [question] = await say(w, SUP, f"/reassign {t.number}")
        assert question.text == (f"您正在进行“登记工单”，还没有完成。要离开并执行 /reassign {t.number}，"
                                 "还是继续刚才的操作？")
        assert question.buttons == ["离开并执行 /reassign", "继续登记工单"]
        w.press(SUP, question, "离开并执行 /reassign")
        [reason_ask] = await w.expect(SUP)
        assert reason_ask.text.startswith(f"改派 {t.number}（已接单，负责人：Li Lei）的原因是什么？")
        assert (await dialog(w, SUP))[:2] == ("reassign", "reason")

        # A look-up in the reassignment: answered, and its question asked again.
        _page, again = await say(w, SUP, f"/ticket {t.number}", 2)
        assert again.text == "“改派”尚未完成，请继续：\n" + reason_ask.text


async def test_a_button_that_would_begin_another_dialog_asks_first(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        first = await ticket(w, TicketStatus.ON_SITE)
        second = await ticket(w, TicketStatus.ACCEPTED)
        card = await card_of(w, ENG, first)
        other = await card_of(w, ENG, second)
        w.press(ENG, card, "Check in")
        [ask] = await w.expect(ENG)
        # The same check-in again by command: its question, once (not asked a second time).
        w.say(ENG, f"/checkin {first.number}")
        assert [m.text for m in await w.quiet(ENG)] == [ask.text]
        [got] = await say(w, ENG, "Fan replaced")
        assert got.text == "Got it — 0 photos, 1 note. Send more or press Done."

        # A button that leaves the dialog alone works as before (no question, nothing asked again).
        w.press(ENG, card, "Pause")
        [pause_ask] = await w.expect(ENG)
        assert pause_ask.text == f"Why are you pausing {first.number}?"
        assert (await dialog(w, ENG))[2]["notes"] == ["Fan replaced"]
        # On my way for another ticket would begin the arrival-time dialog: asked first.
        w.press(ENG, other, "On my way")
        [eta_question] = await w.expect(ENG)
        assert eta_question.text == ("You are in the middle of the progress check-in. Leave it for the button "
                                     "you pressed, or continue where you were?")
        assert eta_question.buttons == ["Leave it", "Continue the progress check-in"]
        w.press(ENG, eta_question, "Continue the progress check-in")
        [again] = await w.expect(ENG)
        assert again.text == got.text and again.buttons == got.buttons
        flow, step, data = await dialog(w, ENG)
        assert (flow, step, data["notes"]) == ("checkin", "collect", ["Fan replaced"])

        w.press(ENG, card, "Resolve")
        [question] = await w.expect(ENG)
        w.press(ENG, question, "Leave it")
        [findings_ask] = await w.expect(ENG)
        assert findings_ask.text == f"Resolving {first.number}. What did you find (the cause of the fault)?"
        assert (await dialog(w, ENG))[:2] == ("resolve", "findings")
        async with w.app.db.read() as s:  # the check-in left behind was never sent
            assert await s.scalar(select(func.count()).select_from(Checkin)) == 0

        # /tickets in the resolve report: the list, then the report's question again.
        listing, again = await say(w, ENG, "/tickets", 2)
        assert first.number in listing.text
        assert again.text == "Still in the middle of the resolve report:\n" + findings_ask.text
        [asked] = await say(w, ENG, "Loose cable")
        assert asked.text == "What did you do to fix it?"


def test_every_dialog_has_a_name_in_both_languages() -> None:
    """The question names the dialog being left: every flow with steps has a name in the catalogs."""
    router = build_router(FLOWS)
    for language in ("en", "zh-CN"):
        known = catalog(language)
        unnamed = {(flow, step) for flow, step in router.steps
                   if f"dialog.name.{flow}_{step}" not in known and f"dialog.name.{flow}" not in known}
        assert unnamed == set(), language
