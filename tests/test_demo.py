"""`fieldbot demo` plays the whole day and ends with the ticket closed, in both languages."""

from __future__ import annotations

import pytest

from bot.demo import run_demo


@pytest.mark.parametrize(("lang", "lines"), [
    ("en", ["── Li Lei (engineer)", "Li Lei ▸ [Accept]", "Arrival check-in from Li Lei",
            "Mr Chen ▸ [Confirm]", "close → closed",
            "Done: the job went from registration to the customer's sign-off and was closed."]),
    ("zh", ["── 李雷 (工程师)", "李雷 ▸ [接单]", "李雷 于", "陈先生 ▸ [确认]", "关闭 → 已关闭",
            "完成：工单从登记到客户签收并关闭。"]),
])
async def test_demo_plays_the_whole_day(lang: str, lines: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(lang) == 0
    out = capsys.readouterr().out
    for line in lines:
        assert line in out
