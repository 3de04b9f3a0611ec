"""Customer links on the command line (real SQLite file; PostgreSQL when FIELDBOT_TEST_PG_URL is
set): ``ticket link`` issues one again per channel — the Telegram deep link and 微信客服's with the
signed scene_param — and the contact's earlier link stops working; ``ticket import`` prints each
ticket's link or writes them to ``--links FILE.csv`` (all or nothing); ``ticket show`` says who
follows the ticket in chat, which links wait to be opened and how to send one again."""

from __future__ import annotations

import asyncio
import csv
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.channels.wecom.kf import verify_scene
from models.enums import Action, Channel
from models.errors import DomainError
from models.invites import hash_token, join
from models.people import Invite
from models.queries import ticket_by_number
from models.transitions import apply_action
from tests.conftest import make_config
from tests.support.cli import cli_runner

KF_LINK = "https://work.weixin.qq.com/kfid/kfc0123456789"
LINK_SECRET = "scene-secret"
CHANNELS = ('[telegram]\ntoken = "123:ABC"\nbot_username = "FsBot"\n'
            f'[wecom]\nenabled = true\ncorp_id = "wwcorp"\nagent_id = 1000002\nsecret = "s"\ntoken = "t"\n'
            f'aes_key = "{"k" * 43}"\nkf_open_kfid = "wkAB"\nkf_link = "{KF_LINK}"\nlink_secret = "{LINK_SECRET}"\n')
CREATE = ["ticket", "create", "--customer", "ACME Ltd", "--contact", "Mr Lin", "--phone", "+86 138 0013 8000",
          "--address", "1 Road", "--model", "X200", "--fault", "won't start", "--severity", "2", "--service", "onsite"]
HINT = ("A link is shown only when it is made (only its hash is kept). To send one again: fieldbot ticket link "
        "FS-2026-000001 [--name NAME] (that contact's earlier unopened link then stops working).")


@pytest.fixture
def cli(db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]):  # noqa: ANN201
    return cli_runner(db_url, tmp_path, capsys, extra_config=CHANNELS)


def _on(db_url: str, tmp_path: Path, fn):  # noqa: ANN001, ANN202
    async def go():  # noqa: ANN202
        app = build_app(make_config(db_url, tmp_path))
        try:
            async with app.db.write() as s:
                return await fn(app, s)
        finally:
            await app.close()
    return asyncio.run(go())


def _invite(db_url: str, tmp_path: Path, token: str) -> Invite:
    async def go(app, s) -> Invite:  # noqa: ANN001
        return await s.scalar(select(Invite).where(Invite.token_hash == hash_token(token)))
    return _on(db_url, tmp_path, go)


def _open(db_url: str, tmp_path: Path, token: str, user: str) -> str:
    """Someone opens the link in Telegram (what ``/start TOKEN`` does): their name, or the refusal."""
    async def go(app, s) -> str:  # noqa: ANN001
        try:
            person, _ = await join(s, token, channel=Channel.TELEGRAM, external_user_id=user, chat_id=user,
                                   now=app.clock.now())
            return person.name
        except DomainError as exc:
            return exc.code
    return _on(db_url, tmp_path, go)


def _scene_token(link: str) -> str | None:
    assert link.startswith(KF_LINK + "?scene_param="), link
    return verify_scene(LINK_SECRET, parse_qs(urlsplit(link).query)["scene_param"][0])


