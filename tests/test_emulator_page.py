"""The emulator's chat page (``GET /``), used as a person uses it: in a real headless browser —
Debian's chromium driven through its chromedriver by Selenium — against the emulator and the real
bot. An engineer asks for /help, opens a ticket's card from /tickets and presses Arrived, sends a
photo (the file picker) and the location (the bot's "send my location" keyboard button); the
supervisor's chat, switched to, shows the unread arrival check-in with the photo, whose
Acknowledge button edits the message; a person added on the page sends a location and a text
that looks like HTML, which the page shows literally (and runs nothing).

Selenium uses the system's ``/usr/bin/chromedriver`` (the Service path is given, so Selenium
Manager never runs and downloads nothing). Without chromium or chromedriver the test is skipped
with the reason; CI (``.ci/run``) installs both from Debian's packages.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from bot.emulator.page import content_type
from models.enums import TicketStatus
from tests.support.cast import ENG, SUP, team
from tests.support.tickets import T, ticket
from tests.support.world import World, png

T_ = TypeVar("T_")
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.access(p, os.X_OK)), None)
CHROMEDRIVER = next((p for p in ("/usr/bin/chromedriver", shutil.which("chromedriver") or "")
                     if p and os.access(p, os.X_OK)), None)
WAIT = 10.0  # seconds for anything to show up on the page
HOSTILE = '<script>window.pwned = 1</script><b>bold?</b> & "quotes"'


class Loop:
    """An event loop in a thread of its own for the emulator and the bot: Selenium's calls block,
    so the test drives the browser from the main thread and runs coroutines over here."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="emulator-and-bot", daemon=True)
        self.thread.start()

    def run(self, coro: Coroutine[Any, Any, T_], timeout: float = 30.0) -> T_:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def call(self, function: Callable[..., T_], *args: Any) -> T_:
        """``function(*args)`` on the loop's thread (the emulator's state is that thread's)."""
        async def call() -> T_:
            return function(*args)
        return self.run(call())

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


@pytest.fixture
def stage(tmp_path: Path) -> Iterator[tuple[Loop, World, T]]:
    """Wang Wei (supervisor) and Li Lei (engineer) in team North, and a ticket Li Lei is on the way to."""
    loop = Loop()
    w = World(tmp_path, "aiogram")
    try:
        loop.run(w.__aenter__())
        try:
            loop.run(team(w))
            t = loop.run(ticket(w, TicketStatus.EN_ROUTE))
            yield loop, w, t
        finally:
            loop.run(w.__aexit__(None, None, None))  # also fails on any call that broke the Bot API spec
    finally:
        loop.close()


