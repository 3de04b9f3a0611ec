"""Words typed where a button or a number was expected, end to end: ``完成`` / ``done`` alone ends a
progress check-in as **Done** does (a note that only starts with it stays a note); a rating typed
as ``四星`` / ``4`` / ``★★★★★`` answers the sign-off's or the callback survey's 1–5 question; an
arrival time ``半小时`` and a quantity ``两个`` are read as the numbers they are."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import FixedClock
from handlers.i18n import t as tr
from models.enums import FeedbackSource, Role, TicketStatus
from models.tickets import Ticket
from models.work import Checkin, Feedback, PartsRequest
from scheduler import callback
from tests.support.cast import CUST, ENG, SUP, join_customer, pid, team
from tests.support.chat import card_of
from tests.support.tickets import load, new_ticket, resolved, ticket
from tests.support.world import T0, World

CUST2 = 901
NOT_UNDERSTOOD = tr("en", "error.unexpected_text")
WORKDAYS = ("[bot.working_hours]\n" + "".join(f'{d} = "08:30-22:00"\n' for d in ("mon", "tue", "wed", "thu", "fri"))
            + 'sat = "off"\nsun = "off"\n[chase]\ncallback_after = "3d"\ncallback_expire = "2d"\n'
            + "[scheduler]\nenabled = false\n")


async def rows(w: World, model: type) -> list:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(model).order_by(model.id))).all())


async def feedback(w: World) -> list[tuple]:
    async with w.app.db.read() as s:
        return [tuple(r) for r in (await s.execute(
            select(Feedback.source, Feedback.rating, Feedback.comment).order_by(Feedback.id))).all()]


async def test_done_typed_alone_ends_the_checkin(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await team(w)
        t = await ticket(w, TicketStatus.ON_SITE)
        w.say(ENG, "/checkin")
        [ask] = await w.expect(ENG)
        assert t.number in ask.text
        w.say(ENG, "完成")  # nothing collected yet: as pressing Done, refused
        [reply] = await w.expect(ENG)
        assert reply.text == tr("zh-CN", "error.checkin_empty")
        w.say(ENG, "完成了主板更换")  # a real note that starts with the word
        w.send_photo(ENG, seed=3)
        got = await w.expect(ENG, 2)
        assert got[-1].buttons == ["完成"]  # collected: the dialog goes on
        assert await rows(w, Checkin) == []
        w.say(ENG, "完成。")
        [sent] = await w.expect(ENG)
        assert sent.text == tr("zh-CN", "eng.checkin_sent", number=t.number)
        [checkin] = await rows(w, Checkin)
        assert checkin.text == "完成了主板更换"  # "完成。" is not relayed as a note
        sup = await w.expect(SUP, 2)
        assert sup[-1].text.split("\n")[2:] == ["完成了主板更换", "照片：1 张"]

        # English, and every word of the list: one each ends a fresh check-in.
        for word in ("done", "Done!", "好了", "提交", "submit"):
            w.say(ENG, "/checkin")
            await w.expect(ENG)
            w.say(ENG, "Fan replaced")
            await w.expect(ENG)
            w.say(ENG, word)
            [sent] = await w.expect(ENG)
            assert sent.text == tr("zh-CN", "eng.checkin_sent", number=t.number), word
        assert [c.text for c in await rows(w, Checkin)][1:] == ["Fan replaced"] * 5


async def test_eta_and_quantity_in_chinese_words(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN", clock=FixedClock(T0)) as w:
        await team(w)
        t = await ticket(w, TicketStatus.ACCEPTED)
        card = await card_of(w, ENG, t)
        w.press(ENG, card, "出发")
        [ask] = await w.expect(ENG)
        assert ask.text == tr("zh-CN", "eng.eta_ask", number=t.number)
        w.say(ENG, "两天")  # read, but more than a day away
        w.say(ENG, "一会儿")
        replies = await w.expect(ENG, 2)
        assert [r.text for r in replies] == [tr("zh-CN", "error.eta_too_far", value="两天"),
                                             tr("zh-CN", "error.eta_bad", value="一会儿")]
        w.say(ENG, "一个半小时")
        await w.expect(ENG)
        assert (await load(w, t)).eta_at == w.clock.now() + timedelta(minutes=90)

        t2 = await ticket(w, TicketStatus.ON_SITE)
        w.say(ENG, f"/parts {t2.number}")
        await w.expect(ENG)
        w.say(ENG, "风扇")
        [ask] = await w.expect(ENG)
        assert ask.text == tr("zh-CN", "parts.ask_quantity", part="风扇")
        w.say(ENG, "好几个")
        [again] = await w.expect(ENG)
        assert again.text == tr("zh-CN", "error.parts_bad_quantity", value="好几个", max=999)
        w.say(ENG, "两个")
        await w.expect(ENG)
        assert [r.quantity for r in await rows(w, PartsRequest)] == []  # not written before the note
        w.say(ENG, "尽快")
        await w.expect(ENG)
        assert [(r.part, r.quantity) for r in await rows(w, PartsRequest)] == [("风扇", 2)]


async def test_a_typed_rating_answers_the_signoff_question(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel) as w:
        await team(w)
        t = await new_ticket(w)
        await join_customer(w, CUST, t, "Mr Lin")
        await join_customer(w, CUST2, t, "Ms Ma")
        w.say(CUST, "4")  # nothing asked yet: not understood, as before
        [reply] = await w.expect(CUST)
        assert reply.text == NOT_UNDERSTOOD
        await resolved(w, t, sup=SUP, eng=ENG)
        [request] = await w.expect(CUST)
        await w.expect(CUST2)
        w.press(CUST, request, "Confirm")
        [ask] = await w.expect(CUST)
        w.say(CUST2, "5")  # the other contact was not asked (Mr Lin confirmed): not a rating of theirs
        [reply] = await w.expect(CUST2)
        assert reply.text == NOT_UNDERSTOOD
        w.say(CUST, "6 stars")  # not a rating: not understood
        [reply] = await w.expect(CUST)
        assert reply.text == NOT_UNDERSTOOD
        w.say(CUST, "四星")
        if w.driver.platform == "telegram":  # the question loses its buttons, as after a press
            [comment_ask] = await w.expect(CUST)
            answered = w.current(CUST, ask)
        else:  # 微信客服 cannot edit: the question's update comes as a message of its own, first
            answered, comment_ask = await w.expect(CUST, 2)
        assert answered.text == tr("en", "desk.customer.rated_line", number=t.number, rating=4) and answered.buttons == []
        assert comment_ask.text == tr("en", "desk.customer.comment_ask")
        w.say(CUST, "5")  # now in the comment dialog: a comment, not a second rating
        await w.expect(CUST, 1 if w.driver.platform == "telegram" else 2)  # 微信客服: "Comment received." too
        assert await feedback(w) == [(FeedbackSource.SIGNOFF, 4, "5")]
        assert (await load(w, t)).status is TicketStatus.CLOSED
        await w.quiet(CUST)  # the service report (PDF)
        w.say(CUST, "5")  # nothing waits any more
        [reply] = await w.expect(CUST)
        assert reply.text == NOT_UNDERSTOOD


# The survey goes out 3 days after the sign-off; 微信客服 lets the bot write to a customer only within
# 48 h of their last message (as in test_callback).
@pytest.mark.telegram
async def test_a_typed_rating_answers_the_callback_survey(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, clock=FixedClock(T0), extra_config=WORKDAYS) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        t = await new_ticket(w)
        await join_customer(w, CUST, t, "Mr Lin")
        await resolved(w, t, sup=SUP, eng=ENG)
        [request] = await w.expect(CUST)
        w.press(CUST, request, "Confirm")
        await w.expect(CUST)
        w.say(CUST, "5")
        [comment_ask] = await w.expect(CUST)
        w.press(CUST, comment_ask, "No comment")
        await w.expect(CUST)
        await w.quiet(CUST)  # the service report (PDF)
        w.clock.at = T0 + timedelta(days=3)
        assert await callback.run(w.app, w.clock.at) == 1
        await w.settle()
        [survey] = await w.expect(CUST)
        w.say(CUST, "★★★★☆")
        [ask] = await w.expect(CUST)
        assert ask.text == tr("en", "followup.callback.comment_ask", number=t.number)
        assert w.current(CUST, survey).text == tr("en", "followup.callback.rated_line", number=t.number, rating=4)
        assert await feedback(w) == [(FeedbackSource.SIGNOFF, 5, None), (FeedbackSource.CALLBACK, 4, None)]
        assert await pid(w, CUST)


async def test_no_serial_typed_at_registration(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, language="zh-CN") as w:
        await w.join(SUP, Role.SUPERVISOR, "王伟")
        w.say(SUP, "/new")
        await w.expect(SUP)
        for answer in ("华东机电", "跳过", "021-5555 0000", "上海市浦东新区张江路 1 号", "ZX-300", "不详",
                       "2024-01-05", "整机无法启动", "1", "电话支持", "免费"):
            w.say(SUP, answer)
            [summary] = await w.expect(SUP)
        no_serial = tr("zh-CN", "reg.summary.product", model="ZX-300", serial=tr("zh-CN", "reg.summary.no_serial"))
        assert no_serial in summary.text.splitlines()  # "序列号 无", not a serial called 不详
        w.press(SUP, summary, "确认")
        await w.expect(SUP, 2)
        async with w.app.db.read() as s:
            assert (await s.scalars(select(Ticket.serial))).all() == [None]
