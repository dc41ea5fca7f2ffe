"""Resident voice in a real browser, on phones (390×844, touch, Chinese, Shanghai time).

- A resident logs into the portal with his phone and the one-time code the SMS provider sent (the
  console provider: the code is read from the app server's log, as a demo operator would), sees
  his household's notices (not another building's), each member's status colour and pass QR, and
  sends a request for his elderly mother. Another household enters by the link printed with its pass.
- The compound manager finds that request in the queue, takes it (an HTMX row swap) and answers it
  on its page; the resident reads the answer in the portal.
- On the common questions page the manager groups the open requests and answers one group with
  one notice; the household whose request was in it reads the notice and the answer.

The app runs as its own process (gunicorn on its own SQLite file, `core.tests.browser.AppServer`),
set up once per module through `tongxin migrate` and `tongxin shell` (the actions, not the full
demo, which takes over a minute); each test starts a server on a fresh copy of that file. Every page
must fit the phone's width, and no page may log a console error, a script error or a Content
Security Policy violation.
"""

import json
import re
import sqlite3
import time
from pathlib import Path

import pytest

from tongxin.core.tests.browser import CHROMIUM, AppServer, wait_until
from tongxin.supplies.tests import browser_helpers

PHONE = {
    "viewport": {"width": 390, "height": 844},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
PASSWORD = browser_helpers.PASSWORD
SON_PHONE = "13912340001"
NEIGHBOUR_PHONE = "13912340002"
FITS = "document.documentElement.scrollWidth <= window.innerWidth"
FONT_PX = "(selector) => parseFloat(getComputedStyle(document.querySelector(selector)).fontSize)"

pytestmark = [pytest.mark.browser]


def build_world() -> None:
    """Run inside the app's own process (`tongxin shell`) on the module's database file: 丁香苑's
    households 1-1-101 (张伟 and his mother 王秀兰, 78, under health monitoring) and 2-1-201
    (李建国), their passes, a notice to the compound and one to building 2 only, the open requests
    of the WeChat groups, and the compound manager. Prints the ids the test needs as JSON."""
    import datetime

    from tongxin.access.actions.passes import pass_issue
    from tongxin.access.tests.gate_helpers import hold, set_status
    from tongxin.accounts.models import Role
    from tongxin.registry import actions
    from tongxin.registry.tests.factories import id_number, make_resident, make_user
    from tongxin.voice.actions.notices import notice_create
    from tongxin.voice.actions.portal import portal_link_token
    from tongxin.voice.actions.requests import request_create
    from tongxin.voice.models import Audience

    city = actions.area_ensure(level="city", code="150100", name="呼和浩特市")
    district = actions.area_ensure(level="district", code="150105", name="赛罕区", parent=city)
    street = actions.area_ensure(level="subdistrict", code="150105001", name="测试街道", parent=district)
    community = actions.area_ensure(level="community", code="150105001001", name="甲社区", parent=street)
    compound = actions.compound_ensure(code="DXY", name="丁香苑小区", community=community)
    manager = make_user(Role.COMPOUND_MANAGER, username="manager", compound=compound, full_name="刘主任")
    homes = {}
    for building_number, room in (("1", "101"), ("2", "201")):
        building = actions.building_ensure(compound=compound, number=building_number)
        unit = actions.unit_ensure(building=building, number="1")
        homes[building_number] = actions.household_ensure(unit=unit, room=room)
    son = make_resident(
        homes["1"],
        name="张伟",
        document_number=id_number(datetime.date(1982, 4, 9)),
        phone=SON_PHONE,
        relation="head",
    )
    mother = make_resident(
        homes["1"],
        name="王秀兰",
        document_number=id_number(datetime.date(1946, 8, 21), male=False),
        phone="",
        relation="parent",
    )
    neighbour = make_resident(
        homes["2"],
        name="李建国",
        document_number=id_number(datetime.date(1975, 1, 30)),
        phone=NEIGHBOUR_PHONE,
        relation="head",
    )
    set_status(son)
    set_status(mother, holds=[hold("yellow", "monitoring", days_ago=2, days_left=3)])
    set_status(neighbour)
    passes = {r.name: pass_issue(actor=manager, resident=r).number for r in (son, mother, neighbour)}
    notice_create(
        actor=manager,
        compound=compound,
        title="明早7点全员核酸",
        body="请各位居民明早7点起按单元到南门采样点做核酸，带好手机。",
    )
    notice_create(
        actor=manager,
        compound=compound,
        title="2号楼今晚消杀",
        body="2号楼今晚8点楼道消杀，请关好门窗。",
        audience=Audience.BUILDINGS,
        audience_ids=[homes["2"].building_id],
    )
    asked = [
        ("什么时候解封", homes["1"], ""),
        ("快递能进吗", None, "3号楼小李"),
        ("小区啥时候能解封啊", homes["2"], ""),
        ("快递可以送进小区吗", homes["2"], ""),
        ("请问几号解封？", None, "丁香苑老王"),
        ("快递能不能进来", None, "5号楼宝妈"),
    ]
    requests = {
        text: request_create(
            actor=manager, compound=compound, channel="group", text=text, household=home, asker=asker
        ).pk
        for text, home, asker in asked
    }
    print(
        json.dumps(
            {
                "compound": compound.pk,
                "households": {"1-1-101": homes["1"].pk, "2-1-201": homes["2"].pk},
                "residents": {r.name: r.pk for r in (son, mother, neighbour)},
                "passes": passes,
                "link": portal_link_token(homes["2"]),
                "requests": requests,
            },
            ensure_ascii=False,
        )
    )


@pytest.fixture(scope="module")
def world_db(tmp_path_factory):
    """The migrated database with the world in it, built once for the module: (file, ids)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    builder = AppServer(tmp_path_factory.mktemp("voice-world"), name="world")
    builder.run("migrate", "--noinput", "-v", "0")
    out = builder.shell("from tongxin.voice.tests.test_browser_voice import build_world; build_world()")
    return builder.db, json.loads(out.strip().splitlines()[-1])


@pytest.fixture
def server(world_db, tmp_path):
    """An app server of its own on a fresh copy of the module's world."""
    source, ids = world_db
    app = AppServer(tmp_path, name="voice")
    with sqlite3.connect(source) as original, sqlite3.connect(app.db) as copy:
        original.backup(copy)
    app.world = ids
    app.start()
    yield app
    app.stop()


chromium = browser_helpers.chromium  # one Debian Chromium per module


class Phone(browser_helpers.Phone):
    """One person's phone (390px wide): its own browser context (cookies); collects console errors,
    script errors and CSP violations, and checks each page it opens fits the screen's width."""

    def __init__(self, chromium, base_url: str):
        super().__init__(chromium, base_url, device=PHONE, timeout=15_000)

    def open(self, path: str, status: int = 200):
        if status != 200:
            self.refusals_expected.append(status)
        answer = self.page.goto(path)
        assert answer is not None and answer.status == status, (path, answer and answer.status)
        self.assert_fits()
        return self.page

    def tap_and_wait(self, locator) -> None:
        """Tap what submits a form or follows a link, and wait for the next page."""
        with self.page.expect_navigation():
            locator.tap()
        self.assert_fits()

    def assert_fits(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert self.page.evaluate(FITS), f"{self.page.url} scrolls sideways: {width}px wide"

    def staff_login(self, username: str) -> None:
        page = self.open("/accounts/login/")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", PASSWORD)
        self.tap_and_wait(page.locator("main button[type=submit]"))
        assert "/accounts/login/" not in page.url, f"{username} could not log in"

    def assert_clean(self) -> None:
        super().assert_clean()
        assert self.refusals_expected == [], f"refusals expected, never seen: {self.refusals_expected}"


@pytest.fixture
def phones(chromium, server):
    """`phones()` opens a phone on the test's server; at the end every phone opened must have seen
    no console error, script error or CSP violation."""
    opened: list[Phone] = []

    def open_phone() -> Phone:
        phone = Phone(chromium, server.url)
        opened.append(phone)
        return phone

    yield open_phone
    try:
        for phone in opened:
            phone.assert_clean()
    finally:
        for phone in opened:
            phone.context.close()


def code_from_log(server, masked: str, after: int) -> str:
    """The login code the console SMS provider wrote to the server's log for `masked` (the phone as
    it logs it), in the part of the log written after offset `after`."""
    pattern = re.compile(rf"SMS to {re.escape(masked)}: .*?验证码是(\d{{6}})")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = pattern.findall(server.log.read_text()[after:])
        if found:
            assert len(found) == 1, found
            return found[0]
        time.sleep(0.1)
    raise AssertionError(f"no code for {masked} in the log:\n{server.log.read_text()[-2000:]}")


def log_in_by_code(phone: Phone, server, number: str) -> None:
    """The portal's login: the phone number, then the code from the SMS (the server's log)."""
    page = phone.open("/portal/")
    assert page.url == f"{server.url}/portal/login/?next=/portal/"
    assert page.locator("h1").inner_text() == "居民登录"
    page.fill("input[name=phone]", number)
    before = len(server.log.read_text())
    phone.tap_and_wait(page.get_by_role("button", name="获取验证码"))
    assert page.url.startswith(f"{server.url}/portal/login/code/")
    masked = f"{number[:3]}****{number[-4:]}"
    assert f"验证码已发送到{masked}，5分钟内有效" in page.locator(".messages").inner_text()
    assert number not in page.content()
    page.fill("input[name=code]", code_from_log(server, masked, before))
    phone.tap_and_wait(page.get_by_role("button", name="登录"))
    assert page.url == f"{server.url}/portal/"


def log_in_by_link(phone: Phone, server):
    """The household's link: opening it only asks (a chat app's preview must not log in); the
    button does."""
    page = phone.open(f"/portal/link/{server.world['link']}/")
    assert page.locator("h1").inner_text() == "进入我的家"
    assert page.url.endswith("/portal/link/" + server.world["link"] + "/"), "no login on opening the link"
    phone.tap_and_wait(page.locator("main").get_by_role("button", name="进入我的家"))
    assert page.url == f"{server.url}/portal/"
    return page


def big_type(page) -> dict[str, float]:
    """The computed font sizes (px) of the text a resident reads: the portal's own text and its
    buttons (the shared top bar and footer of base.html keep the body's 16px)."""
    return {
        "portal": page.evaluate(FONT_PX, ".portal"),
        "button": page.evaluate(FONT_PX, ".portal-button"),
    }


def member(page, name: str):
    return page.locator("#members .portal-member", has=page.locator(".portal-name", has_text=name))


def test_a_resident_logs_in_by_code_and_sees_his_household_on_his_phone(server, phones):
    phone = phones()
    page = phone.page
    log_in_by_code(phone, server, SON_PHONE)
    phone.assert_fits()
    assert page.locator("h1").inner_text() == "我的家"
    assert page.locator(".portal-place").inner_text() == "丁香苑小区 · 1号楼1单元101室"
    sizes = big_type(page)
    assert min(sizes.values()) >= 20, sizes

    notices = page.locator("#notices .portal-list > li")
    assert notices.count() == 1
    assert notices.locator("strong").inner_text() == "明早7点全员核酸"
    assert "2号楼今晚消杀" not in page.content()

    son, mother = member(page, "张伟"), member(page, "王秀兰")
    assert page.locator("#members .portal-member").count() == 2
    assert son.locator(".portal-color").inner_text() == "绿码"
    assert "color-green" in son.locator(".portal-color").get_attribute("class")
    assert mother.locator(".portal-color").inner_text() == "黄码"
    assert "color-yellow" in mother.locator(".portal-color").get_attribute("class")
    assert mother.locator(".portal-tag").inner_text() == "老人"
    assert son.locator(".portal-tag").count() == 0
    background = mother.locator(".portal-color").evaluate("(e) => getComputedStyle(e).backgroundColor")
    assert background == "rgb(255, 212, 0)"

    qr = mother.locator(".portal-pass .portal-qr svg")
    assert not qr.is_visible()
    mother.locator(".portal-pass summary").tap()
    assert qr.is_visible()
    box = qr.bounding_box()
    assert box["width"] >= 200 and box["x"] >= 0 and box["x"] + box["width"] <= 390, box
    assert server.world["passes"]["王秀兰"] in mother.locator(".portal-pass").inner_text()
    phone.assert_fits()

    # The household's own requests only: 1-1-101's group message, not 2-1-201's.
    requests = page.locator("#requests .portal-list > li")
    assert requests.count() == 1
    assert requests.locator("a").inner_text() == "什么时候解封"
    assert "快递可以送进小区吗" not in page.content()


def test_a_household_enters_by_the_link_printed_with_its_pass(server, phones):
    team = phones()
    team.staff_login("manager")
    household = server.world["households"]["2-1-201"]
    page = team.open(f"/portal/household/{household}/link/")
    assert page.locator("h1").inner_text() == "丁香苑小区 2号楼1单元201室"
    assert page.locator(".portal-qr svg").is_visible()
    assert page.locator("[data-print]").is_visible()
    assert server.query("SELECT count(*) FROM core_auditlog WHERE action = 'reveal'") == [(1,)]

    phone = phones()
    page = phone.open("/portal/link/forged-token/", status=400)
    assert "登录链接无效或已过期，请联系社区重新获取" in page.locator(".portal-error").inner_text()
    page = log_in_by_link(phone, server)
    assert page.locator(".portal-place").inner_text() == "丁香苑小区 · 2号楼1单元201室"
    assert [n.inner_text() for n in page.locator("#notices .portal-list strong").all()] == [
        "2号楼今晚消杀",
        "明早7点全员核酸",
    ]
    assert page.locator("#members .portal-name").all_inner_texts() == ["李建国"]
    assert min(big_type(page).values()) >= 20
    phone.assert_fits()


def test_a_request_for_an_elderly_mother_is_answered_by_the_team(server, phones):
    resident = phones()
    page = resident.page
    log_in_by_code(resident, server, SON_PHONE)
    resident.tap_and_wait(page.get_by_role("link", name="我要反映问题"))
    assert page.url == f"{server.url}/portal/ask/"
    assert min(big_type(page).values()) >= 20
    assert page.locator("input[name=resident]:checked").get_attribute("value") == str(
        server.world["residents"]["张伟"]
    ), "the account's own resident is chosen first"
    page.get_by_label("王秀兰（老人）").check()
    page.select_option("select[name=category]", "medical")
    text = "我妈妈的降压药只剩两天的了，需要帮忙买一盒硝苯地平缓释片。"
    page.fill("textarea[name=text]", text)
    resident.tap_and_wait(page.get_by_role("button", name="提交"))
    assert re.fullmatch(rf"{server.url}/portal/requests/\d+/", page.url)
    request_id = int(page.url.rstrip("/").rsplit("/", 1)[1])
    assert "已提交，社区工作人员会尽快答复" in page.locator(".messages").inner_text()
    assert page.locator(".portal-state").inner_text() == "新诉求"
    assert "张伟为王秀兰代办" in page.locator("article").inner_text()
    assert page.locator(".portal-text").inner_text().strip() == text
    assert server.query(
        "SELECT channel, category, urgent, household_id, resident_id, asker FROM voice_request WHERE id = ?",
        (request_id,),
    ) == [
        (
            "portal",
            "medical",
            1,
            server.world["households"]["1-1-101"],
            server.world["residents"]["王秀兰"],
            "张伟",
        )
    ]

    team = phones()
    team.staff_login("manager")
    queue = team.open(f"/voice/requests/?compound={server.world['compound']}")
    row = queue.locator(f"#request-{request_id}")
    assert queue.locator(".voice-requests > li").first.get_attribute("id") == f"request-{request_id}", (
        "urgent first"
    )
    assert row.locator(".voice-text").inner_text() == text
    assert row.locator(".tag.urgent").inner_text() == "紧急"
    assert row.locator(".tag.channel").inner_text() == "居民端"
    assert row.locator(".voice-state").inner_text() == "新诉求"
    queue_url = queue.url
    row.get_by_role("button", name="确认接单").tap()
    wait_until(
        queue,
        "(id) => document.querySelector(`#request-${id} .voice-state`).textContent === '已确认'",
        request_id,
    )
    assert queue.url == queue_url, "taking the request is an HTMX swap, not a navigation"
    assert queue.locator(f"#request-{request_id} .row-done").inner_text() == "已确认"
    team.assert_fits()

    team.tap_and_wait(queue.locator(f"#request-{request_id}").get_by_role("link", name="答复"))
    assert queue.url == f"{server.url}/voice/requests/{request_id}/"
    detail = queue
    answer = "已为阿姨买到硝苯地平缓释片一盒，志愿者今天下午4点前送到家门口。"
    detail.fill("textarea[name=text]", answer)
    team.tap_and_wait(detail.locator("form[action$='/answer/'] button[type=submit]"))
    assert detail.locator(".voice-state").inner_text() == "已答复"
    assert detail.locator(".voice-answers li .voice-text").all_inner_texts() == [answer]
    assert "居民端" in detail.locator(".voice-answers li .muted").inner_text()

    resident.open(f"/portal/requests/{request_id}/")
    assert page.locator(".portal-state").inner_text() == "已答复"
    assert page.locator(".portal-list .portal-text").inner_text().strip() == answer
    home = resident.open("/portal/")
    asked = home.locator("#requests .portal-list > li", has_text="降压药")
    assert asked.locator(".portal-state").inner_text() == "已答复"
    assert "为王秀兰" in asked.locator(".portal-muted").inner_text()
    assert asked.locator(".portal-answer").inner_text() == f"答复：{answer}"


def test_a_common_question_is_answered_by_one_notice_that_reaches_the_household(server, phones):
    team = phones()
    team.staff_login("manager")
    page = team.open(f"/voice/groups/?compound={server.world['compound']}")
    assert page.locator(".groups-open .group-card").count() == 0
    team.tap_and_wait(page.get_by_role("button", name="找出共性问题"))
    groups = page.locator(".groups-open .group-card")
    assert sorted(groups.locator("h3").all_inner_texts()) == ["什么时候解封", "快递能进吗"]
    unsealing = groups.filter(has=page.locator("h3", has_text="什么时候解封"))
    assert sorted(unsealing.locator(".said").all_inner_texts()) == sorted(
        ["什么时候解封", "小区啥时候能解封啊", "请问几号解封？"]
    )
    team.assert_fits()

    dialogs: list[str] = []

    def accept(dialog) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.on("dialog", accept)
    unsealing.locator("summary", has_text="答复这个问题").tap()
    answer = "根据区防控指挥部通知，本小区封控至12月3日24时，如无新增阳性，12月4日起解封。"
    unsealing.locator("textarea[name=text]").fill(answer)
    assert unsealing.locator("input[name=channels][value=portal]").is_checked()
    team.tap_and_wait(unsealing.get_by_role("button", name="发布通知并答复"))
    assert dialogs == ["将发布一条通知，并作为这 3 条诉求的答复，确定吗？"]
    assert page.locator(".groups-open .group-card h3").all_inner_texts() == ["快递能进吗"]
    answered = page.locator(".groups-answered .group-card", has_text="什么时候解封")
    assert answered.locator("a").inner_text() == "答复：什么时候解封"
    team.assert_fits()

    unsealing_ids = [
        server.world["requests"][t] for t in ("什么时候解封", "小区啥时候能解封啊", "请问几号解封？")
    ]
    assert server.query("SELECT id, title FROM voice_notice WHERE title = '答复：什么时候解封'") == [
        (server.query("SELECT max(id) FROM voice_notice")[0][0], "答复：什么时候解封")
    ]
    rows = server.query(
        "SELECT request_id, notice_id IS NOT NULL, text FROM voice_answer ORDER BY request_id"
    )
    assert rows == [(pk, 1, answer) for pk in sorted(unsealing_ids)]

    phone = phones()
    home = log_in_by_link(phone, server)
    assert home.locator("#notices .portal-list strong").first.inner_text() == "答复：什么时候解封"
    asked = home.locator("#requests .portal-list > li", has_text="小区啥时候能解封啊")
    assert asked.locator(".portal-state").inner_text() == "已答复"
    assert asked.locator(".portal-answer").inner_text().startswith("答复：根据区防控指挥部通知")
    phone.tap_and_wait(home.get_by_role("link", name="答复：什么时候解封"))
    assert answer in home.locator(".portal").inner_text()
