"""A staff invite as WeCom's OAuth link (PROTOCOL.md §7(b)), where ``wecom.oauth_url`` is set: the
real bot and the real WeCom emulator over HTTP.  The member opens the link in WeCom, WeCom
redirects to the bot's landing page with a single-use code, the bot redeems it for the userid and
binds that member exactly as if they had sent ``/start TOKEN`` to the app — answering in the app
chat; the page only says where to look.  Reloads, used and expired invites, non-members, bad codes
and WeCom failing; the config's checks; the invite code keeps working as text."""

from __future__ import annotations

import html
from pathlib import Path
from urllib.parse import quote, urlsplit

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import channel_traits
from bot.channels.wecom.oauth import state_of
from bot.config import ConfigError, parse_config
from bot.stage_wecom import WecomStage, text_of
from bot.wecom_emulator import WeComEmulator
from handlers.i18n import t
from models.enums import Channel, Role
from models.people import ChannelIdentity, Invite
from models.runtime import InboundEvent
from tests.support.cli import cli_runner

OAUTH = "https://fieldbot.example.com/wecom/oauth"
ENG = "lilei"
AES = "k" * 43
WECOM = (f'[wecom]\nenabled = true\ncorp_id = "wwcorp"\nagent_id = 1000002\nsecret = "s"\ntoken = "t"\n'
         f'aes_key = "{AES}"\n')


def authorize(corp: str, agent: int, token: str) -> str:
    return ("https://open.weixin.qq.com/connect/oauth2/authorize?appid=" + corp
            + "&redirect_uri=" + quote(OAUTH, safe="") + "&response_type=code&scope=snsapi_base&state="
            + token.encode().hex() + f"&agentid={agent}#wechat_redirect")


async def count(s: WecomStage, model: type) -> int:
    async with s.app.db.read() as db:
        return await db.scalar(select(func.count()).select_from(model))


async def landing(s: WecomStage, **query: str) -> tuple[int, str, str]:
    """GET the landing page directly (as a browser with a doctored or stale URL would)."""
    async with aiohttp.ClientSession() as http, http.get(f"http://127.0.0.1:{s.port}/wecom/oauth",
                                                          params=query) as resp:
        return resp.status, resp.headers["Content-Type"], await resp.text()


def says(page: str, lang: str, key: str) -> bool:
    return html.escape(t(lang, f"wecom.oauth.{key}")) in page


# -- the link ----------------------------------------------------------------------------------
def test_the_join_link_is_the_oauth_link_when_configured_and_the_code_as_text_when_not() -> None:
    plain = channel_traits(parse_config('[bot]\nlanguage = "en"\n' + WECOM, environ={}))[Channel.WECOM]
    assert not plain.link_is_url and plain.join_link("tok_-1") == "In WeCom, open the Fieldbot app and send: /start tok_-1"
    assert plain.join_text is None

    cfg = parse_config('[bot]\nlanguage = "zh-CN"\n' + WECOM + f'oauth_url = "{OAUTH}"\n', environ={})
    traits = channel_traits(cfg)[Channel.WECOM]
    link = traits.join_link("tok_-1")
    assert traits.link_is_url and link == authorize("wwcorp", 1000002, "tok_-1")
    assert urlsplit(link).query.split("&state=")[1].split("&")[0].isalnum()  # d91022: a-zA-Z0-9 only
    assert traits.join_text("tok_-1") == f"请在企业微信中打开此链接：{link} ——或打开 Fieldbot 应用，发送：/start tok_-1"
    assert not traits.serves_customers


