"""The command line speaks one language per run (issue 14): ``fieldbot`` alone gives an overview; one
``--lang`` for every command, before or after it, taking zh / zh-CN / zh_CN / cn / en in any case;
one default (the config file's bot.language, else the system's language, else English); argparse's
own usage, help and errors in that language too."""

from __future__ import annotations

import argparse
import gettext
from pathlib import Path

import pytest

from bot import cli_lang
from bot.cli import build_parser, main


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # --help
        code = exc.code
    out = capsys.readouterr()
    return code, out.out, out.err


@pytest.fixture(autouse=True)
def no_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # no ./config.toml
    for name in ("FIELDBOT_CONFIG", "LC_ALL", "LC_MESSAGES", "LANGUAGE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("LANG", "C.UTF-8")


def test_fieldbot_alone_prints_an_overview(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys)
    assert (code, err) == (0, "")
    assert out.startswith("Fieldbot — a chat-first assistant for after-sales field service teams")
    assert "fieldbot demo" in out and "fieldbot run" in out
    for command in ("db", "check-config", "invite", "ticket", "report", "inbox", "run", "emulator",
                    "wecom-emulator", "demo", "bench"):
        assert f"\n  {command} " in out, command
    assert "--lang zh|en" in out


def test_the_overview_in_the_systems_language(capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    code, out, _ = run(capsys)
    assert code == 0 and out.startswith("Fieldbot —— 面向售后现场服务团队的聊天助手") and "\n  demo " in out


@pytest.mark.parametrize("spelling", ["zh", "zh-CN", "zh_CN", "ZH-cn", "cn", "Zh"])
def test_every_chinese_spelling(spelling: str) -> None:
    assert build_parser().parse_args(["--lang", spelling, "check-config"]).lang == "zh-CN"
    assert build_parser().parse_args(["check-config", "--lang", spelling]).lang == "zh-CN"


def test_lang_before_or_after_the_command_and_the_demo(capsys: pytest.CaptureFixture[str]) -> None:
    assert build_parser().parse_args(["demo", "--lang", "zh"]).lang == "zh-CN"
    assert build_parser().parse_args(["--lang", "EN", "demo"]).lang == "en"
    assert build_parser().parse_args(["--lang", "en", "demo", "--lang", "zh"]).lang == "zh-CN"  # the later one
    assert build_parser().parse_args(["demo"]).lang is None  # main() fills in the default
    assert build_parser().parse_args(["ticket", "list", "--lang", "zh_CN"]).lang == "zh-CN"
    assert run(capsys, "demo", "--channel", "wecom", "--keep", "--lang", "zh") == (
        2, "", "fieldbot demo：错误：--keep 只用于 Telegram 演示（它的模拟器才有聊天页面）\n")


def test_a_language_we_do_not_have(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--lang", "fr", "check-config") == (
        2, "", 'fieldbot: error: argument --lang: "fr" is not a language; use zh (or zh-CN) or en\n')


def test_the_default_language(tmp_path: Path) -> None:
    env = {"LANG": "C.UTF-8"}
    assert cli_lang.language([], env) == "en"  # the C locale: English, as gettext does
    assert cli_lang.language([], {"LANG": "zh_CN.UTF-8"}) == "zh-CN"
    assert cli_lang.language([], {"LANG": "en_US.UTF-8", "LC_ALL": "zh_TW.UTF-8"}) == "zh-CN"  # LC_ALL first
    assert cli_lang.language([], {"LANG": "de_DE.UTF-8"}) == "en"
    assert cli_lang.language([], {}) == "en"
    config = tmp_path / "c.toml"
    config.write_text("")  # a config file: its bot.language (zh-CN unless it says otherwise)
    assert cli_lang.language(["--config", str(config)], env) == "zh-CN"
    config.write_text('[bot]\nlanguage = "en"\n')
    assert cli_lang.language([f"--config={config}"], {"LANG": "zh_CN.UTF-8"}) == "en"
    assert cli_lang.language(["--config", str(config), "run", "--lang", "zh"], env) == "zh-CN"  # --lang wins
    assert cli_lang.language([], {"FIELDBOT_CONFIG": str(config), "LANG": "zh_CN.UTF-8"}) == "en"
    config.write_text("[bot]\nlanguage = 1\n")  # a broken file: check-config says what is wrong with it
    assert cli_lang.language(["--config", str(config)], {"LANG": "zh_CN.UTF-8"}) == "zh-CN"


def test_argparse_speaks_chinese(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(capsys, "--lang", "zh", "run", "--nope") == (2, "", "fieldbot：错误：无法识别的参数：--nope\n")
    assert run(capsys, "--lang", "zh", "invite", "--role", "boss", "--name", "Li")[2].startswith(
        "fieldbot invite：错误：参数 --role：无效的取值：'boss'（可选：")
    assert run(capsys, "ticket", "show", "--lang", "zh")[2] == "fieldbot ticket show：错误：缺少以下参数：number\n"
    code, out, _ = run(capsys, "--lang", "zh", "--help")
    assert code == 0 and out.startswith("用法：fieldbot ") and "显示此帮助并退出" in out
    assert "检查配置：输出 ok，或列出会让 fieldbot run 无法启动的每个问题" in out  # the commands' own lines
    # …and English when English is the language
    assert run(capsys, "run", "--nope") == (2, "", "fieldbot: error: unrecognized arguments: --nope\n")


def test_argparse_is_left_as_it_was() -> None:
    with cli_lang.speaking("zh-CN"):
        assert argparse._("usage: ") == "用法："  # type: ignore[attr-defined]
    assert argparse._ is gettext.gettext  # type: ignore[attr-defined]
    assert argparse.ngettext is gettext.ngettext  # type: ignore[attr-defined]


def test_domain_and_usage_errors_in_the_same_language(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[bot]\nlanguage = "zh-CN"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "f.db"}"\n')
    assert run(capsys, "--config", str(config), "ticket", "list") == (
        2, "", "fieldbot：错误：数据库不是最新版本；请先运行 `fieldbot db upgrade`\n")
