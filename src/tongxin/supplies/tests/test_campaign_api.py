"""The campaigns API: list, plan, progress, doors, marking a door (400 with who marked it, 403,
404 outside the scope)."""

import datetime
import json
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.registry.tests.factories import make_user
from tongxin.supplies.models import Balance, Campaign, CampaignVisit
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import GRID, MANAGER, RESIDENT, VOLUNTEER

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(world):
    return campaign_world(world)


@pytest.fixture
def as_user(cw):
    def login(role_or_user):
        client = Client()
        client.force_login(cw.users[role_or_user] if isinstance(role_or_user, str) else role_or_user)
        return client

    return login


def _payload(cw, **overrides):
    data = {
        "compound": cw.compound_a.pk,
        "name": "白菜发放",
        "item": cw.cabbage.pk,
        "store": cw.store.pk,
        "total_quantity": "400",
        "unit": "jin",
        "share_basis": "household",
        "share_quantity": "60",
        "share_unit": "jin",
        "starts_on": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(),
        "days": 2,
        "teams": 2,
        "volunteers": 4,
    }
    data.update(overrides)
    return data


def _post(client, url, payload):
    return client.post(url, json.dumps(payload), content_type="application/json")


def test_manager_plans_and_is_warned_of_the_shortfall(cw, as_user):
    answer = _post(as_user(MANAGER), reverse("api:supplies_campaign_create"), _payload(cw))
    assert answer.status_code == 201
    body = answer.json()
    assert (body["total_quantity"], body["share_quantity"], body["households"]) == ("200", "30", 7)
    assert body["coverage"]["covers"] is False and body["coverage"]["shortfall"] == "10"
    assert body["coverage"]["warnings"]
    assert Campaign.objects.get().pk == body["id"]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"total_quantity": "-1"}, "total_quantity"),
        ({"days": 0}, "days"),
        ({"share_unit": "box"}, "share_quantity"),
    ],
)
def test_bad_plan_is_400_with_the_field(cw, as_user, overrides, field):
    answer = _post(as_user(MANAGER), reverse("api:supplies_campaign_create"), _payload(cw, **overrides))
    assert answer.status_code == 400
    assert field in answer.json()["errors"]
    assert not Campaign.objects.exists()


def test_plan_refused_to_volunteers_and_other_compounds(cw, as_user):
    assert _post(as_user(VOLUNTEER), reverse("api:supplies_campaign_create"), _payload(cw)).status_code == 403
    other = make_user(MANAGER, compound=cw.compound_b)
    assert _post(as_user(other), reverse("api:supplies_campaign_create"), _payload(cw)).status_code == 404
    mixed = _payload(cw, compound=cw.compound_b.pk, item=cw.cabbage.pk, store=cw.store_b.pk)
    assert _post(as_user(other), reverse("api:supplies_campaign_create"), mixed).status_code == 400
    assert not Campaign.objects.exists()


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    total=st.text(max_size=15),
    share=st.one_of(st.text(max_size=8), st.sampled_from(["30", "0.5", "1e3", "NaN", "-0"])),
)
def test_any_typed_quantity_is_201_or_400(cw, as_user, total, share):
    answer = _post(
        as_user(MANAGER),
        reverse("api:supplies_campaign_create"),
        _payload(cw, total_quantity=total, share_quantity=share, unit="kg", share_unit="kg"),
    )
    assert answer.status_code in (201, 400)
    if answer.status_code == 201:
        body = answer.json()
        assert Decimal(body["total_quantity"]) == Decimal(total.strip()).normalize()
        Campaign.objects.filter(pk=body["id"]).delete()
    else:
        assert answer.json()["detail"]


