"""A request on a phone (360×740) in Chromium: the manager logs a call for a room (the room's
residents and the suggested category appear as they type, by HTMX), acknowledges it on the queue
(the row is swapped, no navigation), answers and closes it on its page; the overview counts it.
No sideways scroll, console error or Content Security Policy violation on any page."""

import pytest

from tongxin.supplies.tests import browser_helpers
from tongxin.voice.models import Request, State

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

chromium = browser_helpers.chromium
phones = browser_helpers.phones


def test_a_call_logged_acknowledged_answered_and_closed_on_a_phone(world, phones):
    a = world.compound_a.pk
    phone = phones("manager")
    page = phone.open(f"/voice/requests/new/?compound={a}")
    page.locator("input[name=where]").fill("1-1-101")
    page.locator("#voice-residents option", has_text="王秀兰").wait_for(state="attached")
    page.locator("select[name=channel]").select_option("hotline")
    page.locator("textarea[name=text]").fill("老人发烧，家里没有退烧药")
    page.locator("#voice-category-hint", has_text="按内容建议：就医").wait_for()
    page.locator("select[name=resident]").select_option(label="王秀兰")
    phone.assert_fits()
    with page.expect_navigation():
        page.locator("form.voice-new button[type=submit]").tap()
    assert "诉求已登记" in page.locator(".messages").inner_text()
    phone.assert_fits()
    made = Request.objects.get()
    assert (made.household, made.resident, made.channel, made.category, made.urgent) == (
        world.home_a1,
        world.elder,
        "hotline",
        "medical",
        True,
    )

    page = phone.open(f"/voice/requests/?compound={a}")
    row = page.locator(f"#request-{made.pk}")
    assert "紧急" in row.inner_text()
    url = page.url
    row.locator("button", has_text="确认接单").tap()
    page.locator(f"#request-{made.pk} .row-done", has_text="已确认").wait_for()
    assert page.url == url
    assert Request.objects.get().state == State.ACKNOWLEDGED
    phone.assert_fits()

    page = phone.open(f"/voice/requests/{made.pk}/")
    page.locator("textarea[name=text]").fill("已联系社区医生，半小时内送药上门")
    with page.expect_navigation():
        page.locator("button", has_text="答复").last.tap()
    assert "已答复" in page.locator(".messages").inner_text()
    with page.expect_navigation():
        page.locator("button", has_text="办结").tap()
    assert "已办结" in page.locator(".messages").inner_text()
    phone.assert_fits()
    assert Request.objects.get().state == State.CLOSED

    page = phone.open(f"/voice/?compound={a}")
    assert "解决问题" in page.locator(".voice-overview").inner_text()