@pytest.fixture
def browser(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    if not (CHROMIUM and CHROMEDRIVER):
        pytest.skip("needs Debian's chromium and chromium-driver (apt-get install chromium chromium-driver; "
                    ".ci/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    monkeypatch.setenv("SE_OFFLINE", "true")  # never let Selenium Manager reach out
    monkeypatch.setenv("SE_AVOID_STATS", "true")
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1100,900", "--lang=en-US", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
    try:
        yield driver
    finally:
        driver.quit()


def until(what: str, check: Callable[[], T_ | None], timeout: float = WAIT,
          shown: Callable[[], object] = lambda: "") -> T_:
    """Poll ``check`` (ignoring elements replaced under it) until it gives something truthy;
    ``shown``: what the page shows instead, for the failure message."""
    from selenium.common.exceptions import (
        NoSuchElementException,
        StaleElementReferenceException,
    )

    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except (StaleElementReferenceException, NoSuchElementException):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"the page did not show {what} within {timeout} s; it shows {shown()!r}")
        time.sleep(0.05)


class Page:
    """The chat page as a person sees and uses it."""

    def __init__(self, driver: Any) -> None:
        from selenium.webdriver.common.by import By

        self.d, self.by = driver, By

    def find(self, css: str) -> Any:
        return self.d.find_element(self.by.CSS_SELECTOR, css)

    def all(self, css: str) -> list[Any]:
        return self.d.find_elements(self.by.CSS_SELECTOR, css)

    def person(self, uid: int) -> Any:
        return self.find(f'.person[data-user-id="{uid}"]')

    def pick(self, uid: int) -> None:
        until(f"person {uid} in the list", lambda: self.person(uid)).click()
        until(f"person {uid}'s chat", lambda: self.person(uid).get_attribute("aria-current") == "true")

    def unread(self, uid: int) -> int:
        badges = self.person(uid).find_elements(self.by.CSS_SELECTOR, ".unread")
        return int(badges[0].text) if badges else 0

    def bubbles(self, who: str = "bot") -> list[Any]:
        return self.all(f"#messages .msg.from-{who}")

    def texts(self, who: str = "bot") -> list[str]:
        return [b.find_element(self.by.CSS_SELECTOR, ".text").text for b in self.bubbles(who)
                if b.find_elements(self.by.CSS_SELECTOR, ".text")]

    def wait_text(self, start: str, who: str = "bot") -> Any:
        """The newest message from ``who`` whose text starts with ``start`` (waits for it)."""
        def found() -> Any:
            for bubble in reversed(self.bubbles(who)):
                texts = bubble.find_elements(self.by.CSS_SELECTOR, ".text")
                if texts and texts[0].text.startswith(start):
                    return bubble
            return None
        return until(f"a {who} message starting {start!r}", found, shown=lambda: self.texts(who))

    def type(self, text: str) -> None:
        box = self.find("#text")
        box.send_keys(text)
        box.send_keys("\n")  # Enter sends
        until("the box emptied after sending", lambda: box.get_attribute("value") == "")

    def button(self, bubble: Any, label: str) -> Any:
        return next(b for b in bubble.find_elements(self.by.CSS_SELECTOR, ".inline-kb button") if b.text == label)

    def with_button(self, label: str) -> Any:
        """The newest bot message with an inline button ``label`` (waits for it)."""
        def found() -> Any:
            return next((b for b in reversed(self.bubbles()) if any(
                x.text == label for x in b.find_elements(self.by.CSS_SELECTOR, ".inline-kb button"))), None)
        return until(f"a message with a {label!r} button", found, shown=self.texts)


def test_a_person_chats_with_the_bot_through_the_page(browser: Any, stage: tuple[Loop, World, T],
                                                      tmp_path: Path) -> None:
    loop, w, t = stage
    started = time.monotonic()
    emu = w.tg.emu
    browser.get(emu.base_url + "/")
    page = Page(browser)
    until("the live connection", lambda: page.find("#conn").text == "live")
    assert "Fieldbot" in page.find("#bot-name").text
    names = until("both people", lambda: [e.text for e in page.all(".person .name")] or None)
    assert names == ["Wang Wei", "Li Lei"]
    sup_unread = page.unread(SUP)  # nothing seen yet: everything the bot sent him (welcome, help)
    assert sup_unread == len(loop.call(emu.bot_messages, SUP)) > 0

    # Li Lei: /help, typed and sent with Enter
    page.pick(ENG)
    assert page.find("#chat-name").text == "Li Lei"
    page.type("/help")
    assert page.wait_text("/help", who="user")
    help_bubble = page.wait_text("You are an engineer. Commands:")
    assert help_bubble.find_elements(page.by.CSS_SELECTOR, "a.cmd"), "the commands in the help are tappable"

    # /tickets → the ticket's line button → its card → Arrived (inline buttons: press_button)
    page.type("/tickets")
    page.button(page.with_button(t.number), t.number).click()
    card = page.wait_text(f"{t.number} · X100 · 1 River Road")
    page.button(card, "Arrived").click()
    page.wait_text(f"Ticket {t.number}: send a photo of the site")

    # a photo through the file picker; the page shows it as an image
    picture = tmp_path / "site.png"
    picture.write_bytes(png(7))
    page.find("#photo").send_keys(str(picture))
    page.wait_text("Got the photo. Now send your location.")
    mine = until("my photo", lambda: [b for b in page.bubbles("user") if b.find_elements(page.by.TAG_NAME, "img")])
    image = mine[-1].find_element(page.by.TAG_NAME, "img")
    until("the photo loaded", lambda: browser.execute_script("return arguments[0].naturalWidth", image) == 4)
    [[photo]] = [m["photo"] for m in loop.call(emu.history, ENG) if "photo" in m and not m["from"]["is_bot"]]
    assert loop.call(emu.file_bytes, photo["file_id"]) == png(7)

    # the bot's reply keyboard: its location button shares the coordinates of the Location panel
    keyboard = until("the location button", lambda: page.all("#keyboard button"))
    assert [b.text for b in keyboard] == ["📍 Send my location"]
    page.find("#location-toggle").click()
    for field, value in (("#lat", "31.23041"), ("#lon", "121.4737")):
        page.find(field).clear()
        page.find(field).send_keys(value)
    keyboard[0].click()
    page.wait_text(f"Arrival at {t.number} recorded and sent to your supervisor.")
    assert not page.find("#location-panel").is_displayed()
    assert page.wait_text("📍 Location 31.23041, 121.47370", who="user")
    until("the keyboard gone", lambda: not page.all("#keyboard button"))

    # Wang Wei's chat: two new in the list (the photo, the check-in); Acknowledge edits the check-in
    until("Wang Wei's unread count", lambda: page.unread(SUP) == sup_unread + 2)
    page.pick(SUP)
    until("Wang Wei's chat read", lambda: page.unread(SUP) == 0)
    checkin = page.wait_text("Arrival check-in from Li Lei")
    checkin_id = checkin.get_attribute("data-message-id")
    assert "Location: 31.23041, 121.47370" in checkin.text and "edited" not in checkin.text
    # the supervisor sees the stamped copy: the 4-px photo with the stamp's band, which is wider
    # than the photo (no line of the stamp is cut)
    until("the check-in photo", lambda: [i for i in page.all("#messages .from-bot img")
                                         if browser.execute_script("return arguments[0].naturalWidth", i) > 4])
    page.button(checkin, "Acknowledge").click()
    until("the button's answer", lambda: page.find("#toast").text == "Acknowledged")
    now = until("the check-in, acknowledged", lambda: next(
        (b for b in page.bubbles() if "Acknowledged by Wang Wei" in b.text), None), shown=page.texts)
    assert now.get_attribute("data-message-id") == checkin_id and "edited ·" in now.text
    assert not now.find_elements(page.by.CSS_SELECTOR, ".inline-kb button")
    assert len([b for b in page.bubbles() if "Arrival check-in" in b.text]) == 1  # edited in place

    # a person added on the page; a location from the Location panel; text that looks like HTML
    page.find("#add-person summary").click()
    page.find("#new-name").send_keys("<i>Eve</i>")
    page.find("#new-id").send_keys("4242")
    page.find("#new-lang").clear()
    page.find("#new-lang").send_keys("zh-hans")
    page.find("#add-form button").click()
    until("Eve's chat", lambda: page.person(4242).get_attribute("aria-current") == "true")
    assert page.find("#chat-name").text == "<i>Eve</i>"
    assert loop.call(emu.overview)["users"][-1] == {
        "id": 4242, "is_bot": False, "first_name": "<i>Eve</i>", "language_code": "zh-hans",
        "messages": 0, "bot_messages": 0, "last": None}
    page.find("#location-toggle").click()
    page.find("#lat").clear()
    page.find("#lat").send_keys("22.54")
    page.find("#lon").clear()
    page.find("#lon").send_keys("114.06")
    page.find("#send-location").click()
    page.wait_text("📍 Location 22.54000, 114.06000", who="user")
    page.type(HOSTILE)
    bubble = page.wait_text("<script>", who="user")
    assert bubble.find_element(page.by.CSS_SELECTOR, ".text").text == HOSTILE
    assert not bubble.find_elements(page.by.CSS_SELECTOR, "script, b, i")
    assert browser.execute_script("return window.pwned === undefined")
    assert not browser.find_elements(page.by.CSS_SELECTOR, "#people-list i")
    until("the bot's two answers to a stranger, in their app's language", lambda: page.texts()
          == ["我还不认识您。请向主管索取邀请链接。"] * 2, shown=page.texts)
    assert [m.get("text") for m in loop.call(emu.history, 4242) if not m["from"]["is_bot"]][-1] == HOSTILE
    assert [e for e in browser.get_log("browser") if e["level"] == "SEVERE"] == []
    print(f"\nchat page in chromium: {time.monotonic() - started:.1f} s")


def test_files_are_served_with_a_type_that_cannot_run() -> None:
    assert content_type(png()) == "image/png"
    assert content_type(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert content_type(b"%PDF-1.7", "application/pdf") == "application/pdf"
    assert content_type(b"<html><script>", "text/html") == "application/octet-stream"
    assert content_type(b"<svg onload=alert(1)>", "image/svg+xml") == "application/octet-stream"


async def test_demo_keep_leaves_the_day_open_on_the_chat_page(capsys: pytest.CaptureFixture[str]) -> None:
    """``fieldbot demo --keep``: after the day the emulator and the bot stay up, and the printed
    page shows the demo's four people with their chats."""
    import aiohttp

    from bot.demo import run_demo

    task = asyncio.create_task(run_demo("en", keep=True))
    output = ""
    for _ in range(600):  # the day takes a few seconds
        output += capsys.readouterr().out
        if "Ctrl+C stops." in output or task.done():
            break
        await asyncio.sleep(0.05)
    try:
        line = output.strip().splitlines()[-1]
        assert line.startswith("The emulator and the bot keep running: open http://127.0.0.1:"), line
        url = line.split("open ", 1)[1].split()[0]
        async with aiohttp.ClientSession() as http:
            async with http.get(url) as resp:
                assert resp.status == 200 and "<title>Telegram emulator · chat</title>" in await resp.text()
            async with http.get(url + "_control/overview") as resp:
                people = (await resp.json())["result"]["users"]
        assert [p["first_name"] for p in people] == ["Wang Wei", "Zhang Min", "Li Lei", "Mr Chen"]
        assert all(p["bot_messages"] > 0 for p in people)
        assert not task.done(), "the demo kept running"
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task


def test_demo_keep_is_for_the_telegram_demo(capsys: pytest.CaptureFixture[str]) -> None:
    from bot.cli import main

    assert main(["demo", "--channel", "wecom", "--keep"]) == 2
    assert capsys.readouterr().err.splitlines() == [
        "fieldbot demo: error: --keep is for the Telegram demo (its emulator has the chat page)"]


async def test_the_page_and_what_it_reads_without_a_browser() -> None:
    """What the page stands on, without a browser: the page itself (its own script only), the file
    route, ``overview`` and the ``wait_for_change`` long poll."""
    import aiohttp

    from bot.emulator import BotApiEmulator

    async with BotApiEmulator("123456:PAGE") as emu, aiohttp.ClientSession() as http:
        async def control(action: str, **args: Any) -> Any:
            async with http.post(f"{emu.base_url}/_control/{action}", json=args) as resp:
                return (await resp.json())["result"]

        for path in ("/", "/chat"):
            async with http.get(emu.base_url + path) as resp:
                page, policy = await resp.text(), resp.headers["Content-Security-Policy"]
            nonce = policy.split("'nonce-", 1)[1].split("'", 1)[0]
            assert f'<script nonce="{nonce}">' in page and "__NONCE__" not in page
            assert "default-src 'none'" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
            assert re.findall(r'(?:src|href)="(?!data:)', page) == [], "loads nothing from elsewhere"

        first = await control("overview")
        assert first["users"] == [] and first["bot"]["username"] == "fieldbot_emulator_bot"
        # nothing new: the long poll waits its timeout out and says where things stand
        assert await control("wait_for_change", since=first["version"], timeout=0.2) == first["version"]
        waiting = asyncio.create_task(control("wait_for_change", since=first["version"], timeout=10))
        await asyncio.sleep(0.1)
        assert not waiting.done()
        sent = emu.send_photo(7, png(3), caption="site", first_name="Li")
        assert await asyncio.wait_for(waiting, 2) > first["version"]
        [li] = (await control("overview"))["users"]
        assert li == {"id": 7, "is_bot": False, "first_name": "Li", "messages": 1, "bot_messages": 0,
                      "last": "site"}
        async with http.get(f"{emu.base_url}/_files/{sent['photo'][-1]['file_id']}") as resp:
            assert (resp.status, resp.content_type, await resp.read()) == (200, "image/png", png(3))
        async with http.get(f"{emu.base_url}/_files/nope") as resp:
            assert resp.status == 404
