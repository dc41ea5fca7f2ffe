"""The requests API: the queue and its filters, logging a request, a request with its answers and
files, each state change and its refusals (400, a stale read 409), the counts; scope."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.supplies.models import SupplyRequest
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Request, State

from .request_helpers import JPEG, ago, make_request, manager

pytestmark = pytest.mark.django_db
BASE = "/api/v1/voice/requests"


def post(client, url, data=None):
    return client.post(url, data if data is not None else {}, content_type="application/json")


def test_the_queue_urgent_first_then_oldest_with_late_flags(as_role, world):
    old = make_request(world, asker="幸福一家", text="快递能进吗", received_at=ago(200))
    recent = make_request(world, text="小区里能遛狗吗", received_at=ago(10))
    urgent = make_request(
        world, household=world.home_a1, resident=world.elder, text="要买药", received_at=ago(5)
    )
    client = as_role(Role.COMPOUND_MANAGER)
    rows = client.get(f"{BASE}?compound={world.compound_a.pk}").json()
    assert [r["id"] for r in rows] == [urgent.pk, old.pk, recent.pk]
    assert [r["late"] for r in rows] == [False, True, False]
    first = rows[0]
    assert (first["room"], first["resident_name"], first["phone"], first["category"], first["urgent"]) == (
        "1号楼1单元101室",
        "王秀兰",
        "138****5678",
        "medical",
        True,
    )
    assert rows[1]["asker"] == "幸福一家" and rows[1]["household"] is None
    assert [r["id"] for r in client.get(f"{BASE}?compound={world.compound_a.pk}&late=true").json()] == [
        old.pk
    ]
    assert [r["id"] for r in client.get(f"{BASE}?compound={world.compound_a.pk}&category=access").json()] == [
        old.pk
    ]
    assert client.get(f"{BASE}?compound={world.compound_a.pk}&state=closed").json() == []
    volunteer = as_role(Role.VOLUNTEER).get(f"{BASE}?compound={world.compound_a.pk}").json()
    assert volunteer[0]["phone"] == ""  # a volunteer is shown no phone


def test_scope_another_compound_404_a_resident_403_a_grid_workers_buildings(as_role, world):
    far = make_request(world, household=world.home_a2)
    other = make_request(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.get(f"{BASE}?compound={world.compound_b.pk}").status_code == 404
    assert client.get(f"{BASE}/{other.pk}").status_code == 404
    assert post(client, f"{BASE}/{other.pk}/acknowledge").status_code == 404
    grid = as_role(Role.GRID_WORKER)
    assert grid.get(f"{BASE}?compound={world.compound_a.pk}").json() == []
    assert grid.get(f"{BASE}/{far.pk}").status_code == 404
    resident = as_role(Role.RESIDENT)
    assert resident.get(f"{BASE}?compound={world.compound_a.pk}").status_code == 403
    assert resident.get(f"{BASE}/{far.pk}").status_code == 403
    assert resident.get(f"{BASE}/counts?compound={world.compound_a.pk}").status_code == 403
    assert (
        post(resident, BASE, {"compound": world.compound_a.pk, "channel": "group", "text": "x"}).status_code
        == 403
    )
    assert Request.objects.get(pk=other.pk).state == State.NEW


def test_log_a_request_by_room_by_household_and_for_no_one(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    by_room = post(
        client,
        BASE,
        {"compound": world.compound_a.pk, "channel": "hotline", "where": "2-1-201", "text": " 快递能进吗 "},
    )
    assert by_room.status_code == 201, by_room.content
    body = by_room.json()
    assert (body["household"], body["channel"], body["text"], body["category"], body["state"]) == (
        world.home_a2.pk,
        "hotline",
        "快递能进吗",
        "access",
        "new",
    )
    by_household = post(
        client,
        BASE,
        {
            "compound": world.compound_a.pk,
            "channel": "walk_in",
            "household": world.home_a1.pk,
            "resident": world.child.pk,
            "text": "孩子上网课没有网络",
            "category": "other",
        },
    ).json()
    assert (by_household["resident"], by_household["category"], by_household["urgent"]) == (
        world.child.pk,
        "other",
        True,  # an elderly resident lives alone there
    )
    nobody = post(
        client, BASE, {"compound": world.compound_a.pk, "channel": "group", "asker": "小王", "text": "解封"}
    )
    assert nobody.status_code == 201 and nobody.json()["household"] is None


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"text": "   "}, 400, "请填写诉求内容"),
        ({"where": "9-9-999"}, 400, "找不到该房号"),
        ({"channel": "portal"}, 400, "居民端诉求只能由居民本人提交"),
        ({"household": "B"}, 404, "未找到"),
        ({"household": "A1", "resident": "NEIGHBOUR"}, 400, "该居民不属于这一户"),
        ({"received_at": "2099-01-01T10:00:00+08:00"}, 400, "时间不能晚于现在"),
    ],
)
def test_bad_requests_are_refused_and_nothing_written(as_role, world, fields, status, message):
    data = {"compound": world.compound_a.pk, "channel": "group", "text": "解封", **fields}
    data["household"] = {"B": world.home_b.pk, "A1": world.home_a1.pk}.get(data.get("household"))
    if data.get("resident") == "NEIGHBOUR":
        data["resident"] = world.neighbour.pk
    answer = post(as_role(Role.COMPOUND_MANAGER), BASE, data)
    assert answer.status_code == status, answer.content
    assert message in answer.json()["detail"]
    assert not Request.objects.exists()


def test_a_request_with_its_answers_and_files(as_role, world):
    request = make_request(world, household=world.home_a2, attachments=[SimpleUploadedFile("门口.jpg", JPEG)])
    actions.request_answer(actor=manager(world), request=request, text="已安排")
    body = as_role(Role.COMPOUND_MANAGER).get(f"{BASE}/{request.pk}").json()
    assert [(a["text"], a["channel"], a["by"]) for a in body["answers"]] == [("已安排", "group", "manager")]
    (file,) = body["attachments"]
    assert (file["name"], file["content_type"], file["size"]) == ("门口.jpg", "image/jpeg", len(JPEG))
    assert file["url"] == f"/voice/requests/{request.pk}/files/{file['id']}/"


def test_the_state_changes_and_their_refusals(as_role, world):
    request = make_request(world, household=world.home_a2, channel="private")
    client = as_role(Role.COMPOUND_MANAGER)
    url = f"{BASE}/{request.pk}"
    assert post(client, f"{url}/acknowledge").json()["state"] == "acknowledged"
    assert post(client, f"{url}/start").json()["state"] == "in_progress"
    early = post(client, f"{url}/close")
    assert early.status_code == 400 and early.json()["detail"] == "诉求尚未答复，不能办结"
    assert post(client, f"{url}/answer", {"text": " "}).status_code == 400
    answered = post(client, f"{url}/answer", {"text": "明天上午送到", "channel": "hotline"}).json()
    assert answered["state"] == "answered" and answered["answers"][0]["channel"] == "hotline"
    closed = post(client, f"{url}/close").json()
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert post(client, f"{url}/reopen", {"reason": ""}).status_code == 400
    reopened = post(client, f"{url}/reopen", {"reason": "居民说没收到"}).json()
    assert (reopened["state"], reopened["closed_at"]) == ("in_progress", None)
    assert post(client, f"{url}/acknowledge").status_code == 400


def test_a_stale_read_is_409_with_who_changed_it(as_role, world):
    request = make_request(world, household=world.home_a2)
    seen = {"state": request.state, "seen": request.updated_at.isoformat()}
    actions.request_acknowledge(actor=world.users[Role.VOLUNTEER], request=request)
    answer = post(as_role(Role.COMPOUND_MANAGER), f"{BASE}/{request.pk}/start", seen)
    assert answer.status_code == 409
    assert "volunteer" in answer.json()["detail"] and "已确认" in answer.json()["detail"]
    request.refresh_from_db()
    assert (request.state, request.holder) == (State.ACKNOWLEDGED, world.users[Role.VOLUNTEER])


def test_hand_over_to_supplies(as_role, world):
    request = make_request(world, household=world.home_a2, text="药吃完了")
    client = as_role(Role.COMPOUND_MANAGER)
    refused = post(client, f"{BASE}/{request.pk}/hand-over", {"kind": "medicine"})
    assert refused.status_code == 400 and refused.json()["detail"] == "请注明需要哪种药品"
    body = post(client, f"{BASE}/{request.pk}/hand-over", {"kind": "medicine", "detail": "硝苯地平"}).json()
    supply = SupplyRequest.objects.get()
    assert (body["supply_request"], body["state"], supply.detail) == (supply.pk, "in_progress", "硝苯地平")


def test_counts_of_a_day_and_since_the_start(as_role, world):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    noon = timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(12)))
    make_request(world, text="昨天的", received_at=noon)
    today = make_request(world, text="今天的")
    actions.request_answer(actor=manager(world), request=today, text="好")
    client = as_role(Role.COMPOUND_MANAGER)
    overall = client.get(f"{BASE}/counts?compound={world.compound_a.pk}").json()
    assert {k: overall[k] for k in ("day", "notices", "received", "answered", "closed", "calls", "late")} == {
        "day": None,
        "notices": 0,
        "received": 2,
        "answered": 1,
        "closed": 0,
        "calls": 0,
        "late": 1,
    }
    assert overall["by_channel"]["group"] == 2 and overall["by_category"]["other"] == 2
    of_yesterday = client.get(f"{BASE}/counts?compound={world.compound_a.pk}&day={yesterday}").json()
    assert (of_yesterday["received"], of_yesterday["answered"], of_yesterday["late"]) == (1, 0, 1)
    assert client.get(f"{BASE}/counts?compound={world.compound_b.pk}").status_code == 404


def test_the_schema_lists_the_requests_paths(as_role):
    schema = as_role(Role.COMPOUND_MANAGER).get("/api/v1/openapi.json").json()
    paths = {p: sorted(ops) for p, ops in schema["paths"].items() if p.startswith(BASE)}
    assert paths == {
        BASE: ["get", "post"],
        f"{BASE}/counts": ["get"],
        f"{BASE}/{{request_id}}": ["get"],
        f"{BASE}/{{request_id}}/acknowledge": ["post"],
        f"{BASE}/{{request_id}}/start": ["post"],
        f"{BASE}/{{request_id}}/close": ["post"],
        f"{BASE}/{{request_id}}/answer": ["post"],
        f"{BASE}/{{request_id}}/reopen": ["post"],
        f"{BASE}/{{request_id}}/hand-over": ["post"],
        f"{BASE}/{{request_id}}/classify": ["post"],
        f"{BASE}/{{request_id}}/hand-on": ["post"],
    }
    assert "phone" in schema["components"]["schemas"]["VoiceRequestOut"]["properties"]
