"""The knowledge base end to end (emulator + the real bot on each channel + SQLite): ``/kb WORDS`` for
staff in English and Chinese, its bad input and who may not use it, and the past fixes of the same
model an engineer gets right after accepting a ticket — never with customer details.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from models.enums import Role, TicketStatus
from tests.support.cast import join_customer
from tests.support.history import past_fix
from tests.support.tickets import new_ticket
from tests.support.world import T0, Message, World, world

SUP, DSP, ENG, ENG2, CUST, SOUTH_ENG, STRANGER = 100, 101, 102, 103, 104, 105, 106
SECRETS = ("Harbour Foods", "Mrs Zhou", "8 Dock Road", "13912345678", "139 1234 5678", "周女士", "海港食品", "码头路8号")


def texts(w: World, uid: int) -> list[str]:
    return [m.text for m in w.messages(uid)]


def no_secrets(w: World, *uids: int) -> None:
    leaked = [(uid, s) for uid in uids for text in texts(w, uid) for s in SECRETS if s in text]
    assert leaked == []


async def test_kb_search_in_english_with_bad_input_and_who_may_not(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(SOUTH_ENG, Role.ENGINEER, "Sun Qi", team="South")
        cable = await past_fix(w.app.db, fault_type="display", customer="Harbour Foods", contact="Mrs Zhou",
                               phone="+86 139 1234 5678", address="8 Dock Road",
                               findings="LVDS cable loose behind the panel; Mrs Zhou (13912345678) watched",
                               actions="Reseated the cable and fixed it with a clip", parts="cable clip",
                               resolved=T0 - timedelta(days=10))
        fan = await past_fix(w.app.db, findings="Fan bearing worn out after years of dust; the whole fan assembly "
                             "was rattling against the housing", actions="Replaced the fan",
                             result="Quiet again", resolved=T0 - timedelta(days=2), status=TicketStatus.RESOLVED)
        other = await past_fix(w.app.db, model="Y300", findings="Loose cable at the display connector",
                               actions="Reseated it", resolved=T0 - timedelta(days=1))
        await past_fix(w.app.db, findings="loose cable", actions="", status=TicketStatus.ACCEPTED)  # not fixed yet
        ticket = await new_ticket(w)
        await join_customer(w, CUST, ticket, "Mr Lin")

        w.say(ENG, "/kb X200 loose cable")
        [found] = await w.expect(ENG)
        # The model match first (even the fan without shared words), then the other model's text match.
        assert found.text == (
            'Past fixes for "X200 loose cable" (best 3 first):\n\n'
            f"{cable.number} · X200 · 2026-02-20 · display\n"
            "Fault: Display flickers\n"
            "Findings: LVDS cable loose behind the panel; *** (***) watched\n"
            "Work done: Reseated the cable and fixed it with a clip\n"
            "Parts replaced: cable clip\n\n"
            f"{fan.number} · X200 · 2026-02-28\n"
            "Fault: Display flickers\n"
            "Findings: Fan bearing worn out after years of dust; the whole fan assembly was rattling…\n"
            "Work done: Replaced the fan\n"
            "Result: Quiet again\n\n"
            f"{other.number} · Y300 · 2026-03-01\n"
            "Fault: Display flickers\n"
            "Findings: Loose cable at the display connector\n"
            "Work done: Reseated it")

        # Company-wide: another team's engineer finds the same fixes; the desk may search too.
        w.say(SOUTH_ENG, "/kb y300   LOOSE")
        [south] = await w.expect(SOUTH_ENG)
        assert south.text.startswith(f'Past fixes for "y300 LOOSE" (best 2 first):\n\n{other.number} · Y300 ·')
        w.say(SUP, "/kb cable clip")
        [desk] = await w.expect(SUP)
        assert desk.text.startswith(f'Past fixes for "cable clip" (best 2 first):\n\n{cable.number} · X200')

        # Bad input: nothing to search, nothing found, too long.
        w.say(ENG, "/kb")
        w.say(ENG, "/kb  “ ” ,,, ")
        w.say(ENG, "/kb compressor")
        w.say(ENG, "/kb " + "cable " * 40)
        assert [m.text for m in await w.expect(ENG, 4)] == [
            "Search past fixes by model, fault type or words, e.g. /kb X200 display flickers",
            "Search past fixes by model, fault type or words, e.g. /kb X200 display flickers",
            'No past fix matches "compressor". Try fewer or other words, or just the model.',
            "Please keep the search under 200 characters."]

        # Customers and strangers may not search; staff have it in their command menu.
        assert "kb" in w.menu(ENG) and "kb" in w.menu(SUP) and "kb" not in w.menu(CUST)
        w.say(CUST, "/kb X200")
        w.say(STRANGER, "/kb X200")
        assert [m.text for m in await w.expect(CUST)] == ["You can't do that with your role."]
        assert [m.text for m in await w.expect(STRANGER)] == [
            "I don't know you yet. Ask your supervisor for an invite link."]
        assert await w.quiet(ENG) == [] and await w.quiet(CUST) == []
        no_secrets(w, ENG, SUP, SOUTH_ENG)


async def test_kb_search_in_chinese(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel, "zh-CN") as w:
        await w.join(DSP, Role.DISPATCHER, "陈静")
        await w.join(CUST, Role.CUSTOMER, "林先生", team=None)
        leak = await past_fix(w.app.db, model="KFR-35GW", fault="空调不制冷", fault_type="制冷", customer="海港食品",
                              contact="周女士", address="码头路8号", phone="13912345678",
                              findings="冷媒泄漏，压力不足；周女士在场", actions="补焊铜管并加注冷媒",
                              resolved=T0 - timedelta(days=5))
        remote = await past_fix(w.app.db, model="KFR-35GW", fault="遥控无反应", findings="遥控器电池没电",
                                actions="更换电池", resolved=T0 - timedelta(days=1))
        english = await past_fix(w.app.db, model="KFR-35GW", fault="No cooling", findings="Refrigerant leak",
                                 actions="Recharged", resolved=T0 - timedelta(days=3))

        w.say(DSP, "/kb 不制冷 冷媒泄漏")
        [found] = await w.expect(DSP)
        assert found.text == (
            "与“不制冷 冷媒泄漏”相关的维修案例（最相关的 1 条）：\n\n"
            f"{leak.number} · KFR-35GW · 2026-02-25 · 制冷\n"
            "故障现象：空调不制冷\n"
            "检查结果：冷媒泄漏，压力不足；***在场\n"
            "处理措施：补焊铜管并加注冷媒")
        # A model glued to Chinese words is still a model match; the fault type in the words ranks first.
        w.say(DSP, "/kb kfr-35gw制冷")
        [by_model] = await w.expect(DSP)
        numbers = [line.split(" · ")[0] for line in by_model.text.split("\n") if line.startswith("FS-")]
        assert numbers == [leak.number, remote.number, english.number]
        # An English query finds the English report.
        w.say(DSP, "/kb refrigerant")
        [en] = await w.expect(DSP)
        assert en.text.startswith(f"与“refrigerant”相关的维修案例（最相关的 1 条）：\n\n{english.number} · KFR-35GW")

        w.say(DSP, "/kb")
        w.say(DSP, "/kb 压缩机")
        w.say(DSP, "/kb " + "冷" * 201)
        w.say(CUST, "/kb 制冷")
        assert [m.text for m in await w.expect(DSP, 3)] == [
            "可按型号、故障类型或关键词搜索以往维修案例，例如：/kb X200 屏幕闪烁",
            "没有找到与“压缩机”相关的维修案例。请减少或更换关键词，或只输入型号。",
            "搜索内容请不要超过 200 个字。"]
        assert [m.text for m in await w.expect(CUST)] == ["您的角色不能执行此操作。"]
        no_secrets(w, DSP)


async def accept(w: World, dispatcher: int, engineer: int, engineer_name: str, number: str) -> Message:
    """Dispatch through the picker and accept on the card; returns the engineer's new card."""
    w.say(dispatcher, f"/dispatch {number}")
    [picker] = await w.expect(dispatcher)
    assert picker.buttons, picker.text
    w.press(dispatcher, picker, next(label for label in picker.buttons if label.startswith(engineer_name)))
    await w.expect(dispatcher)
    [card] = await w.expect(engineer)
    w.press(engineer, card, card.buttons[0])  # Accept / 接单
    [new_card] = await w.expect(engineer)
    await w.expect(dispatcher)  # "… accepted …"
    return new_card


