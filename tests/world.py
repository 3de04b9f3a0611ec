"""The end-to-end test world: :class:`bot.stage.Stage` (emulator + real bot + real database) that
also fails the test if the bot sent any request that does not match the Bot API spec.

    async with World(tmp_path) as w:
        sup = await w.join(100, Role.SUPERVISOR, "Wang")
        w.say(100, "/help")
        [reply] = await w.expect(100)

The bot runs on aiogram unless told otherwise: ``World(tmp_path, runtime="ptb")`` runs the same
world on python-telegram-bot.  To run a test on every runtime, parametrise over
:data:`RUNTIMES`:

    @pytest.mark.parametrize("runtime", RUNTIMES)
    async def test_...(tmp_path, runtime):
        async with World(tmp_path, runtime=runtime) as w:
"""

from __future__ import annotations

from bot.stage import RUNTIMES, TOKEN, Stage, button_data, button_labels, png

__all__ = ["RUNTIMES", "TOKEN", "World", "button_data", "button_labels", "png"]


class World(Stage):
    async def __aexit__(self, *exc: object) -> None:
        await super().__aexit__(*exc)
        problems = self.emu.spec_mismatches()
        assert problems == [], f"requests that do not match the Bot API spec: {problems}"
