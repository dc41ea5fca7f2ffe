"""The portal on a resident's phone (360×740) in Chromium: log in with the phone and the SMS
code, read the household's page in large type (base text at least 20px), show a pass QR, send a
request for the elderly mother, read it back; the team prints a household's link. No sideways
scroll, console error or Content Security Policy violation."""

import pytest

from tongxin.access.tests.gate_helpers import set_status
from tongxin.supplies.tests import browser_helpers
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Request
from tongxin.voice.tests.portal_helpers import issue_pass, manager, recording_sms, sent_code

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

chromium = browser_helpers.chromium
phones = browser_helpers.phones


@pytest.fixture
def sms(settings):
    return recording_sms(settings)


@pytest.fixture
def anonymous_phone(chromium, live_server):
    """A phone with nobody logged in, checked like the logged-in ones."""
    context = chromium.new_context(**browser_helpers.PHONE, base_url=live_server.url)
    context.set_default_timeout(10_000)
    errors: list[str] = []
    violations: list[str] = []
    context.expose_function("reportCspViolation", lambda text: violations.append(text))
    context.add_init_script(browser_helpers.CSP_LISTENER)
    page = context.new_page()
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    yield page
    context.close()
    assert errors == [] and violations == [], (errors, violations)


def fits(page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= browser_helpers.WIDTH + browser_helpers.WIDTH_TOLERANCE, f"{page.url}: {width}px wide"


def test_a_resident_logs_in_by_code_and_asks_for_his_mother(world, sms, anonymous_phone):
    notice_create(actor=manager(world), compound=world.compound_a, title="明日核酸", body="早上7点下楼")
    set_status(world.elder, holds=[])
    set_status(world.child, holds=[])
    issue_pass(world, world.elder)
    page = anonymous_phone
    page.goto("/portal/")
    assert "/portal/login/" in page.url
    fits(page)
    page.fill("input[name=phone]", "138 1234 5678")
    with page.expect_navigation():
        page.get_by_role("button", name="获取验证码").tap()
    assert "/portal/login/code/" in page.url
    page.fill("input[name=code]", sent_code(sms, "13812345678"))
    with page.expect_navigation():
        page.get_by_role("button", name="登录").tap()
    assert page.url.endswith("/portal/")
    fits(page)
    size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.portal')).fontSize)")
    assert size >= 20
    assert "明日核酸" in page.locator("#notices").inner_text()
    assert page.locator(".portal-color.color-green").count() == 2
    page.get_by_text("出示出入证二维码").tap()
    qr = page.locator(".portal-qr svg").first
    assert qr.is_visible() and qr.bounding_box()["width"] >= 250
    fits(page)

    with page.expect_navigation():
        page.get_by_role("link", name="我要反映问题").tap()
    fits(page)
    page.get_by_label("王秀兰（老人）").check()
    page.fill("textarea[name=text]", "妈妈的降压药快吃完了")
    with page.expect_navigation():
        page.get_by_role("button", name="提交").tap()
    created = Request.objects.get()
    assert page.url.endswith(f"/portal/requests/{created.pk}/")
    assert "妈妈的降压药快吃完了" in page.content()
    assert created.resident_id == world.elder.pk
    fits(page)


def test_the_team_prints_a_households_link(world, phones):
    issue_pass(world, world.elder)
    phone = phones("manager")
    page = phone.open(f"/portal/household/{world.home_a1.pk}/link/")
    assert page.locator(".portal-qr svg").is_visible()
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="打印").tap()
    assert page.evaluate("window.printed") is True
