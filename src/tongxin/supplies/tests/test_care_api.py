"""The care API: GET care/ and care/overdue (scoped lists with the last visit and the next one
due), POST care/visits (the action's rules as 400, 403 and 404)."""

import datetime
import json

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongxin.core.models import AuditLog
from tongxin.supplies.models import CareVisit
from tongxin.supplies.tests.care_helpers import days_ago, more_residents, visit
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER, user


@pytest.fixture
def as_role(world):
    def login(role):
        client = Client()
        client.force_login(user(world, role))
        return client

    return login


def post(client, payload: dict):
    return client.post(
        reverse("api:supplies_care_visits"), json.dumps(payload), content_type="application/json"
    )


def test_the_list_with_last_and_next_visits(world, as_role):
    visit(world.elder, by=user(world, GRID), day=days_ago(2), next_due=days_ago(-5), brought="大米")
    answer = as_role(MANAGER).get(reverse("api:supplies_care"), {"compound": world.compound_a.pk})
    assert answer.status_code == 200
    body = answer.json()
    assert (body["count"], body["next_offset"]) == (2, None)
    elder, veteran = body["items"]
    assert (elder["name"], elder["building"], elder["unit"], elder["room"]) == ("王秀兰", "1", "1", "101")
    assert (elder["phone"], elder["last_visited_by"], elder["last_brought"]) == (
        "138****5678",
        "grid",
        "大米",
    )
    assert (elder["next_due"], elder["overdue"]) == (days_ago(-5).isoformat(), False)
    assert "老年人" in elder["tags"] and "独居" in elder["tags"]
    assert (veteran["name"], veteran["last_visited_at"], veteran["next_due"], veteran["overdue"]) == (
        "李建国",
        None,
        None,
        True,
    )


def test_the_group_filter_and_pages(world, as_role):
    more_residents(world.home_a2, 3)
    client = as_role(MANAGER)
    url = reverse("api:supplies_care")
    first = client.get(url, {"compound": world.compound_a.pk, "group": "veteran", "limit": 3}).json()
    assert (first["count"], len(first["items"]), first["next_offset"]) == (4, 3, 3)
    rest = client.get(
        url, {"compound": world.compound_a.pk, "group": "veteran", "limit": 3, "offset": 3}
    ).json()
    assert (len(rest["items"]), rest["next_offset"]) == (1, None)
    assert client.get(url, {"compound": world.compound_a.pk, "limit": 500}).status_code == 422


def test_the_overdue_list_for_a_grid_worker_is_his_buildings(world, as_role):
    visit(world.neighbour, by=user(world, MANAGER), day=days_ago(20), next_due=days_ago(13))
    url = reverse("api:supplies_care_overdue")
    grid = as_role(GRID).get(url, {"compound": world.compound_a.pk}).json()
    assert [r["name"] for r in grid["items"]] == ["王秀兰"]
    manager = as_role(MANAGER).get(url, {"compound": world.compound_a.pk}).json()
    assert [r["name"] for r in manager["items"]] == ["王秀兰", "李建国"]


@pytest.mark.parametrize("name", ["api:supplies_care", "api:supplies_care_overdue"])
def test_who_may_read_the_lists(world, as_role, name):
    url = reverse(name)
    assert as_role(VOLUNTEER).get(url, {"compound": world.compound_a.pk}).status_code == 403
    assert as_role(RESIDENT).get(url, {"compound": world.compound_a.pk}).status_code == 404
    assert as_role(MANAGER).get(url, {"compound": world.compound_b.pk}).status_code == 404
    assert as_role(OFFICIAL).get(url, {"compound": world.compound_b.pk}).status_code == 404
    assert as_role(ADMIN).get(url, {"compound": world.compound_b.pk}).status_code == 200
    assert as_role(MANAGER).get(url, {"compound": 99999999}).status_code == 404
    assert Client().get(url, {"compound": world.compound_a.pk}).status_code == 401


def test_logging_a_visit(world, as_role):
    answer = post(
        as_role(GRID), {"resident": world.elder.pk, "brought": "大米、面粉、食用油", "notes": "安好"}
    )
    assert answer.status_code == 201
    body = answer.json()
    stored = CareVisit.objects.get()
    assert (body["id"], body["resident"], body["visited_by"], body["brought"]) == (
        stored.pk,
        world.elder.pk,
        "grid",
        "大米、面粉、食用油",
    )
    assert body["next_due"] == (timezone.localdate() + datetime.timedelta(days=7)).isoformat()
    assert AuditLog.objects.filter(object_type="supplies.carevisit", object_id=str(stored.pk)).count() == 1


def test_a_time_without_an_offset_is_local_time(world, as_role):
    day = days_ago(1)
    answer = post(as_role(MANAGER), {"resident": world.elder.pk, "visited_at": f"{day.isoformat()}T09:15:00"})
    assert answer.status_code == 201
    stored = CareVisit.objects.get()
    assert timezone.localtime(stored.visited_at).replace(tzinfo=None) == datetime.datetime.combine(
        day, datetime.time(9, 15)
    )


def test_bad_visits_are_400_with_the_reason(world, as_role):
    client = as_role(MANAGER)
    future = (timezone.now() + datetime.timedelta(days=1)).isoformat()
    answer = post(client, {"resident": world.elder.pk, "visited_at": future})
    assert answer.status_code == 400 and answer.json()["detail"] == "探访时间不能晚于现在"
    answer = post(client, {"resident": world.elder.pk, "next_due": days_ago(1).isoformat()})
    assert answer.status_code == 400 and answer.json()["detail"] == "下次探访日期必须晚于本次探访"
    assert post(client, {"resident": world.elder.pk, "brought": "米" * 201}).status_code == 422
    assert post(client, {"resident": world.elder.pk, "visited_at": "yesterday"}).status_code == 422
    assert CareVisit.objects.count() == 0


def test_who_may_log_a_visit(world, as_role):
    assert post(as_role(VOLUNTEER), {"resident": world.elder.pk}).status_code == 403
    assert post(as_role(RESIDENT), {"resident": world.elder.pk}).status_code == 403
    assert post(as_role(RESIDENT), {"resident": world.neighbour.pk}).status_code == 404
    assert post(as_role(GRID), {"resident": world.neighbour.pk}).status_code == 404
    assert post(as_role(MANAGER), {"resident": world.stranger.pk}).status_code == 404
    assert post(as_role(MANAGER), {"resident": 99999999}).status_code == 404
    assert CareVisit.objects.count() == 0
