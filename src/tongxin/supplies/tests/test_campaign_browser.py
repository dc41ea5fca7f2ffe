"""The door list in a real browser at phone size: a volunteer taps 无人 then 已送达 (HTMX swaps the
row, no navigation), and two volunteers on the same door from two phones: one wins, the other's
row says who marked it. Console errors (CSP violations included) fail the test."""

import os
from pathlib import Path

import pytest

from tongxin.core.tests.browser import CHROMIUM, CHROMIUM_ARGS
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.models import CampaignVisit
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import VOLUNTEER

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread

PHONE = {"viewport": {"width": 360, "height": 780}, "is_mobile": True, "has_touch": True, "locale": "zh-CN"}

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True, scope="module")
def _chromium_is_installed():
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def phone(browser, live_server, username):
    page = browser.new_context(**PHONE).new_page()
    page.console_errors = []
    page.on("console", lambda m: m.type == "error" and page.console_errors.append(m.text))
    page.on("pageerror", lambda error: page.console_errors.append(str(error)))
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw-for-tests-only")
    page.tap("button[type=submit]")
    page.wait_for_load_state()
    return page


def test_volunteers_mark_doors_on_their_phones(live_server, world, browser):
    cw = campaign_world(world)
    campaign = plan(cw)
    other = make_user(VOLUNTEER, username="volunteer2", compound=cw.compound_a)
    doors = f"{live_server.url}/supplies/campaigns/{campaign.pk}/doors/?unit={cw.a1u1.pk}"
    first, second = phone(browser, live_server, "volunteer"), phone(browser, live_server, other.username)

    first.goto(doors)
    assert first.locator("li.door").count() == 3
    assert first.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row = CampaignVisit.objects.get(campaign=campaign, household=cw.home_a1)
    door = f"#door-{row.pk}"
    first.locator(door).locator("button", has_text="无人").tap()
    first.wait_for_selector(f"{door}.outcome-nobody_home")
    assert first.url == doors, "the tap is an HTMX swap, not a navigation"

    # the second phone loads the list now: the door is still to come back to
    second.goto(doors)
    first.locator(door).locator("button", has_text="已送达").tap()
    first.wait_for_selector(f"{door}.outcome-delivered")
    assert first.locator(door).locator("button").count() == 0

    second.locator(door).locator("button", has_text="拒收").tap()
    second.wait_for_selector(f"{door} [role=alert]")
    alert = second.locator(f"{door} [role=alert]").inner_text()
    assert "volunteer" in alert and "已送达" in alert
    assert "已送达" in second.locator(f"{door} .tag").inner_text()  # the row now shows the truth

    row.refresh_from_db()
    assert (row.outcome, row.attempts, row.visited_by.username) == ("delivered", 2, "volunteer")
    assert first.console_errors == [] and second.console_errors == []
