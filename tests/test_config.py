"""Config: every problem reported with its key path; unknown keys refused; secrets from env."""

import sys
from datetime import time, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.config import ConfigError, load_config, parse_config

ROOT = Path(__file__).resolve().parent.parent


def problems(text: str, environ: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, environ or {})
    return info.value.problems


def _model_keys(model: type, prefix: str = "") -> set[str]:
    keys = set()
    for name, field in model.model_fields.items():
        key = prefix + (field.alias or name)
        sub = field.annotation
        if isinstance(sub, type) and hasattr(sub, "model_fields"):
            keys |= _model_keys(sub, key + ".")
        else:
            keys.add(key)
    return keys


def _file_keys(data: dict, prefix: str = "") -> set[str]:
    keys = set()
    for name, value in data.items():
        if isinstance(value, dict):
            keys |= _file_keys(value, f"{prefix}{name}.")
        else:
            keys.add(prefix + name)
    return keys


def test_example_file_is_valid_and_documents_every_key() -> None:
    import tomllib

    from bot.config import Config

    text = (ROOT / "config.example.toml").read_text(encoding="utf-8")
    cfg = parse_config(text, environ={})
    assert cfg.sla.for_severity(2).arrive == timedelta(hours=24)
    assert cfg.bot.working_hours.sat is None
    assert _file_keys(tomllib.loads(text)) == _model_keys(Config)
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            above = lines[i - 1].strip()
            assert above.startswith(("#", "[")) or "=" in above, f"key without a comment: {line!r}"


def test_defaults_need_no_file() -> None:
    cfg = parse_config("", environ={})
    assert cfg.bot.language == "zh-CN"
    assert cfg.bot.working_hours.mon == (time(8, 30), time(22, 0))
    assert cfg.database.url.get_secret_value().startswith("sqlite+aiosqlite")


def test_bad_duration_names_the_key_path() -> None:
    text = '[sla.2]\nrespond = "1h"\narrive = "4 hours"\nresolve = "2d"\n'
    assert problems(text) == ['sla.2.arrive: "4 hours" is not a duration; write e.g. "4h"']


def test_every_problem_is_listed_at_once() -> None:
    text = """
[bot]
timezone = "Mars/Olympus"
language = "fr"
[bot.working_hours]
mon = "8-22"
[chase]
ack_remider = "5m"
ack_repeat = "soon"
[telegram]
mode = "carrier-pigeon"
[nonsense]
x = 1
"""
    found = problems(text)
    assert 'bot.timezone: "Mars/Olympus" is not a time zone; write e.g. "Asia/Shanghai"' in found
    assert "bot.language: 'fr' is not allowed; use 'zh-CN' or 'en'" in found
    assert 'bot.working_hours.mon: "8-22" is not a time range; write e.g. "08:30-22:00" or "off"' in found
    assert "chase.ack_remider: unknown key" in found
    assert 'chase.ack_repeat: "soon" is not a duration; write e.g. "4h"' in found
    assert any(p.startswith("telegram.mode: 'carrier-pigeon' is not allowed") for p in found)
    assert "nonsense: unknown key" in found
    assert len(found) == 7


def test_invalid_toml_is_one_clear_problem() -> None:
    (problem,) = problems("[bot\nlanguage=")
    assert "not valid TOML" in problem


def test_secrets_come_from_the_environment_and_win() -> None:
    cfg = parse_config('[telegram]\ntoken = "from-file"\n', {"FIELDBOT_TELEGRAM_TOKEN": "from-env",
                                                            "FIELDBOT_WECOM_AES_KEY": "k" * 43})
    assert cfg.telegram.token.get_secret_value() == "from-env"
    assert cfg.wecom.aes_key.get_secret_value() == "k" * 43
    assert "from-env" not in repr(cfg)


def test_database_url_must_be_a_supported_driver() -> None:
    (problem,) = problems('[database]\nurl = "mysql://x"\n')
    assert problem.startswith("database.url: use sqlite+aiosqlite")


def test_working_hours_end_after_start_and_makeup_days() -> None:
    assert problems('[bot.working_hours]\nsat = "22:00-08:30"\n') == [
        'bot.working_hours.sat: "22:00-08:30": the end must be after the start'
    ]
    cfg = parse_config('[bot]\nmakeup_workdays = ["2026-10-10"]\n[bot.working_hours]\nsun = "09:00-24:00"\n', {})
    assert str(cfg.bot.makeup_workdays[0]) == "2026-10-10"
    assert cfg.bot.working_hours.sun == (time(9, 0), time(23, 59, 59))


def test_missing_explicit_file_is_an_error_but_missing_default_means_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(tmp_path / "nope.toml", environ={})
    with pytest.raises(ConfigError, match="no such config file"):
        load_config(None, environ={"FIELDBOT_CONFIG": str(tmp_path / "nope.toml")})
    monkeypatch.chdir(tmp_path)
    assert load_config(None, environ={}).bot.timezone == "Asia/Shanghai"