def test_ticket_link_issues_it_again_per_channel_and_the_old_one_stops(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    code, out, _ = cli(*CREATE, "--json")
    first = json.loads(out)["customer_token"]
    code, out, err = cli("ticket", "link", "fs-2026-1")
    assert code == 0 and err == ""
    head, telegram, wechat, replaced, following = out.strip().splitlines()
    assert head.startswith("Customer link to FS-2026-000001 (ACME Ltd) for Mr Lin, valid until ")
    token = telegram.removeprefix("  Telegram: https://t.me/FsBot?start=")
    assert len(token) >= 20 and wechat.startswith("  WeChat (微信客服): ")
    assert _scene_token(wechat.split(": ", 1)[1]) == token  # the 微信客服 link carries the same invite, signed
    assert (replaced, following) == ("The earlier link for Mr Lin no longer works.", "Customer in chat: nobody yet")
    assert _invite(db_url, tmp_path, first).revoked_at is not None
    assert _open(db_url, tmp_path, first, "900") == "customer_link_replaced"

    # Another person at the customer: a link of their own; Mr Lin's stays good.
    code, out, _ = cli("ticket", "link", "FS-2026-000001", "--name", "Ms Ma", "--json")
    issued = json.loads(out)
    assert (issued["name"], issued["replaced"], sorted(issued["links"])) == ("Ms Ma", 0, ["telegram", "wecom_kf"])
    assert _scene_token(issued["links"]["wecom_kf"]) == issued["token"]
    assert _invite(db_url, tmp_path, token).revoked_at is None
    assert _open(db_url, tmp_path, token, "900") == "Mr Lin"
    assert _open(db_url, tmp_path, token, "901") == "customer_link_used"

    code, out, _ = cli("ticket", "show", "FS-2026-000001")
    assert "Customer in chat: Mr Lin\nCustomer links not opened yet: Ms Ma (until " in out and HINT in out
    assert "issued a customer link for Mr Lin again; the earlier one no longer works" in out
    shown = json.loads(cli("ticket", "show", "FS-2026-000001", "--json")[1])
    assert shown["customer_following"] == ["Mr Lin"] and [i["name"] for i in shown["customer_links_open"]] == ["Ms Ma"]


def test_ticket_link_refuses_closed_and_unknown_tickets(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    cli(*CREATE)
    cli(*CREATE)

    async def cancel(app, s) -> None:  # noqa: ANN001
        apply_action(s, await ticket_by_number(s, "FS-2026-000001"), Action.CANCEL, now=app.clock.now(),
                     reason="duplicate")
    _on(db_url, tmp_path, cancel)
    before = _on(db_url, tmp_path, lambda app, s: s.scalar(select(Invite.id).order_by(Invite.id.desc()).limit(1)))
    for args, message in ((["FS-2026-000001"], "FS-2026-000001 is cancelled: it gets no more customer links."),
                          (["FS-2026-000009"], "No ticket FS-2026-000009."),
                          (["FS-2026-000002", "--name", "x" * 121], "contact is too long (at most 120 characters).")):
        code, out, err = cli("ticket", "link", *args)
        assert code == 2 and out == "" and message in err and len(err.strip().splitlines()) == 1
    assert _on(db_url, tmp_path, lambda app, s: s.scalar(select(Invite.id).order_by(Invite.id.desc()).limit(1))) == before
    code, out, _ = cli("ticket", "show", "FS-2026-000001")
    assert "Customer in chat: nobody yet" in out and "fieldbot ticket link" not in out  # closed: no hint


GOOD = ("customer,contact,phone,address,model,fault,severity,service\n"
        "ACME,Zhang,13800138000,1 Road,X200,no power,2,onsite\n"
        "=Beta,,+86 21 5555 0000,2 Road,X300,slow UI,4,remote\n")


def test_import_prints_each_tickets_link(cli, db_url: str, tmp_path: Path) -> None:  # noqa: ANN001
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    code, out, _ = cli("ticket", "import", str(good))
    lines = out.strip().splitlines()
    assert code == 0 and lines[0] == "2 tickets imported."
    assert lines[1].startswith("Customer links, one per ticket, valid until ")
    assert lines[2] == "FS-2026-000001  ACME · Zhang" and lines[5] == "FS-2026-000002  =Beta · =Beta"
    tokens = [line.split("start=")[1] for line in lines if line.startswith("  Telegram: https://t.me/FsBot?start=")]
    assert len(tokens) == 2 and [_scene_token(lines[i].split(": ", 1)[1]) for i in (4, 7)] == tokens
    for token, number, name in zip(tokens, ("FS-2026-000001", "FS-2026-000002"), ("Zhang", "=Beta")):
        invite = _invite(db_url, tmp_path, token)  # the printed link is the ticket's, for its contact
        assert invite.name == name and invite.used_at is None
        assert _on(db_url, tmp_path, lambda app, s, i=invite: s.get(type(i), i.id)).ticket_id is not None
    assert _open(db_url, tmp_path, tokens[0], "900") == "Zhang"


def test_import_writes_the_links_to_a_file_or_imports_nothing(cli, tmp_path: Path) -> None:  # noqa: ANN001
    good = tmp_path / "good.csv"
    good.write_text(GOOD, encoding="utf-8")
    code, out, err = cli("ticket", "import", str(good), "--links", str(tmp_path / "missing" / "links.csv"))
    assert code == 2 and out == "" and "Cannot write the customer links to" in err and "nothing was imported" in err
    assert cli("ticket", "list")[1].strip() == "No tickets."

    target = tmp_path / "links.csv"
    code, out, _ = cli("ticket", "import", str(good), "--links", str(target))
    assert code == 0 and out.strip().splitlines() == [
        "2 tickets imported.",
        (f"Customer links written to {target} (one per ticket). Anyone holding a link can follow that ticket: "
         "send each to its contact only, then delete the file.")]
    assert "t.me" not in out
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM: Excel opens it as such
    rows = list(csv.DictReader(raw.decode("utf-8-sig").splitlines()))
    assert [(r["number"], r["customer"], r["contact"]) for r in rows] == [
        ("FS-2026-000001", "ACME", "Zhang"), ("FS-2026-000002", "'=Beta", "'=Beta")]  # no formula for Excel
    assert all(r["telegram"].startswith("https://t.me/FsBot?start=") for r in rows)
    assert [_scene_token(r["wecom_kf"]) for r in rows] == [r["telegram"].split("start=")[1] for r in rows]
