"""Parcel reads: each household's way of getting its parcels from the risk areas (door, pick-up
slot by building, as usual), the delivery round, the gate's day list, and their scope."""

import datetime

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry import actions as registry_actions
from tongxin.supplies.actions.parcels import parcel_deliver
from tongxin.supplies.actions.settings import settings_update
from tongxin.supplies.models import ParcelState
from tongxin.supplies.selectors import parcels as selectors
from tongxin.supplies.tests.parcel_helpers import _media, held, intake, raise_area, shanghai

pytestmark = pytest.mark.django_db
__all__ = ["_media", "shanghai"]


def modes(world, user_role=Role.COMPOUND_MANAGER, homes=None):
    homes = homes or [world.home_a1, world.home_a2]
    return selectors.delivery_modes(world.users[user_role], world.compound_a, homes)


def test_no_risk_area_is_as_usual(world, shanghai):
    found = modes(world)
    assert {pk: d.mode for pk, d in found.items()} == {world.home_a1.pk: "normal", world.home_a2.pk: "normal"}
    assert found[world.home_a1.pk].text == "可自取或由志愿者送达"


def test_sealed_building_gets_the_door_and_controlled_a_slot(world, shanghai):
    raise_area(world, "building", "sealed", building=world.a1)
    raise_area(world, "building", "controlled", building=world.a2)
    settings_update(
        actor=world.users[Role.COMPOUND_MANAGER],
        compound=world.compound_a,
        parcel_hold_minutes=120,
        pickup_start="10:00",
        pickup_slot_minutes=30,
        care_visit_days=7,
    )
    found = modes(world)
    door, pickup = found[world.home_a1.pk], found[world.home_a2.pk]
    assert (door.mode, door.level) == ("door", "封控区")
    assert door.text == "封控中，志愿者送货上门"
    # building 2 is the compound's second building (k = 1): 10:00 + 30 min
    assert (pickup.mode, pickup.slot_start, pickup.slot_end) == (
        "pickup",
        datetime.time(10, 30),
        datetime.time(11, 0),
    )
    assert pickup.text == "请于10:30–11:00到门口取件"


def test_default_slot_and_household_areas(world, shanghai):
    """A sealed home inside a controlled building: that home at the door, its neighbours at the
    building's slot (default start 09:00, 30 minutes)."""
    neighbour = registry_actions.household_ensure(unit=world.a1u1, room="102")
    raise_area(world, "building", "controlled", building=world.a1)
    raise_area(world, "household", "sealed", household=world.home_a1)
    raise_area(world, "building", "precaution", building=world.a2)
    found = modes(world, homes=[world.home_a1, neighbour, world.home_a2])
    assert found[world.home_a1.pk].mode == "door"
    assert (found[neighbour.pk].mode, found[neighbour.pk].slot_start) == ("pickup", datetime.time(9, 0))
    # any lower, non-zero level picks up: building 2 is the compound's second building
    assert (found[world.home_a2.pk].mode, found[world.home_a2.pk].slot_start) == (
        "pickup",
        datetime.time(9, 30),
    )


def test_under_the_default_rules_high_risk_is_sealed(world):
    raise_area(world, "compound", "high")
    assert {d.mode for d in modes(world).values()} == {"door"}


def test_every_reader_gets_the_same_slot(world, shanghai):
    """The grid worker keeps building 1 only: building 2's slot is still the compound's second."""
    raise_area(world, "compound", "controlled")
    manager = modes(world)[world.home_a1.pk]
    grid = modes(world, Role.GRID_WORKER, homes=[world.home_a1])[world.home_a1.pk]
    assert manager == grid
    assert manager.slot_start == datetime.time(9, 0)


def test_delivery_modes_queries_do_not_grow(world, shanghai, django_assert_max_num_queries):
    raise_area(world, "compound", "controlled")
    homes = [registry_actions.household_ensure(unit=world.a2u1, room=str(300 + i)) for i in range(20)]
    with django_assert_max_num_queries(4):
        found = selectors.delivery_modes(world.users[Role.COMPOUND_MANAGER], world.compound_a, homes)
    assert len(found) == 20


