"""What the supplies pages' browser tests share: one Chromium per test module, phones (360×740,
touch, Chinese, Shanghai time) logged in as someone on the session's live server, and the checks
every page must pass on them: no console error, no Content Security Policy violation, no
sideways scrolling.

A test module takes them as fixtures by naming them at module level:

    chromium = browser_helpers.chromium
    phones = browser_helpers.phones
"""

import os
import re
from pathlib import Path

import pytest

from tongxin.core.tests.browser import CHROMIUM, CHROMIUM_ARGS

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs in this thread

WIDTH = 360
PHONE = {
    "viewport": {"width": WIDTH, "height": 740},
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
}
PASSWORD = "pw-for-tests-only"
# Sub-pixel rounding only: a page that needs sideways scrolling overflows by far more.
WIDTH_TOLERANCE = 2
FAILED_LOAD = re.compile(r"Failed to load resource: the server responded with a status of (?P<status>\d+) .*")
# Playwright's init scripts run outside the page's CSP, so the listener itself is never blocked.
CSP_LISTENER = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.reportCspViolation(`${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile}:${e.lineNumber}`);
});
"""


@pytest.fixture(scope="module")
def chromium():
    """Debian's Chromium, launched once for the module (never a downloaded browser)."""
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is missing: apt-get install chromium chromium-driver"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Phone:
    """One person's phone: its own browser context (cookies), logged in as `username` when given;
    `device` and `timeout` for pages that test another screen or wait on a slower server."""

    def __init__(
        self, chromium, base_url: str, username: str | None = None, *, device=PHONE, timeout: int = 10_000
    ):
        self.base_url = base_url
        self.context = chromium.new_context(**device, base_url=base_url)
        self.context.set_default_timeout(timeout)
        self.console_errors: list[str] = []
        self.csp_violations: list[str] = []
        self.refusals_expected: list[int] = []
        self.context.expose_function("reportCspViolation", self._csp_violation)
        self.context.add_init_script(CSP_LISTENER)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(f"pageerror: {error}"))
        if username is None:
            return
        self.page.goto("/accounts/login/")
        self.page.fill("input[name=username]", username)
        self.page.fill("input[name=password]", PASSWORD)
        with self.page.expect_navigation():
            self.page.tap("button[type=submit]")
        assert "/accounts/login/" not in self.page.url, f"{username} could not log in"

    def _csp_violation(self, text: str) -> None:
        self.csp_violations.append(text)

    def _console(self, message) -> None:
        if message.type != "error":
            return
        refused = FAILED_LOAD.fullmatch(message.text)
        if refused and int(refused["status"]) in self.refusals_expected:
            self.refusals_expected.remove(int(refused["status"]))
            return
        self.console_errors.append(message.text)

    def expect_refusal(self, status: int) -> None:
        """The next answer is meant to be `status` (a form sent back with its errors): Chromium's
        console line about it is not an error of the page."""
        self.refusals_expected.append(status)

    def open(self, path: str):
        """Load a page: it must answer 200 and fit the phone's width."""
        answer = self.page.goto(path)
        assert answer is not None and answer.status == 200, (path, answer and answer.status)
        self.assert_fits()
        return self.page

    def assert_fits(self) -> None:
        width = self.page.evaluate("document.documentElement.scrollWidth")
        assert width <= WIDTH + WIDTH_TOLERANCE, f"{self.page.url} scrolls sideways: {width}px wide"

    def assert_clean(self) -> None:
        assert self.console_errors == [], self.console_errors
        assert self.csp_violations == [], self.csp_violations


@pytest.fixture
def phones(chromium, live_server):
    """`phones("volunteer")` opens a logged-in phone; at the end of the test every phone opened
    must have seen no console error and no CSP violation."""
    opened: list[Phone] = []

    def open_phone(username: str) -> Phone:
        phone = Phone(chromium, live_server.url, username)
        opened.append(phone)
        return phone

    yield open_phone
    try:
        for phone in opened:
            phone.assert_clean()
    finally:
        for phone in opened:
            phone.context.close()
