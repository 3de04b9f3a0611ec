"""**Resolve** (findings → actions → parts) and **Sign-off** (ask the customer in chat, or the signed
paper form's photo + signer's name), end to end; customer joined or not; both languages; stale
buttons, /cancel and a state change mid-dialog write nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

from sqlalchemy import func, select

from models.enums import Action, SignoffMethod, TicketStatus
from models.work import Attachment, Signoff
from tests.support.cast import CUST, ENG, join_customer, person_id, team
from tests.support.chat import card_of, card_text
from tests.support.tickets import events, load, ticket
from tests.support.world import Message, World, png


async def resolve(w: World, card: Message, findings: str, actions: str, parts: str) -> Message:
    w.press(ENG, card, "Resolve")
    await w.expect(ENG)
    for answer in (findings, actions, parts):
        w.say(ENG, answer)
    *_, done = await w.expect(ENG, 3)
    return done


async def test_resolve_asks_the_report_and_tells_the_customer(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        await join_customer(w, CUST, t, "Zhang San")
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Resolve")
        [ask] = await w.expect(ENG)
        assert ask.text == f"Resolving {t.number}. What did you find (the cause of the fault)?"
        w.send_photo(ENG)
        [reply] = await w.expect(ENG)
        assert reply.text == "Please answer in text."
        w.say(ENG, "x" * 2001)
        [reply] = await w.expect(ENG)
        assert reply.text == "That is too long (at most 2000 characters). Please shorten it."
        w.say(ENG, "Blown fuse on the power board")
        [ask] = await w.expect(ENG)
        assert ask.text == "What did you do to fix it?"
        w.say(ENG, "Replaced the fuse, tested for an hour")
        [ask] = await w.expect(ENG)
        assert ask.text == "Which parts did you replace? Send \"none\" if none."
        assert (await load(w, t)).status is TicketStatus.ON_SITE  # nothing written yet
        w.say(ENG, "None")
        [done] = await w.expect(ENG)
        assert done.text == "Resolved. Now collect the customer's sign-off.\n" + card_text(t, "resolved")
        assert done.buttons == ["Sign-off"]
        row = await load(w, t)
        assert row.status is TicketStatus.RESOLVED and row.report_complete
        assert (row.findings, row.actions_taken, row.parts_replaced) == (
            "Blown fuse on the power board", "Replaced the fuse, tested for an hour", None)
        [pushed] = await w.expect(CUST)
        assert pushed.text == (f"The work on ticket {t.number} is done. "
                               "You will be asked to confirm the service report.")
        # The old card's Resolve is stale now.
        w.press(ENG, card, "Resolve")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot resolve this ticket: it is resolved (on-site)."


async def test_a_state_change_mid_resolve_ends_the_dialog_and_cancel_writes_nothing(tmp_path: Path,
                                                                                    channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Resolve")
        await w.expect(ENG)
        w.say(ENG, "Loose cable")
        await w.expect(ENG)
        w.press(ENG, card, "Pause")  # buttons still work during a dialog
        [ask] = await w.expect(ENG)
        w.press(ENG, ask, "Other")
        await w.expect(ENG)
        w.say(ENG, "Fixed the cable")
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot resolve this ticket: it is paused (on-site)."
        w.say(ENG, "none")
        [reply] = await w.expect(ENG)
        assert reply.text == "I'm not sure what you mean. Send /help to see what you can do."
        row = await load(w, t)
        assert row.status is TicketStatus.PAUSED and row.findings is None

        w.press(ENG, card, "Resolve")  # the card from before the pause: stale
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot resolve this ticket: it is paused (on-site)."
        resumed_card = await card_of(w, ENG, t)
        w.press(ENG, resumed_card, "Resume")
        [on_site] = await w.expect(ENG)
        w.press(ENG, on_site, "Resolve")
        await w.expect(ENG)
        w.say(ENG, "Loose cable")
        await w.expect(ENG)
        w.say(ENG, "/cancel")
        await w.expect(ENG)
        w.say(ENG, "Fixed it")
        await w.expect(ENG)
        row = await load(w, t)
        assert row.status is TicketStatus.ON_SITE and row.findings is None


async def test_signoff_asks_the_customer_who_joined(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        await join_customer(w, CUST, t, "Zhang San", lang="zh-CN")
        card = await card_of(w, ENG, t)
        done = await resolve(w, card, "Blown fuse", "Replaced it", "Fuse 5A")
        await w.expect(CUST)
        w.press(ENG, done, "Sign-off")
        [choice] = await w.expect(ENG)
        assert choice.text == f"How will the customer sign off {t.number}?"
        assert choice.buttons == ["Ask the customer", "Paper form"]
        w.press(ENG, choice, "Ask the customer")
        [sent] = await w.expect(ENG)
        assert sent.text == f"The service report for {t.number} was sent to the customer to confirm."
        [request] = await w.expect(CUST)
        assert request.text == "\n".join([
            f"工单 {t.number} 的服务单，请核对：", "故障现象：No power", "检查结果：Blown fuse",
            "处理措施：Replaced it", "更换备件：Fuse 5A", "如无误，请点击“确认”；如问题仍未解决，请点击“有问题”。"])
        assert request.buttons == ["确认", "有问题"]
        assert "signoff_sent" in [e.kind for e in await events(w, t)]
        assert (await load(w, t)).status is TicketStatus.RESOLVED  # the customer's confirmation signs off
        w.press(CUST, request, "确认")  # the seam to the customer flow
        await w.settle()
        assert (await load(w, t)).status is TicketStatus.SIGNED_OFF
        w.press(ENG, choice, "Ask the customer")  # stale now
        [reply] = await w.expect(ENG)
        assert reply.text == "Cannot sign off this ticket: it is signed off (on-site)."


async def test_signoff_without_a_customer_points_to_the_paper_form(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await team(w)
        t = await ticket(w, TicketStatus.RESOLVED)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "客户签收")
        [choice] = await w.expect(ENG)
        w.press(ENG, choice, "请客户确认")
        [reply] = await w.expect(ENG)
        assert reply.text == f"客户尚未通过工单链接加入，无法在聊天中确认 {t.number}。请改用纸质服务单。"
        assert reply.buttons == ["纸质服务单"]
        kinds = [(e.kind, e.details.get("what")) for e in await events(w, t)]
        assert ("customer_not_reached", "signoff_request") in kinds
        assert "signoff_sent" not in [k for k, _ in kinds]

        w.press(ENG, reply, "纸质服务单")
        [ask] = await w.expect(ENG)
        assert ask.text == f"工单 {t.number}：请发送已签字的服务单照片。"
        w.say(ENG, "签好了")
        [reply] = await w.expect(ENG)
        assert reply.text == "请发送已签字的服务单照片。"
        w.send_photo(ENG, seed=9)
        [ask] = await w.expect(ENG)
        assert ask.text == "服务单是谁签的字？请发送签字人姓名。"
        w.say(ENG, "张三")
        [done] = await w.expect(ENG)
        assert done.text == (f"张三的签收及纸质服务单照片已保存。工单 {t.number} 已关闭。\n"
                             "客户尚未通过工单链接加入，未能通知客户（已记入处理记录）。")
        row = await load(w, t)
        assert row.status is TicketStatus.CLOSED and row.signed_off_at and row.closed_at
        async with w.app.db.read() as s:
            [signoff] = (await s.scalars(select(Signoff))).all()
            [photo] = (await s.scalars(select(Attachment))).all()
        assert (signoff.method, signoff.signer_name) == (SignoffMethod.PAPER, "张三")
        assert signoff.collected_by_id == await person_id(w, "Li Lei") and signoff.confirmed_by_id is None
        assert (photo.signoff_id, photo.ticket_id, photo.checkin_id) == (signoff.id, t.id, None)
        assert photo.sha256 == hashlib.sha256(png(9)).hexdigest()
        assert (w.app.config.storage.media_dir / photo.path).read_bytes() == png(9)
        actions = [e.action for e in await events(w, t) if e.kind == "transition"]
        assert actions[-2:] == [Action.SIGN_OFF, Action.CLOSE]
        [sign_event] = [e for e in await events(w, t) if e.action is Action.SIGN_OFF]
        assert sign_event.details == {"method": "paper", "signoff_id": signoff.id, "signer": "张三"}

        # Stale: the sign-off buttons after the close.
        w.press(ENG, choice, "纸质服务单")
        [reply] = await w.expect(ENG)
        assert reply.text == "上门服务工单当前为“已关闭”，不能签收。"  # the transition error line
        w.say(ENG, "/tickets")
        [reply] = await w.expect(ENG)  # nothing open any more: listed as closed (handlers/flows/board.py)
        assert reply.text.split("\n")[:3] == ["您的工单", "", "近 7 天已关闭（1）"]
        assert reply.text.split("\n")[3].startswith(f"{t.number} · 已关闭 ")


async def test_paper_signoff_thanks_the_customer_and_cancel_mid_dialog_writes_nothing(tmp_path: Path,
                                                                                      channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await ticket(w, TicketStatus.RESOLVED)
        await join_customer(w, CUST, t, "Zhang San")
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "Sign-off")
        [choice] = await w.expect(ENG)
        w.press(ENG, choice, "Paper form")
        await w.expect(ENG)
        w.send_photo(ENG, seed=1)
        await w.expect(ENG)
        w.say(ENG, "/cancel")
        await w.expect(ENG)
        async with w.app.db.read() as s:
            assert await s.scalar(select(func.count()).select_from(Signoff)) == 0
            assert await s.scalar(select(func.count()).select_from(Attachment)) == 0
        assert (await load(w, t)).status is TicketStatus.RESOLVED

        w.press(ENG, choice, "Paper form")
        await w.expect(ENG)
        w.send_photo(ENG, seed=2)
        await w.expect(ENG)
        w.send_photo(ENG, seed=3)
        [reply] = await w.expect(ENG)
        assert reply.text == "Please send the name of the person who signed, as text."
        w.say(ENG, "Zhang San")
        [done] = await w.expect(ENG)
        assert done.text == f"Sign-off by Zhang San stored with the form photo. Ticket {t.number} is closed."
        [thanks] = await w.expect(CUST)
        assert thanks.text == f"Thank you! Ticket {t.number} is signed off and closed."
        assert (await load(w, t)).status is TicketStatus.CLOSED
