"""The compound map in a real browser at phone size: login, map, tap a unit (HTMX), switch the measure.

Drives Debian's Chromium through Playwright; no browser is ever downloaded. CSP violations and
script errors show up as console errors, which fail the test.
"""

import datetime
import os
from pathlib import Path

import pytest

from tongxin.accounts.models import Role
from tongxin.registry import actions
from tongxin.registry.tests.factories import id_number, make_resident

# Playwright's sync API runs an event loop in this thread; the ORM calls of fixtures stay synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}
NAMES = "王秀兰 李建国 张伟 刘芳 陈静 杨洋 赵敏 黄强 周丽 吴军 徐磊 孙燕".split()

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]


@pytest.fixture(autouse=True, scope="module")
def _chromium_is_installed():
    """`make test` installs Debian's chromium; a missing browser is a failure, not a skip."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"


def fill_compound(world) -> None:
    """Compound A as a small real one: five buildings of two to four units, mixed ages and tags."""
    buildings = [world.a1, world.a2] + [
        actions.building_ensure(compound=world.compound_a, number=str(n)) for n in (3, 4, 5)
    ]
    count = 0
    for b_index, building in enumerate(buildings):
        for unit_number in range(1, 2 + (b_index % 3) + 1):
            unit = actions.unit_ensure(building=building, number=str(unit_number))
            for floor in range(1, 4):
                home = actions.household_ensure(unit=unit, room=f"{floor}0{unit_number + 1}")
                for person in range((count % 3) + 1):
                    count += 1
                    elderly = (count + b_index) % 3 == 0
                    birth = (
                        datetime.date(1945 + count % 12, 1 + count % 12, 3)
                        if elderly
                        else datetime.date(1985 + count % 20, 2, 14)
                    )
                    make_resident(
                        home,
                        name=NAMES[count % len(NAMES)],
                        document_number=id_number(birth),
                        relation="head" if person == 0 else "spouse",
                        lives_alone=elderly and person == 0 and count % 4 == 0,
                        veteran=count % 11 == 0,
                    )
                    if count % 5:
                        actions.resident_set_presence(
                            actor=None, resident=home.residents.last(), presence="living"
                        )


@pytest.fixture
def phone_page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**PHONE)
        page = context.new_page()
        page.console_errors = []
        page.on(
            "console", lambda message: message.type == "error" and page.console_errors.append(message.text)
        )
        page.on("pageerror", lambda error: page.console_errors.append(str(error)))
        page.on("response", lambda r: r.status >= 400 and page.console_errors.append(f"{r.status} {r.url}"))
        yield page
        context.close()
        browser.close()


def screenshot_dir(tmp_path) -> Path:
    directory = Path(os.environ.get("TONGXIN_SCREENSHOTS", tmp_path))
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def no_horizontal_overflow(page) -> bool:
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_manager_uses_the_compound_map_on_a_phone(live_server, world, phone_page, tmp_path):
    fill_compound(world)
    page = phone_page
    shots = screenshot_dir(tmp_path)

    page.goto(f"{live_server.url}/accounts/login/")
    assert page.locator("h1").inner_text() == "登录同心"
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "login-phone.png"), full_page=True)
    page.fill("input[name=username]", world.users[Role.COMPOUND_MANAGER].username)
    page.fill("input[name=password]", "pw-for-tests-only")
    page.tap("button[type=submit]")

    page.wait_for_selector(".map .cell")
    assert page.locator("h1").inner_text() == "甲小区"
    assert page.locator(".building").count() == 5
    assert no_horizontal_overflow(page)

    page.locator(".cell").first.tap()
    page.wait_for_selector("#households .household")
    assert page.url.endswith(f"/compounds/{world.compound_a.pk}/"), (
        "the tap is an HTMX swap, not a navigation"
    )
    assert page.locator("#households .tag.elderly").count() >= 1
    assert "1号楼1单元" in page.locator("#households h2").inner_text()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "compound-households-phone.png"), full_page=True)

    page.locator(".measures a", has_text="老年人占比").tap()
    page.wait_for_url("**measure=elderly")
    assert page.locator(".chip.current").inner_text() == "老年人占比"
    assert page.locator(".legend strong").inner_text() == "老年人占比"
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "compound-phone.png"), full_page=True)

    page.goto(f"{live_server.url}/households/{world.home_a1.pk}/")
    assert page.locator(".person").count() == 2
    assert no_horizontal_overflow(page)
    page.goto(f"{live_server.url}/residents/{world.elder.pk}/")
    page.select_option("select[name=field]", "phone")
    page.fill("input[name=reason]", "电话随访")
    page.locator("#reveal button[type=submit]").tap()
    page.wait_for_selector("#reveal .revealed")
    assert "13812345678" in page.locator("#reveal .revealed").inner_text()
    assert no_horizontal_overflow(page)
    page.screenshot(path=str(shots / "resident-phone.png"), full_page=True)

    assert page.console_errors == []
