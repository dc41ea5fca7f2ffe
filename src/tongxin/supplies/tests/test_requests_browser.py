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


def test_two_workers_on_one_request_the_second_is_told_in_the_row(world, phones):
    """Both load the queue; the manager accepts the request; the grid worker, a moment later,
    taps 受理 on his stale row: it must tell him and show who has it now, not stay silent with its
    button."""
    manager = world.users[Role.COMPOUND_MANAGER]
    from tongxin.supplies.tests.helpers import stock_world
    from tongxin.supplies.tests.request_helpers import ask

    asked = ask(stock_world(world), kind="water", actor=manager)
    queue_url = f"/supplies/requests/?compound={world.compound_a.pk}"
    first, second = phones("manager"), phones("grid")
    first.open(queue_url)
    second.open(queue_url)
    row = f"#request-{asked.pk}"

    first.page.locator(row).get_by_role("button", name="受理").tap()
    first.page.wait_for_selector(f"{row}.state-accepted")

    second.expect_refusal(400)
    second.page.locator(row).get_by_role("button", name="受理").tap()
    second.page.wait_for_selector(f"{row} [role=alert]")
    alert = second.page.locator(f"{row} [role=alert]").inner_text()
    assert alert == "该需求当前为“已受理”，不能受理"
    assert f"负责人：{manager}" in second.page.locator(row).inner_text()
    assert "state-accepted" in second.page.locator(row).get_attribute("class")
    assert second.page.locator(row).get_by_role("button", name="受理").count() == 0
    assert second.page.url == f"{second.base_url}{queue_url}"
    asked.refresh_from_db()
    assert (asked.state, asked.assignee) == (RequestState.ACCEPTED, manager)
    second.assert_fits()
    first.assert_clean()
    second.assert_clean()
