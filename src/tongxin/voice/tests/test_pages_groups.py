"""The common questions page: who sees it, "find common questions", merge, split, remove, and one
answer published as ONE notice that every request of the group records; scope and query counts."""

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.groups import group_answer
from tongxin.voice.models import Answer, Audience, Channel, Delivery, Notice, QuestionGroup, Request, State
from tongxin.voice.tests.request_helpers import STAFF, make_request, other_compound_group

pytestmark = pytest.mark.django_db


def page(world, compound=None) -> str:
    return f"{reverse('voice:groups')}?compound={(compound or world.compound_a).pk}"


def suggest(client, world):
    return client.post(reverse("voice:groups_suggest"), {"compound": world.compound_a.pk})


def members(group) -> list[int]:
    return sorted(Request.objects.filter(group=group).values_list("pk", flat=True))


def grouped(world, asked):
    """The two groups suggested: (unsealing, parcels)."""
    client = world.client
    suggest(client, world)
    unsealing = QuestionGroup.objects.get(label="什么时候解封")
    parcels = QuestionGroup.objects.get(label="快递能进吗")
    return unsealing, parcels


@pytest.fixture
def manager_client(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    world.client = client
    return client


# -- who sees the page -------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_the_page_never_cached(as_role, world, role):
    response = as_role(role).get(page(world))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "共性问题 · 甲小区" in body
    assert reverse("voice:groups_suggest") in body


def test_resident_refused_other_compound_not_found_anonymous_to_login(client, as_role, world):
    assert client.get(page(world)).status_code == 302
    assert as_role(Role.RESIDENT).get(page(world)).status_code == 403
    manager = as_role(Role.COMPOUND_MANAGER)
    assert manager.get(page(world, world.compound_b)).status_code == 404
    assert manager.get(f"{reverse('voice:groups')}?compound=abc").status_code == 404
    assert manager.post(reverse("voice:groups_suggest"), {"compound": world.compound_b.pk}).status_code == 404


def test_admin_without_a_compound_chooses_one(as_role, world):
    response = as_role(Role.PLATFORM_ADMIN).get(reverse("voice:groups"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "请选择小区" in body
    assert f"{reverse('voice:groups')}?compound={world.compound_a.pk}" in body


# -- find common questions ---------------------------------------------------------------------------


def test_suggest_groups_and_the_page_lists_each_groups_texts(manager_client, world, asked):
    response = suggest(manager_client, world)
    assert response.status_code == 302 and response["Location"] == page(world)
    unsealing = QuestionGroup.objects.get(label="什么时候解封")
    parcels = QuestionGroup.objects.get(label="快递能进吗")
    assert members(unsealing) == [asked[0].pk, asked[3].pk, asked[5].pk]
    assert members(parcels) == [asked[1].pk, asked[4].pk, asked[6].pk]
    body = manager_client.get(page(world)).content.decode()
    assert "归并了 2 个共性问题，共 6 条诉求" in body
    assert '待答复 <span class="count">2</span>' in body
    for text in ["什么时候解封", "小区啥时候能解封啊", "请问几号解封？", "快递可以送进小区吗"]:
        assert f'<p class="said">{text}</p>' in body
    assert "我家老人需要降压药" not in body
    assert '<span class="mono">2-1-201</span>' in body
    assert "3 条诉求 · 3 条未答复" in body
    # Nothing new the second time.
    suggest(manager_client, world)
    assert "没有找到新的共性问题" in manager_client.get(page(world)).content.decode()
    assert QuestionGroup.objects.count() == 2


def test_resident_text_is_shown_escaped(manager_client, world):
    said = [
        make_request(world, text="<script>alert(1)</script>什么时候解封"),
        make_request(world, text="<b>什么时候解封</b>"),
    ]
    group = QuestionGroup.objects.create(compound=world.compound_a, label="<i>解封</i>")
    Request.objects.filter(pk__in=[r.pk for r in said]).update(group=group)
    body = manager_client.get(page(world)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;什么时候解封" in body
    assert "&lt;b&gt;什么时候解封&lt;/b&gt;" in body and "<h3>&lt;i&gt;解封&lt;/i&gt;</h3>" in body
    assert "<script>alert(1)" not in body and "<b>什么时候" not in body and "<i>解封" not in body


# -- merge, split, remove ----------------------------------------------------------------------------


def test_merge_selected_groups_into_the_oldest(manager_client, world, asked):
    unsealing, parcels = grouped(world, asked)
    response = manager_client.post(
        reverse("voice:groups_merge"), {"compound": world.compound_a.pk, "group": [parcels.pk, unsealing.pk]}
    )
    assert response.status_code == 302 and response["Location"] == page(world)
    assert list(QuestionGroup.objects.values_list("pk", flat=True)) == [unsealing.pk]
    assert len(members(unsealing)) == 6
    assert "已合并为“什么时候解封”" in manager_client.get(page(world)).content.decode()


def test_merge_needs_two_groups(manager_client, world, asked):
    unsealing, parcels = grouped(world, asked)
    manager_client.post(
        reverse("voice:groups_merge"), {"compound": world.compound_a.pk, "group": [unsealing.pk]}
    )
    assert QuestionGroup.objects.count() == 2
    assert "请至少选择两个共性问题合并" in manager_client.get(page(world)).content.decode()


def test_split_selected_requests_into_a_new_group_or_out(manager_client, world, asked):
    unsealing, parcels = grouped(world, asked)
    extra = make_request(world, text="解封时间定了吗")
    manager_client.post(
        reverse("voice:groups_merge"), {"compound": world.compound_a.pk, "group": [unsealing.pk, parcels.pk]}
    )
    Request.objects.filter(pk=extra.pk).update(group=unsealing)
    # Two parcels' questions into a new group of their own.
    response = manager_client.post(
        reverse("voice:group_split", args=[unsealing.pk]),
        {"request": [asked[1].pk, asked[4].pk], "mode": "new"},
    )
    assert response.status_code == 302
    made = QuestionGroup.objects.exclude(pk=unsealing.pk).get()
    assert members(made) == [asked[1].pk, asked[4].pk]
    assert "已拆出新的共性问题" in manager_client.get(page(world)).content.decode()
    # One more taken out of any group.
    manager_client.post(
        reverse("voice:group_split", args=[unsealing.pk]), {"request": [asked[6].pk], "mode": "out"}
    )
    assert Request.objects.get(pk=asked[6].pk).group_id is None
    assert members(unsealing) == [asked[0].pk, asked[3].pk, asked[5].pk, extra.pk]
    assert "已把所选诉求移出共性问题" in manager_client.get(page(world)).content.decode()


def test_split_of_nothing_or_of_another_groups_request_is_refused(manager_client, world, asked):
    unsealing, parcels = grouped(world, asked)
    manager_client.post(reverse("voice:group_split", args=[unsealing.pk]), {"mode": "new"})
    assert "请选择要拆出的诉求" in manager_client.get(page(world)).content.decode()
    manager_client.post(reverse("voice:group_split", args=[unsealing.pk]), {"request": [asked[1].pk]})
    assert "所选诉求不在这个共性问题中" in manager_client.get(page(world)).content.decode()
    assert members(unsealing) == [asked[0].pk, asked[3].pk, asked[5].pk]


def test_remove_one_request_and_a_group_left_with_one_is_dissolved(manager_client, world, asked):
    unsealing, parcels = grouped(world, asked)
    response = manager_client.post(reverse("voice:group_remove", args=[asked[3].pk]))
    assert response.status_code == 302 and response["Location"] == page(world)
    assert members(unsealing) == [asked[0].pk, asked[5].pk]
    manager_client.post(reverse("voice:group_remove", args=[asked[5].pk]))
    assert not QuestionGroup.objects.filter(pk=unsealing.pk).exists()
    assert Request.objects.get(pk=asked[0].pk).group_id is None
    manager_client.post(reverse("voice:group_remove", args=[asked[0].pk]))
    assert "这条诉求不在任何共性问题中" in manager_client.get(page(world)).content.decode()


# -- answer a group by one notice ----------------------------------------------------------------------


def test_answer_publishes_one_notice_that_every_request_records(manager_client, world, asked):
    unsealing, parcels = grouped(world, asked)
    response = manager_client.post(
        reverse("voice:group_answer", args=[unsealing.pk]),
        {"text": "解封时间以街道通知为准，预计12月1日。", "channels": ["portal"]},
    )
    assert response.status_code == 302 and response["Location"] == page(world)
    notice = Notice.objects.get()
    assert (notice.compound, notice.title, notice.body, notice.audience) == (
        world.compound_a,
        "答复：什么时候解封",
        "解封时间以街道通知为准，预计12月1日。",
        Audience.COMPOUND,
    )
    assert notice.published_at is not None
    assert list(notice.deliveries.values_list("channel", "status")) == [("portal", Delivery.Status.SENT)]
    unsealing.refresh_from_db()
    assert unsealing.notice == notice and unsealing.answered_at >= notice.published_at
    answers = Answer.objects.order_by("request_id")
    assert [(a.request_id, a.notice_id, a.channel, a.text) for a in answers] == [
        (r.pk, notice.pk, Channel.GROUP, "解封时间以街道通知为准，预计12月1日。")
        for r in (asked[0], asked[3], asked[5])
    ]
    assert set(Request.objects.filter(group=unsealing).values_list("state", flat=True)) == {State.ANSWERED}
    assert set(Request.objects.filter(group=parcels).values_list("state", flat=True)) == {State.NEW}
    assert AuditLog.objects.filter(reason="group_answer", object_id=str(unsealing.pk)).count() == 1
    body = manager_client.get(page(world)).content.decode()
    assert "已发布通知“答复：什么时候解封”，3 条诉求已记录这条答复" in body
    assert '待答复 <span class="count">1</span>' in body
    assert "通知：" in body and "答复：什么时候解封" in body


def test_answer_with_a_title_and_sms(manager_client, world, asked):
    unsealing, _parcels = grouped(world, asked)
    manager_client.post(
        reverse("voice:group_answer", args=[unsealing.pk]),
        {"title": "关于解封时间", "text": "请等待街道通知", "channels": ["portal", "sms"]},
    )
    notice = Notice.objects.get()
    assert notice.title == "关于解封时间"
    assert sorted(notice.deliveries.values_list("channel", flat=True)) == ["portal", "sms"]


def test_empty_answer_or_unknown_channel_writes_nothing(manager_client, world, asked):
    unsealing, _parcels = grouped(world, asked)
    url = reverse("voice:group_answer", args=[unsealing.pk])
    response = manager_client.post(url, {"text": "   ", "channels": ["portal"]})
    assert response.status_code == 400
    assert "请填写答复内容" in response.content.decode()
    # No robot set up: the WeCom channel is not offered.
    response = manager_client.post(url, {"text": "请等待通知", "channels": ["wecom"]})
    assert response.status_code == 400
    assert "未知的发送渠道：wecom" in response.content.decode()
    response = manager_client.post(url, {"text": "请等待通知"})
    assert response.status_code == 400 and "请至少选择一个发送渠道" in response.content.decode()
    assert (Notice.objects.count(), Answer.objects.count()) == (0, 0)
    assert QuestionGroup.objects.get(pk=unsealing.pk).answered_at is None


def test_a_group_answered_meanwhile_is_not_answered_twice(manager_client, world, asked):
    unsealing, _parcels = grouped(world, asked)
    group_answer(actor=world.users[Role.OFFICIAL], group=unsealing, text="已在群里答复")
    response = manager_client.post(
        reverse("voice:group_answer", args=[unsealing.pk]), {"text": "再答一次", "channels": ["portal"]}
    )
    assert response.status_code == 400
    body = response.content.decode()
    assert "已于" in body and "答复了这个共性问题" in body, body[
        body.find("<main") : body.find("<main") + 600
    ]
    assert Notice.objects.count() == 0
    assert Answer.objects.filter(text="再答一次").count() == 0


def test_volunteer_works_the_groups_but_does_not_publish(as_role, world, asked):
    client = as_role(Role.VOLUNTEER)
    world.client = client
    unsealing, _parcels = grouped(world, asked)
    body = client.get(page(world)).content.decode()
    assert "什么时候解封" in body and "发布通知并答复" not in body
    response = client.post(
        reverse("voice:group_answer", args=[unsealing.pk]), {"text": "x", "channels": ["portal"]}
    )
    assert response.status_code == 403
    assert Notice.objects.count() == 0


def test_resident_cannot_touch_groups(as_role, world, asked):
    manager = as_role(Role.COMPOUND_MANAGER)
    world.client = manager
    unsealing, _parcels = grouped(world, asked)
    resident = as_role(Role.RESIDENT)
    assert resident.post(reverse("voice:group_answer", args=[unsealing.pk]), {"text": "x"}).status_code == 403
    assert resident.post(reverse("voice:group_remove", args=[asked[0].pk])).status_code == 403
    assert (
        resident.post(
            reverse("voice:group_split", args=[unsealing.pk]), {"request": [asked[0].pk]}
        ).status_code
        == 403
    )
    assert members(unsealing) == [asked[0].pk, asked[3].pk, asked[5].pk]


def test_another_compounds_group_is_not_found(as_role, world):
    group, theirs = other_compound_group(world)
    client = as_role(Role.COMPOUND_MANAGER)
    assert (
        client.post(
            reverse("voice:group_answer", args=[group.pk]), {"text": "x", "channels": ["portal"]}
        ).status_code
        == 404
    )
    assert (
        client.post(reverse("voice:group_split", args=[group.pk]), {"request": [theirs[0].pk]}).status_code
        == 404
    )
    assert client.post(reverse("voice:group_remove", args=[theirs[0].pk])).status_code == 404
    response = client.post(
        reverse("voice:groups_merge"), {"compound": world.compound_a.pk, "group": [group.pk]}
    )
    assert response.status_code == 404
    assert members(group) == sorted(r.pk for r in theirs)


def test_grid_worker_sees_only_groups_of_his_buildings(as_role, world, asked):
    manager = as_role(Role.COMPOUND_MANAGER)
    world.client = manager
    unsealing, parcels = grouped(world, asked)  # both hold a request of building 2
    mine = [make_request(world, text=t, household=world.home_a1) for t in ("核酸几点做", "今天核酸几点做")]
    suggest(manager, world)
    testing = QuestionGroup.objects.exclude(pk__in=[unsealing.pk, parcels.pk]).get()
    assert members(testing) == [r.pk for r in mine]
    grid = as_role(Role.GRID_WORKER)
    body = grid.get(page(world)).content.decode()
    assert "核酸几点做" in body and "小区啥时候能解封啊" not in body
    assert (
        grid.post(
            reverse("voice:group_answer", args=[unsealing.pk]), {"text": "x", "channels": ["portal"]}
        ).status_code
        == 404
    )
    response = grid.post(
        reverse("voice:group_answer", args=[testing.pk]), {"text": "上午8点开始", "channels": ["portal"]}
    )
    assert response.status_code == 302
    assert Answer.objects.filter(request__in=mine, text="上午8点开始").count() == 2


# -- query counts ---------------------------------------------------------------------------------------


def test_page_queries_do_not_grow_with_the_groups(manager_client, world, django_assert_max_num_queries):
    def add_group(n):
        texts = [f"{n}号楼什么时候送菜", f"{n}号楼送菜什么时候到"]
        reqs = [make_request(world, text=t, household=world.home_a2) for t in texts]
        group = QuestionGroup.objects.create(compound=world.compound_a, label=texts[0])
        Request.objects.filter(pk__in=[r.pk for r in reqs]).update(group=group)
        return group

    answered = add_group(0)
    group_answer(actor=world.users[Role.COMPOUND_MANAGER], group=answered, text="下午送到")
    add_group(1)
    with django_assert_max_num_queries(20) as few:
        manager_client.get(page(world))
    for n in range(2, 12):
        add_group(n)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = manager_client.get(page(world))
    assert response.content.decode().count('class="card group-card"') == 11
