"""The parcels' JSON API: intake (one, a batch, a phone of several households), disinfect,
deliver, refuse, the ready list; roles, scope and the second of two people."""

import json

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.tests.parcel_helpers import _media, held, intake, raise_area, shanghai

pytestmark = pytest.mark.django_db
__all__ = ["_media", "shanghai"]


@pytest.fixture
def api(client, world):
    def call(role, method, name, body=None, args=(), query=""):
        client.force_login(world.users[role])
        url = reverse(f"api:{name}", args=args) + query
        if method == "get":
            return client.get(url)
        return client.post(url, json.dumps(body or {}), content_type="application/json")

    return call


def test_intake_one_by_room(api, world):
    response = api(
        Role.VOLUNTEER,
        "post",
        "supplies_parcel_intake",
        {"compound": world.compound_a.pk, "lookup": "1-1-101", "courier": "顺丰", "pieces": 2},
    )
    assert response.status_code == 200, response.content
    (row,) = response.json()["parcels"]
    assert (row["room"], row["pieces"], row["state"], row["has_photo"]) == ("1-1-101", 2, "received", False)
    assert reverse("api:supplies_parcel_intake") == "/api/v1/supplies/parcels"


def test_intake_batch_and_bad_line(api, world):
    body = {
        "compound": world.compound_a.pk,
        "courier": "中通",
        "parcels": [{"lookup": "1-1-101", "tracking_number": "ZT1"}, {"lookup": "13900001111", "pieces": 2}],
    }
    response = api(Role.VOLUNTEER, "post", "supplies_parcel_intake", body)
    assert response.status_code == 200
    assert [r["room"] for r in response.json()["parcels"]] == ["1-1-101", "2-1-201"]
    body["parcels"].append({"lookup": "7-7-707"})
    response = api(Role.VOLUNTEER, "post", "supplies_parcel_intake", body)
    assert response.status_code == 400
    assert "第3行" in response.json()["detail"]
    assert Parcel.objects.count() == 2


def test_intake_phone_of_several_households(api, world):
    make_resident(world.home_a2, name="亲属", phone="13812345678")
    response = api(
        Role.VOLUNTEER,
        "post",
        "supplies_parcel_intake",
        {"compound": world.compound_a.pk, "lookup": "13812345678"},
    )
    assert response.status_code == 400
    assert response.json()["households"] == [
        {"id": world.home_a1.pk, "room": "1-1-101"},
        {"id": world.home_a2.pk, "room": "2-1-201"},
    ]
    assert not Parcel.objects.exists()


def test_intake_refused_outside_scope(api, world):
    body = {"compound": world.compound_b.pk, "lookup": "1-1-101"}
    assert api(Role.VOLUNTEER, "post", "supplies_parcel_intake", body).status_code == 404
    body["compound"] = world.compound_a.pk
    assert api(Role.RESIDENT, "post", "supplies_parcel_intake", body).status_code == 403
    assert api(Role.VOLUNTEER, "post", "supplies_parcel_intake", {**body, "pieces": 0}).status_code == 400
    assert not Parcel.objects.exists()


def test_disinfect_deliver_refuse(api, world):
    first, second = intake(world), intake(world, world.home_a2)
    response = api(Role.VOLUNTEER, "post", "supplies_parcels_disinfect", {"parcels": [first.pk, second.pk]})
    assert response.status_code == 200
    assert {r["state"] for r in response.json()} == {"disinfected"}
    response = api(Role.VOLUNTEER, "post", "supplies_parcel_deliver", args=[first.pk])
    assert response.status_code == 400
    assert "还需静置120分钟" in response.json()["detail"]
    response = api(Role.VOLUNTEER, "post", "supplies_parcel_refuse", {"reason": ""}, args=[second.pk])
    assert response.status_code == 400
    response = api(Role.VOLUNTEER, "post", "supplies_parcel_refuse", {"reason": "拒收"}, args=[second.pk])
    assert response.status_code == 200 and response.json()["state"] == "refused"
    response = api(
        Role.COMPOUND_MANAGER, "post", "supplies_parcel_refuse", {"reason": "拒收"}, args=[second.pk]
    )
    assert response.status_code == 400 and "已由volunteer于" in response.json()["detail"]


def test_deliver_ready_and_scope(api, world):
    parcel = held(world, world.home_a2, minutes_ago=125)
    assert api(Role.GRID_WORKER, "post", "supplies_parcel_deliver", args=[parcel.pk]).status_code == 404
    assert api(Role.RESIDENT, "post", "supplies_parcel_deliver", args=[parcel.pk]).status_code == 403
    assert api(Role.VOLUNTEER, "post", "supplies_parcel_deliver", args=[10**9]).status_code == 404
    response = api(Role.VOLUNTEER, "post", "supplies_parcel_deliver", args=[parcel.pk])
    assert response.status_code == 200 and response.json()["state"] == ParcelState.DELIVERED
    assert api(Role.VOLUNTEER, "post", "supplies_parcels_disinfect", {"parcels": []}).status_code in (
        400,
        422,
    )


def test_ready_list(api, world, shanghai):
    raise_area(world, "building", "controlled", building=world.a2)
    ready = held(world, world.home_a2, minutes_ago=125)
    held(world, world.home_a1, minutes_ago=30)
    query = f"?compound={world.compound_a.pk}"
    response = api(Role.VOLUNTEER, "get", "supplies_parcels_ready", query=query)
    assert response.status_code == 200
    (row,) = response.json()
    assert (row["id"], row["delivery"], row["slot_start"], row["slot_end"]) == (
        ready.pk,
        "pickup",
        "09:30",
        "10:00",
    )
    assert (
        api(
            Role.VOLUNTEER, "get", "supplies_parcels_ready", query=f"?compound={world.compound_b.pk}"
        ).status_code
        == 404
    )
    assert api(Role.RESIDENT, "get", "supplies_parcels_ready", query=query).status_code == 403
    assert api(Role.GRID_WORKER, "get", "supplies_parcels_ready", query=query).json() == []
