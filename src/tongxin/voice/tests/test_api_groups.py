"""The common questions' JSON API: list, detail, suggest, merge, split, remove, answer by one
notice (a group answered meanwhile: 409); roles and scope."""

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.voice.actions.groups import group_answer
from tongxin.voice.models import Answer, Notice, QuestionGroup, Request, State
from tongxin.voice.tests.request_helpers import other_compound_group

pytestmark = pytest.mark.django_db


def suggested(api, world):
    response = api(Role.COMPOUND_MANAGER, "post", "voice_groups_suggest", {"compound": world.compound_a.pk})
    assert response.status_code == 200, response.content
    return response.json()


def test_suggest_then_list_and_detail(api, world, asked):
    assert reverse("api:voice_groups") == "/api/v1/voice/groups"
    made = suggested(api, world)
    r = asked
    assert [(g["label"], g["joined"], g["added"]) for g in made] == [
        ("什么时候解封", False, [r[0].pk, r[3].pk, r[5].pk]),
        ("快递能进吗", False, [r[1].pk, r[4].pk, r[6].pk]),
    ]
    response = api(Role.VOLUNTEER, "get", "voice_groups", query=f"?compound={world.compound_a.pk}")
    assert response.status_code == 200
    listed = response.json()
    assert sorted(g["label"] for g in listed) == ["什么时候解封", "快递能进吗"]
    unsealing = next(g for g in listed if g["label"] == "什么时候解封")
    assert [(q["text"], q["room"], q["state"], q["answered"]) for q in unsealing["requests"]] == [
        ("什么时候解封", "1-1-101", "new", False),
        ("小区啥时候能解封啊", "2-1-201", "new", False),
        ("请问几号解封？", "", "new", False),
    ]
    detail = api(Role.OFFICIAL, "get", "voice_group", args=[unsealing["id"]]).json()
    assert detail == unsealing
    answered = api(
        Role.VOLUNTEER, "get", "voice_groups", query=f"?compound={world.compound_a.pk}&answered=true"
    )
    assert answered.json() == []


def test_merge_split_remove(api, world, asked):
    unsealing, parcels = (g["id"] for g in suggested(api, world))
    response = api(Role.COMPOUND_MANAGER, "post", "voice_groups_merge", {"groups": [parcels, unsealing]})
    assert response.status_code == 200
    assert response.json()["id"] == unsealing and len(response.json()["requests"]) == 6
    assert not QuestionGroup.objects.filter(pk=parcels).exists()
    response = api(
        Role.COMPOUND_MANAGER,
        "post",
        "voice_group_split",
        {"requests": [asked[1].pk, asked[4].pk, asked[6].pk]},
        args=[unsealing],
    )
    assert response.status_code == 200
    result = response.json()
    assert [q["id"] for q in result["group"]["requests"]] == [asked[0].pk, asked[3].pk, asked[5].pk]
    assert [q["id"] for q in result["new_group"]["requests"]] == [asked[1].pk, asked[4].pk, asked[6].pk]
    response = api(Role.COMPOUND_MANAGER, "post", "voice_group_remove", args=[asked[3].pk])
    assert response.status_code == 200
    assert response.json()["request"] == asked[3].pk
    assert [q["id"] for q in response.json()["group"]["requests"]] == [asked[0].pk, asked[5].pk]
    # A group left with one request is dissolved: no group in the answer.
    response = api(Role.COMPOUND_MANAGER, "post", "voice_group_remove", args=[asked[5].pk])
    assert response.json() == {"request": asked[5].pk, "group": None}
    response = api(Role.COMPOUND_MANAGER, "post", "voice_group_remove", args=[asked[5].pk])
    assert response.status_code == 400
    assert response.json()["detail"] == "这条诉求不在任何共性问题中"


def test_merge_of_one_is_refused(api, world, asked):
    unsealing, _parcels = (g["id"] for g in suggested(api, world))
    response = api(Role.COMPOUND_MANAGER, "post", "voice_groups_merge", {"groups": [unsealing]})
    assert response.status_code == 400
    assert response.json()["detail"] == "请至少选择两个共性问题合并"


