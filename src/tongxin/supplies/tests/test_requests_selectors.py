"""The queue's order and filters, its counts, the day's list by building and unit with the stock it
takes, a household's own requests, and the room look-up of the phone form."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tongxin.registry import actions as registry_actions
from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions import requests as actions
from tongxin.supplies.actions.stock import stock_in
from tongxin.supplies.models import Item
from tongxin.supplies.selectors import requests as selectors
from tongxin.supplies.tests.helpers import ADMIN, GRID, RESIDENT, VOLUNTEER, user
from tongxin.supplies.tests.request_helpers import ask, request_world

pytestmark = pytest.mark.django_db


@pytest.fixture
def w(world):
    return request_world(world)


def test_the_queue_lists_urgent_first_then_the_oldest_and_hides_closed_ones(w):
    old_water = ask(w, hours_ago=30)
    new_water = ask(w, household=w.home_a2, hours_ago=1)
    medicine = ask(w, kind="medicine", lines=[], detail="降压药", hours_ago=0.5)
    done = ask(w, hours_ago=40)
    actions.supply_request_cannot(actor=w.manager, request=done, reason="无货")
    queue = list(selectors.request_queue(w.manager, w.compound_a))
    assert [r.pk for r in queue] == [medicine.pk, old_water.pk, new_water.pk]
    assert [r.pk for r in selectors.request_queue(w.manager, w.compound_a, state="cannot")] == [done.pk]
    assert [r.pk for r in selectors.request_queue(w.manager, w.compound_a, kind="medicine")] == [medicine.pk]
    assert [r.pk for r in selectors.request_queue(w.manager, w.compound_a, building_id=w.a2.pk)] == [
        new_water.pk
    ]


def test_the_queue_is_scoped_to_what_the_user_sees(w):
    mine = ask(w)
    theirs = ask(w, household=w.home_a2)
    assert [r.pk for r in selectors.request_queue(user(w, GRID), w.compound_a)] == [mine.pk]
    assert {r.pk for r in selectors.request_queue(user(w, VOLUNTEER), w.compound_a)} == {mine.pk, theirs.pk}
    assert list(selectors.request_queue(user(w, RESIDENT), w.compound_a)) == []
    assert list(selectors.request_queue(w.manager, w.compound_b)) == []
    assert {r.pk for r in selectors.request_queue(user(w, ADMIN), w.compound_a)} == {mine.pk, theirs.pk}


def test_counts_of_open_urgent_and_late_requests(w):
    ask(w, hours_ago=30)  # late after a day
    ask(w, hours_ago=2)
    ask(w, kind="medicine", lines=[], detail="胰岛素", hours_ago=5)  # urgent, late after four hours
    accepted = ask(w, household=w.home_a2, hours_ago=1)
    actions.supply_request_accept(actor=w.manager, request=accepted)
    delivered = ask(w, hours_ago=50)
    actions.supply_request_accept(actor=w.manager, request=delivered)
    actions.supply_request_deliver(actor=w.manager, request=delivered, store=w.store)
    counts = selectors.request_counts(w.manager, w.compound_a)
    assert counts == {"open": 4, "new": 3, "accepted": 1, "bought": 0, "urgent": 1, "late": 2}


def test_the_days_list_groups_by_building_and_unit_and_sums_the_stock_it_takes(w):
    far = registry_actions.household_ensure(unit=w.a1u1, room="102")
    cabbage_need = ask(w, household=far, lines=[(w.cabbage, "", 60, "jin"), (w.water, "", 3, "")])
    first = ask(w, lines=[(w.water, "", 4, ""), (w.cabbage, "", 10, "kg")])
    second = ask(w, household=w.home_a2, lines=[(w.water, "", 5, ""), (None, "酱油", 1, "瓶")])
    waiting = ask(w, household=w.home_a2)  # still new: not on the day's list
    for request in (cabbage_need, first, second):
        actions.supply_request_accept(actor=w.manager, request=request)
    actions.supply_request_bought(actor=w.manager, request=second)
    stock_in(actor=w.manager, item=w.cabbage, store=w.depot, quantity=100)
    day = selectors.day_list(w.manager, w.compound_a)
    assert day.count == 3
    layout = [
        (
            group.building.number,
            [(u.unit.number, [r.household.room for r in u.requests]) for u in group.units],
        )
        for group in day.buildings
    ]
    assert layout == [("1", [("1", ["101", "102"])]), ("2", [("1", ["201"])])]
    assert waiting.pk not in {r.pk for g in day.buildings for u in g.units for r in u.requests}
    needs = {n.item: (n.need, n.stock, n.short, n.unit_label) for n in day.needs}
    assert needs == {
        "桶装水": (Decimal(12), Decimal(10), True, "桶"),
        "白菜": (Decimal(40), Decimal(100), False, "公斤"),
    }
    in_store = {
        n.item: n.stock for n in selectors.day_list(w.manager, w.compound_a, store_id=w.store.pk).needs
    }
    assert in_store == {"桶装水": Decimal(10), "白菜": Decimal(0)}
    assert [
        r.household.room
        for g in selectors.day_list(user(w, GRID), w.compound_a).buildings
        for u in g.units
        for r in u.requests
    ] == ["101", "102"]


def test_the_days_list_shows_masked_phones_and_line_labels(w):
    made = ask(w, lines=[(w.water, "放门口", 2, ""), (None, "酱油", 1, "瓶")])
    actions.supply_request_accept(actor=w.manager, request=made)
    (row,) = selectors.day_list(w.manager, w.compound_a).buildings[0].units[0].requests
    assert row.phone == "138****5678"
    assert [line.label for line in row.lines.all()] == ["桶装水（放门口） 2桶", "酱油 1瓶"]


def test_a_resident_sees_only_their_households_requests(w):
    own = ask(w, hours_ago=2)
    newer = ask(w, kind="medicine", lines=[], detail="降压药", hours_ago=1)
    ask(w, household=w.home_a2)
    assert [r.pk for r in selectors.own_requests(user(w, RESIDENT))] == [newer.pk, own.pk]
    assert list(selectors.own_requests(w.manager)) == []


@pytest.mark.parametrize("text", ["1-1-101", "1号楼1单元101室", "1 1 101", "1/1/101"])
def test_the_room_is_found_in_the_usual_ways(w, text):
    assert registry_selectors.household_by_room(w.manager, w.compound_a, text) == w.home_a1


def test_a_room_outside_the_users_scope_or_malformed_is_not_found(w):
    assert registry_selectors.household_by_room(user(w, GRID), w.compound_a, "2-1-201") is None
    assert registry_selectors.household_by_room(w.manager, w.compound_a, "101") is None
    assert registry_selectors.household_by_room(w.manager, w.compound_b, "1-1-101") is None


def test_late_is_computed_per_request(w):
    now = timezone.now()
    made = ask(w, hours_ago=25)
    assert selectors.is_late(made, now) is True
    urgent = ask(w, kind="medicine", lines=[], detail="药", hours_ago=3)
    assert selectors.is_late(urgent, now) is False
    assert selectors.is_late(urgent, now + datetime.timedelta(hours=2)) is True
    assert Item.objects.filter(compound=w.compound_a).count() == 3