# -- the round ---------------------------------------------------------------------------------


def test_round_groups_ready_parcels_and_lists_holding(world, shanghai):
    raise_area(world, "building", "sealed", building=world.a1)
    ready_1 = held(world, world.home_a1, minutes_ago=125)
    ready_2 = held(world, world.home_a1, minutes_ago=130)
    ready_3 = held(world, world.home_a2, minutes_ago=200)
    holding = held(world, world.home_a2, minutes_ago=90)
    intake(world)  # received, not disinfected: in neither list
    found = selectors.delivery_round(world.users[Role.VOLUNTEER], world.compound_a)
    assert found.ready_count == 3
    assert [b.building for b in found.buildings] == ["1", "2"]
    first = found.buildings[0].units[0].households[0]
    assert first.delivery.mode == "door"
    assert {p.pk for p in first.parcels} == {ready_1.pk, ready_2.pk}
    assert [p.pk for p in found.buildings[1].units[0].households[0].parcels] == [ready_3.pk]
    assert found.buildings[1].units[0].households[0].delivery.mode == "normal"
    assert [(p.pk, p.minutes_left) for p in found.holding] == [(holding.pk, 30)]
    assert found.hold_minutes == 120


def test_round_of_a_grid_worker_is_his_buildings(world):
    held(world, world.home_a1, minutes_ago=130)
    held(world, world.home_a2, minutes_ago=130)
    found = selectors.delivery_round(world.users[Role.GRID_WORKER], world.compound_a)
    assert [b.building for b in found.buildings] == ["1"]
    assert selectors.delivery_round(world.users[Role.RESIDENT], world.compound_a).ready_count == 0


# -- the gate's day ----------------------------------------------------------------------------


def test_day_list_counts_and_search(world):
    volunteer = world.users[Role.VOLUNTEER]
    delivered = held(world, world.home_a1, minutes_ago=150)
    parcel_deliver(actor=volunteer, parcel=delivered)
    held(world, world.home_a2, minutes_ago=10)
    intake(world, world.home_a2)
    old = intake(world, world.home_a1, at=timezone.now() - datetime.timedelta(days=3))
    today = timezone.localdate()
    found = selectors.parcels_of_day(volunteer, world.compound_a, today)
    assert found.counts == {"received": 2, "disinfected": 1, "delivered": 1, "refused": 0}
    assert old.pk in {p.pk for p in found.parcels}  # still open from before
    assert (found.ready, found.holding) == (0, 1)
    assert {
        p.household_id
        for p in selectors.parcels_of_day(volunteer, world.compound_a, today, room="2-1-201").parcels
    } == {world.home_a2.pk}
    assert len(selectors.parcels_of_day(volunteer, world.compound_a, today, room="201").parcels) == 2
    assert len(selectors.parcels_of_day(volunteer, world.compound_a, today, room="1-1").parcels) == 2
    assert selectors.parcels_of_day(volunteer, world.compound_a, today, room="<script>").parcels == []
    only = selectors.parcels_of_day(volunteer, world.compound_a, today, state=ParcelState.RECEIVED)
    assert {p.state for p in only.parcels} == {"received"}
    grid = selectors.parcels_of_day(world.users[Role.GRID_WORKER], world.compound_a, today)
    assert {p.household_id for p in grid.parcels} == {world.home_a1.pk}
    assert selectors.parcels_of_day(world.users[Role.VOLUNTEER], world.compound_b, today).parcels == []


def test_minutes_left_rounds_up():
    from tongxin.supplies.models import Parcel

    now = timezone.now()
    parcel = Parcel(state=ParcelState.DISINFECTED, ready_at=now + datetime.timedelta(seconds=61))
    assert selectors.minutes_left(parcel, now) == 2
    parcel.ready_at = now
    assert selectors.minutes_left(parcel, now) == 0
