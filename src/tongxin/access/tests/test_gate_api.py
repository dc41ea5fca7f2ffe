"""The gate's JSON API: session and CSRF, scope (404 outside the user's area, 403 for residents),
and the exact answers of check, sync and visitor registration."""

import datetime
import uuid

import pytest
from django.test import Client
from django.utils import timezone

from tongxin.access.models import AccessEvent, AccessPolicy, Visitor
from tongxin.access.tests.gate_helpers import make_gate, make_pass, set_status
from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(world):
    for resident in (world.elder, world.child, world.neighbour, world.stranger):
        set_status(resident)
    return make_gate(world)


def _client(user, *, csrf: bool = False) -> Client:
    client = Client(enforce_csrf_checks=csrf)
    client.force_login(user)
    return client


def _post(client, path, body):
    return client.post(path, body, content_type="application/json")


def test_check_answers_the_verdict_with_name_and_room(world, gate):
    AccessPolicy.objects.create(compound=world.compound_a, exit_max_minutes=90)
    _pass, code = make_pass(world.elder)
    scan = str(uuid.uuid4())
    client = _client(world.users[Role.VOLUNTEER])
    answer = _post(
        client, f"/api/v1/access/gates/{gate.pk}/check", {"id": scan, "direction": "out", "code": code}
    )
    assert answer.status_code == 200
    body = answer.json()
    due = datetime.datetime.fromisoformat(body.pop("due_at"))
    assert body == {
        "id": scan,
        "allowed": True,
        "reason": "ok",
        "text": "放行",
        "name": "王秀兰",
        "room": "1-1-101",
        "late_minutes": 0,
    }
    assert abs((due - timezone.now()).total_seconds() - 90 * 60) < 60
    assert due.utcoffset() == datetime.timedelta(hours=8)  # shown in the compound's time
    # The resend: the same answer, one event.
    again = _post(
        client, f"/api/v1/access/gates/{gate.pk}/check", {"id": scan, "direction": "out", "code": code}
    )
    assert again.json()["id"] == scan and again.json()["reason"] == "ok"
    assert AccessEvent.objects.count() == 1


def test_check_refusals_say_why(world, gate):
    _pass, revoked = make_pass(world.elder, revoked=True)
    client = _client(world.users[Role.VOLUNTEER])
    body = _post(
        client,
        f"/api/v1/access/gates/{gate.pk}/check",
        {"id": str(uuid.uuid4()), "direction": "in", "code": revoked},
    ).json()
    assert (body["allowed"], body["reason"], body["text"], body["name"]) == (
        False,
        "revoked",
        "出入证已注销",
        "王秀兰",
    )
    assert body["due_at"] is None
    body = _post(
        client,
        f"/api/v1/access/gates/{gate.pk}/check",
        {"id": str(uuid.uuid4()), "direction": "out", "resident": 99999999},
    ).json()
    assert (body["allowed"], body["reason"], body["text"], body["name"], body["room"]) == (
        False,
        "unknown",
        "查无此人",
        "",
        "",
    )


def test_check_bad_input_is_400_or_422_and_writes_nothing(world, gate):
    client = _client(world.users[Role.VOLUNTEER])
    path = f"/api/v1/access/gates/{gate.pk}/check"
    assert _post(client, path, {"id": "x", "direction": "out", "resident": world.elder.pk}).status_code == 400
    assert _post(client, path, {"id": str(uuid.uuid4()), "direction": "up"}).status_code == 422
    assert _post(client, path, {"id": str(uuid.uuid4()), "direction": "out"}).status_code == 400
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    answer = _post(
        client, path, {"id": str(uuid.uuid4()), "direction": "out", "resident": world.elder.pk, "at": future}
    )
    assert answer.status_code == 400
    assert "设备时间" in answer.json()["detail"]
    assert not AccessEvent.objects.exists()


def test_scope_a_volunteer_of_another_compound_gets_404(world, gate):
    other = make_user(Role.VOLUNTEER, compound=world.compound_b)
    client = _client(other)
    body = {"id": str(uuid.uuid4()), "direction": "out", "resident": world.elder.pk}
    assert _post(client, f"/api/v1/access/gates/{gate.pk}/check", body).status_code == 404
    assert client.get(f"/api/v1/access/gates/{gate.pk}/snapshot").status_code == 404
    assert _post(client, f"/api/v1/access/gates/{gate.pk}/sync", {"events": []}).status_code == 404
    assert _post(client, "/api/v1/access/gates/999999/check", body).status_code == 404
    resident = _client(world.users[Role.RESIDENT])
    assert _post(resident, f"/api/v1/access/gates/{gate.pk}/check", body).status_code == 403
    assert not AccessEvent.objects.exists()


def test_the_api_needs_a_session_and_the_csrf_token(world, gate):
    body = {"id": str(uuid.uuid4()), "direction": "out", "resident": world.elder.pk}
    path = f"/api/v1/access/gates/{gate.pk}/check"
    assert _post(Client(), path, body).status_code == 401
    client = _client(world.users[Role.VOLUNTEER], csrf=True)
    assert _post(client, path, body).status_code == 403
    token = "k" * 32  # a CSRF cookie as the gate page gets it, and the header that matches it
    client.cookies["csrftoken"] = token
    answer = client.post(path, body, content_type="application/json", headers={"X-CSRFToken": token})
    assert answer.status_code == 200
    assert AccessEvent.objects.count() == 1
    assert not Visitor.objects.exists()


def test_sync_answers_each_event(world, gate, settings):
    client = _client(world.users[Role.VOLUNTEER])
    path = f"/api/v1/access/gates/{gate.pk}/sync"
    at = (timezone.now() - datetime.timedelta(minutes=5)).isoformat()
    good = {
        "id": str(uuid.uuid4()),
        "type": "check",
        "at": at,
        "direction": "out",
        "method": "room",
        "resident": world.elder.pk,
        "allowed": True,
        "reason": "ok",
    }
    bad = {**good, "id": str(uuid.uuid4()), "reason": "whatever"}
    answer = _post(client, path, {"events": [good, bad]})
    assert answer.status_code == 200
    body = answer.json()
    server_time = datetime.datetime.fromisoformat(body.pop("server_time"))
    assert abs((server_time - timezone.now()).total_seconds()) < 60
    assert body == {
        "stored": [good["id"]],
        "refused": [{"id": bad["id"], "code": "bad_event", "message": "未知的原因"}],
    }
    assert AccessEvent.objects.get().offline is True
    settings.TONGXIN_GATE_SYNC_MAX_BATCH = 1
    too_many = _post(client, path, {"events": [good, bad]})
    assert too_many.status_code == 400
    assert too_many.json()["detail"] == "一次最多上传1条记录"
    assert _post(client, path, {"nothing": []}).status_code == 422
    assert AccessEvent.objects.count() == 1


def test_openapi_schema_lists_the_gate_endpoints(client):
    schema = client.get("/api/v1/openapi.json").json()
    paths = {path: sorted(ops) for path, ops in schema["paths"].items() if path.startswith("/api/v1/access/")}
    assert paths == {
        "/api/v1/access/gates/{gate_id}/check": ["post"],
        "/api/v1/access/gates/{gate_id}/snapshot": ["get"],
        "/api/v1/access/gates/{gate_id}/sync": ["post"],
        "/api/v1/access/gates/{gate_id}/visitors": ["post"],
    }
