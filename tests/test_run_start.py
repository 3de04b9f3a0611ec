"""``fieldbot run`` when something outside the config is wrong: the real process against the local
emulators (or a closed port), and what it prints — one line on stderr saying what is wrong and what
to do, in the CLI's language, exit code 1, no traceback (issue 14, "First-run friction").
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
from pathlib import Path

import pytest

from bot.emulator import BotApiEmulator
from bot.wecom_emulator import WeComEmulator

TOKEN = "123456:RIGHTTOKEN"
EMULATOR_BOT = "fieldbot_emulator_bot"


def fieldbot() -> list[str]:
    exe = Path(sys.executable).with_name("fieldbot")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "bot"]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nobody listens once the socket is closed: connection refused


async def run(tmp_path: Path, config: str, *args: str, lang: str = "en", upgrade: bool = True) -> tuple[int, str, str]:
    """``fieldbot --config … [args] run`` in its own process (with ``upgrade``, the schema first)."""
    path = tmp_path / "config.toml"
    path.write_text(f'[bot]\nlanguage = "{lang}"\n' + config)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDBOT_")} | {"LANG": "C.UTF-8"}
    out = ""
    for command in ([["db", "upgrade"]] if upgrade else []) + [[*args, "run"]]:
        proc = await asyncio.create_subprocess_exec(*fieldbot(), "--config", str(path), *command, env=env,
                                                    stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        stdout, stderr = await asyncio.wait_for(proc.communicate(), timeout=90)
        out, err = stdout.decode(), stderr.decode()
        if proc.returncode != 0:
            break
    assert "Traceback" not in err, err
    return proc.returncode, out, err


def sqlite(tmp_path: Path) -> str:
    return f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "bot.db"}"\n'


def telegram(api_base: str, token: str = TOKEN, extra: str = "") -> str:
    return f'[telegram]\ntoken = "{token}"\napi_base = "{api_base}"\n' + extra


@pytest.fixture
async def emu():  # noqa: ANN201
    async with BotApiEmulator(TOKEN) as emulator:
        yield emulator


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
async def test_a_wrong_telegram_token(tmp_path: Path, emu: BotApiEmulator, runtime: str) -> None:
    config = sqlite(tmp_path) + telegram(emu.base_url, "654321:WRONGTOKEN", f'runtime = "{runtime}"\n')
    assert await run(tmp_path, config) == (1, "", (
        "telegram.token: Telegram refused the token (Unauthorized); copy it again from @BotFather "
        "(or set FIELDBOT_TELEGRAM_TOKEN)\n"))


async def test_a_wrong_token_in_chinese(tmp_path: Path, emu: BotApiEmulator) -> None:
    config = sqlite(tmp_path) + telegram(emu.base_url, "654321:WRONGTOKEN")
    code, _, err = await run(tmp_path, config, lang="zh-CN")
    assert code == 1 and err == ("telegram.token：Telegram 拒绝了这个令牌（Unauthorized）；"
                                 "请从 @BotFather 重新复制（或设置 FIELDBOT_TELEGRAM_TOKEN）\n")


async def test_nothing_listening_at_api_base(tmp_path: Path) -> None:
    base = f"http://127.0.0.1:{closed_port()}"
    assert await run(tmp_path, sqlite(tmp_path) + telegram(base)) == (1, "", (
        f"cannot reach Telegram at {base} (Connection refused); check the network, or telegram.api_base\n"))


async def test_a_host_name_that_does_not_resolve(tmp_path: Path) -> None:
    base = "http://fieldbot-no-such-host.invalid:8081"
    code, _, err = await run(tmp_path, sqlite(tmp_path) + telegram(base))
    assert code == 1 and err.startswith(f"cannot reach Telegram at {base} (") and err.count("\n") == 1
    assert err.endswith("); check the network, or telegram.api_base\n")


async def test_the_webhook_port_is_taken(tmp_path: Path, emu: BotApiEmulator) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        address = f"127.0.0.1:{taken.getsockname()[1]}"
        config = sqlite(tmp_path) + telegram(emu.base_url, extra=(
            f'mode = "webhook"\nwebhook_url = "http://{address}/telegram"\nwebhook_listen = "{address}"\n'
            'webhook_secret = "s3cret"\n'))
        assert await run(tmp_path, config) == (1, "", (
            f"telegram.webhook_listen: {address} is already in use (another fieldbot run, or another "
            "program); stop it or choose another port\n"))


async def test_a_bot_username_that_is_another_bot(tmp_path: Path, emu: BotApiEmulator) -> None:
    config = sqlite(tmp_path) + telegram(emu.base_url, extra='bot_username = "@someone_elses_bot"\n')
    assert await run(tmp_path, config) == (1, "", (
        f'telegram.bot_username is "someone_elses_bot" but this token is the bot @{EMULATOR_BOT}: invite '
        f'links would lead to another bot; set bot_username = "{EMULATOR_BOT}" or leave it empty\n'))


def wecom(emu: WeComEmulator, tmp_path: Path, secret: str | None = None) -> str:
    s = emu.settings()
    return (sqlite(tmp_path) + f'[wecom]\nenabled = true\ncorp_id = "{s["corp_id"]}"\nagent_id = {s["agent_id"]}\n'
            f'secret = "{secret or s["secret"]}"\ntoken = "{s["token"]}"\naes_key = "{s["encoding_aes_key"]}"\n'
            f'api_base = "{s["base_url"]}"\ncallback_url = "https://bot.example.org/wecom/callback"\n'
            f'callback_listen = "127.0.0.1:{closed_port()}"\n')


async def test_wecom_refuses_the_secret(tmp_path: Path) -> None:
    async with WeComEmulator() as emu:
        assert await run(tmp_path, wecom(emu, tmp_path, secret="not-the-secret")) == (1, "", (
            "wecom.secret: WeCom refused the secret (40001); check wecom.corp_id and the app's Secret in the "
            "admin console, and that the app is enabled\n"))


async def test_wecom_refuses_this_servers_ip(tmp_path: Path) -> None:
    async with WeComEmulator() as emu:
        emu.ip_allowlist(["203.0.113.7"])
        code, _, err = await run(tmp_path, wecom(emu, tmp_path), lang="zh-CN")
        assert (code, err) == (1, "企业微信拒绝了本服务器的 IP 127.0.0.1（60020）：请在管理后台把它加入应用的企业可信IP\n")


async def test_postgresql_is_down(tmp_path: Path, emu: BotApiEmulator) -> None:
    port = closed_port()
    config = f'[database]\nurl = "postgresql+asyncpg://fieldbot@127.0.0.1:{port}/fieldbot"\n' + telegram(emu.base_url)
    assert await run(tmp_path, config, upgrade=False) == (1, "", (
        f"database.url: cannot connect to PostgreSQL at 127.0.0.1:{port}/fieldbot (Connection refused); "
        "is the server running?\n"))


async def test_a_sqlite_file_that_cannot_be_opened(tmp_path: Path, emu: BotApiEmulator) -> None:
    config = '[database]\nurl = "sqlite+aiosqlite:////proc/fieldbot.db"\n' + telegram(emu.base_url)
    assert await run(tmp_path, config, upgrade=False) == (1, "", (
        "database.url: cannot open the SQLite database /proc/fieldbot.db (unable to open database file)\n"))


async def test_a_sqlite_path_under_a_file(tmp_path: Path, emu: BotApiEmulator) -> None:
    (tmp_path / "afile").write_text("")
    config = f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "afile" / "bot.db"}"\n' + telegram(emu.base_url)
    assert await run(tmp_path, config, upgrade=False) == (1, "", (
        f"database.url: cannot create {tmp_path / 'afile' / 'bot.db'}: {tmp_path / 'afile'} is not a directory\n"))


async def test_preflight_passes_a_good_wecom_config(tmp_path: Path) -> None:
    """In-process: gettoken and menu/get answered (no menu yet is WeCom's business, not a problem)."""
    from bot.app import build_app
    from bot.config import parse_config
    from bot.runtime import build_runtime, close
    from bot.startup import preflight
    from models.migrate import upgrade

    async with WeComEmulator() as emu:
        s = emu.settings()
        kf = f'kf_open_kfid = "{s["open_kfid"]}"\nkf_link = "https://work.weixin.qq.com/kfid/x"\nkf_secret = "{s["kf_secret"]}"\n'
        app = build_app(parse_config(wecom(emu, tmp_path) + kf, environ={}))
        await upgrade(app.db)
        rt = build_runtime(app)
        try:
            await preflight(rt, "en")
            assert emu.counters["tokens_issued"] == 2  # the app's and 微信客服's
        finally:
            await close(rt)
            await app.close()
