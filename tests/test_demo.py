"""`fieldbot demo` plays the whole day and ends with the ticket closed, in both languages and on
both Telegram runtimes (aiogram, python-telegram-bot)."""

from __future__ import annotations

import pytest

from bot.cli import main
from bot.demo import run_demo
from tests.support.telegram import RUNTIMES

LINES = {
    "en": ["── Li Lei (engineer)", "Li Lei ▸ [Accept]", "Arrival check-in from Li Lei",
           "Mr Chen ▸ [Confirm]", "close → closed",
           "Done: the job went from registration to the customer's sign-off and was closed."],
    "zh": ["── 李雷 (工程师)", "李雷 ▸ [接单]", "李雷 于", "陈先生 ▸ [确认]", "关闭 → 已关闭",
           "完成：工单从登记到客户签收并关闭。"],
}


@pytest.mark.parametrize("runtime", RUNTIMES)
@pytest.mark.parametrize("lang", ["en", "zh"])
async def test_demo_plays_the_whole_day(lang: str, runtime: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert await run_demo(lang, runtime=runtime) == 0
    out = capsys.readouterr().out
    for line in LINES[lang]:
        assert line in out


def test_demo_on_ptb_from_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--runtime", "ptb"]) == 0
    assert LINES["en"][-1] in capsys.readouterr().out


def test_demo_on_ptb_without_python_telegram_bot_says_so_in_one_line(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(__import__("sys").modules, "telegram", None)  # as if the extra were not installed
    assert main(["demo", "--runtime", "ptb"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        'telegram.runtime: python-telegram-bot is not installed; install the ptb extra '
        '(pip install "fieldbot[ptb]") or use runtime = "aiogram"']
    assert captured.out == ""
