"""The hotline's JSON API: the day's calls with their counts (numbers masked), logging a call (and
a request from it), bad input, the follow-up; roles and scope."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.hotline import hotline_log
from tongxin.voice.models import Channel, HotlineCall, Request

pytestmark = pytest.mark.django_db


def logged(world, *, compound=None, **fields):
    values = {
        "actor": world.users[Role.PLATFORM_ADMIN],
        "compound": compound or world.compound_a,
        "caller": "李先生",
        "phone": "13812345678",
        "asked": "快递能进小区吗",
        "at": timezone.now() - datetime.timedelta(minutes=1),
    }
    values.update(fields)
    return hotline_log(**values)


def test_the_days_calls_with_counts_and_masked_numbers(api, world):
    assert reverse("api:voice_hotline") == "/api/v1/voice/hotline"
    first = logged(world, answered="放门口快递架", follow_up="")
    second = logged(world, asked="核酸几点", follow_up="回电告知时间", at=timezone.now())
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    logged(
        world, asked="昨天的", at=timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(9)))
    )
    response = api(Role.VOLUNTEER, "get", "voice_hotline", query=f"?compound={world.compound_a.pk}")
    assert response.status_code == 200
    data = response.json()
    assert (data["day"], data["calls"], data["answered"]) == (timezone.localdate().isoformat(), 2, 1)
    assert [c["id"] for c in data["items"]] == [first.pk, second.pk]
    assert data["items"][0] | {"at": None} == {
        "id": first.pk,
        "compound": world.compound_a.pk,
        "at": None,
        "caller": "李先生",
        "phone_masked": "138****5678",
        "asked": "快递能进小区吗",
        "answered": "放门口快递架",
        "follow_up": "",
        "request": None,
        "taken_by": str(world.users[Role.PLATFORM_ADMIN]),
    }
    assert "13812345678" not in response.content.decode()
    pending = api(
        Role.VOLUNTEER, "get", "voice_hotline", query=f"?compound={world.compound_a.pk}&follow_up=true"
    )
    assert [c["id"] for c in pending.json()["items"]] == [second.pk]
    before = api(
        Role.VOLUNTEER,
        "get",
        "voice_hotline",
        query=f"?compound={world.compound_a.pk}&day={yesterday.isoformat()}",
    )
    assert [c["asked"] for c in before.json()["items"]] == ["昨天的"]


def test_log_a_call_and_a_request_of_a_room(api, world):
    body = {
        "compound": world.compound_a.pk,
        "caller": "王阿姨",
        "phone": "+86 139 0000 1111",
        "asked": "老人降压药吃完了",
        "answered": "已联系社区医生",
        "follow_up": "明天回电",
        "make_request": True,
        "room": "1-1-101",
    }
    response = api(Role.COMPOUND_MANAGER, "post", "voice_hotline_log", body)
    assert response.status_code == 200, response.content
    data = response.json()
    call = HotlineCall.objects.get()
    request = Request.objects.get()
    assert (data["id"], data["phone_masked"], data["request"]) == (call.pk, "139****1111", request.pk)
    assert (request.channel, request.household, request.asker) == (Channel.HOTLINE, world.home_a1, "王阿姨")
    by_id = dict(body, room="", household=world.home_a2.pk)
    response = api(Role.COMPOUND_MANAGER, "post", "voice_hotline_log", by_id)
    assert Request.objects.get(pk=response.json()["request"]).household == world.home_a2


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"asked": " "}, "请填写来电内容"),
        ({"phone": "abc"}, "电话号码格式不对"),
        ({"at": "2099-01-01T08:00:00+08:00"}, "时间不能晚于现在"),
        ({"make_request": True, "room": "9-9-909"}, "本小区没有这个房号，或不在您负责的范围"),
    ],
)
def test_bad_input_is_refused(api, world, fields, message):
    body = {"compound": world.compound_a.pk, "asked": "快递能进吗", **fields}
    response = api(Role.COMPOUND_MANAGER, "post", "voice_hotline_log", body)
    assert response.status_code == 400
    assert response.json()["detail"] == message
    assert (HotlineCall.objects.count(), Request.objects.count()) == (0, 0)


def test_another_compounds_household_is_not_a_request_of_this_one(api, world):
    body = {
        "compound": world.compound_a.pk,
        "asked": "快递",
        "make_request": True,
        "household": world.home_b.pk,
    }
    response = api(Role.COMPOUND_MANAGER, "post", "voice_hotline_log", body)
    assert response.status_code == 400
    assert HotlineCall.objects.count() == 0


def test_follow_up(api, world):
    call = logged(world, follow_up="回电")
    response = api(Role.VOLUNTEER, "post", "voice_hotline_follow_up", {"follow_up": ""}, args=[call.pk])
    assert response.status_code == 200
    assert response.json()["follow_up"] == ""
    call.refresh_from_db()
    assert call.follow_up == ""
    log = AuditLog.objects.get(reason="hotline_follow_up")
    assert log.detail == {"before": "回电", "after": ""}
    too_long = api(
        Role.VOLUNTEER, "post", "voice_hotline_follow_up", {"follow_up": "跟" * 501}, args=[call.pk]
    )
    assert too_long.status_code == 422


def test_roles_and_scope(api, world):
    theirs = logged(world, compound=world.compound_b)
    assert (
        api(Role.RESIDENT, "get", "voice_hotline", query=f"?compound={world.compound_a.pk}").status_code
        == 403
    )
    assert (
        api(
            Role.RESIDENT, "post", "voice_hotline_log", {"compound": world.compound_a.pk, "asked": "x"}
        ).status_code
        == 403
    )
    assert (
        api(
            Role.COMPOUND_MANAGER, "get", "voice_hotline", query=f"?compound={world.compound_b.pk}"
        ).status_code
        == 404
    )
    response = api(
        Role.COMPOUND_MANAGER, "post", "voice_hotline_log", {"compound": world.compound_b.pk, "asked": "x"}
    )
    assert response.status_code == 404
    response = api(
        Role.COMPOUND_MANAGER, "post", "voice_hotline_follow_up", {"follow_up": "x"}, args=[theirs.pk]
    )
    assert response.status_code == 404
    theirs.refresh_from_db()
    assert theirs.follow_up == "" and HotlineCall.objects.count() == 1