def test_check_config_command(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                              monkeypatch: pytest.MonkeyPatch) -> None:
    good = tmp_path / "good.toml"
    good.write_text((ROOT / "config.example.toml").read_text(encoding="utf-8"), encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # the example's SQLite file is relative
    assert main(["--config", str(good), "--lang", "en", "check-config"]) == 1  # as shipped: no token, no channel
    assert capsys.readouterr().out == (
        "telegram.token: no channel to serve: set telegram.token (or FIELDBOT_TELEGRAM_TOKEN), "
        "or set up and enable [wecom]\n")
    monkeypatch.setenv("FIELDBOT_TELEGRAM_TOKEN", "123:abc")
    assert main(["--config", str(good), "check-config"]) == 0
    assert capsys.readouterr().out == "ok\n"

    bad = tmp_path / "bad.toml"
    bad.write_text('[sla.2]\nrespond = "1h"\narrive = "4 hours"\nresolve = "2d"\n[chase]\nfoo = 1\n')
    assert main(["--config", str(bad), "check-config"]) == 1
    out = capsys.readouterr().out.splitlines()
    assert out == ['sla.2.arrive: "4 hours" is not a duration; write e.g. "4h"', "chase.foo: unknown key"]


def test_check_config_warns_about_a_makeup_date_that_is_already_a_working_weekday(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "makeup.toml"
    path.write_text('[bot]\nmakeup_workdays = ["2026-10-10", "2026-10-14"]\n[bot.working_hours]\nsat = "09:00-12:00"\n'
                    f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "f.db"}"\n[telegram]\ntoken = "1:x"\n')
    assert main(["--config", str(path), "--lang", "en", "check-config"]) == 0  # a warning, not an error
    assert capsys.readouterr().out.splitlines() == [
        "warning: make-up working day 2026-10-14 is a Wednesday, already a working day; "
        "a make-up day (调休) replaces a day off — check the date", "ok"]  # Saturday the 10th is fine
    assert main(["--config", str(path), "--lang", "zh-CN", "check-config"]) == 0
    assert capsys.readouterr().out.startswith("警告：调休上班日 2026-10-14 是星期三")


def test_config_from_environment_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "env.toml"
    bad.write_text("[bot]\nlanguage = 1\n")
    monkeypatch.setenv("FIELDBOT_CONFIG", str(bad))
    assert main(["check-config"]) == 1
    assert capsys.readouterr().out.startswith("bot.language:")


def test_calendar_problems_are_config_problems() -> None:
    off = "".join(f'{d} = "off"\n' for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun"))
    assert problems("[bot.working_hours]\n" + off) == ["bot: working_hours: no working hours on any weekday"]
    assert problems('[bot]\nholidays = ["2026-10-10"]\nmakeup_workdays = ["2026-10-10"]\n') == [
        "bot: 2026-10-10: listed both as holiday and as make-up working day"
    ]


# -- telegram.runtime: check-config and `fieldbot run` agree -------------------------------------
PTB_MISSING = ('telegram.runtime: python-telegram-bot is not installed; install the ptb extra '
               '(pip install "fieldbot[ptb]") or use runtime = "aiogram"')


def _runtime_config(tmp_path: Path, runtime: str) -> Path:
    path = tmp_path / "runtime.toml"
    path.write_text(f'[database]\nurl = "sqlite+aiosqlite:///{tmp_path / "f.db"}"\n'
                    f'[telegram]\ntoken = "1:x"\nruntime = "{runtime}"\n', encoding="utf-8")
    return path


@pytest.mark.parametrize("runtime", ["aiogram", "ptb"])
def test_both_runtimes_are_valid_when_installed(tmp_path: Path, runtime: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    assert parse_config(f'[telegram]\nruntime = "{runtime}"\n', {}).telegram.runtime == runtime
    assert main(["--config", str(_runtime_config(tmp_path, runtime)), "check-config"]) == 0
    assert capsys.readouterr().out == "ok\n"


def test_an_unknown_runtime_is_refused() -> None:
    assert problems('[telegram]\nruntime = "telethon"\n') == [
        "telegram.runtime: 'telethon' is not allowed; use 'aiogram' or 'ptb'"]


def test_ptb_without_python_telegram_bot_is_one_line_for_check_config_and_run(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(sys.modules, "telegram", None)  # as if the ptb extra were not installed
    config = str(_runtime_config(tmp_path, "ptb"))
    assert problems('[telegram]\nruntime = "ptb"\n') == [PTB_MISSING]
    assert main(["--config", config, "check-config"]) == 1
    assert capsys.readouterr().out.splitlines() == [PTB_MISSING]
    assert main(["--config", config, "run"]) == 1  # refused before the database or the network is touched
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [PTB_MISSING] and captured.out == ""
    assert not (tmp_path / "f.db").exists()
    # aiogram needs nothing more
    assert main(["--config", str(_runtime_config(tmp_path, "aiogram")), "check-config"]) == 0
