"""The signed service report as a PDF (issue 15): made after the customer's sign-off and sent to
the customer and the supervisor through the channel (a document on Telegram, a file message on
WeCom), once even across a crash; readable back in both languages; the same bytes when made again
(also in another process); from ``/ticket`` and ``fieldbot ticket report``; a page that is not blank."""

from __future__ import annotations

import asyncio
import hashlib
import io
import pickle
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import create_async_engine

from handlers.service_report import issue, render
from handlers.service_report_data import gather
from handlers.service_report_pdf import render_pdf
from models.enums import Action, Role, TicketStatus
from models.people import Person
from models.runtime import OutboxMessage
from models.service_reports import ServiceReport
from models.tickets import Ticket
from tests.support.cast import CUST, ENG, SUP, join_customer, team
from tests.support.cli import cli_runner
from tests.support.tickets import as_person, move, new_ticket, resolved
from tests.support.world import World, world

SERIAL = "SN-7731-A"
CAPTION = {"en": "Service report of ticket {number} (PDF).", "zh": "工单 {number} 的服务单（PDF）。"}


def text_of(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


async def signed_off(w: World, *, lang: str = "en", customer: str = "Acme Ltd") -> Ticket:
    """Team North, a ticket with a serial, resolved; the customer confirms it in chat, rates 4 and
    comments: the ticket is closed."""
    await team(w)
    ticket = await new_ticket(w, customer=customer)
    async with w.app.db.write() as s:
        (await s.get(Ticket, ticket.id)).serial = SERIAL
    await join_customer(w, CUST, ticket, "Mr Lin" if lang == "en" else "林先生", lang=lang)
    await resolved(w, ticket, sup=SUP, eng=ENG)
    [request] = await w.expect(CUST)
    w.press(CUST, request, "Confirm" if lang == "en" else "确认")
    [ask] = await w.expect(CUST)
    w.press(CUST, ask, "4")
    await w.expect(CUST)
    w.say(CUST, "Quick and friendly" if lang == "en" else "服务很快，态度很好")
    return ticket


def reports(w: World, person: int, number: str, lang: str = "en") -> list:
    caption = CAPTION[lang].format(number=number)
    return [m for m in w.messages(person) if m.text == caption]


def document_bytes(w: World, message) -> bytes:  # noqa: ANN001
    return w.tg.emu.file_bytes(message.raw["document"]["file_id"])


async def stored(w: World, ticket_id: int) -> list[ServiceReport]:
    async with w.app.db.read() as s:
        return list((await s.scalars(select(ServiceReport).where(ServiceReport.ticket_id == ticket_id)
                                     .order_by(ServiceReport.lang))).all())


async def test_sign_off_in_chat_sends_the_pdf_to_customer_and_supervisor_once(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        ticket = await signed_off(w)
        await w.settle()
        await w.wait_until(lambda: reports(w, CUST, ticket.number) and reports(w, SUP, ticket.number),
                           what="the service report in both chats")
        [row] = await stored(w, ticket.id)
        assert row.lang == "en" and row.path.endswith(".pdf")
        data = (Path(w.app.config.storage.media_dir) / row.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row.pdf_sha256 and len(data) == row.size
        async with w.app.db.read() as s:  # the outbox keeps a pointer, never the bytes
            payloads = (await s.scalars(select(OutboxMessage.payload).where(
                OutboxMessage.purpose == "service_report"))).all()
        assert len(payloads) == 2 and all(p["document"]["report"] == ticket.id for p in payloads)
        assert max(len(str(p)) for p in payloads) < 600
        if w.driver.platform == "telegram":
            for person in (CUST, SUP):
                [message] = reports(w, person, ticket.number)
                assert message.raw["document"]["file_name"] == f"service-report-{ticket.number}.pdf"
                assert document_bytes(w, message) == data  # the file as stored, sent through sendDocument
        else:  # a file message (media/upload type=file), then the text
            for person in (CUST, SUP):
                [file] = [m for m in w.messages(person) if m.text == "[file]"]
                assert w.driver.emu.media_bytes(file.raw["file"]["media_id"]) == data
        text = text_of(data)
        for expected in (ticket.number, "X200", SERIAL, "Acme Ltd", "Display flickers", "Loose display cable",
                         "Mr Lin", "4/5", "Quick and friendly", row.content_sha256, "Li Lei"):
            assert expected in text, expected
        # A restart sends nothing again.
        await w.stop_bot()
        await w.start_bot()
        await w.settle()
        assert len(reports(w, CUST, ticket.number)) == 1 and len(reports(w, SUP, ticket.number)) == 1


async def test_a_crash_after_the_close_still_sends_the_report_once(tmp_path: Path) -> None:
    """The bot dies (as kill -9 would: tasks cut short) right after the close is committed, while
    the sender may be rendering; after the restart each recipient has the report exactly once."""
    async with world(tmp_path) as w:
        await team(w)
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        await resolved(w, ticket, sup=SUP, eng=ENG)
        [request] = await w.expect(CUST)
        w.press(CUST, request, "Confirm")
        [ask] = await w.expect(CUST)
        assert ask.buttons, ask.text
        w.press(CUST, ask, "5")
        [comment] = await w.expect(CUST)
        w.press(CUST, comment, "No comment")

        async def closed() -> bool:
            async with w.app.db.read() as s:
                return (await s.get(Ticket, ticket.id)).status is TicketStatus.CLOSED
        while not await closed():
            await asyncio.sleep(0.005)
        await w.stop_bot()
        await w.start_bot()
        await w.settle()
        await w.wait_until(lambda: reports(w, CUST, ticket.number) and reports(w, SUP, ticket.number),
                           what="the service report after the restart")
        assert len(reports(w, CUST, ticket.number)) == 1 and len(reports(w, SUP, ticket.number)) == 1


# Also on PostgreSQL (``db_url``).
async def test_chinese_report_reads_back_and_is_made_again_byte_for_byte(tmp_path: Path, db_url: str) -> None:
    async with world(tmp_path, db_url=db_url) as w:
        ticket = await signed_off(w, lang="zh", customer="华东精密机械有限公司")
        await w.settle()
        await w.wait_until(lambda: reports(w, CUST, ticket.number, "zh") and reports(w, SUP, ticket.number),
                           what="the reports")
        rows = {row.lang: row for row in await stored(w, ticket.id)}
        assert set(rows) == {"en", "zh-CN"}  # the customer's language and the supervisor's
        assert rows["en"].content_sha256 != rows["zh-CN"].content_sha256
        data = document_bytes(w, reports(w, CUST, ticket.number, "zh")[0])
        assert hashlib.sha256(data).hexdigest() == rows["zh-CN"].pdf_sha256
        text = text_of(data)
        for expected in ("技术支持现场服务单", ticket.number, "华东精密机械有限公司", "产品型号", "X200", "序列号", SERIAL,
                         "故障现象", "签收", "林先生", "满意度", "4/5", "服务很快，态度很好", rows["zh-CN"].content_sha256,
                         "处理记录"):
            assert expected in text, expected
        # Made again from the stored data: the same bytes, here and in a fresh process.
        _, again = await render(w.app, ticket.id, "zh-CN")
        assert hashlib.sha256(again).hexdigest() == rows["zh-CN"].pdf_sha256
        assert (await issue(w.app, ticket.id, "zh-CN")).pdf_sha256 == rows["zh-CN"].pdf_sha256
        async with w.app.db.read() as s:
            content = await gather(s, w.app, ticket.id, "zh-CN")
        media = Path(w.app.config.storage.media_dir)
        assert render_pdf(content, media) == render_pdf(content, media)
        (tmp_path / "content.pickle").write_bytes(pickle.dumps(content))
        script = ("import pickle,sys,hashlib; from handlers.service_report_pdf import render_pdf; "
                  "c = pickle.load(open(sys.argv[1], 'rb')); "
                  "print(hashlib.sha256(render_pdf(c, __import__('pathlib').Path(sys.argv[2]))).hexdigest())")
        out = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-c", script, str(tmp_path / "content.pickle"), str(media)],
            capture_output=True, text=True, check=True, env={"PYTHONHASHSEED": "123", "PATH": "/usr/bin:/bin"},
            cwd=Path(__file__).parent.parent)
        assert out.stdout.strip() == rows["zh-CN"].pdf_sha256


async def test_ticket_page_button_and_cli_write_and_verify(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    async with world(tmp_path) as w:
        ticket = await signed_off(w)
        await w.settle()
        await w.wait_until(lambda: reports(w, SUP, ticket.number), what="the report")
        w.mark_seen(SUP)
        w.say(SUP, f"/ticket {ticket.number}")
        [page] = await w.expect(SUP)
        assert "Service report (PDF)" in page.buttons
        w.press(SUP, page, "Service report (PDF)")
        [sent] = await w.expect(SUP)
        [row] = await stored(w, ticket.id)
        assert sent.text == CAPTION["en"].format(number=ticket.number)
        assert hashlib.sha256(document_bytes(w, sent)).hexdigest() == row.pdf_sha256
        # An engineer of another ticket, or another customer, cannot have it (the access rule).
        await w.join(ENG + 1, Role.ENGINEER, "Zhao Min")
        w.press_data(ENG + 1, w.messages(ENG + 1)[-1], f"srp:{ticket.id}")
        [refused] = await w.expect(ENG + 1)
        assert "PDF" not in refused.text and not refused.raw.get("document")

    run = await asyncio.to_thread(cli_runner, w.app.config.database.url.get_secret_value(), tmp_path, capsys,
                                  f'[storage]\nmedia_dir = "{w.app.config.storage.media_dir}"\n')
    target = tmp_path / "out.pdf"
    code, out, _ = await asyncio.to_thread(run, "ticket", "report", ticket.number, "--pdf", str(target))
    assert code == 0, out
    assert hashlib.sha256(target.read_bytes()).hexdigest() == row.pdf_sha256 and row.pdf_sha256 in out
    code, out, _ = await asyncio.to_thread(run, "ticket", "report", ticket.number, "--verify", str(target))
    assert code == 0 and "as issued" in out
    tampered = tmp_path / "tampered.pdf"
    tampered.write_bytes(target.read_bytes().replace(b"%%EOF", b"% re-saved\n%%EOF"))
    code, out, _ = await asyncio.to_thread(run, "ticket", "report", ticket.number, "--verify", str(tampered))
    assert code == 1 and "says what the service report" in out
    other = tmp_path / "other.pdf"
    other.write_bytes(b"%PDF-1.4 not a report")
    code, out, _ = await asyncio.to_thread(run, "ticket", "report", ticket.number, "--verify", str(other))
    assert code == 1 and "is not the service report" in out

    # The stored data changes (a person is renamed): the issued report stays on record, the CLI says
    # its fresh rendering differs, and the file as sent still verifies.
    engine = create_async_engine(w.app.config.database.url.get_secret_value())
    async with engine.begin() as connection:
        await connection.execute(update(Person).where(Person.name == "Mr Lin").values(name="Lin Guohua"))
    await engine.dispose()
    renamed = tmp_path / "renamed.pdf"
    code, out, _ = await asyncio.to_thread(run, "ticket", "report", ticket.number, "--pdf", str(renamed))
    assert code == 0 and "differs" in out and "Lin Guohua" in text_of(renamed.read_bytes())
    code, out, _ = await asyncio.to_thread(run, "ticket", "report", ticket.number, "--verify", str(target))
    assert code == 0 and "as issued" in out


async def test_page_one_renders_with_a_dark_header(tmp_path: Path) -> None:
    import pypdfium2

    async with world(tmp_path) as w:
        ticket = await signed_off(w)
        await w.settle()
        await w.wait_until(lambda: reports(w, CUST, ticket.number), what="the report")
        [row] = await stored(w, ticket.id)
        data = (Path(w.app.config.storage.media_dir) / row.path).read_bytes()
    page = pypdfium2.PdfDocument(data)[0]
    image = page.render(scale=1.5).to_pil().convert("L")
    width, height = image.size
    header = image.crop((0, 0, width, height // 8))
    dark = sum(1 for value in header.tobytes() if value < 100)
    assert dark > 500, dark  # the company, the title and the number are drawn
    assert min(image.tobytes()) < 50


async def test_paper_sign_off_report_names_the_signer(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        await team(w)
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")
        await resolved(w, ticket, sup=SUP, eng=ENG)
        await w.expect(CUST)
        from tests.support.chat import card_of

        card = await card_of(w, ENG, ticket)
        w.press(ENG, card, "Sign-off")
        [ask] = await w.expect(ENG)
        w.press(ENG, ask, "Paper form")
        await w.expect(ENG)
        w.send_photo(ENG, seed=3)
        await w.expect(ENG)
        w.say(ENG, "Lin Guohua")
        await w.settle()
        await w.wait_until(lambda: reports(w, SUP, ticket.number), what="the report")
        [row] = await stored(w, ticket.id)
        data = (Path(w.app.config.storage.media_dir) / row.path).read_bytes()
    text = text_of(data)
    assert "Lin Guohua" in text and "paper service report signed by the customer" in text
    assert "Signed paper service report" in text  # the form's photo is on it
    assert Action.CLOSE


async def test_a_reopened_ticket_closed_again_gets_a_new_report(tmp_path: Path) -> None:
    async with world(tmp_path) as w:
        ticket = await signed_off(w)
        await w.settle()
        await w.wait_until(lambda: reports(w, CUST, ticket.number), what="the first report")
        [first] = await stored(w, ticket.id)
        w.clock.at += timedelta(hours=3)  # the World's clock is fixed (FixedClock)
        await move(w, ticket, Action.REOPEN, actor_uid=SUP, reason="Flickers again")
        await move(w, ticket, Action.DEPART, Action.ARRIVE, actor_uid=ENG)
        await move(w, ticket, Action.RESOLVE, actor_uid=ENG, findings="Cracked connector", actions_taken="Replaced it",
                   parts_replaced="connector", result="")
        w.mark_seen(CUST)
        await as_person(w, ENG, lambda ctx, s: _request(ctx, s, ticket.id))
        [request] = await w.expect(CUST)
        w.press(CUST, request, "Confirm")
        [ask] = await w.expect(CUST)
        assert ask.buttons, ask.text
        w.press(CUST, ask, "5")
        [comment] = await w.expect(CUST)
        w.press(CUST, comment, "No comment")
        await w.settle()
        await w.wait_until(lambda: len(reports(w, CUST, ticket.number)) == 2, what="the second report")
        [second] = await stored(w, ticket.id)
        assert second.content_sha256 != first.content_sha256 and second.pdf_sha256 != first.pdf_sha256
        assert (Path(w.app.config.storage.media_dir) / first.path).exists()  # the first one is kept
        text = text_of((Path(w.app.config.storage.media_dir) / second.path).read_bytes())
        assert "Cracked connector" in text and "5/5" in text and "Flickers again" in text


async def _request(ctx, s, ticket_id: int) -> None:  # noqa: ANN001
    from handlers.cards import signoff_request
    from handlers.notify import notify_customer

    row = await s.get(Ticket, ticket_id)
    await notify_customer(ctx, row, signoff_request(row), purpose="signoff_request")


@pytest.mark.telegram  # group chats are Telegram's
async def test_never_in_a_group_chat(tmp_path: Path, channel: str) -> None:
    async with World(tmp_path, channel, telegram_extra="group_per_minute = 600\n") as w:
        ticket = await signed_off(w)
        await w.settle()
        group = -510
        w.tg.emu.add_chat(group, title="North team", type="supergroup")
        w.say(SUP, f"/_srp_{ticket.id}", chat_id=group)  # the button's text form, typed in the group
        await w.settle()
        [answer] = w.messages(group)
        assert "private chat" in answer.text and not answer.raw.get("document")


async def test_check_in_photos_are_on_the_report_as_their_stamped_copies(tmp_path: Path) -> None:
    """An arrival with a photo and a location far from the site: the report's thumbnail is drawn
    from the stamped copy (ticket, times, place, distance — what the supervisor was sent), and the
    content digest covers what is stamped on it."""
    from handlers.stamp import StampSpec
    from models.customers import Site
    from tests.support.chat import card_of
    from tests.support.tickets import REPORT
    from tests.support.tickets import ticket as en_route_ticket

    async with world(tmp_path) as w:
        await team(w)
        t = await en_route_ticket(w, TicketStatus.EN_ROUTE)
        async with w.app.db.write() as s:
            row = await s.get(Ticket, t.id)
            await s.execute(update(Site).where(Site.id == row.site_id).values(lat=31.23041, lon=121.47370))
        w.press(ENG, await card_of(w, ENG, t), "Arrived")
        await w.expect(ENG)
        w.send_photo(ENG, seed=7)
        await w.expect(ENG)
        w.send_location(ENG, 39.90420, 116.40740)  # Beijing: off site
        await w.expect(ENG, 2)
        await join_customer(w, CUST, t, "Mr Lin")
        async with w.app.db.read() as s:
            row = await s.get(Ticket, t.id)
        await move(w, row, Action.RESOLVE, actor_uid=ENG, **REPORT)

        async def request(ctx, s) -> None:  # noqa: ANN001
            from handlers.notify import notify_customer
            from handlers.cards import signoff_request
            ticket_row = await s.get(Ticket, t.id)
            await notify_customer(ctx, ticket_row, signoff_request(ticket_row), purpose="signoff_request")
        await as_person(w, ENG, request)
        [ask] = await w.expect(CUST)
        w.press(CUST, ask, "Confirm")
        [rate] = await w.expect(CUST)
        w.press(CUST, rate, "5")
        await w.expect(CUST)
        w.say(CUST, "Good")
        await w.wait_until(lambda: reports(w, CUST, t.number), what="the report")
        async with w.app.db.read() as s:
            content = await gather(s, w.app, t.id, "en")
        [photo] = content.photos
        assert isinstance(photo.stamp, StampSpec) and photo.stamp.off_site and photo.stamp.ticket == t.number
        assert photo.stamp_key == photo.stamp.key() and photo.stamp_key in content.canonical().decode()
        drawn, data = await render(w.app, t.id, "en")
        assert drawn.photos[0].path == photo.stamp.path() != photo.path  # the stamped copy, not the original
        assert (Path(w.app.config.storage.media_dir) / drawn.photos[0].path).exists()
        [row] = await stored(w, t.id)
        assert hashlib.sha256(data).hexdigest() == row.pdf_sha256
