"""``fieldbot demo --channel wecom``: the same day as :mod:`bot.demo`, played on WeCom — the team in
the company's WeCom app (template cards, the app's commands typed as words), the customer in
WeChat customer service (微信客服: the ticket's signed link, menu taps) — against the local WeCom
emulator, with nothing to configure."""

from __future__ import annotations

from bot.demo import CUST, DISP, Demo
from bot.stage import png
from bot.stage_wecom import WecomStage, labels, text_of
from handlers.i18n import t

#: The demo's people as WeCom knows them: members' userids, the customer's external_userid.
IDS = {1001: "wangwei", 1002: "zhangmin", 1003: "lilei", 2001: "wmDemoCustomerChen"}


class WecomDemo(Demo):
    def __init__(self, stage: WecomStage, lang: str):
        super().__init__(stage, lang)  # type: ignore[arg-type]
        for uid in self.people:
            if uid != CUST:
                stage.emu.add_member(IDS[uid], self.name(uid))

    async def step(self, uid: int, what: str) -> None:
        self.log[uid].append(f"  {self.name(uid)} ▸ {what}")
        await self.s.settle(timeout=20)
        for person in self.people:
            messages = self.s.messages(IDS[person])
            for message in messages[self.shown[person]:]:
                self.log[person].append(_render(message, self.lang))
            self.shown[person] = len(messages)

    async def say(self, uid: int, text: str) -> None:
        await self.s.say(IDS[uid], text)
        await self.step(uid, text)

    async def press_label(self, uid: int, label: str, *, tapped: bool = False) -> None:
        """The newest button (card button, or menu item) labelled ``label`` or starting with it;
        a card whose long labels were numbered is pressed by the number next to the label.  A
        customer who has not got it yet taps "Got it" first: WeChat customer service lets the bot
        write only 5 messages after each of the customer's own."""
        if uid == CUST and not tapped and not any(label in labels(m) for m in self.s.messages(IDS[uid])[-3:]):
            got_it = t(self.lang, "wecom.got_it")
            if any(got_it in labels(m) for m in self.s.messages(IDS[uid])):
                await self.press_label(uid, got_it, tapped=True)
        for message in reversed(self.s.messages(IDS[uid])):
            shown = labels(message)
            match = next((b for b in shown if b == label or b.startswith(label + " ") or b.startswith(label[:9])),
                         None)
            if match is None:
                numbered = [line for line in text_of(message).splitlines() if line.split(". ", 1)[-1].startswith(label)]
                if numbered and numbered[0].split(".", 1)[0] in shown:
                    match = numbered[0].split(".", 1)[0]
            if match:
                await self.s.press(IDS[uid], message, match)
                await self.step(uid, f"[{match}]")
                return
        raise LookupError(f"no {label!r} button in {self.name(uid)}'s chat")

    async def photo(self, uid: int, seed: int) -> None:
        await self.s.photo(IDS[uid], png(seed))
        await self.step(uid, t(self.lang, "demo.photo"))

    async def location(self, uid: int, lat: float, lon: float) -> None:
        await self.s.location(IDS[uid], lat, lon)
        await self.step(uid, t(self.lang, "demo.location", lat=f"{lat:.4f}", lon=f"{lon:.4f}"))

    def registered(self) -> tuple[str, str]:
        for message in reversed(self.s.messages(IDS[DISP])):
            text = text_of(message)
            if "scene_param=" in text:
                number = next(word for word in text.split() if word.startswith("FS-"))
                link = next(line for line in text.splitlines() if "scene_param=" in line)
                return number.rstrip(".。，,"), link.strip()
        raise LookupError("the /new confirmation with the customer's link")

    async def open_link(self, uid: int, link: str) -> None:
        """The customer scans the QR code: WeChat opens the customer-service chat."""
        await self.s.emu.customer_open_link(link, external_userid=IDS[uid], nickname=self.name(uid))
        await self.step(uid, t(self.lang, "demo.open_link"))
        await self.press_label(uid, t(self.lang, "wecom.got_it"))


def _render(message: dict, lang: str) -> str:
    text = t(lang, "demo.photo") if message.get("msgtype") == "image" else text_of(message)
    lines = text.splitlines() or [""]
    out = [f"  Fieldbot ◂ {lines[0]}"] + [f"             {line}" for line in lines[1:]]
    shown = labels(message)
    if shown:
        out.append("             " + " ".join(f"[{label}]" for label in shown))
    return "\n".join(out)
