"""The hotline log in a real browser on a phone (390×844): the manager logs a call that also
becomes a request of a room, reads it back with the number masked, then writes and clears its
follow-up in place (HTMX row swap); the page fits the phone, with no console error, script error or
CSP violation. The app server, the world (丁香苑小区) and the phones are those of
test_browser_voice."""

import pytest

from tongxin.voice.tests.test_browser_voice import chromium, phones, server, world_db

pytestmark = [pytest.mark.browser]
__all__ = ["chromium", "phones", "server", "world_db"]


def test_a_call_is_logged_as_a_request_and_its_follow_up_done_in_place(server, phones):
    team = phones()
    team.staff_login("manager")
    page = team.open(f"/voice/hotline/?compound={server.world['compound']}")
    assert page.locator("h1").inner_text().startswith("热线记录")
    assert page.locator(".call-list .call-item").count() == 0
    page.fill("input[name=caller]", "王阿姨")
    page.fill("input[name=phone]", "139-1234-0002")
    page.fill("textarea[name=asked]", "家里老人的降压药快吃完了，能帮忙买吗")
    page.fill("textarea[name=answered]", "已记下，今天下午联系药店")
    page.fill("input[name=follow_up]", "下午回电告知")
    page.check("input[name=make_request]")
    page.fill("input[name=room]", "2-1-201")
    team.tap_and_wait(page.get_by_role("button", name="记录", exact=True))
    assert page.locator(".messages").inner_text() == "已记录来电，并登记为诉求"
    row = page.locator(".call-list .call-item").first
    assert "139****0002" in row.inner_text() and "13912340002" not in page.content()
    assert row.locator(".flag").inner_text() == "待跟进"
    assert row.locator("dd.said").first.inner_text() == "家里老人的降压药快吃完了，能帮忙买吗"
    assert server.query("SELECT channel, household_id FROM voice_request WHERE text LIKE '家里老人%'") == [
        ("hotline", server.world["households"]["2-1-201"])
    ]

    row.locator("input[name=follow_up]").fill("药店下午送到，已回电")
    with page.expect_response(lambda r: "/follow-up/" in r.url):
        row.get_by_role("button", name="保存跟进").tap()
    row = page.locator(".call-list .call-item").first
    assert row.locator(".done").inner_text() == "已保存跟进"
    with page.expect_response(lambda r: "/follow-up/" in r.url):
        row.get_by_role("button", name="跟进完成").tap()
    row = page.locator(".call-list .call-item").first
    assert row.locator(".done").inner_text() == "已跟进完成"
    assert row.locator(".flag").count() == 0
    team.assert_fits()
    assert server.query("SELECT follow_up FROM voice_hotlinecall") == [("",)]