def test_answer_by_one_notice_then_409(api, world, asked):
    unsealing, _parcels = (g["id"] for g in suggested(api, world))
    body = {"text": "预计12月1日解封，以街道通知为准", "title": "关于解封", "channels": ["portal", "sms"]}
    response = api(Role.COMPOUND_MANAGER, "post", "voice_group_answer", body, args=[unsealing])
    assert response.status_code == 200, response.content
    result = response.json()
    notice = Notice.objects.get()
    assert (result["notice"], result["answers"]) == (notice.pk, 3)
    assert (notice.title, notice.body) == ("关于解封", "预计12月1日解封，以街道通知为准")
    assert sorted(notice.deliveries.values_list("channel", flat=True)) == ["portal", "sms"]
    assert result["group"]["notice"] == notice.pk and result["group"]["answered_at"]
    assert [q["state"] for q in result["group"]["requests"]] == [State.ANSWERED] * 3
    assert set(Answer.objects.values_list("notice_id", flat=True)) == {notice.pk}
    again = api(Role.OFFICIAL, "post", "voice_group_answer", {"text": "再答一次"}, args=[unsealing])
    assert again.status_code == 409
    assert "答复了这个共性问题" in again.json()["detail"]
    assert (Notice.objects.count(), Answer.objects.count()) == (1, 3)


def test_answer_bad_input_writes_nothing(api, world, asked):
    unsealing, _parcels = (g["id"] for g in suggested(api, world))
    for body, message in [
        ({"text": "  "}, "请填写答复内容"),
        ({"text": "请等待", "channels": ["wecom"]}, "本小区没有启用的企业微信群机器人"),
        ({"text": "请等待", "channels": ["fax"]}, "未知的发送渠道：fax"),
    ]:
        response = api(Role.COMPOUND_MANAGER, "post", "voice_group_answer", body, args=[unsealing])
        assert response.status_code == 400
        assert response.json()["detail"] == message
    assert (Notice.objects.count(), Answer.objects.count()) == (0, 0)


def test_roles_and_scope(api, world, asked):
    unsealing, _parcels = (g["id"] for g in suggested(api, world))
    assert (
        api(Role.VOLUNTEER, "post", "voice_group_answer", {"text": "x"}, args=[unsealing]).status_code == 403
    )
    assert (
        api(Role.RESIDENT, "get", "voice_groups", query=f"?compound={world.compound_a.pk}").status_code == 403
    )
    assert api(Role.RESIDENT, "get", "voice_group", args=[unsealing]).status_code == 403
    # The grid worker does not see a group holding another building's request.
    assert api(Role.GRID_WORKER, "get", "voice_group", args=[unsealing]).status_code == 404
    group, theirs = other_compound_group(world)
    assert api(Role.COMPOUND_MANAGER, "get", "voice_group", args=[group.pk]).status_code == 404
    assert (
        api(Role.COMPOUND_MANAGER, "post", "voice_group_answer", {"text": "x"}, args=[group.pk]).status_code
        == 404
    )
    assert api(Role.COMPOUND_MANAGER, "post", "voice_group_remove", args=[theirs[0].pk]).status_code == 404
    assert (
        api(
            Role.COMPOUND_MANAGER, "post", "voice_group_split", {"requests": [theirs[0].pk]}, args=[group.pk]
        ).status_code
        == 404
    )
    query = f"?compound={world.compound_b.pk}"
    assert api(Role.COMPOUND_MANAGER, "get", "voice_groups", query=query).status_code == 404
    assert (
        api(
            Role.COMPOUND_MANAGER, "post", "voice_groups_suggest", {"compound": world.compound_b.pk}
        ).status_code
        == 404
    )
    assert Request.objects.filter(group=group).count() == 2


def test_answered_groups_are_listed_with_their_notice(api, world, asked):
    unsealing, _parcels = (g["id"] for g in suggested(api, world))
    group_answer(
        actor=world.users[Role.COMPOUND_MANAGER], group=QuestionGroup.objects.get(pk=unsealing), text="好"
    )
    listed = api(
        Role.VOLUNTEER, "get", "voice_groups", query=f"?compound={world.compound_a.pk}&answered=true"
    )
    assert [(g["id"], g["notice"]) for g in listed.json()] == [(unsealing, None)]
