"""One review of a config, shared by ``check-config`` and ``fieldbot run`` (issue 14): what ``run``
would refuse, check-config no longer calls ``ok``; what ``run`` would silently ignore, both say.
``run`` refuses before it touches the database or the network."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.config import parse_config
from bot.config_check import problems

WECOM = ('[wecom]\nenabled = true\ncorp_id = "ww1"\nagent_id = 1000002\nsecret = "s"\ntoken = "t"\n'
         f'aes_key = "{"a" * 43}"\ncallback_url = "https://bot.example.org/wecom/callback"\n')
TOKEN = '[telegram]\ntoken = "1:x"\n'

#: (config, the lines both print)
REFUSED = {
    "no channel": ("", ["telegram.token: no channel to serve: set telegram.token (or FIELDBOT_TELEGRAM_TOKEN), "
                        "or set up and enable [wecom]"]),
    "webhook without url": (TOKEN + 'mode = "webhook"\nwebhook_secret = "x"\n', [
        'telegram.webhook_url: telegram.mode is "webhook" but this is empty: set the public HTTPS URL Telegram '
        "posts updates to"]),
    "webhook over http to Telegram": (TOKEN + 'mode = "webhook"\nwebhook_url = "http://bot.example.org/tg"\n'
                                      'webhook_secret = "x"\n', [
        'telegram.webhook_url: "http://bot.example.org/tg": Telegram posts only to https:// URLs']),
    "a listen address without port": (TOKEN + 'mode = "webhook"\nwebhook_url = "https://b.example.org/t"\n'
                                      'webhook_listen = "localhost"\nwebhook_secret = "x"\n', [
        'telegram.webhook_listen: "localhost" is not an address to listen on; write HOST:PORT, e.g. '
        '"127.0.0.1:8080"']),
    "a base url that is not one": (TOKEN + 'api_base = "127.0.0.1:8081"\n', [
        'telegram.api_base: "127.0.0.1:8081" is not a base URL; write e.g. "http://127.0.0.1:8081"']),
    "webhook and callback on one route": (
        TOKEN + 'mode = "webhook"\nwebhook_url = "https://b.example.org/wecom/callback"\nwebhook_secret = "x"\n'
        'webhook_listen = "127.0.0.1:8081"\n' + WECOM, [
            "telegram.webhook_url: the Telegram webhook and the WeCom callback both use /wecom/callback on "
            "127.0.0.1:8081; give them different paths"]),
    "wecom incomplete": ('[wecom]\nenabled = true\ncorp_id = "ww1"\n', [
        "wecom: wecom is enabled but agent_id, secret, token, aes_key is empty"]),
    "kf half configured": (WECOM + 'kf_open_kfid = "wk1"\n', [
        "wecom: set both wecom.kf_open_kfid and wecom.kf_link, or neither"]),
    "unknown key": (TOKEN + 'tokn = "x"\n', ["telegram.tokn: unknown key"]),
}


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\nlanguage = "en"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "f.db"}"\n' + text)
    return path


@pytest.mark.parametrize("case", list(REFUSED))
def test_check_config_and_run_refuse_alike(case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text, lines = REFUSED[case]
    path = str(_write(tmp_path, text))
    assert main(["--config", path, "check-config"]) == 1
    assert capsys.readouterr().out.splitlines() == lines
    assert main(["--config", path, "run"]) == 1
    captured = capsys.readouterr()
    assert (captured.out, captured.err.splitlines()) == ("", lines)
    assert not (tmp_path / "f.db").exists()  # refused before the database was opened


def test_what_run_ignores_is_a_warning_and_still_ok(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(_write(tmp_path, TOKEN + 'webhook_url = "https://b.example.org/t"\n'
                                        '[wecom]\ncorp_id = "ww1"\nkf_link = "https://work.weixin.qq.com/kfid/x"\n'))
    assert main(["--config", path, "check-config"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        'warning: telegram.webhook_url: ignored: telegram.mode is "polling"',
        "warning: wecom.enabled: false, so WeCom is not served and these settings are ignored: corp_id, kf_link",
        "ok"]


def test_telegram_settings_without_a_token_are_ignored_when_wecom_serves() -> None:
    config = parse_config('[telegram]\nmode = "webhook"\nbot_username = "acme_bot"\n' + WECOM, environ={})
    assert problems(config, "en") == ([], [
        "warning: telegram.bot_username: ignored: telegram.token is empty, so Telegram is not served",
        "warning: telegram.mode: ignored: telegram.token is empty, so Telegram is not served"])


def test_webhook_without_a_secret_and_the_example_callback_are_warnings() -> None:
    config = parse_config(TOKEN + 'mode = "webhook"\nwebhook_url = "https://b.example.org/t"\n'
                          + WECOM.replace("https://bot.example.org/wecom/callback",
                                          "https://fieldbot.example.com/wecom/callback")
                          + 'kf_secret = "k"\n', environ={})
    errors, warnings = problems(config, "zh-CN")
    assert errors == [] and warnings == [
        "警告：telegram.webhook_secret: 为空：任何知道 webhook 地址的人都能提交更新；请设置密钥（或 FIELDBOT_TELEGRAM_WEBHOOK_SECRET）",
        "警告：wecom.callback_url: 仍是示例中的“https://fieldbot.example.com/wecom/callback”：请填写提供给企业微信的公网地址（设置API接收）",
        "警告：wecom.kf_secret: 被忽略：wecom.kf_open_kfid 为空，不提供微信客服服务"]


def test_a_sqlite_directory_that_cannot_exist(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    config = parse_config(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "afile" / "sub" / "f.db"}"\n' + TOKEN,
                          environ={})
    assert problems(config, "en")[0] == [
        f"database.url: cannot create {tmp_path / 'afile' / 'sub' / 'f.db'}: {tmp_path / 'afile'} is not a directory"]


def test_run_prints_warnings_and_goes_on(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A warning does not stop run: here it gets as far as the database (not upgraded)."""
    path = str(_write(tmp_path, TOKEN + 'webhook_secret = "x"\n'))
    assert main(["--config", path, "run"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        'warning: telegram.webhook_secret: ignored: telegram.mode is "polling"',
        "fieldbot: error: the database is not up to date; run `fieldbot db upgrade` first"]
