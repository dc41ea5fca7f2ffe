"""The parcel pages: the gate's list (intake, a courier's batch, disinfect, search), the delivery
round (HTMX deliver and refuse), the protected photo; roles, scope and query counts."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.tests.parcel_helpers import (
    GIF,
    JPEG,
    _media,
    held,
    intake,
    raise_area,
    shanghai,
    upload,
)

pytestmark = pytest.mark.django_db
__all__ = ["_media", "shanghai"]
STAFF = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


def a(name: str, world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"compound": world.compound_a.pk, **params}.items())
    return f"{reverse(name)}?{query}"


# -- who sees the pages ------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
@pytest.mark.parametrize("name", ["supplies:parcels", "supplies:parcel_round"])
def test_staff_see_the_pages(as_role, world, role, name):
    intake(world)
    response = as_role(role).get(a(name, world))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("name", ["supplies:parcels", "supplies:parcel_round"])
def test_residents_refused_and_other_compound_not_found(as_role, world, name):
    assert as_role(Role.RESIDENT).get(a(name, world)).status_code == 403
    client = as_role(Role.VOLUNTEER)
    assert client.get(f"{reverse(name)}?compound={world.compound_b.pk}").status_code == 404
    assert client.get(f"{reverse(name)}?compound=abc").status_code == 404


def test_anonymous_sent_to_login(client, world):
    response = client.get(a("supplies:parcels", world))
    assert response.status_code == 302 and "login" in response["Location"]


def test_admin_without_a_compound_chooses_one(as_role, world):
    response = as_role(Role.PLATFORM_ADMIN).get(reverse("supplies:parcels"))
    assert response.status_code == 200
    assert "请选择小区" in response.content.decode()


# -- the gate's list ----------------------------------------------------------------------------------


def test_list_shows_the_day_by_state_with_counts(as_role, world):
    held(world, world.home_a2, minutes_ago=30)
    intake(world, tracking_number="SF0001")
    body = as_role(Role.VOLUNTEER).get(a("supplies:parcels", world)).content.decode()
    assert "SF0001" in body and "1-1-101" in body and "2-1-201" in body
    assert re.search(r'data-state="received">1<', body)
    assert re.search(r'data-state="disinfected">1<', body)
    assert "静置中，还需90分钟" in body
    assert 'name="parcel"' in body  # the received one can be selected for disinfection


def test_list_searched_by_room(as_role, world):
    intake(world, tracking_number="SF-A1")
    intake(world, world.home_a2, tracking_number="SF-A2")
    body = as_role(Role.VOLUNTEER).get(a("supplies:parcels", world, room="2-1-201")).content.decode()
    assert "SF-A2" in body and "SF-A1" not in body


def test_grid_worker_lists_only_his_buildings(as_role, world):
    intake(world, tracking_number="SF-A1")
    intake(world, world.home_a2, tracking_number="SF-A2")
    body = as_role(Role.GRID_WORKER).get(a("supplies:parcels", world)).content.decode()
    assert "SF-A1" in body and "SF-A2" not in body


def test_list_query_count_is_pinned(as_role, world, django_assert_max_num_queries):
    client = as_role(Role.VOLUNTEER)
    for index in range(3):
        intake(world, tracking_number=f"T{index}")
    client.get(a("supplies:parcels", world))
    with django_assert_max_num_queries(12) as few:
        client.get(a("supplies:parcels", world))
    for index in range(30):
        held(world, world.home_a2 if index % 2 else world.home_a1, minutes_ago=index * 10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(a("supplies:parcels", world))
    assert response.content.decode().count('class="parcel-item') == 33


def test_intake_by_room_with_a_photo(as_role, world):
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_intake"),
        {
            "compound": world.compound_a.pk,
            "lookup": "1号楼1单元101",
            "courier": "京东",
            "pieces": 2,
            "photo": upload(JPEG),
        },
    )
    assert response.status_code == 302
    parcel = Parcel.objects.get()
    assert (parcel.household_id, parcel.pieces, parcel.courier) == (world.home_a1.pk, 2, "京东")
    assert parcel.photo.name.endswith(".jpg")


def test_intake_unknown_room_shows_the_error_and_writes_nothing(as_role, world):
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_intake"), {"compound": world.compound_a.pk, "lookup": "9-9-901", "pieces": 1}
    )
    assert response.status_code == 400
    assert "找不到该房号" in response.content.decode()
    assert not Parcel.objects.exists()


def test_intake_bad_photo(as_role, world):
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_intake"),
        {"compound": world.compound_a.pk, "lookup": "1-1-101", "pieces": 1, "photo": upload(GIF, "p.png")},
    )
    assert response.status_code == 400
    assert "照片只能是JPEG、PNG或WebP图片" in response.content.decode()
    assert not Parcel.objects.exists()


def test_phone_of_several_households_asks_which_then_logs(as_role, world):
    make_resident(world.home_a2, name="亲属", phone="13812345678")
    client = as_role(Role.VOLUNTEER)
    data = {"compound": world.compound_a.pk, "lookup": "13812345678", "pieces": 1}
    response = client.post(reverse("supplies:parcel_intake"), data)
    body = response.content.decode()
    assert response.status_code == 400
    assert "请选择一户" in body
    assert f'name="household" value="{world.home_a2.pk}"' in body
    assert "13812345678" not in body.replace('value="13812345678"', "")  # echoed in its own field only
    response = client.post(reverse("supplies:parcel_intake"), {**data, "household": world.home_a2.pk})
    assert response.status_code == 302
    assert Parcel.objects.get().household_id == world.home_a2.pk


def test_batch_intake(as_role, world):
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_batch"),
        {"compound": world.compound_a.pk, "courier": "韵达", "lines": "1-1-101 YD1\n2-1-201 YD2 3"},
    )
    assert response.status_code == 302
    assert sorted(Parcel.objects.values_list("tracking_number", "pieces", "courier")) == [
        ("YD1", 1, "韵达"),
        ("YD2", 3, "韵达"),
    ]
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_batch"), {"compound": world.compound_a.pk, "lines": "1-1-101\n8-8-808"}
    )
    assert response.status_code == 400
    assert "第2行" in response.content.decode()
    assert Parcel.objects.count() == 2


def test_disinfect_selected(as_role, world):
    first, second, third = intake(world), intake(world), intake(world, world.home_a2)
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_disinfect"),
        {"compound": world.compound_a.pk, "parcel": [first.pk, third.pk]},
    )
    assert response.status_code == 302
    states = dict(Parcel.objects.values_list("pk", "state"))
    assert states == {first.pk: "disinfected", second.pk: "received", third.pk: "disinfected"}


def test_disinfect_twice_tells_who(as_role, world):
    parcel = intake(world)
    client = as_role(Role.VOLUNTEER)
    client.post(
        reverse("supplies:parcel_disinfect"), {"compound": world.compound_a.pk, "parcel": [parcel.pk]}
    )
    response = client.post(
        reverse("supplies:parcel_disinfect"),
        {"compound": world.compound_a.pk, "parcel": [parcel.pk]},
        follow=True,
    )
    assert "已由volunteer于" in response.content.decode()


# -- the round ---------------------------------------------------------------------------------------


def test_round_page_shows_modes_and_holding(as_role, world, shanghai):
    raise_area(world, "building", "sealed", building=world.a1)
    raise_area(world, "building", "controlled", building=world.a2)
    held(world, world.home_a1, minutes_ago=125)
    held(world, world.home_a2, minutes_ago=130)
    held(world, world.home_a2, minutes_ago=100)
    body = as_role(Role.VOLUNTEER).get(a("supplies:parcel_round", world)).content.decode()
    assert "送货上门" in body and "定时取件" in body
    assert "请于09:30–10:00到门口取件" in body
    assert "还需20分钟" in body
    assert body.count("hx-post=") == 4  # deliver and refuse for the two ready parcels


def test_round_query_count_is_pinned(as_role, world, shanghai, django_assert_max_num_queries):
    raise_area(world, "compound", "controlled")
    client = as_role(Role.VOLUNTEER)
    held(world, world.home_a1, minutes_ago=130)
    client.get(a("supplies:parcel_round", world))
    with django_assert_max_num_queries(14) as few:
        client.get(a("supplies:parcel_round", world))
    for index in range(20):
        held(world, world.home_a2 if index % 2 else world.home_a1, minutes_ago=60 + index * 10)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(a("supplies:parcel_round", world))


def test_deliver_with_htmx(as_role, world):
    parcel = held(world, minutes_ago=121)
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_deliver", args=[parcel.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert "已送达" in body and f'id="parcel-{parcel.pk}"' in body and "<html" not in body
    assert Parcel.objects.get().state == ParcelState.DELIVERED


def test_deliver_too_early_with_htmx(as_role, world):
    parcel = held(world, minutes_ago=60)
    response = as_role(Role.VOLUNTEER).post(
        reverse("supplies:parcel_deliver", args=[parcel.pk]), HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 400
    assert "还需静置60分钟" in response.content.decode()
    assert Parcel.objects.get().state == ParcelState.DISINFECTED


def test_refuse_without_htmx_redirects_to_the_round(as_role, world):
    parcel = held(world, minutes_ago=10)
    client = as_role(Role.VOLUNTEER)
    response = client.post(reverse("supplies:parcel_refuse", args=[parcel.pk]), {"reason": ""})
    assert response.status_code == 302
    assert Parcel.objects.get().state == ParcelState.DISINFECTED
    response = client.post(reverse("supplies:parcel_refuse", args=[parcel.pk]), {"reason": "户主不要"})
    assert response.status_code == 302 and reverse("supplies:parcel_round") in response["Location"]
    assert Parcel.objects.get().refusal_reason == "户主不要"


def test_deliver_scope(as_role, world):
    parcel = held(world, world.home_a2, minutes_ago=130)
    assert (
        as_role(Role.GRID_WORKER).post(reverse("supplies:parcel_deliver", args=[parcel.pk])).status_code
        == 404
    )
    assert (
        as_role(Role.RESIDENT).post(reverse("supplies:parcel_deliver", args=[parcel.pk])).status_code == 403
    )
    assert (
        as_role(Role.VOLUNTEER).get(reverse("supplies:parcel_deliver", args=[parcel.pk])).status_code == 405
    )
    assert Parcel.objects.get().state == ParcelState.DISINFECTED


# -- the photo ---------------------------------------------------------------------------------------


def test_photo_served_only_to_who_may_see_it(client, as_role, world):
    parcel = intake(world, world.home_a1, photo=upload(JPEG))
    url = reverse("supplies:parcel_photo", args=[parcel.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login
    response = as_role(Role.VOLUNTEER).get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert b"".join(response.streaming_content) == JPEG
    assert "no-cache" in response["Cache-Control"] or "max-age=0" in response["Cache-Control"]
    assert as_role(Role.RESIDENT).get(url).status_code == 200  # the household's own
    other = intake(world, world.home_a2, photo=upload(JPEG))
    assert as_role(Role.RESIDENT).get(reverse("supplies:parcel_photo", args=[other.pk])).status_code == 404
    assert as_role(Role.GRID_WORKER).get(reverse("supplies:parcel_photo", args=[other.pk])).status_code == 404
    no_photo = intake(world)
    assert (
        as_role(Role.VOLUNTEER).get(reverse("supplies:parcel_photo", args=[no_photo.pk])).status_code == 404
    )


def test_photo_is_no_public_media_url(as_role, world, settings):
    parcel = intake(world, photo=upload(JPEG))
    body = as_role(Role.VOLUNTEER).get(a("supplies:parcels", world)).content.decode()
    assert parcel.photo.name not in body
    assert reverse("supplies:parcel_photo", args=[parcel.pk]) in body
    assert (
        not getattr(settings, "MEDIA_URL", "")
        or as_role(Role.VOLUNTEER).get("/" + parcel.photo.name).status_code == 404
    )


def test_other_compound_photo_not_found(as_role, world):
    from tongxin.supplies.actions.parcels import parcel_intake

    parcel = parcel_intake(
        actor=world.users[Role.PLATFORM_ADMIN],
        compound=world.compound_b,
        household=world.home_b,
        photo=upload(JPEG),
    )
    assert as_role(Role.VOLUNTEER).get(reverse("supplies:parcel_photo", args=[parcel.pk])).status_code == 404
    assert as_role(Role.OFFICIAL).get(reverse("supplies:parcel_photo", args=[parcel.pk])).status_code == 404
    assert timezone.now() - parcel.received_at < datetime.timedelta(minutes=1)