def test_fieldbot_invite_prints_the_link_and_the_code(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = cli_runner(f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}", tmp_path, capsys, WECOM + f'oauth_url = "{OAUTH}"\n')
    code, out, _ = run("invite", "--role", "engineer", "--name", "Li Lei")
    assert code == 0
    line = out.splitlines()[-1]
    token = line.rsplit("/start ", 1)[1]
    assert line == f"In WeCom, open this link: {authorize('wwcorp', 1000002, token)} — or open the Fieldbot app and send: /start {token}"


# -- binding -----------------------------------------------------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_opening_the_link_binds_the_member_and_a_reload_does_nothing_twice(
        tmp_path: Path, db_url: str, language: str) -> None:
    async with WecomStage(tmp_path, db_url=db_url, language=language, oauth_url=OAUTH) as s:
        token = await s.invite(Role.ENGINEER, "Li Lei")
        link = s.app.join_link(token)  # the staff invite's link: the OAuth URL (no Telegram here)
        assert link == authorize(s.emu.world.corp_id, s.emu.world.agent_id, token)
        page = await s.emu.open_oauth_link(link, userid=ENG)
        assert page["status"] == 200 and page["content_type"] == "text/html; charset=utf-8"
        assert page["redirect"].startswith(f"{OAUTH}?code=") and page["redirect"].endswith(f"&state={state_of(token)}")
        assert f'<html lang="{language}">' in page["text"] and says(page["text"], language, "done")
        assert "<script" not in page["text"] and "http" not in page["text"].split("<body>")[1]  # nothing external
        welcome, help_text = await s.expect(ENG, 2)  # answered in the app chat, as for /start TOKEN
        assert text_of(welcome) == ("欢迎，Li Lei！您已作为工程师加入（North）。" if language == "zh-CN"
                                    else "Welcome, Li Lei! You joined as engineer (North).")
        assert "/help" in text_of(help_text)
        async with s.app.db.read() as db:
            [identity] = (await db.scalars(select(ChannelIdentity))).all()
            invite = await db.scalar(select(Invite))
        assert (identity.channel, identity.external_user_id, identity.chat_id) == (Channel.WECOM, ENG, ENG)
        assert invite.used_by_id == identity.person_id

        # The page reloaded (same code): "done" again; WeCom not asked again, nothing stored twice.
        rows, asked = await count(s, InboundEvent), len(s.emu.api_calls("auth/getuserinfo"))
        code = page["code"]
        status, _, again = await landing(s, code=code, state=state_of(token))
        assert status == 200 and says(again, language, "done")
        await s.settle()
        assert await count(s, InboundEvent) == rows and len(s.emu.api_calls("auth/getuserinfo")) == asked
        assert await s.quiet(ENG) == [] and await count(s, ChannelIdentity) == 1

        # Now a member, they use the app as anyone who joined by the code.
        await s.say(ENG, "/help")
        assert "/help" in text_of((await s.expect(ENG))[0])
        assert s.emu.violations == [] and s.emu.dropped == []


async def test_a_used_or_expired_invite_is_answered_in_the_chat(tmp_path: Path) -> None:
    async with WecomStage(tmp_path, oauth_url=OAUTH) as s:
        token = await s.invite(Role.ENGINEER, "Li Lei")
        await s.say("zhaomin", f"/start {token}")  # the code as text still works…
        await s.expect("zhaomin", 2)
        page = await s.emu.open_oauth_link(s.app.join_link(token), userid=ENG)  # …and uses the invite up
        assert page["status"] == 200
        [reply] = await s.expect(ENG)
        assert text_of(reply) == "This link has already been used. Ask your supervisor for a new one."

        late = await s.invite(Role.ENGINEER, "Qian")
        s.emu.advance_clock(2 * 86400)  # the stage's invites last a day (the bot's clock follows)
        await s.emu.open_oauth_link(s.app.join_link(late), userid="qian")
        [reply] = await s.expect("qian")
        assert text_of(reply) == "This link has expired. Ask your supervisor for a new one."
        async with s.app.db.read() as db:
            assert (await db.scalars(select(ChannelIdentity.external_user_id))).all() == ["zhaomin"]


async def test_link_gives_both_ways_to_join_on_wecom(tmp_path: Path) -> None:
    async with WecomStage(tmp_path, oauth_url=OAUTH) as s:
        await s.join("wangwei", Role.SUPERVISOR, "Wang Wei")
        await s.say("wangwei", "/link")
        [reply] = await s.expect("wangwei")
        token = text_of(reply).rsplit("/start ", 1)[1]
        assert f"In WeCom, open this link: {authorize(s.emu.world.corp_id, s.emu.world.agent_id, token)}" in text_of(reply)


