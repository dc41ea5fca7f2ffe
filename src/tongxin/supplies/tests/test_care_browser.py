"""A grid worker's care visit on a phone (360×740) in Chromium: on /supplies/care/ 王秀兰 (elderly,
living alone) has never been visited; 记录探访 opens her form, the worker ticks what was brought,
writes a note and saves; back on the list her row shows the visit just made and the next one due
(the visit interval later), no longer overdue. Checked in the page and in the database; no
sideways scroll, console error or CSP violation."""

import datetime

import pytest
from django.conf import settings
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.supplies.models import CareVisit
from tongxin.supplies.tests import browser_helpers
from tongxin.supplies.tests.care_helpers import days_ago, visit

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

chromium = browser_helpers.chromium
phones = browser_helpers.phones

NOTES = "血压正常，药够吃一周"


def test_a_grid_worker_logs_a_care_visit(world, phones):
    grid_worker = world.users[Role.GRID_WORKER]
    grid = phones("grid")
    list_url = f"/supplies/care/?compound={world.compound_a.pk}"
    page = grid.open(list_url)
    row = page.locator("li.care-row", has_text="王秀兰")
    assert row.count() == 1
    assert "李建国" not in page.locator(".care-list").inner_text(), "building 2 is not the grid worker's"
    assert "care-late" in row.get_attribute("class")
    last, due = row.locator(".care-when dd").all()
    assert (last.inner_text(), due.inner_text()) == ("从未探访", "尽快探访")

    with page.expect_navigation():
        row.get_by_role("link", name="记录探访").tap()
    assert f"/supplies/care/residents/{world.elder.pk}/" in page.url and page.url.endswith("#log")
    grid.assert_fits()
    form = page.locator("form.care-form")
    for goods in ("药品", "牛奶"):
        form.locator("label.choice", has_text=goods).tap()
        assert form.locator("label.choice", has_text=goods).locator("input").is_checked()
    form.locator("textarea[name=notes]").fill(NOTES)
    with page.expect_navigation():
        form.get_by_role("button", name="保存探访记录").tap()

    today = timezone.localdate()
    next_due = today + datetime.timedelta(days=settings.TONGXIN_CARE_VISIT_DAYS)
    logged = CareVisit.objects.get()
    assert (logged.resident, logged.visited_by, logged.brought, logged.notes, logged.next_due) == (
        world.elder,
        grid_worker,
        "牛奶、药品",
        NOTES,
        next_due,
    )
    # (the browser keeps the form's #log through the redirect: the list has no such anchor)
    assert page.url.split("#")[0] == f"{grid.base_url}{list_url}", "saved, the worker is back on the list"
    assert "已记录对王秀兰的探访" in page.locator(".messages").inner_text()
    row = page.locator("li.care-row", has_text="王秀兰")
    assert "care-late" not in row.get_attribute("class")
    last, due = row.locator(".care-when dd").all()
    visited = timezone.localtime(logged.visited_at).strftime("%m-%d %H:%M")
    assert last.inner_text() == f"{visited} · {grid_worker} · 带去牛奶、药品"
    assert due.inner_text() == next_due.isoformat()
    grid.assert_fits()
    grid.assert_clean()


def test_a_visit_from_the_overdue_list_with_a_chosen_next_day_clears_it(world, phones):
    """王秀兰 was last visited ten days ago and is overdue: the worker logs today's visit from the
    overdue list with the next visit in three days (the phone's date picker); back on that list,
    nobody is overdue any more."""
    manager = world.users[Role.COMPOUND_MANAGER]
    visit(world.elder, by=manager, day=days_ago(10), next_due=days_ago(3), brought="大米")
    grid = phones("grid")
    overdue_url = f"/supplies/care/overdue/?compound={world.compound_a.pk}"
    page = grid.open(overdue_url)
    row = page.locator("li.care-row", has_text="王秀兰")
    assert row.locator(".care-due").inner_text() == "已逾期"
    with page.expect_navigation():
        row.get_by_role("link", name="记录探访").tap()
    chosen = timezone.localdate() + datetime.timedelta(days=3)
    form = page.locator("form.care-form")
    assert form.locator("input[name=next_due]").get_attribute("type") == "date"
    form.locator("input[name=next_due]").fill(chosen.isoformat())
    form.locator("label.choice", has_text="蔬菜").tap()
    with page.expect_navigation():
        form.get_by_role("button", name="保存探访记录").tap()

    latest = CareVisit.objects.order_by("-visited_at").first()
    assert CareVisit.objects.count() == 2
    assert (latest.visited_by, latest.brought, latest.next_due) == (
        world.users[Role.GRID_WORKER],
        "蔬菜",
        chosen,
    )
    assert page.url.split("#")[0] == f"{grid.base_url}{overdue_url}"
    assert page.locator(".care-list li").inner_text() == "没有逾期未探访的居民。"
    grid.assert_fits()
    grid.assert_clean()
