"""``fieldbot`` on the command line, as a test runs it: a config file on the test's database, the
schema upgraded, and a ``run(*args) -> (exit code, stdout, stderr)``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from bot.cli import main

Run = Callable[..., tuple[int, str, str]]


def cli_runner(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], extra_config: str = "") -> Run:
    """``extra_config``: TOML appended to the config (``[pay]`` …); the language is English, and
    Telegram links lead to the bot ``FsBot`` unless ``extra_config`` has a ``[telegram]`` of its own."""
    cfg = tmp_path / "config.toml"
    telegram = "" if "[telegram]" in extra_config else '[telegram]\nbot_username = "FsBot"\n'
    cfg.write_text(f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n{telegram}{extra_config}')

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["--config", str(cfg), *args])
        except SystemExit as exc:
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("db", "upgrade")[0] == 0
    return run
