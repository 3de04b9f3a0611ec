"""``/ticket NUMBER sla`` and the ticket page's **SLA details** button: each clock explained in
chat, in the reader's language, only for those who may see the ticket."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from models.enums import Action, Role, ServiceType
from models.registry import Registration, register_ticket
from models.transitions import apply_action
from tests.support.cast import pid
from tests.support.tickets import team_by_name
from tests.support.world import World, world

SUP, ENG, OTHER_ENG = 300, 301, 302


async def clocked_ticket(w: World) -> str:
    """Severity 2 registered Monday 2 March 10:30 (respond 1 h of working time), accepted at once."""
    async with w.app.db.write() as s:
        team = await team_by_name(s, "North", create=True)
        reg = Registration(customer="Acme Ltd", phone="+8613800000001", address="1 Harbour Rd", model="X200",
                           fault="Display flickers", severity=2, service=ServiceType.ONSITE, team_id=team.id)
        row = await register_ticket(s, reg, now=w.clock.now(), today=date(2026, 3, 2),
                                    warranty=w.app.config.bot.warranty, clocks=w.app.sla)
        engineer = await pid(w, ENG)
        apply_action(s, row, Action.DISPATCH, now=w.clock.now(), assignee_id=engineer, clocks=w.app.sla)
        apply_action(s, row, Action.ACCEPT, now=w.clock.now(), actor_id=engineer, clocks=w.app.sla)
        return row.number


async def test_ticket_sla_explains_each_clock_and_the_button_opens_it(tmp_path: Path, channel: str) -> None:
    async with world(tmp_path, channel) as w:
        await w.join(SUP, Role.SUPERVISOR, "Wang Wei")
        await w.join(ENG, Role.ENGINEER, "Li Lei", lang="zh-CN")
        await w.join(OTHER_ENG, Role.ENGINEER, "Zhao Gang", team="South")
        number = await clocked_ticket(w)

        w.say(SUP, f"/ticket {number} sla")
        [explained] = await w.expect(SUP)
        lines = explained.text.splitlines()
        assert lines[0] == f"{number}: how each time limit was counted"
        at = lines.index("response: 1 h of working time, from registration 2026-03-02 10:30")
        assert lines[at + 1:at + 3] == [
            "  counted 2026-03-02 10:30–11:30: 1 h",
            "  = 1 h counted → due 2026-03-02 11:30, met 2026-03-02 10:30 (1 h early)",
        ]
        assert any(line.startswith("resolution: ") for line in lines)

        w.say(SUP, f"/ticket {number}")
        [page] = await w.expect(SUP)
        assert "SLA details" in page.buttons
        w.press(SUP, page, "SLA details")
        [again] = await w.expect(SUP)
        assert again.text == explained.text

        w.say(ENG, f"/ticket {number} sla")  # the assignee, in Chinese
        [zh] = await w.expect(ENG)
        assert zh.text.splitlines()[0] == f"{number}：各项时限的计算明细"
        assert "  计入 2026-03-02 10:30–11:30：1 小时" in zh.text.splitlines()

        w.say(OTHER_ENG, f"/ticket {number} sla")  # another team's engineer sees nothing of it
        [refused] = await w.expect(OTHER_ENG)
        assert refused.text == f"No ticket {number}."  # as if it did not exist
