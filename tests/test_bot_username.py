"""Whose bot the Telegram links lead to (issue 14): ``telegram.bot_username`` has no default; ``fieldbot
run`` takes it from ``getMe`` (or refuses a different one) and remembers it, the CLI uses what was
remembered or asks ``getMe`` itself, and nothing falls back to some other bot.  Also: a token that
stops working while the bot runs (``getUpdates`` / ``setWebhook`` answer 401) ends it with the same
one line as at start, on both Telegram runtimes.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from bot.app import build_app
from bot.cli import main
from bot.config import parse_config
from bot.emulator import BotApiEmulator
from bot.runtime import build_runtime, close, serve
from bot.startup import StartupError, explain, preflight
from models.migrate import upgrade

TOKEN = "123456:RIGHTTOKEN"
BOT = "fieldbot_emulator_bot"
WRONG_TOKEN_LINE = ("telegram.token: Telegram refused the token (Unauthorized); copy it again from @BotFather "
                    "(or set FIELDBOT_TELEGRAM_TOKEN)")


def config_text(db_url: str, tmp_path: Path, telegram: str) -> str:
    return (f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n[storage]\nmedia_dir = "{tmp_path / "m"}"\n'
            f'[telegram]\n{telegram}')


def test_no_default_and_the_at_sign_is_optional() -> None:
    assert parse_config("", environ={}).telegram.bot_username == ""
    assert parse_config('[telegram]\nbot_username = "@acme_service_bot"\n', environ={}).telegram.bot_username == (
        "acme_service_bot")
    with pytest.raises(Exception, match="is not a bot username"):
        parse_config('[telegram]\nbot_username = "https://t.me/acme_bot"\n', environ={})


async def test_run_takes_the_name_from_getme_and_remembers_it(db_url: str, tmp_path: Path) -> None:
    async with BotApiEmulator(TOKEN) as emu:
        app = build_app(parse_config(config_text(db_url, tmp_path, f'token = "{TOKEN}"\napi_base = "{emu.base_url}"\n'),
                                     environ={}))
        await upgrade(app.db)
        rt = build_runtime(app)
        try:
            await preflight(rt, "en")
            assert app.config.telegram.bot_username == BOT
            assert app.join_link("tok") == f"https://t.me/{BOT}?start=tok"
            from bot import bot_name

            assert await bot_name.remembered(app) == BOT
        finally:
            await close(rt)
            await app.close()


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
@pytest.mark.parametrize("mode", ["polling", "webhook"])
async def test_a_token_refused_later_ends_the_bot_with_one_line(db_url: str, tmp_path: Path, runtime: str,
                                                                  mode: str) -> None:
    """getUpdates (polling) or setWebhook (webhook) answering 401, as after a token was revoked."""
    webhook = ('mode = "webhook"\nwebhook_url = "http://127.0.0.1:9/telegram"\nwebhook_listen = "127.0.0.1:0"\n'
               if mode == "webhook" else "")
    async with BotApiEmulator(TOKEN) as emu:
        text = config_text(db_url, tmp_path, f'token = "654321:REVOKED"\napi_base = "{emu.base_url}"\n'
                                             f'runtime = "{runtime}"\nbot_username = "{BOT}"\n{webhook}')
        app = build_app(parse_config(text + "[scheduler]\nenabled = false\n", environ={}))
        await upgrade(app.db)
        rt = build_runtime(app)
        try:
            with pytest.raises(Exception) as info:  # noqa: PT011  (whatever the SDK raises)
                await asyncio.wait_for(serve(rt), timeout=30)
            assert explain(info.value, rt, "en") == WRONG_TOKEN_LINE
        finally:
            await close(rt)
            await app.close()


def _cli(capsys: pytest.CaptureFixture[str], cfg: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--config", str(cfg), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


async def test_the_cli_asks_getme_once_then_remembers(db_url: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    emu = BotApiEmulator(TOKEN)
    await emu.start()
    cfg = tmp_path / "config.toml"
    cfg.write_text(config_text(db_url, tmp_path, f'token = "{TOKEN}"\napi_base = "{emu.base_url}"\n'))
    try:
        assert (await asyncio.to_thread(_cli, capsys, cfg, "db", "upgrade"))[0] == 0
        code, out, _ = await asyncio.to_thread(_cli, capsys, cfg, "invite", "--role", "engineer", "--name", "Li",
                                               "--json")
        assert code == 0 and json.loads(out)["link"].startswith(f"https://t.me/{BOT}?start=")
    finally:
        await emu.stop()
    # Telegram out of reach now: the name remembered is enough
    code, out, _ = await asyncio.to_thread(_cli, capsys, cfg, "invite", "--role", "engineer", "--name", "Wu", "--json")
    assert code == 0 and json.loads(out)["link"].startswith(f"https://t.me/{BOT}?start=")
    # a configured name that is not the remembered bot is refused before anything is written
    cfg.write_text(cfg.read_text() + 'bot_username = "someone_elses_bot"\n')
    code, out, err = await asyncio.to_thread(_cli, capsys, cfg, "invite", "--role", "engineer", "--name", "Qi")
    assert (code, out) == (1, "") and err.startswith('telegram.bot_username is "someone_elses_bot" but this token '
                                                     f"is the bot @{BOT}")


def test_no_token_and_no_name_makes_no_link_and_writes_nothing(db_url: str, tmp_path: Path,
                                                               capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n')
    assert _cli(capsys, cfg, "db", "upgrade")[0] == 0
    assert _cli(capsys, cfg, "invite", "--role", "engineer", "--name", "Li") == (1, "", (
        "telegram.bot_username is not set and there is no telegram.token to ask Telegram with: set one of them, "
        "or the link would lead nowhere\n"))
    code, out, err = _cli(capsys, cfg, "ticket", "create", "--customer", "ACME", "--phone", "13800138000",
                          "--address", "1 Road", "--model", "X200", "--fault", "no power", "--severity", "2",
                          "--service", "phone")
    assert code == 1 and out == "" and err.startswith("telegram.bot_username is not set")
    assert _cli(capsys, cfg, "ticket", "list") == (0, "No tickets.\n", "")


def test_the_example_config_names_no_bot() -> None:
    text = (Path(__file__).resolve().parent.parent / "config.example.toml").read_text(encoding="utf-8")
    assert "FieldbotDemoBot" not in text and parse_config(text, environ={}).telegram.bot_username == ""


async def test_preflight_refuses_another_bots_name(db_url: str, tmp_path: Path) -> None:
    async with BotApiEmulator(TOKEN) as emu:
        app = build_app(parse_config(config_text(db_url, tmp_path, f'token = "{TOKEN}"\napi_base = "{emu.base_url}"\n'
                                                 'bot_username = "FieldbotDemoBot"\n'), environ={}))
        await upgrade(app.db)
        rt = build_runtime(app)
        try:
            with pytest.raises(StartupError, match=f"this token is the bot @{BOT}"):
                await preflight(rt, "en")
        finally:
            await close(rt)
            await app.close()
