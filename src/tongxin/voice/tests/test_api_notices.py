"""The notices' JSON API: list, create (audience by ids or rooms, scheduled, refusals), templates,
a notice with its delivery log, send now against the local robot, the group robots; roles, scope
and query counts."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.voice.actions.endpoints import endpoint_add
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Delivery, Endpoint, Notice
from tongxin.voice.tests.notice_helpers import manager, robot_endpoint

pytestmark = pytest.mark.django_db
WECOM = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa"


def make_notice(world, compound=None, actor=None, **fields):
    args = {"title": "核酸检测通知", "body": "今天8点下楼核酸", **fields}
    return notice_create(actor=actor or manager(world), compound=compound or world.compound_a, **args)


def test_urls():
    assert reverse("api:voice_notices") == "/api/v1/voice/notices"
    assert reverse("api:voice_notice", args=[7]) == "/api/v1/voice/notices/7"
    assert reverse("api:voice_endpoints") == "/api/v1/voice/notices/endpoints"


def test_list_newest_first_with_counts(api, world, robot):
    robot_endpoint(world, robot, "wecom", "一号楼群")
    first = make_notice(world, title="第一条", channels=("portal", "wecom"))
    second = make_notice(world, title="第二条", scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    make_notice(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN], title="乙")
    response = api(Role.VOLUNTEER, "get", "voice_notices", query=f"?compound={world.compound_a.pk}")
    assert response.status_code == 200
    rows = response.json()
    assert [r["id"] for r in rows] == [second.pk, first.pk]
    assert rows[1]["deliveries_by_status"] == {"pending": 1, "sent": 1, "failed": 0}
    assert rows[0]["published_at"] is None and rows[0]["scheduled_at"] is not None
    assert rows[1]["poster_url"] == f"/voice/notices/{first.pk}/poster/"
    assert rows[1]["image_url"] is None


def test_list_queries_do_not_grow(client, world, django_assert_max_num_queries):
    for i in range(2):
        make_notice(world, title=f"通知{i}", channels=("portal", "sms"))
    client.force_login(manager(world))
    url = reverse("api:voice_notices") + f"?compound={world.compound_a.pk}"
    with django_assert_max_num_queries(6) as few:
        assert client.get(url).status_code == 200
    for i in range(10):
        make_notice(world, title=f"更多{i}", channels=("portal", "sms"))
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert len(client.get(url).json()) == 12


def test_roles_and_scope(api, world):
    other = make_notice(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    query_b = f"?compound={world.compound_b.pk}"
    assert (
        api(Role.RESIDENT, "get", "voice_notices", query=f"?compound={world.compound_a.pk}").status_code
        == 403
    )
    assert api(Role.COMPOUND_MANAGER, "get", "voice_notices", query=query_b).status_code == 404
    assert api(Role.COMPOUND_MANAGER, "get", "voice_notice", args=[other.pk]).status_code == 404
    assert api(Role.COMPOUND_MANAGER, "post", "voice_notice_send", args=[other.pk]).status_code == 404
    assert api(Role.RESIDENT, "get", "voice_notice", args=[other.pk]).status_code == 403
    create_b = {"compound": world.compound_b.pk, "title": "t", "body": "b"}
    assert api(Role.COMPOUND_MANAGER, "post", "voice_notice_create", create_b).status_code == 404
    create_a = {"compound": world.compound_a.pk, "title": "t", "body": "b"}
    assert api(Role.VOLUNTEER, "post", "voice_notice_create", create_a).status_code == 403
    assert api(Role.RESIDENT, "post", "voice_notice_create", create_a).status_code == 403
    assert not Notice.objects.filter(compound=world.compound_a).exists()


def test_create_now_for_rooms(api, world):
    response = api(
        Role.COMPOUND_MANAGER,
        "post",
        "voice_notice_create",
        {
            "compound": world.compound_a.pk,
            "title": "送药通知",
            "body": "药品已到，请在家等候",
            "audience": "list",
            "rooms": ["1-1-101", " 2-1-201 "],
            "channels": ["portal"],
        },
    )
    assert response.status_code == 200, response.content
    row = response.json()
    assert row["audience"] == "list" and row["audience_label"] == "指定名单"
    assert row["audience_ids"] == sorted([world.home_a1.pk, world.home_a2.pk])
    assert row["households"] == 2
    assert row["places"] == ["1-1-101", "2-1-201"]
    assert row["published_at"] is not None
    [portal] = row["deliveries"]
    assert (portal["channel"], portal["status"], portal["recipients"], portal["attempts"]) == (
        "portal",
        "sent",
        2,
        1,
    )


def test_create_scheduled_for_units(api, world):
    at = timezone.now() + datetime.timedelta(days=1)
    response = api(
        Role.COMPOUND_MANAGER,
        "post",
        "voice_notice_create",
        {
            "compound": world.compound_a.pk,
            "title": "2号楼核酸",
            "body": "明天下楼",
            "audience": "units",
            "audience_ids": [world.a2u1.pk],
            "scheduled_at": at.isoformat(),
            "template": "testing_unit",
        },
    )
    assert response.status_code == 200, response.content
    notice = Notice.objects.get()
    assert (notice.published_at, notice.scheduled_at, notice.template) == (None, at, "testing_unit")
    assert response.json()["places"] == ["2号楼1单元"]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"title": " "}, "请填写通知标题"),
        ({"body": ""}, "请填写通知正文"),
        ({"audience": "everyone"}, "未知的通知对象"),
        ({"audience": "buildings", "audience_ids": []}, "请选择通知对象"),
        ({"audience": "list", "rooms": ["9-9-909"]}, "本小区找不到这些房号：9-9-909"),
        ({"channels": ["fax"]}, "未知的发送渠道：fax"),
        ({"channels": ["wecom"]}, "本小区没有启用的企业微信群机器人"),
        ({"scheduled_at": "2020-01-01T08:00:00+08:00"}, "计划发布时间已过，请选择以后的时间"),
        ({"scheduled_at": "2099-01-01T08:00:00"}, "计划发布时间须带时区"),
        ({"template": "nope"}, "没有这个通知模板：nope"),
    ],
)
def test_create_refusals(api, world, fields, message):
    body = {"compound": world.compound_a.pk, "title": "标题", "body": "正文", **fields}
    response = api(Role.COMPOUND_MANAGER, "post", "voice_notice_create", body)
    assert response.status_code == 400
    assert message in response.json()["detail"]
    assert not Notice.objects.exists()


def test_audience_of_another_compound_refused(api, world):
    body = {
        "compound": world.compound_a.pk,
        "title": "t",
        "body": "b",
        "audience": "buildings",
        "audience_ids": [world.b1.pk],
    }
    response = api(Role.COMPOUND_MANAGER, "post", "voice_notice_create", body)
    assert response.status_code == 400
    assert response.json()["detail"] == "所选对象不属于本小区"


def test_templates_listed_and_rendered(api, world):
    rows = api(Role.VOLUNTEER, "get", "voice_notice_templates").json()
    assert [r["key"] for r in rows] == ["testing_unit", "cleanup", "unsealing"]
    assert rows[1]["fields"] == ["date", "start"]
    assert rows[1]["label"] == "环境清洁消杀"
    done = api(
        Role.VOLUNTEER,
        "post",
        "voice_notice_template_render",
        {"values": {"place": "丁香苑小区", "date": "5月3日"}},
        args=["unsealing"],
    )
    assert done.status_code == 200
    assert done.json()["title"] == "丁香苑小区解除封控通知"
    assert done.json()["body"].startswith("经评估，丁香苑小区自5月3日起解除封控。")
    missing = api(
        Role.VOLUNTEER, "post", "voice_notice_template_render", {"values": {"place": "x"}}, args=["unsealing"]
    )
    assert missing.status_code == 400
    assert missing.json()["detail"] == "模板缺少以下内容：date"
    assert api(Role.RESIDENT, "get", "voice_notice_templates").status_code == 403


def test_detail_and_send_now(api, world, robot):
    robot_endpoint(world, robot, "wecom", "一号楼群")
    notice = make_notice(world, channels=("portal", "wecom"))
    detail = api(Role.VOLUNTEER, "get", "voice_notice", args=[notice.pk]).json()
    assert detail["households"] == 2
    assert [(d["channel"], d["endpoint_name"], d["status"]) for d in detail["deliveries"]] == [
        ("portal", "", "sent"),
        ("wecom", "一号楼群", "pending"),
    ]
    assert api(Role.VOLUNTEER, "post", "voice_notice_send", args=[notice.pk]).status_code == 403
    robot.answer = {"errcode": 93000, "errmsg": "invalid webhook url"}
    failed = api(Role.COMPOUND_MANAGER, "post", "voice_notice_send", args=[notice.pk]).json()
    assert (failed["sent"], failed["failed"], failed["gave_up"]) == (0, 1, 0)
    wecom = failed["notice"]["deliveries"][1]
    assert (wecom["status"], wecom["attempts"], wecom["last_error"]) == (
        "failed",
        1,
        "errcode 93000: invalid webhook url",
    )
    assert wecom["next_attempt_at"] is not None
    Delivery.objects.filter(pk=wecom["id"]).update(
        next_attempt_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    robot.answer = {"errcode": 0, "errmsg": "ok"}
    sent = api(Role.COMPOUND_MANAGER, "post", "voice_notice_send", args=[notice.pk]).json()
    assert (sent["sent"], sent["failed"]) == (1, 0)
    assert sent["notice"]["deliveries_by_status"] == {"pending": 0, "sent": 2, "failed": 0}
    assert len(robot.received) == 2


def test_send_of_a_scheduled_notice_refused(api, world):
    notice = make_notice(world, scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    response = api(Role.COMPOUND_MANAGER, "post", "voice_notice_send", args=[notice.pk])
    assert response.status_code == 400
    assert response.json()["detail"] == "通知尚未发布，到计划时间后才会发送"


def test_endpoints(api, world):
    query = f"?compound={world.compound_a.pk}"
    added = api(
        Role.COMPOUND_MANAGER,
        "post",
        "voice_endpoint_add",
        {
            "compound": world.compound_a.pk,
            "kind": "dingtalk",
            "name": "钉钉群",
            "url": WECOM,
            "secret": "SEC1",
        },
    )
    assert added.status_code == 200, added.content
    row = added.json()
    assert (row["kind"], row["name"], row["signed"], row["active"]) == ("dingtalk", "钉钉群", True, True)
    assert row["url_masked"] == "https://qyapi.weixin.qq.com/…5aaa"
    assert "693a91f6" not in added.content.decode() and "SEC1" not in added.content.decode()
    assert [e["name"] for e in api(Role.GRID_WORKER, "get", "voice_endpoints", query=query).json()] == [
        "钉钉群"
    ]
    off = api(Role.COMPOUND_MANAGER, "post", "voice_endpoint_active", {"active": False}, args=[row["id"]])
    assert off.json()["active"] is False
    assert Endpoint.objects.get().active is False


def test_endpoints_refusals_and_scope(api, world):
    bad = api(
        Role.COMPOUND_MANAGER,
        "post",
        "voice_endpoint_add",
        {"compound": world.compound_a.pk, "kind": "wecom", "name": "群", "url": "http://example.com/hook"},
    )
    assert bad.status_code == 400
    assert bad.json()["detail"] == "机器人地址必须以 https:// 开头"
    other = endpoint_add(
        actor=world.users[Role.PLATFORM_ADMIN],
        compound=world.compound_b,
        kind="wecom",
        name="乙群",
        url=WECOM,
    )
    assert (
        api(
            Role.COMPOUND_MANAGER, "post", "voice_endpoint_active", {"active": False}, args=[other.pk]
        ).status_code
        == 404
    )
    query = f"?compound={world.compound_a.pk}"
    assert api(Role.VOLUNTEER, "get", "voice_endpoints", query=query).status_code == 403
    assert api(Role.RESIDENT, "get", "voice_endpoints", query=query).status_code == 403
    assert (
        api(
            Role.COMPOUND_MANAGER, "get", "voice_endpoints", query=f"?compound={world.compound_b.pk}"
        ).status_code
        == 404
    )
    other.refresh_from_db()
    assert other.active


def test_the_schema_lists_the_notices_paths_under_their_own_names(client, world):
    client.force_login(manager(world))
    schema = client.get("/api/v1/openapi.json").json()
    base = "/api/v1/voice/notices"
    paths = {p: sorted(ops) for p, ops in schema["paths"].items() if p.startswith(base)}
    assert paths == {
        base: ["get", "post"],
        f"{base}/templates": ["get"],
        f"{base}/templates/{{key}}/render": ["post"],
        f"{base}/endpoints": ["get", "post"],
        f"{base}/endpoints/{{endpoint_id}}/active": ["post"],
        f"{base}/{{notice_id}}": ["get"],
        f"{base}/{{notice_id}}/send": ["post"],
        f"{base}/{{notice_id}}/deliveries/{{delivery_id}}/retry": ["post"],
    }
    components = schema["components"]["schemas"]
    assert "households" in components["VoiceNoticeDetailOut"]["properties"]
    assert "last_error" in components["VoiceDeliveryOut"]["properties"]
    assert "url_masked" in components["VoiceEndpointOut"]["properties"]


def test_a_word_where_an_id_goes_is_not_found(client, world):
    client.force_login(manager(world))
    assert client.get("/api/v1/voice/notices/abc").status_code == 404
    assert client.post("/api/v1/voice/notices/abc/send").status_code == 404
    assert client.post("/api/v1/voice/notices/endpoints/abc/active").status_code == 404
