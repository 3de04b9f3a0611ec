"""The contact person on the command line: ``ticket create --contact``, the CSV import's optional
``contact`` column, and ``ticket show`` (text and ``--json``) — a ticket without one names nobody,
never the company."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.support.cli import Run, cli_runner

CREATE = ["ticket", "create", "--customer", "ACME Ltd", "--phone", "+86 138 0013 8000", "--address", "1 Road",
          "--model", "X200", "--fault", "won't start", "--severity", "2", "--service", "onsite"]


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> Run:
    return cli_runner(db_url, tmp_path, capsys)


def shown(cli: Run, number: str) -> tuple[str, dict]:
    code, text, _ = cli("ticket", "show", number)
    assert code == 0
    code, out, _ = cli("ticket", "show", number, "--json")
    assert code == 0
    return text, json.loads(out)


def test_ticket_create_with_and_without_a_contact(cli: Run) -> None:
    assert cli(*CREATE, "--contact", "Ms Zhou")[0] == 0
    assert cli(*CREATE)[0] == 0
    text, data = shown(cli, "FS-2026-000001")
    assert re.search(r"^contact\s+Ms Zhou$", text, re.MULTILINE) and data["contact"] == "Ms Zhou"
    text, data = shown(cli, "FS-2026-000002")
    assert re.search(r"^contact\s+not given$", text, re.MULTILINE) and data["contact"] is None
    assert data["customer"] == "ACME Ltd"
    _, out, _ = cli("--lang", "zh-CN", "ticket", "show", "FS-2026-000002")
    assert re.search(r"^联系人\s+未提供$", out, re.MULTILINE)

    code, out, err = cli(*CREATE, "--contact", "Z" * 121)
    assert code != 0 and "contact is too long (at most 120 characters)." in out + err


def test_csv_import_takes_an_optional_contact_column(cli: Run, tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("customer,contact,phone,address,model,fault,severity,service\n"
                   f"ACME,{'Z' * 121},13800138000,1 Road,X200,no power,2,onsite\n", encoding="utf-8")
    code, out, _ = cli("ticket", "import", str(bad))
    assert code == 1 and out.splitlines()[0] == "line 2: contact is too long (at most 120 characters)."

    with_column = tmp_path / "contacts.csv"
    with_column.write_text("customer,contact,phone,address,model,fault,severity,service\n"
                           "ACME,Zhang Wei,13800138000,1 Road,X200,no power,2,onsite\n"
                           "Beta,,13900139000,2 Road,X300,noise,3,remote\n", encoding="utf-8")
    without_column = tmp_path / "plain.csv"
    without_column.write_text("customer,phone,address,model,fault,severity,service\n"
                              "Gamma,13700137000,3 Road,X400,smoke,1,onsite\n", encoding="utf-8")
    assert cli("ticket", "import", str(with_column))[0] == 0
    assert cli("ticket", "import", str(without_column))[0] == 0
    contacts = [shown(cli, f"FS-2026-00000{n}")[1] for n in (1, 2, 3)]
    assert [(c["customer"], c["contact"]) for c in contacts] == [("ACME", "Zhang Wei"), ("Beta", None),
                                                                 ("Gamma", None)]
