"""Risk area and compound status endpoints under /api/v1/outbreak/."""

import pytest
from django.test import Client

from tongxin.accounts.models import Role
from tongxin.outbreak import actions
from tongxin.outbreak.models import RiskArea, RiskAreaEvent
from tongxin.outbreak.tests.risk_helpers import d, raise_building
from tongxin.registry.tests.factories import make_user

API = "/api/v1/outbreak"


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.TONGXIN_RULE_SET = "2022-11"
    settings.TONGXIN_RULES = "{}"


def api_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def post(client, url, data):
    return client.post(url, data, content_type="application/json")


def test_raise_list_detail_timeline(world):
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    response = post(
        client,
        f"{API}/compounds/{world.compound_a.pk}/areas",
        {"scope": "building", "building_id": world.a1.pk, "reason": "首例阳性所在楼栋", "on": "2022-11-14"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["scope"], body["place"], body["level"], body["level_label"], body["version"]) == (
        "building",
        "1号楼",
        "high",
        "高风险区",
        1,
    )
    assert (body["clock_from"], body["may_lower_from"], body["days_left"]) == ("2022-11-14", "2022-11-19", 0)
    area_id = body["id"]
    listed = client.get(f"{API}/compounds/{world.compound_a.pk}/areas", {"on": "2022-11-16"}).json()
    assert [(a["id"], a["days_left"], a["awaiting_screening"]) for a in listed] == [(area_id, 3, False)]
    assert client.get(f"{API}/areas/{area_id}").json()["id"] == area_id
    timeline = client.get(f"{API}/areas/{area_id}/timeline").json()
    assert [(e["kind"], e["to_level"], e["reason"], e["actor"]) for e in timeline] == [
        ("raise", "high", "首例阳性所在楼栋", "manager")
    ]


def test_raise_errors_answer_400_and_write_nothing(world):
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    url = f"{API}/compounds/{world.compound_a.pk}/areas"
    response = post(
        client, url, {"scope": "building", "building_id": world.a1.pk, "reason": "", "on": "2022-11-14"}
    )
    assert response.status_code == 400 and response.json()["errors"] == {"reason": ["请填写原因"]}
    response = post(
        client,
        url,
        {
            "scope": "building",
            "building_id": world.a1.pk,
            "level": "sealed",
            "reason": "r",
            "on": "2022-11-14",
        },
    )
    assert response.status_code == 400 and "当前规则中没有该风险等级" in response.json()["detail"]
    # A building of another compound is not found by id within this compound: asked to choose one.
    response = post(
        client, url, {"scope": "building", "building_id": world.b1.pk, "reason": "r", "on": "2022-11-14"}
    )
    assert response.status_code == 400 and response.json()["errors"] == {"building": ["请选择楼栋"]}
    assert RiskArea.objects.count() == 0


def test_screening_proposals_and_lower_with_stale_version_409(world):
    area = raise_building(world, d(11, 14))
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    response = post(client, f"{API}/areas/{area.pk}/screenings", {"on": "2022-11-18", "all_negative": True})
    assert response.status_code == 201 and response.json()["all_negative"] is True
    proposals = client.get(f"{API}/compounds/{world.compound_a.pk}/proposals").json()
    assert [
        (p["area"]["id"], p["from_level"], p["to_level"], p["to_label"], p["since"]) for p in proposals
    ] == [(area.pk, "high", None, "解除", "2022-11-19")]
    first = post(client, f"{API}/areas/{area.pk}/lower", {"version": 1, "reason": "5天无新增"})
    assert first.status_code == 200 and first.json()["lifted_on"] is not None
    second = post(client, f"{API}/areas/{area.pk}/lower", {"version": 1})
    assert second.status_code == 409
    assert second.json() == {"detail": "记录已被他人修改，请刷新后重试"}
    assert RiskAreaEvent.objects.filter(area=area, kind="lift").count() == 1


def test_lower_before_the_rule_holds_is_400(world):
    from django.utils import timezone

    area = raise_building(world, timezone.localdate())
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    response = post(client, f"{API}/areas/{area.pk}/lower", {"version": 1})
    assert response.status_code == 400 and "尚不满足降级条件" in response.json()["detail"]


def test_volunteers_read_levels_without_reasons_and_cannot_write(world):
    area = raise_building(world, d(11, 14), reason="王秀兰家阳性")
    client = api_client(world.users[Role.VOLUNTEER])
    assert client.get(f"{API}/compounds/{world.compound_a.pk}/areas").json()[0]["level"] == "high"
    timeline = client.get(f"{API}/areas/{area.pk}/timeline").json()
    assert [(e["reason"], e["actor"]) for e in timeline] == [("", None)]
    assert client.get(f"{API}/compounds/{world.compound_a.pk}/proposals").json() == []
    response = post(client, f"{API}/areas/{area.pk}/lower", {"version": 1})
    assert response.status_code == 403
    response = post(client, f"{API}/areas/{area.pk}/lift", {"reason": "r"})
    assert response.status_code == 403
    assert RiskArea.objects.get().lifted_on is None


def test_other_compounds_and_residents_get_404(world):
    area = raise_building(world, d(11, 14))
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=world.compound_b)
    for user in (manager_b, world.users[Role.RESIDENT]):
        client = api_client(user)
        assert client.get(f"{API}/areas/{area.pk}").status_code == 404
        assert client.get(f"{API}/areas/{area.pk}/timeline").status_code == 404
        assert client.get(f"{API}/compounds/{world.compound_a.pk}/areas").status_code == 404
        assert post(client, f"{API}/areas/{area.pk}/lower", {"version": 1}).status_code == 404
    assert Client().get(f"{API}/areas/{area.pk}").status_code == 401


def test_compound_status_get_and_set(world):
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    url = f"{API}/compounds/{world.compound_a.pk}/status"
    assert client.get(url).json() == {"compound_id": world.compound_a.pk, "current": None, "history": []}
    assert post(client, url, {"status": "quiet", "on": "2022-10-02", "reason": "全市静默"}).status_code == 201
    body = post(client, url, {"status": "sealed", "on": "2022-11-14"}).json()
    assert [(p["status"], p["on"], p["ends_on"]) for p in body["history"]] == [
        ("quiet", "2022-10-02", "2022-11-14"),
        ("sealed", "2022-11-14", None),
    ]
    assert body["history"][0]["days"] == 43
    assert body["current"]["status"] == "sealed"
    response = post(client, url, {"status": "unsealed", "on": "2022-11-01"})
    assert response.status_code == 400 and "日期不能早于上一次状态变更" in response.json()["detail"]
    volunteer = api_client(world.users[Role.VOLUNTEER])
    assert volunteer.get(url).json()["history"][0]["reason"] == ""
    assert post(volunteer, url, {"status": "unsealed", "on": "2022-11-22"}).status_code == 403
    actions.compound_status_set(actor=None, compound=world.compound_a, status="unsealed", on=d(11, 22))
    assert client.get(url).json()["current"]["status"] == "unsealed"
