"""The hotline log page: who sees it, logging a call (and a request from it), bad input, the
follow-up written or cleared in place (HTMX), masked numbers, days, scope and query counts."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.hotline import hotline_log
from tongxin.voice.models import Channel, HotlineCall, Request
from tongxin.voice.tests.request_helpers import STAFF

pytestmark = pytest.mark.django_db


def page(world, compound=None, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"compound": (compound or world.compound_a).pk, **params}.items())
    return f"{reverse('voice:hotline')}?{query}"


def logged(world, *, compound=None, minutes_ago=1, **fields):
    values = {
        "actor": world.users[Role.COMPOUND_MANAGER] if compound is None else world.users[Role.PLATFORM_ADMIN],
        "compound": compound or world.compound_a,
        "caller": "李先生",
        "phone": "13812345678",
        "asked": "快递能进小区吗",
        "at": timezone.now() - datetime.timedelta(minutes=minutes_ago),
    }
    values.update(fields)
    return hotline_log(**values)


def form(world, **fields):
    now = timezone.localtime() - datetime.timedelta(minutes=1)
    values = {
        "compound": world.compound_a.pk,
        "at": now.strftime("%Y-%m-%dT%H:%M"),
        "caller": "王阿姨",
        "phone": "139-0000-1111",
        "asked": "家里老人的降压药快吃完了",
        "answered": "已联系社区医生",
        "follow_up": "明天上午回电",
    }
    values.update(fields)
    return values


# -- who sees the page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_staff_see_the_page_never_cached(as_role, world, role):
    logged(world)
    response = as_role(role).get(page(world))
    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    body = response.content.decode()
    assert "热线记录 · " in body and "快递能进小区吗" in body
    assert "来电 1 个 · 已答复 0 个" in body


def test_resident_refused_other_compound_not_found_anonymous_to_login(client, as_role, world):
    assert client.get(page(world)).status_code == 302
    assert as_role(Role.RESIDENT).get(page(world)).status_code == 403
    assert as_role(Role.RESIDENT).post(reverse("voice:hotline_log"), form(world)).status_code == 403
    manager = as_role(Role.COMPOUND_MANAGER)
    assert manager.get(page(world, world.compound_b)).status_code == 404
    assert (
        manager.post(reverse("voice:hotline_log"), form(world, compound=world.compound_b.pk)).status_code
        == 404
    )
    assert HotlineCall.objects.count() == 0


def test_admin_without_a_compound_chooses_one(as_role, world):
    response = as_role(Role.PLATFORM_ADMIN).get(reverse("voice:hotline"))
    assert response.status_code == 200
    assert f"{reverse('voice:hotline')}?compound={world.compound_a.pk}" in response.content.decode()


# -- logging a call -----------------------------------------------------------------------------------------


def test_log_a_call_shows_the_number_masked(as_role, world):
    client = as_role(Role.VOLUNTEER)
    response = client.post(reverse("voice:hotline_log"), form(world))
    assert response.status_code == 302 and response["Location"] == page(world)
    call = HotlineCall.objects.get()
    assert (call.caller, call.phone_masked, call.asked, call.answered, call.follow_up) == (
        "王阿姨",
        "139****1111",
        "家里老人的降压药快吃完了",
        "已联系社区医生",
        "明天上午回电",
    )
    assert call.taken_by == world.users[Role.VOLUNTEER] and call.request is None
    assert AuditLog.objects.filter(object_type="voice.hotlinecall", object_id=str(call.pk)).count() == 1
    body = client.get(page(world)).content.decode()
    assert "已记录来电" in body
    assert "139****1111" in body and "13900001111" not in body
    assert '<span class="flag">待跟进</span>' in body
    assert "来电 1 个 · 已答复 1 个" in body


def test_log_a_call_as_a_request_of_a_room(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(reverse("voice:hotline_log"), form(world, make_request="on", room="2-1-201"))
    assert response.status_code == 302
    call = HotlineCall.objects.get()
    request = Request.objects.get()
    assert call.request == request
    assert (request.channel, request.household, request.text, request.asker) == (
        Channel.HOTLINE,
        world.home_a2,
        "家里老人的降压药快吃完了",
        "王阿姨",
    )
    body = client.get(page(world)).content.decode()
    assert "已记录来电，并登记为诉求" in body


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"asked": "  "}, "请填写来电内容"),
        ({"phone": "12345678901"}, "电话号码格式不对"),
        ({"at": "2099-01-01T08:00"}, "时间不能晚于现在"),
        ({"at": "昨天"}, "请填写正确的来电时间"),
        ({"make_request": "on", "room": "9-9-909"}, "本小区没有这个房号，或不在您负责的范围"),
        ({"follow_up": "跟" * 501}, "500"),
    ],
)
def test_bad_input_is_refused_with_a_clear_message(as_role, world, fields, message):
    response = as_role(Role.COMPOUND_MANAGER).post(reverse("voice:hotline_log"), form(world, **fields))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert (HotlineCall.objects.count(), Request.objects.count()) == (0, 0)


def test_grid_worker_cannot_open_a_request_for_another_buildings_room(as_role, world):
    response = as_role(Role.GRID_WORKER).post(
        reverse("voice:hotline_log"), form(world, make_request="on", room="2-1-201")
    )
    assert response.status_code == 400
    assert "本小区没有这个房号，或不在您负责的范围" in response.content.decode()
    assert HotlineCall.objects.count() == 0


def test_caller_text_is_shown_escaped(as_role, world):
    logged(world, caller="<b>张</b>", asked="<script>alert(1)</script>", answered="<i>好</i>")
    body = as_role(Role.COMPOUND_MANAGER).get(page(world)).content.decode()
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body and "&lt;b&gt;张&lt;/b&gt;" in body
    assert "<script>alert(1)" not in body and "<b>张" not in body and "<i>好" not in body


# -- days and the follow-up -----------------------------------------------------------------------------------


def test_a_day_shows_its_own_calls(as_role, world):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    logged(
        world,
        at=timezone.make_aware(datetime.datetime.combine(yesterday, datetime.time(10, 15))),
        asked="昨天的电话",
    )
    logged(world, asked="今天的电话")
    client = as_role(Role.COMPOUND_MANAGER)
    today = client.get(page(world)).content.decode()
    assert "今天的电话" in today and "昨天的电话" not in today
    before = client.get(page(world, day=yesterday.isoformat())).content.decode()
    assert "昨天的电话" in before and "今天的电话" not in before
    assert '<strong class="mono">10:15</strong>' in before


def test_follow_up_filter(as_role, world):
    logged(world, asked="要回电的", follow_up="下午回电")
    logged(world, asked="已办完的")
    body = as_role(Role.COMPOUND_MANAGER).get(page(world, follow_up=1)).content.decode()
    assert "要回电的" in body and "已办完的" not in body


def test_follow_up_written_then_cleared_in_place(as_role, world):
    call = logged(world)
    client = as_role(Role.VOLUNTEER)
    url = reverse("voice:hotline_follow_up", args=[call.pk])
    response = client.post(url, {"follow_up": "联系物业后回电"}, headers={"HX-Request": "true"})
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li class="call-item needs-follow-up" id="call-{call.pk}">')
    assert 'value="联系物业后回电"' in body and "已保存跟进" in body
    call.refresh_from_db()
    assert call.follow_up == "联系物业后回电"
    response = client.post(url, {"follow_up": "联系物业后回电", "done": "1"}, headers={"HX-Request": "true"})
    assert "已跟进完成" in response.content.decode()
    call.refresh_from_db()
    assert call.follow_up == ""
    logs = AuditLog.objects.filter(reason="hotline_follow_up", object_id=str(call.pk)).order_by("pk")
    assert [(log.detail["before"], log.detail["after"]) for log in logs] == [
        ("", "联系物业后回电"),
        ("联系物业后回电", ""),
    ]


def test_follow_up_too_long_answers_the_row_with_the_error(as_role, world):
    call = logged(world, follow_up="原来的")
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("voice:hotline_follow_up", args=[call.pk])
    response = client.post(url, {"follow_up": "跟" * 501}, headers={"HX-Request": "true"})
    assert response.status_code == 400
    assert "后续跟进不能超过500个字" in response.content.decode()
    # Without HTMX: back to the page, the error as a message.
    response = client.post(url, {"follow_up": "跟" * 501})
    assert response.status_code == 302
    assert "后续跟进不能超过500个字" in client.get(response["Location"]).content.decode()
    call.refresh_from_db()
    assert call.follow_up == "原来的"


def test_follow_up_of_another_compounds_call_not_found_resident_refused(as_role, world):
    theirs = logged(world, compound=world.compound_b)
    url = reverse("voice:hotline_follow_up", args=[theirs.pk])
    assert as_role(Role.COMPOUND_MANAGER).post(url, {"follow_up": "x"}).status_code == 404
    assert as_role(Role.RESIDENT).post(url, {"follow_up": "x"}).status_code == 403
    theirs.refresh_from_db()
    assert theirs.follow_up == ""


# -- query counts ------------------------------------------------------------------------------------------------


def test_page_queries_do_not_grow_with_the_calls(as_role, world, django_assert_max_num_queries):
    client = as_role(Role.COMPOUND_MANAGER)
    logged(world, minutes_ago=1, make_request=True, household=world.home_a1)
    with django_assert_max_num_queries(20) as few:
        client.get(page(world))
    for n in range(10):
        logged(world, minutes_ago=2 + n, asked=f"第{n}个电话", make_request=n % 2 == 0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(page(world))
    assert response.content.decode().count('class="call-item') == 11
