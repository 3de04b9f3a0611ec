"""The timeline reads as sentences in both languages (handlers/timeline.py): who did what ("Li Lei
accepted the ticket", "李雷接单"), what happened when nobody did it; never a raw id — not a push's
purpose (``on_the_way``), not a check-in's database number, not an action → status arrow."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from handlers.timeline import event_text, timeline_lines
from models.enums import Action, TicketStatus
from models.tickets import TicketEvent

TZ = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 3, 2, 2, 30, tzinfo=timezone.utc)  # 10:30 in Shanghai
NAMES = {1: "王伟", 2: "李雷", 3: "Zhao Min"}


def event(kind: str = "transition", *, actor: int | None = None, action: Action | None = None,
          to: TicketStatus | None = None, at: datetime = AT, **details: object) -> TicketEvent:
    return TicketEvent(ticket_id=1, at=at, actor_id=actor, kind=kind, action=action, to_status=to, details=details)


@pytest.mark.parametrize(("lang", "shown"), [
    ("en", ("The customer was not told that the engineer is on the way: nobody from the customer has joined "
            "through the link")),
    ("zh-CN", "未能通知客户“工程师已出发”：客户方尚无人通过链接加入"),
])
def test_a_customer_not_told_says_what_in_words(lang: str, shown: str) -> None:
    assert event_text(lang, event("customer_not_reached", what="on_the_way"), NAMES) == shown
    # A purpose without a label of its own (an older row) still reads as a sentence.
    assert "some_purpose" not in event_text(lang, event("customer_not_reached", what="some_purpose"), NAMES)


@pytest.mark.parametrize(("lang", "lines"), [
    ("en", ["2026-03-02 10:30  王伟 dispatched the ticket to 李雷",
            "2026-03-02 10:30  李雷 accepted the ticket",
            "2026-03-02 10:30  李雷 paused the work (waiting for parts)",
            "2026-03-02 10:30  王伟 reassigned the ticket to Zhao Min (from 李雷) — reason: sick leave",
            "2026-03-02 10:30  The system cancelled the ticket — reason: duplicate",
            "2026-03-02 10:30  李雷 checked in on arrival with 1 photo",
            "2026-03-02 10:30  王伟 acknowledged the arrival check-in of 10:30"]),
    ("zh-CN", ["2026-03-02 10:30  王伟派单给李雷",
               "2026-03-02 10:30  李雷接单",
               "2026-03-02 10:30  李雷暂停工单（等待备件）",
               "2026-03-02 10:30  王伟将工单改派给Zhao Min（原为李雷），原因：sick leave",
               "2026-03-02 10:30  系统取消工单，原因：duplicate",
               "2026-03-02 10:30  李雷到场签到（1 张照片）",
               "2026-03-02 10:30  王伟确认了到场签到（10:30）"]),
])
def test_each_line_is_a_sentence(lang: str, lines: list[str]) -> None:
    events = [
        event(actor=1, action=Action.DISPATCH, to=TicketStatus.DISPATCHED, assignee_id=2),
        event(actor=2, action=Action.ACCEPT, to=TicketStatus.ACCEPTED),
        event(actor=2, action=Action.PAUSE, to=TicketStatus.PAUSED, pause_reason="parts"),
        event(actor=1, action=Action.REASSIGN, to=TicketStatus.DISPATCHED, assignee_id=3, from_assignee_id=2,
              reason="sick leave"),
        event(action=Action.CANCEL, to=TicketStatus.CANCELLED, reason="duplicate"),
        event("checkin_arrival", actor=2, checkin_id=7, photos=1),
        event("checkin_acked", actor=1, checkin_id=7, how="button"),
    ]
    assert timeline_lines(lang, events, TZ, NAMES) == lines


def test_plurals_and_no_arrows() -> None:
    two = event("checkin_progress", actor=2, checkin_id=8, photos=2)
    assert event_text("en", two, NAMES) == "李雷 sent a progress check-in with 2 photos"
    assert event_text("zh-CN", two, NAMES) == "李雷汇报进度（2 张照片）"
    # A check-in not among the events shown: "a check-in", never "#8".
    acked = event("checkin_acked", actor=1, checkin_id=8, how="reply")
    assert event_text("en", acked, NAMES, TZ) == "王伟 acknowledged a check-in"
    assert event_text("zh-CN", acked, NAMES, TZ) == "王伟确认了一条签到或汇报"
    for lang in ("en", "zh-CN"):
        for action, to in ((Action.ACCEPT, TicketStatus.ACCEPTED), (Action.CLOSE, TicketStatus.CLOSED),
                           (Action.DEPART, TicketStatus.EN_ROUTE), (Action.SIGN_OFF, TicketStatus.SIGNED_OFF)):
            assert "→" not in event_text(lang, event(actor=2, action=action, to=to), NAMES)
