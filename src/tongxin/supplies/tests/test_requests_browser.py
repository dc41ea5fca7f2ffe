"""A resident's request on two phones (360×740) in Chromium: the resident taps the medicine button,
names the medicine and sends it, and sees it as 新提交; a grid worker accepts it and marks it
delivered on the queue (HTMX swaps the row, no navigation); the resident's page then says 已送达.
Checked in the pages and in the database; no sideways scroll, console error or CSP violation."""

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.supplies.models import RequestKind, RequestState, SupplyRequest
from tongxin.supplies.tests import browser_helpers

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

chromium = browser_helpers.chromium
phones = browser_helpers.phones

# A finger's target (Apple's 44 pt, WCAG 2.5.5): the resident's buttons must be at least this tall.
FINGER = 44
MEDICINE = "硝苯地平缓释片 两盒"


def height(locator) -> float:
    return locator.bounding_box()["height"]


def test_a_resident_asks_for_medicine_and_a_worker_delivers_it(world, phones):
    grid_worker = world.users[Role.GRID_WORKER]
    resident = phones("resident")
    page = resident.open("/supplies/mine/requests/")
    assert page.locator(".requests li").inner_text() == "还没有提交过需求。"

    medicine = page.locator("label.ask-kind", has_text="药品")
    assert page.locator("label.ask-kind").count() == 7
    assert min(height(kind) for kind in page.locator("label.ask-kind").all()) >= FINGER
    medicine.tap()
    assert medicine.locator("input[type=radio]").is_checked()
    page.locator("textarea[name=detail]").fill(MEDICINE)
    send = page.locator("form.ask button[type=submit]")
    assert height(send) >= FINGER
    with page.expect_navigation():
        send.tap()
    assert "已提交，社区工作人员会尽快处理" in page.locator(".messages").inner_text()
    resident.assert_fits()
    asked = SupplyRequest.objects.get()
    assert (asked.household, asked.kind, asked.detail, asked.state) == (
        world.home_a1,
        RequestKind.MEDICINE,
        MEDICINE,
        RequestState.NEW,
    )
    assert asked.urgent, "medicine for a home with an elder is urgent"
    card = page.locator("li.request")
    assert card.count() == 1
    assert card.locator(".tag").inner_text() == "药品"
    assert card.locator(".request-state").inner_text() == "新提交"
    assert card.locator(".request-detail").inner_text() == MEDICINE

    worker = phones("grid")
    queue_url = f"/supplies/requests/?compound={world.compound_a.pk}"
    queue = worker.open(queue_url)
    row = f"#request-{asked.pk}"
    assert queue.locator(f"{row} .tag.urgent").inner_text() == "优先"
    assert queue.locator(f"{row} .request-state").inner_text() == "新提交"
    queue.locator(row).get_by_role("button", name="受理").tap()
    queue.wait_for_selector(f"{row}.state-accepted")
    assert queue.locator(f"{row} .row-done").inner_text() == "已受理"
    asked.refresh_from_db()
    assert (asked.state, asked.assignee) == (RequestState.ACCEPTED, grid_worker)

    queue.locator(row).get_by_role("button", name="已送达").tap()
    queue.wait_for_selector(f"{row}.state-delivered")
    assert queue.locator(f"{row} .row-done").inner_text() == "已送达"
    assert queue.locator(f"{row} .request-state").inner_text() == "已送达"
    assert queue.locator(f"{row} button").count() == 0
    assert queue.url == f"{worker.base_url}{queue_url}", "the taps are HTMX swaps, not navigations"
    worker.assert_fits()
    asked.refresh_from_db()
    assert (asked.state, asked.delivered_by) == (RequestState.DELIVERED, grid_worker)
    assert asked.delivered_at >= asked.accepted_at

    page = resident.open("/supplies/mine/requests/")
    card = page.locator("li.request")
    assert card.count() == 1
    assert "state-delivered" in card.get_attribute("class")
    assert card.locator(".request-state").inner_text() == "已送达"
    delivered = timezone.localtime(asked.delivered_at).strftime("%m-%d %H:%M")
    assert f"{delivered} 已送达" in card.locator(".muted").inner_text()
    resident.assert_clean()
    worker.assert_clean()
