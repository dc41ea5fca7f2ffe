"""The portal's JSON: the household's summary with exact values, one request with its answers,
sending a request (for oneself, for an elderly member, from the household's link), refusals."""

import datetime

import pytest
from django.utils import timezone

from tongxin.access.actions.passes import pass_code
from tongxin.access.tests.gate_helpers import hold, set_status
from tongxin.supplies.tests.parcel_helpers import intake
from tongxin.testing.tests.round_helpers import make_round
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.actions.portal import portal_link_login, portal_link_token
from tongxin.voice.actions.requests import request_answer
from tongxin.voice.models import Channel, Request
from tongxin.voice.tests.portal_helpers import issue_pass, manager, portal_user, slot_for
from tongxin.voice.tests.request_helpers import make_request

API = "/api/v1/voice/portal"


def same_moment(value: str, moment: datetime.datetime) -> bool:
    """The JSON's time (to the millisecond) is `moment`."""
    return abs(datetime.datetime.fromisoformat(value.replace("Z", "+00:00")) - moment) < datetime.timedelta(
        milliseconds=1
    )


def test_the_summary_names_each_part_of_the_household(client, world):
    notice = notice_create(actor=manager(world), compound=world.compound_a, title="明日核酸", body="7点下楼")
    slot = slot_for(world, world.a1u1, round_=make_round(world))
    set_status(world.elder, holds=[])
    set_status(world.child, holds=[hold("yellow", "flag_overlap")])
    elder_pass = issue_pass(world, world.elder)
    parcel = intake(world, world.home_a1, tracking_number="SF-1", pieces=2)
    asked = make_request(world, household=world.home_a1, text="什么时候解封")
    request_answer(actor=manager(world), request=asked, text="等通知")
    client.force_login(portal_user(world))
    data = client.get(f"{API}/").json()
    assert (data["household"], data["room"], data["compound"]) == (
        world.home_a1.pk,
        str(world.home_a1),
        "甲小区",
    )
    elder, child = data["members"]
    assert {
        k: elder[k] for k in ("id", "name", "elderly", "color", "color_label", "overdue", "pass_number")
    } == {
        "id": world.elder.pk,
        "name": "王秀兰",
        "elderly": True,
        "color": "green",
        "color_label": "绿码",
        "overdue": False,
        "pass_number": elder_pass.number,
    }
    assert elder["pass_code"] == pass_code(elder_pass)
    assert same_moment(elder["pass_expires_at"], elder_pass.expires_at)
    assert (child["name"], child["elderly"], child["color"], child["color_label"]) == (
        "王小明",
        False,
        "yellow",
        "黄码",
    )
    assert (child["pass_number"], child["pass_code"], child["pass_expires_at"]) == ("", "", None)
    assert data["household_pass"] is None
    testing = data["testing"]
    assert (testing["day"], testing["mode"], testing["point"]) == (
        slot.round.day.isoformat(),
        "down",
        "1号采样点",
    )
    assert same_moment(testing["starts_at"], slot.starts_at)
    start = timezone.localtime(slot.starts_at).strftime("%H:%M")
    end = timezone.localtime(slot.ends_at).strftime("%H:%M")
    assert testing["text"] == f"{world.a1u1} {start}-{end} 下楼检测，带好出入证"
    assert [(n["id"], n["title"], n["body"]) for n in data["notices"]] == [(notice.pk, "明日核酸", "7点下楼")]
    assert [(p["id"], p["tracking_number"], p["pieces"], p["state"]) for p in data["parcels"]] == [
        (parcel.pk, "SF-1", 2, "received")
    ]
    [item] = data["requests"]
    assert {
        k: item[k] for k in ("id", "text", "category", "state", "state_label", "urgent", "resident", "asker")
    } == {
        "id": asked.pk,
        "text": "什么时候解封",
        "category": "access",
        "state": "answered",
        "state_label": "已答复",
        "urgent": True,  # the elder of the household lives alone
        "resident": "",
        "asker": "",
    }
    assert [(a["text"], a["channel"]) for a in item["answers"]] == [("等通知", "group")]


def test_one_request_with_its_answers(client, world):
    asked = make_request(world, household=world.home_a1, resident=world.elder, text="药没了")
    request_answer(actor=manager(world), request=asked, text="已送药", channel=Channel.HOTLINE)
    client.force_login(portal_user(world))
    data = client.get(f"{API}/requests/{asked.pk}").json()
    assert (data["id"], data["text"], data["resident"], data["urgent"]) == (
        asked.pk,
        "药没了",
        "王秀兰",
        True,
    )
    assert [(a["text"], a["channel"]) for a in data["answers"]] == [("已送药", "hotline")]
    assert client.get(f"{API}/requests/999999").status_code == 404


def test_sending_a_request_for_oneself_by_default(client, world):
    client.force_login(portal_user(world))
    answer = client.post(f"{API}/requests", {"text": " 快递能进吗 "}, content_type="application/json")
    assert answer.status_code == 201
    created = Request.objects.get()
    assert answer.json()["id"] == created.pk
    assert (created.household_id, created.resident_id, created.asker, created.channel, created.category) == (
        world.home_a1.pk,
        world.elder.pk,
        "",
        Channel.PORTAL,
        "access",
    )
    assert created.text == "快递能进吗"


def test_a_member_sends_for_an_elderly_parent(client, world):
    client.force_login(portal_user(world, resident=world.child))
    answer = client.post(
        f"{API}/requests",
        {"text": "奶奶要去医院透析", "resident": world.elder.pk, "category": "medical"},
        content_type="application/json",
    )
    data = answer.json()
    assert answer.status_code == 201
    assert (data["resident"], data["asker"], data["category"], data["urgent"]) == (
        "王秀兰",
        "王小明",
        "medical",
        True,
    )


def test_the_households_link_account_sends_for_the_household(client, world):
    issue_pass(world, world.elder)
    client.force_login(portal_link_login(token=portal_link_token(world.home_a1)))
    answer = client.post(f"{API}/requests", {"text": "楼道灯坏了"}, content_type="application/json")
    assert answer.status_code == 201 and answer.json()["resident"] == ""
    assert Request.objects.get().household_id == world.home_a1.pk
    # Sent for the elder from the household's link: who asked is not known, not the household's name.
    answer = client.post(
        f"{API}/requests", {"text": "帮奶奶问问", "resident": world.elder.pk}, content_type="application/json"
    )
    assert (answer.json()["resident"], answer.json()["asker"]) == ("王秀兰", "")


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"text": "   "}, "text", "请填写诉求内容"),
        ({"text": "好的", "category": "weather"}, "category", "未知的诉求类别"),
        ({"text": "x" * 2001}, "text", "内容不能超过2000个字"),
    ],
)
def test_a_bad_request_is_400_with_its_field(client, world, payload, field, message):
    client.force_login(portal_user(world))
    answer = client.post(f"{API}/requests", payload, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["errors"] == {field: [message]}
    assert not Request.objects.exists()


def test_anonymous_callers_are_401(client, world):
    assert client.get(f"{API}/").status_code == 401
    assert client.post(f"{API}/requests", {"text": "x"}, content_type="application/json").status_code == 401
