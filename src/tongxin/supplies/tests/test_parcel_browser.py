"""The gate's parcels on a volunteer's phone (360×740), in Chromium against the live server: log a
parcel by room and one by phone, an unknown room refused in Chinese with nothing written, tick and
disinfect, the round page with what is still holding, and the deliver button swapping a ready
parcel's row (HTMX, no navigation). Each step is checked in the page and in the database; no page
scrolls sideways, logs a console error or violates the Content Security Policy."""

import datetime
import re

import pytest
from django.conf import settings
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_resident, make_user
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.tests import browser_helpers
from tongxin.supplies.tests.parcel_helpers import _media, held

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
__all__ = ["_media"]

chromium = browser_helpers.chromium
phones = browser_helpers.phones


def log_parcel(phone, lookup: str, *, courier: str, tracking: str, status: int = 200):
    """Fill the intake form and tap 登记: the answer must come with `status`."""
    page = phone.page
    if status != 200:
        phone.expect_refusal(status)
    form = page.locator("section.parcel-intake form").first
    form.locator("input[name=lookup]").fill(lookup)
    form.locator("input[name=courier]").fill(courier)
    form.locator("input[name=tracking_number]").fill(tracking)
    with page.expect_navigation() as navigation:
        form.locator("button[type=submit]").tap()
    assert navigation.value.status == status, (lookup, navigation.value.status)


def test_a_volunteer_logs_disinfects_and_delivers_parcels(world, phones):
    volunteer = world.users[Role.VOLUNTEER]
    gate = phones("volunteer")
    list_url = f"/supplies/parcels/?compound={world.compound_a.pk}"
    page = gate.open(list_url)

    # by room, then by the phone of 李建国 (2-1-201)
    log_parcel(gate, "1-1-101", courier="顺丰", tracking="SF1001")
    assert "已登记：1-1-101 1件" in page.locator(".messages").inner_text()
    log_parcel(gate, "13900001111", courier="中通", tracking="ZT2002")
    gate.assert_fits()
    by_room = Parcel.objects.get(tracking_number="SF1001")
    by_phone = Parcel.objects.get(tracking_number="ZT2002")
    assert (by_room.household, by_room.state, by_room.received_by) == (
        world.home_a1,
        ParcelState.RECEIVED,
        volunteer,
    )
    assert (by_phone.household, by_phone.courier, by_phone.pieces) == (world.home_a2, "中通", 1)
    for parcel, room in ((by_room, "1-1-101"), (by_phone, "2-1-201")):
        row = page.locator(f"#parcel-{parcel.pk}")
        assert row.locator(".room").inner_text() == room
        assert row.locator(".state-label").inner_text() == "已登记"
    assert page.locator('.count[data-state="received"]').inner_text() == "2"

    # a room that does not exist: told in Chinese, nothing written
    log_parcel(gate, "9-9-909", courier="圆通", tracking="YT3003", status=400)
    assert page.locator(".parcel-intake .errorlist").inner_text() == "找不到该房号"
    assert Parcel.objects.count() == 2
    assert not Parcel.objects.filter(tracking_number="YT3003").exists()
    gate.assert_fits()

    # tick the first and disinfect it: held for the hold time
    page = gate.open(list_url)
    page.locator(f"#parcel-{by_room.pk} input[name=parcel]").tap()
    assert page.locator(f"#parcel-{by_room.pk} input[name=parcel]").is_checked()
    assert not page.locator(f"#parcel-{by_phone.pk} input[name=parcel]").is_checked()
    with page.expect_navigation():
        page.get_by_role("button", name="消杀所选").tap()
    by_room.refresh_from_db()
    by_phone.refresh_from_db()
    hold = datetime.timedelta(minutes=settings.TONGXIN_PARCEL_HOLD_MINUTES)
    assert (by_room.state, by_room.disinfected_by) == (ParcelState.DISINFECTED, volunteer)
    assert by_room.ready_at - by_room.disinfected_at == hold
    assert by_phone.state == ParcelState.RECEIVED
    ready_at = timezone.localtime(by_room.ready_at).strftime("%H:%M")
    assert f"已消杀1件，{ready_at}后可配送" in page.locator(".messages").inner_text()
    holding_label = page.locator(f"#parcel-{by_room.pk} .state-label").inner_text()
    assert re.fullmatch(r"静置中，还需(119|120)分钟", holding_label), holding_label
    assert page.locator(f"#parcel-{by_room.pk} input[name=parcel]").count() == 0
    gate.assert_fits()

    # one disinfected longer ago than the hold: ready on the round, delivered with one tap
    ready = held(world, world.home_a1, minutes_ago=settings.TONGXIN_PARCEL_HOLD_MINUTES + 10)
    round_url = f"/supplies/parcels/round/?compound={world.compound_a.pk}"
    page = gate.open(round_url)
    holding = page.locator(".holding-list li")
    assert holding.count() == 1
    assert re.fullmatch(
        rf"1-1-101 顺丰 · 还需(119|120)分钟（{ready_at}可配送）", " ".join(holding.inner_text().split())
    ), holding.inner_text()
    assert page.locator(".round-parcel").count() == 1
    row = page.locator(f"#parcel-{ready.pk}")
    assert row.locator(".round-actions").is_visible()
    assert page.locator(f"#parcel-{by_room.pk}").count() == 0, "a holding parcel is not on the round"
    row.locator("form[hx-post$='/deliver/'] button").tap()
    page.wait_for_selector(f"#parcel-{ready.pk}.state-delivered")
    row = page.locator(f"#parcel-{ready.pk}")
    assert page.url == f"{gate.base_url}{round_url}", "the tap is an HTMX swap, not a navigation"
    assert row.locator(".row-done").inner_text() == "已送达"
    assert row.locator("button").count() == 0
    assert row.locator(".state-label").inner_text().startswith(f"已送达 · {volunteer}")
    ready.refresh_from_db()
    assert (ready.state, ready.handed_by) == (ParcelState.DELIVERED, volunteer)
    assert ready.handed_at >= ready.ready_at
    gate.assert_fits()
    gate.assert_clean()


