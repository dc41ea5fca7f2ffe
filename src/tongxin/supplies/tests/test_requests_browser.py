"""A resident's request on two phones (360×740) in Chromium: the resident taps the medicine button,
names the medicine and sends it, and sees it as 新提交; a grid worker accepts it and marks it
delivered on the queue (HTMX swaps the row, no navigation); the resident's page then says 已送达.
Checked in the pages and in the database; no sideways scroll, console error or CSP violation."""

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.supplies.models import RequestKind, RequestState, SupplyRequest
from tongxin.supplies.tests import browser_helpers
from tongxin.supplies.tests.helpers import stock_world
from tongxin.supplies.tests.request_helpers import ask, balance, request_world

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
    assert alert.startswith(f"该需求当前为“已受理”，不能受理（{manager.username}于")
    assert f"负责人：{manager}" in second.page.locator(row).inner_text()
    assert "state-accepted" in second.page.locator(row).get_attribute("class")
    assert second.page.locator(row).get_by_role("button", name="受理").count() == 0
    assert second.page.url == f"{second.base_url}{queue_url}"
    asked.refresh_from_db()
    assert (asked.state, asked.assignee) == (RequestState.ACCEPTED, manager)
    second.assert_fits()
    first.assert_clean()
    second.assert_clean()


def test_medicine_without_its_name_is_sent_back_with_nothing_written(world, phones):
    resident = phones("resident")
    page = resident.open("/supplies/mine/requests/")
    page.locator("label.ask-kind", has_text="药品").tap()
    resident.expect_refusal(400)
    with page.expect_navigation() as navigation:
        page.locator("form.ask button[type=submit]").tap()
    assert navigation.value.status == 400
    assert page.locator("form.ask .errorlist").inner_text() == "请注明需要哪种药品"
    assert page.locator("label.ask-kind", has_text="药品").locator("input").is_checked(), "the choice is kept"
    assert not SupplyRequest.objects.exists()
    resident.assert_fits()
    resident.assert_clean()


def test_water_is_delivered_from_the_store_chosen_in_the_row(world, phones):
    """A resident asks for 2 buckets of water; the manager picks the empty store first and is told
    in the row that it is short (nothing taken), then the store that has it: delivered, its stock
    down by 2."""
    w = request_world(world)
    resident = phones("resident")
    page = resident.open("/supplies/mine/requests/")
    page.locator("label.ask-kind", has_text="饮用水").tap()
    page.locator("input[name=quantity]").fill("2")
    with page.expect_navigation():
        page.locator("form.ask button[type=submit]").tap()
    asked = SupplyRequest.objects.get()
    line = asked.lines.get()
    assert (asked.kind, line.item, line.quantity, line.unit) == (RequestKind.WATER, w.water, 2, "bucket")

    manager = phones("manager")
    queue = manager.open(f"/supplies/requests/?compound={world.compound_a.pk}")
    row = f"#request-{asked.pk}"
    queue.locator(row).get_by_role("button", name="受理").tap()
    queue.wait_for_selector(f"{row}.state-accepted")
    store = queue.locator(f"{row} select[name=store]")
    store.select_option(label=w.depot.name)
    manager.expect_refusal(400)
    queue.locator(row).get_by_role("button", name="已送达").tap()
    queue.wait_for_selector(f"{row} [role=alert]")
    assert queue.locator(f"{row} [role=alert]").inner_text().startswith(f"库存不足：{w.depot.name}的桶装水")
    assert SupplyRequest.objects.get().state == RequestState.ACCEPTED
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (10, 0)

    queue.locator(f"{row} select[name=store]").select_option(label=w.store.name)
    queue.locator(row).get_by_role("button", name="已送达").tap()
    queue.wait_for_selector(f"{row}.state-delivered")
    assert queue.locator(f"{row} [role=alert]").count() == 0
    assert SupplyRequest.objects.get().state == RequestState.DELIVERED
    assert balance(w.water, w.store) == 8
    manager.assert_fits()
    resident.assert_clean()
    manager.assert_clean()
