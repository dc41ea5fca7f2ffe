"""/supplies/mine/: a resident sees their household's parcels, their states and how they get
them; never another household's; staff are sent to the gate's list."""

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.parcels import parcel_deliver, parcel_refuse
from tongxin.supplies.tests.parcel_helpers import _media, held, intake, raise_area, shanghai

pytestmark = pytest.mark.django_db
__all__ = ["_media", "shanghai"]


def mine(client, user):
    client.force_login(user)
    return client.get(reverse("supplies:mine"))


def test_resident_sees_own_parcels_and_states(client, world):
    volunteer = world.users[Role.VOLUNTEER]
    intake(world, tracking_number="MINE-RECEIVED")
    holding = held(world, minutes_ago=30)
    delivered = held(world, minutes_ago=130)
    parcel_deliver(actor=volunteer, parcel=delivered)
    refused = held(world, minutes_ago=5)
    parcel_refuse(actor=volunteer, parcel=refused, reason="不是我的")
    intake(world, world.home_a2, tracking_number="NEIGHBOUR")
    response = mine(client, world.users[Role.RESIDENT])
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    body = response.content.decode()
    assert "MINE-RECEIVED" in body and "已登记，待消杀" in body
    from django.utils import timezone

    assert f"已消杀，静置至{timezone.localtime(holding.ready_at):%H:%M}" in body
    assert "已送达" in body and "拒收" in body and "不是我的" in body
    assert "NEIGHBOUR" not in body
    assert "可自取或由志愿者送达" in body


def test_resident_of_a_controlled_building_gets_a_slot(client, world, shanghai):
    raise_area(world, "building", "controlled", building=world.a1)
    body = mine(client, world.users[Role.RESIDENT]).content.decode()
    assert "请于09:00–09:30到门口取件" in body


def test_resident_of_a_sealed_home_gets_the_door(client, world, shanghai):
    raise_area(world, "household", "sealed", household=world.home_a1)
    body = mine(client, world.users[Role.RESIDENT]).content.decode()
    assert "送货上门" in body and "封控区" in body


def test_other_household_resident_sees_none_of_them(client, world):
    intake(world, tracking_number="A1-ONLY")
    other = make_user(Role.RESIDENT, username="neighbour", household=world.home_a2)
    body = mine(client, other).content.decode()
    assert "A1-ONLY" not in body and "近两周没有快递" in body
    homeless = make_user(Role.RESIDENT, username="nohome")
    assert "尚未关联住户" in mine(client, homeless).content.decode()


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.COMPOUND_MANAGER, Role.PLATFORM_ADMIN])
def test_staff_sent_to_the_gate_list(client, world, role):
    response = mine(client, world.users[role])
    assert response.status_code == 302 and response["Location"] == reverse("supplies:parcels")


def test_mine_query_count(client, world, django_assert_max_num_queries):
    user = world.users[Role.RESIDENT]
    client.force_login(user)
    intake(world)
    client.get(reverse("supplies:mine"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("supplies:mine"))
    for _ in range(10):
        held(world, minutes_ago=10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(reverse("supplies:mine"))
