"""/supplies/mine/ on a resident's phone (360×740) in Chromium: their household's parcels with
each one's state (waiting for disinfection, holding until HH:MM, ready, delivered, refused), never
a neighbour's, and how the household gets them: at the door in a sealed home, at the building's
pick-up slot in a controlled one. No sideways scroll, console error or CSP violation."""

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.parcels import parcel_deliver, parcel_refuse
from tongxin.supplies.tests import browser_helpers
from tongxin.supplies.tests.parcel_helpers import _media, held, intake, raise_area, shanghai

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["_media", "shanghai"]

chromium = browser_helpers.chromium
phones = browser_helpers.phones


def states(page) -> dict[str, str]:
    """Tracking number -> the state the resident reads, for every parcel on the page."""
    rows = page.locator("li.parcel-item").all()
    return {
        row.locator(".parcel-main span").first.inner_text().split()[-1]: row.locator(
            ".state-label"
        ).inner_text()
        for row in rows
    }


def test_a_sealed_household_sees_its_parcels_brought_to_the_door(world, phones, shanghai):
    volunteer = world.users[Role.VOLUNTEER]
    raise_area(world, "household", "sealed", household=world.home_a1)
    intake(world, tracking_number="SF-RECEIVED")
    holding = held(world, minutes_ago=30)
    ready = held(world, minutes_ago=130)
    delivered = held(world, minutes_ago=140)
    refused = held(world, minutes_ago=150)
    for parcel, number in (
        (holding, "SF-HOLDING"),
        (ready, "SF-READY"),
        (delivered, "SF-DONE"),
        (refused, "SF-NO"),
    ):
        parcel.tracking_number = number
        parcel.save(update_fields=["tracking_number"])
    parcel_deliver(actor=volunteer, parcel=delivered)
    parcel_refuse(actor=volunteer, parcel=refused, reason="不是我的")
    intake(world, world.home_a2, tracking_number="SF-NEIGHBOUR")

    resident = phones("resident")
    page = resident.open("/")
    with page.expect_navigation():
        page.locator(".topbar nav").get_by_role("link", name="快递与物资").tap()
    assert page.url == f"{resident.base_url}/supplies/mine/"
    resident.assert_fits()
    head = page.locator("section.mine-parcels")
    assert head.locator(".mono").inner_text() == "1-1-101"
    assert "封控区" in head.inner_text()
    assert head.locator(".how").inner_text() == "送货上门：封控中，志愿者送货上门"
    assert states(page) == {
        "SF-RECEIVED": "已登记，待消杀",
        "SF-HOLDING": f"已消杀，静置至{timezone.localtime(holding.ready_at):%H:%M}",
        "SF-READY": "已可配送",
        "SF-DONE": "已送达",
        "SF-NO": "拒收",
    }
    assert "不是我的" in page.locator("li.parcel-item.state-refused").inner_text()
    assert "SF-NEIGHBOUR" not in page.content()

    with page.expect_navigation():
        page.get_by_role("link", name="我的代购与求助").tap()
    assert page.url == f"{resident.base_url}/supplies/mine/requests/"
    resident.assert_clean()


def test_a_controlled_building_is_told_its_pick_up_slot(world, phones, shanghai):
    raise_area(world, "building", "controlled", building=world.a2)
    intake(world, world.home_a2, tracking_number="YT-NEIGHBOUR")
    intake(world, tracking_number="YT-A1")
    make_user(Role.RESIDENT, username="neighbour", household=world.home_a2)

    neighbour = phones("neighbour")
    page = neighbour.open("/supplies/mine/")
    head = page.locator("section.mine-parcels")
    assert head.locator(".mono").inner_text() == "2-1-201"
    # the compound's second building: the second half-hour from 09:00
    assert head.locator(".how").inner_text() == "定时取件：请于09:30–10:00到门口取件"
    assert states(page) == {"YT-NEIGHBOUR": "已登记，待消杀"}
    neighbour.assert_clean()
