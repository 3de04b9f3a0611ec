"""The ``fieldbot`` command line against a real database (SQLite file; PostgreSQL in CI)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot.cli import main


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'[bot]\nlanguage = "en"\n[database]\nurl = "{db_url}"\n[telegram]\nbot_username = "FsBot"\n')

    def run(*args: str) -> tuple[int, str, str]:
        try:
            code = main(["--config", str(cfg), *args])
        except SystemExit as exc:  # argparse's own errors
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    assert run("db", "upgrade")[0] == 0
    return run


CREATE = ["ticket", "create", "--customer", "ACME Ltd", "--phone", "+86 138 0013 8000", "--address", "1 Road",
          "--model", "X200", "--serial", "S1", "--purchased", "2026-01-05", "--fault", "won't start",
          "--severity", "2", "--service", "onsite"]


def test_db_upgrade_reports_the_revision(cli) -> None:  # noqa: ANN001
    code, out, _ = cli("db", "upgrade")
    assert code == 0 and out.strip() == "database at revision 0009"


def test_invite_json_and_text(cli) -> None:  # noqa: ANN001
    code, out, _ = cli("invite", "--role", "engineer", "--name", "Li Lei", "--team", "North", "--json")
    assert code == 0
    data = json.loads(out)
    assert len(data["token"]) >= 20
    assert data["link"] == f"https://t.me/FsBot?start={data['token']}"
    code, out, _ = cli("invite", "--role", "supervisor", "--name", "Wang", "--team", "North")
    assert code == 0 and "Invite for Wang (supervisor)" in out and "https://t.me/FsBot?start=" in out


def test_ticket_create_list_show(cli) -> None:  # noqa: ANN001
    code, out, _ = cli(*CREATE, "--json")
    assert code == 0
    made = json.loads(out)
    assert made["number"] == "FS-2026-000001"
    assert made["customer_link"].endswith(made["customer_token"])

    code, out, _ = cli("ticket", "list")
    assert code == 0 and out.splitlines()[0].startswith("ticket          status  severity  registered")
    assert out.splitlines()[1].startswith("FS-2026-000001  new     2") and "ACME Ltd  —" in out  # no engineer yet
    code, out, _ = cli("ticket", "list", "--status", "closed")
    assert out.strip() == "No tickets."
    code, out, _ = cli("ticket", "list", "--json")
    assert [t["number"] for t in json.loads(out)] == ["FS-2026-000001"]

    code, out, _ = cli("ticket", "show", "fs-2026-1")
    assert code == 0
    assert "product model  X200" in out and "in warranty    yes" in out and "severity       2 – risk" in out
    assert "Timeline" in out and "  The system registered the ticket" in out
    code, out, _ = cli("--lang", "zh-CN", "ticket", "show", "FS-2026-000001")
    assert "产品型号" in out and "处理记录" in out and "  系统登记工单" in out
    code, out, _ = cli("ticket", "show", "FS-2026-000001", "--json")
    shown = json.loads(out)
    assert shown["phone"] == "+8613800138000" and shown["timeline"][0]["kind"] == "registered"
    assert shown["created_at"].endswith("+08:00")  # shown in the team's zone


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["ticket", "create", "--customer", "A"], "the following arguments are required"),
        ([*CREATE[:-4], "--severity", "5", "--service", "onsite"], "'5' is not a severity"),
        ([*CREATE[:-2], "--service", "boat"], "invalid choice: 'boat'"),
        ([*CREATE[:2], "--purchased", "05/01/2026", *CREATE[2:]], "is not a date"),
        (["ticket", "show", "FS-2026-999999"], "No ticket FS-2026-999999."),
        (["invite", "--role", "king", "--name", "X"], "invalid choice: 'king'"),
        (["invite", "--role", "engineer", "--name", "  "], "--name must not be empty"),
        (["ticket", "create", *CREATE[2:4], "--phone", "12", *CREATE[6:]], '"12" is not a phone number.'),
        (["ticket", "create", *CREATE[2:], "--team", "Nowhere"], 'No team named "Nowhere".'),
    ],
)
def test_bad_arguments_get_one_line_and_exit_2(cli, args: list[str], fragment: str) -> None:  # noqa: ANN001
    code, out, err = cli(*args)
    assert code == 2 and out == ""
    assert fragment in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert cli("ticket", "list")[1].strip() == "No tickets."


def test_argparse_errors_are_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "bot", "ticket", "create", "--severity", "9"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


def test_commands_refuse_an_unmigrated_database(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text(f'[bot]\nlanguage = "en"\n[database]\nurl = "sqlite+aiosqlite:///{tmp_path}/empty.db"\n')
    assert main(["--config", str(cfg), "ticket", "list"]) == 2
    assert "run `fieldbot db upgrade` first" in capsys.readouterr().err


def test_import_is_all_or_nothing_with_line_numbers(cli, tmp_path: Path) -> None:  # noqa: ANN001
    bad = tmp_path / "bad.csv"
    bad.write_text(
        "customer,contact,phone,address,model,serial,purchased,fault,fault_type,severity,service,billable\n"
        "ACME,Zhang,13800138000,1 Road,X200,S1,2026-01-05,no power,power,2,onsite,yes\n"
        "Beta,,12,2 Road,X300,,2027-01-01,noise,,7,boat,maybe\n"
        "\n"
        ",,13800138000,3 Road,X300,,,noise,,3,上门,否\n",
        encoding="utf-8-sig",
    )
    code, out, _ = cli("ticket", "import", str(bad))
    lines = out.strip().splitlines()
    assert code == 1
    assert lines[0].startswith("line 3: ") and '"12" is not a phone number.' in lines[0]
    assert "in the future" in lines[0] and '"boat"' in lines[0] and '"maybe"' in lines[0] and '"7"' in lines[0]
    assert lines[1] == "line 5: customer is required."
    assert lines[2] == "2 bad rows; nothing was imported."
    assert cli("ticket", "list")[1].strip() == "No tickets."

    good = tmp_path / "good.csv"
    good.write_text(
        "service,severity,fault,model,address,phone,customer\n"
        "onsite,2,no power,X200,1 Road,13800138000,ACME\n"
        "远程,4,slow UI,X300,2 Road,+86 21 5555 0000,Beta\n",
        encoding="utf-8",
    )
    code, out, _ = cli("ticket", "import", str(good))
    assert code == 0 and out.splitlines()[0] == "2 tickets imported."  # then each ticket's link (test_cli_links)
    listed = json.loads(cli("ticket", "list", "--json")[1])
    assert {(t["customer"], t["service"]) for t in listed} == {("ACME", "onsite"), ("Beta", "remote")}


def test_import_reports_header_problems(cli, tmp_path: Path) -> None:  # noqa: ANN001
    f = tmp_path / "h.csv"
    f.write_text("customer,phone,adress\nA,1234567,x\n")
    code, out, _ = cli("ticket", "import", str(f))
    assert code == 1
    assert "line 1: required columns missing from the header: address, model, fault, severity, service" in out
    assert "line 1: unknown columns in the header: adress" in out