def test_two_volunteers_on_one_parcel_the_second_is_told_in_the_row(world, phones):
    """One refuses it at the door (reason typed in the row's 拒收), the other, whose page was
    loaded before, taps deliver: his row must say who refused it and show it refused, not stay
    silent with its buttons."""
    volunteer = world.users[Role.VOLUNTEER]
    make_user(Role.VOLUNTEER, username="volunteer2", compound=world.compound_a)
    parcel = held(world, world.home_a1, minutes_ago=settings.TONGXIN_PARCEL_HOLD_MINUTES + 5)
    round_url = f"/supplies/parcels/round/?compound={world.compound_a.pk}"
    first, second = phones("volunteer"), phones("volunteer2")
    first.open(round_url)
    second.open(round_url)
    row = f"#parcel-{parcel.pk}"

    first.page.locator(row).locator("summary", has_text="拒收").tap()
    first.page.locator(row).locator("input[name=reason]").fill("家中无人认领")
    first.page.locator(row).get_by_role("button", name="确认拒收").tap()
    first.page.wait_for_selector(f"{row}.state-refused")
    assert first.page.locator(f"{row} .row-done").inner_text() == "已拒收"
    parcel.refresh_from_db()
    assert (parcel.state, parcel.handed_by, parcel.refusal_reason) == (
        ParcelState.REFUSED,
        volunteer,
        "家中无人认领",
    )

    second.expect_refusal(400)
    second.page.locator(row).locator("form[hx-post$='/deliver/'] button").tap()
    second.page.wait_for_selector(f"{row} [role=alert]")
    alert = second.page.locator(f"{row} [role=alert]").inner_text()
    assert f"已由{volunteer}于" in alert and "“拒收”" in alert, alert
    assert "state-refused" in second.page.locator(row).get_attribute("class")
    assert second.page.locator(f"{row} button").count() == 0
    assert second.page.url == f"{second.base_url}{round_url}"
    parcel.refresh_from_db()
    assert (parcel.state, parcel.handed_by) == (ParcelState.REFUSED, volunteer)
    second.assert_fits()
    first.assert_clean()
    second.assert_clean()


def test_a_phone_of_two_households_asks_which_one(world, phones):
    """王秀兰's phone is also a relative's in 2-1-201: the page asks which home, the volunteer taps
    one and logs again, and the parcel is that home's."""
    make_resident(world.home_a2, name="亲属", phone="13812345678")
    gate = phones("volunteer")
    page = gate.open(f"/supplies/parcels/?compound={world.compound_a.pk}")
    log_parcel(gate, "13812345678", courier="京东", tracking="JD4004", status=400)
    choice = page.locator("fieldset.household-choice")
    assert choice.locator("legend").inner_text() == "该手机号对应多户，请选择一户"
    assert [label.inner_text().strip() for label in choice.locator("label").all()] == ["1-1-101", "2-1-201"]
    assert not Parcel.objects.exists()
    gate.assert_fits()
    choice.locator("label", has_text="2-1-201").tap()
    assert page.locator("input[name=lookup]").input_value() == "13812345678"
    with page.expect_navigation():
        page.locator("section.parcel-intake form").first.locator("button[type=submit]").tap()
    assert "已登记：2-1-201 1件" in page.locator(".messages").inner_text()
    parcel = Parcel.objects.get()
    assert (parcel.household, parcel.tracking_number, parcel.courier) == (world.home_a2, "JD4004", "京东")
    assert page.locator(f"#parcel-{parcel.pk} .room").inner_text() == "2-1-201"
    gate.assert_clean()
