"""The notice pages on a manager's phone (360×740), in Chromium against the live server: add a
group robot, pick a template (the select reloads the page by itself), fill it for a unit, see only
that audience's part of the form, publish with an image, read the delivery log, send now to the
local robot, switch the robot off by its HTMX row, open the A4 poster with its QR code. No page
scrolls sideways, logs a console error or violates the Content Security Policy."""

import struct
import zlib

import pytest

from tongxin.core.tests.browser import wait_until
from tongxin.supplies.tests import browser_helpers
from tongxin.voice.models import Delivery, Endpoint, Notice
from tongxin.voice.tests.robot_server import RobotServer

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

chromium = browser_helpers.chromium
phones = browser_helpers.phones


def _png_1x1() -> bytes:
    """A real one-pixel PNG, so the browser decodes it and the page's <img> gets a width."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


PNG = _png_1x1()


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_a_manager_sets_up_a_robot_publishes_and_prints(world, phones, settings, tmp_path):
    settings.TONGXIN_WEBHOOK_ALLOW_LOCAL = True
    settings.TONGXIN_WEBHOOK_TIMEOUT_SECONDS = 2
    compound = world.compound_a.pk
    with RobotServer() as robot:
        phone = phones("manager")
        page = phone.open(f"/voice/endpoints/?compound={compound}")
        page.locator("input[name=kind][value=wecom]").check()
        page.fill("input[name=name]", "二号楼群")
        page.fill("input[name=url]", robot.url())
        with page.expect_navigation():
            page.locator(".endpoint-form button[type=submit]").tap()
        assert "已添加群机器人：二号楼群" in page.locator(".messages").inner_text()
        assert f"http://127.0.0.1:{robot.port}/…c123" in page.locator(".endpoint-list").inner_text()
        phone.assert_fits()

        # The template: choosing it reloads the page with its fields, no button needed.
        page = phone.open(f"/voice/notices/new/?compound={compound}")
        assert page.locator("#template-form button.js-hidden").is_hidden()
        with page.expect_navigation():
            page.select_option("select[name=template]", "testing_unit")
        page.fill("#template-form input[name=building]", "2")
        page.fill("#template-form input[name=unit]", "1")
        page.fill("#template-form input[name=start]", "08:00")
        page.fill("#template-form input[name=end]", "09:00")
        with page.expect_navigation():
            page.locator("#template-form button[name=fill]").tap()
        assert page.input_value("input[name=title]") == "2号楼1单元核酸检测通知"
        assert page.locator("input[name=audience][value=units]").is_checked()
        assert page.locator(".audience-part[data-audience=units]").is_visible()
        assert page.locator(".audience-part[data-audience=buildings]").is_hidden()
        assert page.locator(".audience-part[data-audience=list]").is_hidden()
        page.locator("input[name=audience][value=list]").check()
        assert page.locator(".audience-part[data-audience=list]").is_visible()
        assert page.locator(".audience-part[data-audience=units]").is_hidden()
        page.locator("input[name=audience][value=units]").check()
        page.locator("input[name=channels][value=wecom]").check()
        image = tmp_path / "通知.png"
        image.write_bytes(PNG)
        page.set_input_files("input[name=image]", str(image))
        phone.assert_fits()
        with page.expect_navigation():
            page.locator(".notice-form button[type=submit]").tap()
        notice = Notice.objects.get()
        assert page.url.endswith(f"/voice/notices/{notice.pk}/?compound={compound}")
        assert "通知已发布：2号楼1单元核酸检测通知" in page.locator(".messages").inner_text()
        assert page.locator(".audience-size").inner_text() == "1户"
        wait_until(page, "() => document.querySelector('img.notice-image').complete")
        assert page.locator("img.notice-image").evaluate("(img) => img.naturalWidth") == 1
        phone.assert_fits()

        with page.expect_navigation():
            page.locator(".send-now button").tap()
        assert "已发送1条" in page.locator(".messages").inner_text()
        assert Delivery.objects.get(notice=notice, channel="wecom").status == "sent"
        assert robot.received[0]["json"]["markdown"]["content"].startswith("### 2号楼1单元核酸检测通知")

        listing = phone.open(f"/voice/notices/?compound={compound}")
        assert "企业微信·二号楼群 已发送" in listing.locator(f"#notice-{notice.pk}").inner_text()

        # The poster: A4, the portal's QR drawn by the page's own SVG.
        page = phone.page
        answer = page.goto(f"/voice/notices/{notice.pk}/poster/")
        assert answer.status == 200
        assert page.evaluate("document.documentElement.scrollWidth") <= 362  # the sheet scrolls, not the page
        assert page.locator(".poster-qr svg.qr").count() == 1
        assert page.locator(".poster-url").inner_text().endswith("/portal/")

        # Switch the robot off: its row is swapped in place.
        page = phone.open(f"/voice/endpoints/?compound={compound}")
        endpoint = Endpoint.objects.get()
        page.locator(f"#endpoint-{endpoint.pk} button[value='0']").tap()
        page.locator(f"#endpoint-{endpoint.pk}.inactive").wait_for()
        assert page.url.endswith(f"/voice/endpoints/?compound={compound}")
        endpoint.refresh_from_db()
        assert not endpoint.active
