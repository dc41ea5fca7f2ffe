"""Resending a delivery that gave up: the action (a fresh budget of attempts, due now, audited),
refused for any other delivery, the button on the notice page and the API; roles and scope."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.notices import (
    deliveries_send,
    delivery_retry,
    given_up,
    notice_create,
    notice_send_due,
)
from tongxin.voice.models import Delivery
from tongxin.voice.selectors.notices import delivery_get
from tongxin.voice.tests.notice_helpers import manager, robot_endpoint

pytestmark = pytest.mark.django_db
T0 = timezone.now().replace(microsecond=0) - datetime.timedelta(hours=1)


@pytest.fixture
def failing(world, robot, settings):
    """A notice to the portal and a WeCom robot that answered HTTP 500 twice, the limit: its
    robot delivery gave up."""
    settings.TONGXIN_NOTICE_MAX_ATTEMPTS = 2
    robot_endpoint(world, robot, "wecom", "一号楼群")
    notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="核酸检测通知",
        body="今天8点下楼核酸",
        channels=("portal", "wecom"),
        now=T0,
    )
    robot.status = 500
    notice_send_due(actor=manager(world), notice=notice, now=T0)
    notice_send_due(actor=manager(world), notice=notice, now=T0 + datetime.timedelta(minutes=2))
    wecom = Delivery.objects.get(notice=notice, channel="wecom")
    assert (wecom.status, wecom.attempts, wecom.next_attempt_at, wecom.last_error) == (
        "failed",
        2,
        None,
        "HTTP 500",
    )
    return notice, wecom


def b_delivery(world):
    """A delivery of compound B that gave up (its SMS)."""
    notice = notice_create(
        actor=world.users[Role.PLATFORM_ADMIN],
        compound=world.compound_b,
        title="乙小区通知",
        body="正文",
        channels=("sms",),
    )
    Delivery.objects.filter(notice=notice).update(status="failed", attempts=5, last_error="超时")
    return notice, Delivery.objects.get(notice=notice)


def state(delivery):
    delivery.refresh_from_db()
    return (delivery.status, delivery.attempts, delivery.next_attempt_at, delivery.last_error)


# -- the action -----------------------------------------------------------------------------------


def test_a_delivery_that_gave_up_is_due_again_with_a_fresh_budget(world, robot, failing):
    notice, wecom = failing
    now = T0 + datetime.timedelta(minutes=30)
    retried = delivery_retry(
        actor=manager(world), delivery=delivery_get(manager(world), notice.pk, wecom.pk), now=now
    )
    assert (retried.status, retried.attempts, retried.next_attempt_at) == ("pending", 0, now)
    assert state(wecom) == ("pending", 0, now, "HTTP 500")
    assert not given_up(wecom)
    log = AuditLog.objects.get(object_type="voice.delivery", object_id=str(wecom.pk))
    assert (log.actor, log.action, log.object_label, log.fields) == (
        manager(world),
        "update",
        "核酸检测通知 · 一号楼群",
        "status,attempts,next_attempt_at",
    )
    assert log.detail == {
        "notice": notice.pk,
        "channel": "wecom",
        "endpoint": wecom.endpoint_id,
        "attempts": 2,
        "last_error": "HTTP 500",
    }
    # The next cron run sends it; a failure counts from one again, with the first wait.
    assert deliveries_send(now) == {"sent": 0, "failed": 1, "gave_up": 0}
    assert state(wecom) == ("failed", 1, now + datetime.timedelta(minutes=1), "HTTP 500")
    robot.status = 200
    later = now + datetime.timedelta(minutes=1)
    assert deliveries_send(later) == {"sent": 1, "failed": 0, "gave_up": 0}
    assert state(wecom) == ("sent", 2, None, "")
    assert len(robot.received) == 4


@pytest.mark.parametrize("kind", ["pending", "retrying", "sent", "portal"])
def test_any_other_delivery_is_refused(world, robot, failing, kind):
    notice, wecom = failing
    if kind == "pending":
        Delivery.objects.filter(pk=wecom.pk).update(status="pending", attempts=0, last_error="")
    elif kind == "retrying":
        Delivery.objects.filter(pk=wecom.pk).update(attempts=1, next_attempt_at=T0)
    elif kind == "sent":
        Delivery.objects.filter(pk=wecom.pk).update(status="sent", attempts=1, last_error="")
    else:
        wecom = Delivery.objects.get(notice=notice, channel="portal")
    before = state(wecom)
    with pytest.raises(ValidationError) as refused:
        delivery_retry(actor=manager(world), delivery=delivery_get(manager(world), notice.pk, wecom.pk))
    assert refused.value.messages == ["只能重发已放弃的发送记录"]
    assert refused.value.error_list[0].code == "delivery_not_given_up"
    assert state(wecom) == before
    assert not AuditLog.objects.filter(object_type="voice.delivery").exists()


def test_attempts_at_a_lowered_limit_count_as_given_up(world, failing, settings):
    notice, wecom = failing
    Delivery.objects.filter(pk=wecom.pk).update(next_attempt_at=T0)
    settings.TONGXIN_NOTICE_MAX_ATTEMPTS = 2
    wecom.refresh_from_db()
    assert given_up(wecom)
    settings.TONGXIN_NOTICE_MAX_ATTEMPTS = 3
    assert not given_up(wecom)


def test_two_keepers_at_once_reset_it_once(world, failing):
    notice, wecom = failing
    first = delivery_get(manager(world), notice.pk, wecom.pk)
    second = delivery_get(world.users[Role.GRID_WORKER], notice.pk, wecom.pk)
    delivery_retry(actor=manager(world), delivery=first)
    with pytest.raises(ValidationError):
        delivery_retry(actor=world.users[Role.GRID_WORKER], delivery=second)
    assert AuditLog.objects.filter(object_type="voice.delivery").count() == 1


def test_roles_and_scope(world, failing):
    notice, wecom = failing
    with pytest.raises(PermissionDenied):
        delivery_retry(actor=world.users[Role.VOLUNTEER], delivery=wecom)
    other_notice, other = b_delivery(world)
    with pytest.raises(Http404):
        delivery_retry(actor=manager(world), delivery=other)
    with pytest.raises(Http404):
        delivery_get(manager(world), other_notice.pk, other.pk)
    with pytest.raises(Http404):
        delivery_get(manager(world), other_notice.pk, wecom.pk)  # not that notice's delivery
    with pytest.raises(Http404):
        delivery_get(world.users[Role.RESIDENT], notice.pk, wecom.pk)
    assert state(wecom)[0] == "failed" and state(other)[0] == "failed"
    delivery_retry(actor=world.users[Role.PLATFORM_ADMIN], delivery=other)
    assert state(other)[:2] == ("pending", 0)


def test_a_delivery_of_an_unpublished_notice_is_refused(world):
    notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="计划通知",
        body="正文",
        channels=("sms",),
        scheduled_at=timezone.now() + datetime.timedelta(hours=1),
    )
    Delivery.objects.filter(notice=notice).update(status="failed", attempts=5)
    with pytest.raises(ValidationError) as refused:
        delivery_retry(actor=manager(world), delivery=Delivery.objects.get(notice=notice))
    assert refused.value.messages == ["通知尚未发布，到计划时间后才会发送"]


# -- the notice page ---------------------------------------------------------------------------------


def url(notice, delivery):
    return reverse("voice:delivery_retry", args=[notice.pk, delivery.pk])


def test_the_page_offers_a_resend_on_the_given_up_row_only(as_role, world, failing):
    notice, wecom = failing
    assert url(notice, wecom) == f"/voice/notices/{notice.pk}/deliveries/{wecom.pk}/retry/"
    page = reverse("voice:notice", args=[notice.pk])
    html = as_role(Role.COMPOUND_MANAGER).get(page).content.decode()
    assert html.count("重新发送</button>") == 1
    assert f'action="{url(notice, wecom)}"' in html and "已放弃" in html
    assert " style=" not in html
    assert "重新发送</button>" not in as_role(Role.VOLUNTEER).get(page).content.decode()


def test_the_button_puts_it_back_in_line_and_send_now_sends_it(as_role, world, robot, failing):
    notice, wecom = failing
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(url(notice, wecom))
    assert response.status_code == 302
    assert response["Location"] == f"/voice/notices/{notice.pk}/?compound={world.compound_a.pk}"
    assert state(wecom)[:2] == ("pending", 0)
    html = client.get(response["Location"]).content.decode()
    assert "已重新排队：一号楼群，可点“立即发送到期的记录”马上发送，否则由定时任务发送" in html
    assert "重新发送</button>" not in html and "立即发送到期的记录" in html
    robot.status = 200
    client.post(reverse("voice:notice_send", args=[notice.pk]))
    assert state(wecom) == ("sent", 1, None, "")


def test_the_button_on_another_delivery_says_why_not(as_role, world, failing):
    notice, wecom = failing
    client = as_role(Role.COMPOUND_MANAGER)
    client.post(url(notice, wecom))
    response = client.post(url(notice, wecom), follow=True)
    assert "只能重发已放弃的发送记录" in response.content.decode()
    assert AuditLog.objects.filter(object_type="voice.delivery").count() == 1


def test_the_page_action_roles_and_scope(as_role, world, failing):
    notice, wecom = failing
    assert as_role(Role.COMPOUND_MANAGER).get(url(notice, wecom)).status_code == 405
    assert as_role(Role.VOLUNTEER).post(url(notice, wecom)).status_code == 403
    assert as_role(Role.RESIDENT).post(url(notice, wecom)).status_code == 403
    other_notice, other = b_delivery(world)
    assert as_role(Role.COMPOUND_MANAGER).post(url(other_notice, other)).status_code == 404
    assert as_role(Role.COMPOUND_MANAGER).post(url(other_notice, wecom)).status_code == 404
    assert state(wecom)[0] == "failed" and state(other)[0] == "failed"


# -- the API ---------------------------------------------------------------------------------------------


def test_the_api_resends_and_answers_with_the_delivery(api, world, failing):
    notice, wecom = failing
    assert reverse("api:voice_delivery_retry", args=[notice.pk, wecom.pk]) == (
        f"/api/v1/voice/notices/{notice.pk}/deliveries/{wecom.pk}/retry"
    )
    response = api(Role.GRID_WORKER, "post", "voice_delivery_retry", args=[notice.pk, wecom.pk])
    assert response.status_code == 200
    data = response.json()
    assert data["next_attempt_at"] is not None
    del data["next_attempt_at"]
    assert data == {
        "id": wecom.pk,
        "channel": "wecom",
        "channel_label": "企业微信",
        "endpoint": wecom.endpoint_id,
        "endpoint_name": "一号楼群",
        "status": "pending",
        "status_label": "待发送",
        "attempts": 0,
        "recipients": 0,
        "last_error": "HTTP 500",
        "sent_at": None,
    }
    again = api(Role.GRID_WORKER, "post", "voice_delivery_retry", args=[notice.pk, wecom.pk])
    assert again.status_code == 400
    assert again.json()["detail"] == "只能重发已放弃的发送记录"


def test_the_api_roles_and_scope(api, world, failing):
    notice, wecom = failing
    args = [notice.pk, wecom.pk]
    assert api(Role.VOLUNTEER, "post", "voice_delivery_retry", args=args).status_code == 403
    assert api(Role.RESIDENT, "post", "voice_delivery_retry", args=args).status_code == 403
    other_notice, other = b_delivery(world)
    assert (
        api(
            Role.COMPOUND_MANAGER, "post", "voice_delivery_retry", args=[other_notice.pk, other.pk]
        ).status_code
        == 404
    )
    assert (
        api(Role.COMPOUND_MANAGER, "post", "voice_delivery_retry", args=[notice.pk, other.pk]).status_code
        == 404
    )
    assert state(wecom)[0] == "failed" and state(other)[0] == "failed"
