"""The transmission graph and the follow-up list in a real browser: ECharts draws a canvas, the
quick check-in swaps its row, and nothing breaks the CSP (no console errors)."""

import os
from pathlib import Path

import pytest

from tongxin.accounts.models import Role
from tongxin.outbreak import actions
from tongxin.outbreak.tests.case_helpers import a_case, a_contact, days_ago
from tongxin.registry.tests.factories import make_resident

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

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_the_transmission_graph_renders_a_canvas(live_server, world, tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    first = a_case(world, confirmed=5)
    contacts = [a_contact(world, first)] + [
        a_contact(world, first, resident=make_resident(world.home_a1, name=f"密接{n}")) for n in range(4)
    ]
    actions.contact_became_case(
        actor=None, contact=contacts[1], confirmed_on=days_ago(1), source="single_test"
    )
    isolation = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(0),
        resident=world.child,
    )
    manager = world.users[Role.COMPOUND_MANAGER]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**PHONE)
        page = context.new_page()
        errors = []
        page.on("console", lambda message: message.type == "error" and errors.append(message.text))
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.on("response", lambda r: r.status >= 400 and errors.append(f"{r.status} {r.url}"))
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", manager.username)
        page.fill("input[name=password]", "pw-for-tests-only")
        page.click("button[type=submit]")
        page.wait_for_load_state()
        page.goto(f"{live_server.url}/outbreak/compounds/{world.compound_a.pk}/graph/")
        page.wait_for_selector("#graph canvas")
        page.wait_for_selector("#graph[data-drawn='7']")
        size = page.evaluate(
            "(() => { const c = document.querySelector('#graph canvas'); return [c.width, c.height]; })()"
        )
        assert size[0] > 200 and size[1] > 200
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        shots = Path(os.environ.get("TONGXIN_SCREENSHOTS", tmp_path))
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / "graph-phone.png"))

        # The follow-up list's quick check-in is an HTMX swap of the row, under the same CSP.
        page.goto(f"{live_server.url}/outbreak/compounds/{world.compound_a.pk}/follow-up/")
        row = page.locator(f"#followup-{isolation.pk}")
        assert "待打卡" in row.inner_text()
        row.locator("input[name=temperature]").fill("36.6")
        row.locator("button", has_text="打卡").click()
        page.wait_for_selector(f"#followup-{isolation.pk} .tag.done")
        assert "今日已打卡" in page.locator(f"#followup-{isolation.pk}").inner_text()
        page.locator(f"#followup-{isolation.pk} button", has_text="已采样").click()
        page.wait_for_selector(f"#followup-{isolation.pk} .tag.done:has-text('今日已采样')")
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        page.screenshot(path=str(shots / "followup-phone.png"), full_page=True)
        context.close()
        browser.close()
    assert errors == []