# -- refusals: a page with a 4xx/5xx status, nothing stored ------------------------------------
@pytest.mark.parametrize("language", ["en", "zh-CN"])
async def test_refusals_store_nothing(tmp_path: Path, language: str) -> None:
    async with WecomStage(tmp_path, language=language, oauth_url=OAUTH) as s:
        token = await s.invite(Role.ENGINEER, "Li Lei")
        state, rows = state_of(token), await count(s, InboundEvent)

        stranger = await s.emu.open_oauth_link(s.app.join_link(token), external_userid="wmStranger")
        assert stranger["status"] == 403 and says(stranger["text"], language, "not_member")

        for query in ({}, {"state": state}, {"code": s.emu.oauth_code(userid=ENG)}, {"code": "x" * 600, "state": state},
                      {"code": s.emu.oauth_code(userid=ENG), "state": "not-hex"}):
            status, kind, text = await landing(s, **query)
            assert (status, kind) == (400, "text/html; charset=utf-8") and says(text, language, "incomplete"), query

        status, _, text = await landing(s, code="never-issued", state=state)  # WeCom: 40029
        assert status == 400 and says(text, language, "refused")
        code = s.emu.oauth_code(userid=ENG)
        s.emu.advance_clock(301)  # a code lives 5 minutes
        status, _, text = await landing(s, code=code, state=state)
        assert status == 400 and says(text, language, "refused")

        s.emu.fail_next(errcode=-1, path="auth/getuserinfo")  # WeCom busy
        status, _, text = await landing(s, code=s.emu.oauth_code(userid=ENG), state=state)
        assert status == 502 and says(text, language, "unavailable")

        # Whatever the request carries is never put back into the page.
        evil = "<script>alert(1)</script>"
        status, _, text = await landing(s, code=evil, state=state_of(evil))
        assert status == 400 and "<script" not in text and "alert" not in text

        await s.settle()
        assert await count(s, InboundEvent) == rows and await count(s, ChannelIdentity) == 0
        assert s.messages(ENG) == [] and s.messages("wmStranger") == []
        # The invite is still there for the member it was meant for.
        assert (await s.emu.open_oauth_link(s.app.join_link(token), userid=ENG))["status"] == 200
        assert len(await s.expect(ENG, 2)) == 2


# -- the config ---------------------------------------------------------------------------------
def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text, environ={})
    return info.value.problems


def test_oauth_url_is_checked() -> None:
    def bad(url: str) -> str:
        [problem] = problems(f'[wecom]\noauth_url = "{url}"\n')
        assert problem.startswith(f'wecom.oauth_url: "{url}": ')
        return problem

    assert "https://" in bad("http://fieldbot.example.com/wecom/oauth")
    assert "host" in bad("https:///wecom/oauth")
    assert "path" in bad("https://fieldbot.example.com")
    assert "query" in bad("https://fieldbot.example.com/wecom/oauth?x=1")
    assert "fragment" in bad("https://fieldbot.example.com/wecom/oauth#top")
    assert parse_config(f'[wecom]\noauth_url = "{OAUTH}"\n', environ={}).wecom.oauth_url == OAUTH
    assert parse_config('[wecom]\noauth_url = ""\n', environ={}).wecom.oauth_url == ""
    [clash] = problems(WECOM + 'callback_url = "https://fieldbot.example.com/wecom/cb"\n'
                               'oauth_url = "https://fieldbot.example.com/wecom/cb"\n')
    assert clash == "wecom: wecom.oauth_url needs a path of its own, not callback_url's"


# -- the emulator: what WeCom's browser refuses -------------------------------------------------
async def test_the_emulator_follows_only_a_well_formed_link_to_the_trusted_domain() -> None:
    async with WeComEmulator() as emu:
        corp, agent = emu.world.corp_id, emu.world.agent_id
        good = authorize(corp, agent, "tok")
        with pytest.raises(ValueError, match="trusted domain"):
            await emu.open_oauth_link(good, userid=ENG)  # no 可信域名 set
        emu.set_trusted_domain("other.example.com", upstream="http://127.0.0.1:9")
        with pytest.raises(ValueError, match="trusted domain"):
            await emu.open_oauth_link(good, userid=ENG)
        for broken, why in ((good.replace("open.weixin.qq.com", "evil.example.com"), "OAuth link"),
                            (good.replace(corp, "wwother"), "appid"),
                            (good.replace("#wechat_redirect", ""), "wechat_redirect"),
                            (good.replace("snsapi_base", "snsapi_userinfo"), "scope"),
                            (good.replace(f"agentid={agent}", "agentid=1"), "agentid"),
                            (good.replace("state=", "state=" + "a" * 130), "128")):
            with pytest.raises(ValueError, match=why):
                await emu.open_oauth_link(broken, userid=ENG)
        with pytest.raises(ValueError, match="domain"):
            emu.set_trusted_domain("https://fieldbot.example.com/")
        assert emu.counters.get("oauth_redirects") is None