async def test_accept_shows_up_to_three_similar_fixes_of_the_same_model(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei")
        await w.join(ENG2, Role.ENGINEER, "Zhao Min", lang="zh-CN")
        oldest = await past_fix(w.app.db, findings="Power supply ripple", actions="Replaced PSU",
                                fault="Reboots", resolved=T0 - timedelta(days=40))
        flicker = await past_fix(w.app.db, findings="LVDS cable loose", actions="Reseated the cable",
                                 customer="Harbour Foods", contact="Mrs Zhou", address="8 Dock Road",
                                 resolved=T0 - timedelta(days=30))
        fan = await past_fix(w.app.db, findings="Fan noise", actions="Cleaned the fan", fault="Noisy",
                             resolved=T0 - timedelta(days=20))
        newest = await past_fix(w.app.db, findings="Dust on the board", actions="Cleaned it", fault="Hot",
                                resolved=T0 - timedelta(days=1))
        await past_fix(w.app.db, model="Y300", findings="Display cable loose", actions="Reseated")
        await past_fix(w.app.db, findings="Still open", actions="", status=TicketStatus.ACCEPTED)
        ticket = await new_ticket(w)  # X200, "Display flickers"

        card = await accept(w, SUP, ENG, "Li Lei", ticket.number)
        assert card.text.startswith(f"{ticket.number} · X200 · 1 Harbour Rd\nStatus: accepted")
        [tips] = await w.expect(ENG)
        # The flickering display first (shared words), then the newest of the rest; never the Y300.
        assert tips.text == (
            f"Past fixes on X200 that may help with {ticket.number}:\n\n"
            f"{flicker.number} · X200 · 2026-01-31\nFault: Display flickers\nFindings: LVDS cable loose\n"
            "Work done: Reseated the cable\n\n"
            f"{newest.number} · X200 · 2026-03-01\nFault: Hot\nFindings: Dust on the board\nWork done: Cleaned it\n\n"
            f"{fan.number} · X200 · 2026-02-10\nFault: Noisy\nFindings: Fan noise\nWork done: Cleaned the fan")
        assert oldest.number not in tips.text and tips.buttons == []
        assert await w.quiet(ENG) == []
        no_secrets(w, ENG)

        # In the engineer's own language.
        second = await new_ticket(w, address="2 Pier St")
        await accept(w, SUP, ENG2, "Zhao Min", second.number)
        [tips] = await w.expect(ENG2)
        assert tips.text.startswith(f"X200 的以往维修案例，可供处理 {second.number} 时参考：\n\n"
                                    f"{flicker.number} · X200 · 2026-01-31\n故障现象：Display flickers\n"
                                    "检查结果：LVDS cable loose\n处理措施：Reseated the cable\n\n")
        assert tips.text.count(" · X200 · ") == 3

        # A model nobody fixed before: the accept brings the card and nothing else.
        fresh = await new_ticket(w, model="Q1", address="3 Quay St")
        card = await accept(w, SUP, ENG, "Li Lei", fresh.number)
        assert card.text.startswith(f"{fresh.number} · Q1 · 3 Quay St\nStatus: accepted")
        assert await w.quiet(ENG) == []