def test_list_progress_and_doors(cw, as_user):
    campaign = plan(cw)
    client = as_user(VOLUNTEER)
    listed = client.get(reverse("api:supplies_campaigns"), {"compound": cw.compound_a.pk}).json()
    assert [(c["id"], c["households"], c["final"]) for c in listed] == [(campaign.pk, 7, 0)]
    progress = client.get(reverse("api:supplies_campaign_progress", args=[campaign.pk])).json()
    assert progress["totals"]["households"] == 7 and progress["totals"]["pending"] == 7
    assert [b["building"] for b in progress["buildings"]] == ["1", "2"]
    assert [(t["team"], t["units"]) for t in progress["tasks"]] == [(1, ["1-1"]), (1, ["1-2"]), (2, ["2-1"])]
    doors = client.get(
        reverse("api:supplies_campaign_doors", args=[campaign.pk]), {"unit": cw.a1u1.pk}
    ).json()
    assert [(d["room"], d["people"], d["outcome"], d["share"]) for d in doors] == [
        ("101", 2, "pending", "30"),
        ("102", 1, "pending", "30"),
        ("103", 0, "pending", "30"),
    ]


def test_mark_a_door_and_the_second_is_told(cw, as_user):
    campaign = plan(cw)
    visit = CampaignVisit.objects.get(campaign=campaign, household=cw.home_a1)
    url = reverse("api:supplies_campaign_visit", args=[visit.pk])
    answer = _post(as_user(VOLUNTEER), url, {"outcome": "delivered", "expected": "pending"})
    assert answer.status_code == 200
    assert answer.json()["outcome"] == "delivered" and answer.json()["quantity"] == "30"
    again = _post(as_user(MANAGER), url, {"outcome": "refused", "expected": "pending"})
    assert again.status_code == 400
    assert "volunteer" in again.json()["detail"] and "已送达" in again.json()["detail"]
    assert Balance.objects.get(item=cw.cabbage, store=cw.store).quantity == Decimal(970)


def test_mark_scoping(cw, as_user):
    campaign = plan(cw)
    visit = CampaignVisit.objects.get(campaign=campaign, household=cw.home_a2)
    url = reverse("api:supplies_campaign_visit", args=[visit.pk])
    assert _post(as_user(GRID), url, {"outcome": "refused"}).status_code == 404
    assert _post(as_user(RESIDENT), url, {"outcome": "refused"}).status_code == 403
    assert (
        _post(as_user(make_user(VOLUNTEER, compound=cw.compound_b)), url, {"outcome": "refused"}).status_code
        == 404
    )
    assert _post(as_user(VOLUNTEER), url, {"outcome": "gone"}).status_code == 400
    assert CampaignVisit.objects.get(pk=visit.pk).outcome == "pending"


def test_reads_scoped(cw, as_user):
    campaign = plan(cw)
    other = as_user(make_user(MANAGER, compound=cw.compound_b))
    assert other.get(reverse("api:supplies_campaign_progress", args=[campaign.pk])).status_code == 404
    assert other.get(reverse("api:supplies_campaign_doors", args=[campaign.pk])).status_code == 404
    assert other.get(reverse("api:supplies_campaigns"), {"compound": cw.compound_a.pk}).status_code == 404
    resident = as_user(RESIDENT)
    assert resident.get(reverse("api:supplies_campaign_progress", args=[campaign.pk])).status_code == 403
    grid_doors = as_user(GRID).get(reverse("api:supplies_campaign_doors", args=[campaign.pk])).json()
    assert {d["building"] for d in grid_doors} == {"1"}


def test_doors_and_progress_query_counts_do_not_grow(cw, as_user, django_assert_max_num_queries):
    from tongxin.registry import actions as registry

    for room in range(301, 341):
        registry.household_ensure(unit=cw.a1u1, room=str(room))
    campaign = plan(cw)
    client = as_user(VOLUNTEER)
    with django_assert_max_num_queries(5):
        doors = client.get(reverse("api:supplies_campaign_doors", args=[campaign.pk])).json()
    assert len(doors) == 47
    with django_assert_max_num_queries(9):
        progress = client.get(reverse("api:supplies_campaign_progress", args=[campaign.pk])).json()
    assert progress["totals"]["households"] == 47
    with django_assert_max_num_queries(4):
        assert len(client.get(reverse("api:supplies_campaigns"), {"compound": cw.compound_a.pk}).json()) == 1
