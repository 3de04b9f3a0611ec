"""WeCom's error shape: HTTP 200 with ``{"errcode": N, "errmsg": "..."}``.

Why exact: the adapter classifies failures by ``errcode`` (refresh the token once on 40014/42001,
alert on 40001, back off on 45009/45033/-1, never retry a 4xxxx parameter error), and an operator
reads ``errmsg``. Real messages end with a hint, the caller's IP and a link to the error-code page
(PROTOCOL.md §9), e.g. ``"invalid access_token, hint: [1700000000_35_0f3c...], from ip: 1.2.3.4,
more info at https://open.work.weixin.qq.com/devtool/query?e=40014"``; so do these.

Codes and their meanings come from the global error-code page d90313 (as extracted into
``xen0n/go-workwx: errcodes/mod.go``), cited in PROTOCOL.md §3-§7.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

MORE_INFO = "https://open.work.weixin.qq.com/devtool/query?e="

# errcode -> the short English errmsg the real API starts with (wording approximated).
MESSAGES: dict[int, str] = {
    -1: "system busy",
    40001: "invalid credential",  # wrong secret / corpid-secret mismatch / app disabled
    40003: "invalid userid",
    40004: "invalid media type",
    40005: "invalid type",
    40006: "invalid file size",
    40007: "invalid media_id",
    40008: "invalid message type",
    40009: "invalid image size",
    40011: "invalid video size",
    40013: "invalid corpid",
    40014: "invalid access_token",
    40016: "invalid button size",
    40017: "invalid button type",
    40018: "invalid button name size",
    40019: "invalid button key size",
    40020: "invalid button url size",
    40022: "invalid sub button level",
    40023: "invalid sub button size",
    40024: "invalid sub button type",
    40025: "invalid sub button name size",
    40026: "invalid sub button key size",
    40027: "invalid sub button url size",
    40029: "invalid code",
    40056: "invalid agentid",
    40058: "invalid parameter",
    40096: "invalid external userid",
    41001: "access_token missing",
    41002: "corpid missing",
    41004: "corpsecret missing",
    41006: "media_id missing",
    41010: "url missing",
    41011: "agentid missing",
    41016: "title missing",
    41033: "description missing",
    42001: "access_token expired",
    42003: "code expired",
    42014: "invalid task_id",
    42015: "app of the updated message does not match",
    42016: "task_id not found",
    42022: "code has been used",
    42027: "Template_Card.horizontal_content_list.keyname missing",
    42028: "Template_Card url missing",
    42031: "invalid Template_Card.CardType",
    42033: "Template_Card title missing",
    42035: "invalid Template_Card.horizontal_content_list size",
    42037: "invalid Template_Card.option_list size",
    42038: "invalid Template_Card.button_list.text",
    42039: "invalid Template_Card.button_list.key",
    42040: "invalid Template_Card.option_list.id",
    42041: "invalid Template_Card.option_list.text",
    42043: "invalid Template_Card.question_key",
    42045: "invalid Template_Card.card_action",
    42046: "invalid Template_Card.submit_button.key",
    42051: "Template_Card.action_menu.action_list.key conflict",
    42052: "msgid expired",
    44001: "empty media data",
    44004: "empty content",
    45001: "media size out of limit",
    45009: "api freq out of limit",
    45033: "api concurrent out of limit",
    46003: "menu no exist",
    48002: "api forbidden",
    60020: "not allow to access from your ip",
    60140: "invalid response_code",
    81012: "missing userid, partyid and tagid",
    81013: "user & party & tag all invalid",
    82001: "all touser & toparty & totag invalid",
    95000: "invalid open_kfid",
    95001: "kf send msg count limit",
    95002: "kf send msg time limit",
    95007: "invalid msg token",
    95008: "msgmenu item count out of limit",
    95009: "invalid msgmenu item type",
    95013: "session is ended",
    95014: "user is not servicer",
    95016: "service state transition not allowed",
    95018: "session state does not allow sending",
}


class WeComError(Exception):
    """An API error: answered HTTP 200 with errcode/errmsg (``detail`` is appended to errmsg)."""

    def __init__(self, errcode: int, detail: str | None = None) -> None:
        self.errcode = errcode
        self.detail = detail
        super().__init__(f"{errcode} {self.text()}")

    def text(self) -> str:
        base = MESSAGES.get(self.errcode, "error")
        return f"{base}: {self.detail}" if self.detail else base

    def payload(self, ip: str = "127.0.0.1") -> dict[str, Any]:
        return {"errcode": self.errcode, "errmsg": errmsg(self.errcode, self.text(), ip)}


def errmsg(code: int, text: str, ip: str) -> str:
    hint = f"{int(time.time())}_{secrets.randbelow(90) + 10}_{secrets.token_hex(16)}"
    return f"{text}, hint: [{hint}], from ip: {ip}, more info at {MORE_INFO}{code}"


def ok(**fields: Any) -> dict[str, Any]:
    return {"errcode": 0, "errmsg": "ok", **fields}
