"""Round planning endpoints under /api/v1/testing/: scoped lists, create, schedule, versions."""

import datetime

import pytest
from django.test import Client
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.testing.actions import planning as actions
from tongxin.testing.models import TestRound
from tongxin.testing.tests.test_planning_schedule import build_world, plan, raise_a3, tomorrow

API = "/api/v1/testing"


@pytest.fixture(autouse=True)
def _planning_settings(settings):
    settings.TONGXIN_RULE_SET = "2022-11"
    settings.TONGXIN_RULES = "{}"
    settings.TONGXIN_TABLE_PEOPLE_PER_HOUR = 120
    settings.TONGXIN_SLOT_ROUND_MINUTES = 10


def api(world, role) -> Client:
    client = Client()
    client.force_login(world.users[role])
    return client


def post(client, url, data=None):
    return client.post(url, data or {}, content_type="application/json")


def patch(client, url, data):
    return client.patch(url, data, content_type="application/json")


def test_create_then_schedule_then_read(world):
    build_world(world)
    raise_a3(world)
    client = api(world, Role.COMPOUND_MANAGER)
    response = post(
        client,
        f"{API}/rounds",
        {
            "name": "全员核酸",
            "day": tomorrow().isoformat(),
            "compounds": [world.compound_a.pk],
            "buildings": [world.a1.pk, world.a3.pk],
            "pool_size": 10,
            "starts_at": "07:00",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (
        body["name"],
        body["day"],
        body["starts_at"],
        body["state"],
        body["state_label"],
        body["version"],
    ) == (
        "全员核酸",
        tomorrow().isoformat(),
        "07:00:00",
        "planned",
        "计划中",
        1,
    )
    assert body["compounds"] == [
        {"id": world.compound_a.pk, "name": "甲小区", "buildings": [world.a1.pk, world.a3.pk]}
    ]
    assert (body["points"], body["slots"]) == ([], [])
    round_ = TestRound.objects.get(pk=body["id"])
    point = actions.point_add(actor=None, round=round_, compound=world.compound_a, name="1号采样点")
    actions.table_add(actor=None, point=point, label="1号台")
    slots = post(client, f"{API}/rounds/{round_.pk}/schedule").json()
    assert [
        (s["unit"], s["starts_at"][11:16], s["ends_at"][11:16], s["people"], s["mode"], s["pool_size"])
        for s in slots
    ] == [
        ("1号楼1单元", "07:00", "07:20", 25, "down", 10),
        ("1号楼2单元", "07:20", "07:30", 10, "down", 10),
        ("3号楼1单元", "07:30", "07:40", 7, "door", 1),
    ]
    assert slots[0]["starts_at"].endswith("+08:00")
    assert [s["notice"] for s in slots] == [
        "1号楼1单元 07:00-07:20 下楼检测，带好出入证",
        "1号楼2单元 07:20-07:30 下楼检测，带好出入证",
        "3号楼1单元 07:30-07:40 上门采样，请在家等候",
    ]
    detail = client.get(f"{API}/rounds/{round_.pk}").json()
    assert detail["points"] == [
        {
            "id": point.pk,
            "compound_id": world.compound_a.pk,
            "name": "1号采样点",
            "location": "",
            "tables": [{"id": point.tables.get().pk, "label": "1号台", "pool_size": 10, "mode": "station"}],
        }
    ]
    assert len(detail["slots"]) == 3
    # A grid worker of 1号楼 reads the round with 1号楼's slots only, and cannot build.
    grid = api(world, Role.GRID_WORKER)
    assert [s["unit"] for s in grid.get(f"{API}/rounds/{round_.pk}").json()["slots"]] == [
        "1号楼1单元",
        "1号楼2单元",
    ]
    refused = post(grid, f"{API}/rounds/{round_.pk}/schedule")
    assert refused.status_code == 403 and refused.json() == {"detail": "当前角色不能安排核酸检测"}


def test_lists_are_scoped_and_rounds_outside_answer_404(world):
    both = actions.round_create(
        actor=None, name="两小区", day=tomorrow(), compounds=[world.compound_a, world.compound_b]
    )
    only_b = actions.round_create(actor=None, name="乙小区", day=tomorrow(), compounds=[world.compound_b])
    admin = api(world, Role.PLATFORM_ADMIN).get(f"{API}/rounds").json()
    assert [(r["id"], [c["name"] for c in r["compounds"]]) for r in admin] == [
        (only_b.pk, ["乙小区"]),
        (both.pk, ["甲小区", "乙小区"]),
    ]
    for role in (Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER):
        client = api(world, role)
        listed = client.get(f"{API}/rounds").json()
        assert [(r["id"], [c["name"] for c in r["compounds"]]) for r in listed] == [(both.pk, ["甲小区"])], (
            role
        )
        assert client.get(f"{API}/rounds/{only_b.pk}").status_code == 404
        assert client.get(f"{API}/rounds/{both.pk}").status_code == 200
    resident = api(world, Role.RESIDENT)
    assert resident.get(f"{API}/rounds").json() == []
    assert resident.get(f"{API}/rounds/{both.pk}").status_code == 404
    assert post(resident, f"{API}/rounds/{both.pk}/schedule").status_code == 404


def test_create_refusals(world):
    client = api(world, Role.COMPOUND_MANAGER)
    base = {"name": "全员核酸", "day": tomorrow().isoformat(), "compounds": [world.compound_a.pk]}
    outside = post(client, f"{API}/rounds", {**base, "compounds": [world.compound_a.pk, world.compound_b.pk]})
    assert outside.status_code == 404
    assert post(client, f"{API}/rounds", {**base, "buildings": [world.b1.pk]}).status_code == 404
    bad = post(client, f"{API}/rounds", {**base, "pool_size": 8})
    assert bad.status_code == 400 and bad.json()["errors"] == {"pool_size": ["混采人数只能是1、5、10或20"]}
    past = post(
        client,
        f"{API}/rounds",
        {**base, "day": (timezone.localdate() - datetime.timedelta(days=1)).isoformat()},
    )
    assert past.status_code == 400 and past.json()["detail"] == "检测日期不能早于今天"
    admin = api(world, Role.PLATFORM_ADMIN)
    stray = post(admin, f"{API}/rounds", {**base, "buildings": [world.b1.pk]})
    assert stray.status_code == 400 and stray.json()["errors"] == {"buildings": ["楼栋不属于所选小区：1号楼"]}
    for role in (Role.GRID_WORKER, Role.VOLUNTEER):
        refused = post(api(world, role), f"{API}/rounds", base)
        assert refused.status_code == 403 and refused.json() == {"detail": "当前角色不能安排核酸检测"}
    assert post(api(world, Role.RESIDENT), f"{API}/rounds", base).status_code == 404
    assert not TestRound.objects.exists()


def test_patch_with_a_stale_version_answers_409(world):
    round_ = actions.round_create(actor=None, name="全员核酸", day=tomorrow(), compounds=[world.compound_a])
    client = api(world, Role.COMPOUND_MANAGER)
    first = patch(client, f"{API}/rounds/{round_.pk}", {"version": 1, "name": "第二轮", "pool_size": 5})
    assert first.status_code == 200 and (
        first.json()["name"],
        first.json()["pool_size"],
        first.json()["version"],
    ) == (
        "第二轮",
        5,
        2,
    )
    stale = patch(client, f"{API}/rounds/{round_.pk}", {"version": 1, "name": "第三轮"})
    assert stale.status_code == 409 and stale.json() == {"detail": "记录已被他人修改，请刷新后重试"}
    assert TestRound.objects.get(pk=round_.pk).name == "第二轮"
    volunteer = patch(
        api(world, Role.VOLUNTEER), f"{API}/rounds/{round_.pk}", {"version": 2, "name": "志愿者"}
    )
    assert volunteer.status_code == 403


def test_state_endpoint(world):
    build_world(world)
    round_ = plan(world)
    client = api(world, Role.COMPOUND_MANAGER)
    started = post(client, f"{API}/rounds/{round_.pk}/state", {"state": "sampling", "version": 1})
    assert started.status_code == 200 and (started.json()["state"], started.json()["version"]) == (
        "sampling",
        2,
    )
    back = post(client, f"{API}/rounds/{round_.pk}/state", {"state": "planned"})
    assert back.status_code == 400 and back.json()["detail"] == "不能从“采样中”改为“计划中”"
    stale = post(client, f"{API}/rounds/{round_.pk}/state", {"state": "closed", "version": 1})
    assert stale.status_code == 409
