"""Notices: created with one delivery per channel, published when due, sent each on its own with
retries on failure (1, 5, 15, 60 min; given up after TONGXIN_NOTICE_MAX_ATTEMPTS)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions.endpoints import endpoint_set_active
from tongxin.voice.actions.notices import backoff, deliveries_send, notice_create, notice_publish_due
from tongxin.voice.models import Delivery, Notice
from tongxin.voice.tests.notice_helpers import manager, robot_endpoint
from tongxin.voice.tests.robot_server import RobotServer

NOW = datetime.datetime(2026, 5, 1, 8, 0, tzinfo=datetime.UTC)


@pytest.fixture
def sms(settings):
    settings.TONGXIN_SMS_PROVIDER = "tongxin.voice.tests.test_notices_actions.RecordingSms"
    RecordingSms.sent = []
    return RecordingSms


class RecordingSms:
    sent: list = []
    fail = False

    def send(self, phones, text):
        from tongxin.voice.senders import SendResult

        RecordingSms.sent.append((list(phones), text))
        return SendResult(True, recipients=len(phones))


def create(world, **fields):
    args = {"title": "核酸通知", "body": "今天下楼核酸", "now": NOW, **fields}
    return notice_create(actor=manager(world), compound=world.compound_a, **args)


def by_channel(notice):
    return {
        (d.channel, d.endpoint.name if d.endpoint else ""): d for d in Delivery.objects.filter(notice=notice)
    }


def test_published_at_once_with_portal_sent(world):
    notice = create(world)
    assert notice.published_at == NOW
    [portal] = Delivery.objects.filter(notice=notice)
    assert portal.channel == "portal"
    assert portal.status == "sent" and portal.sent_at == NOW
    assert portal.recipients == 2  # home_a1, home_a2 of compound A
    assert AuditLog.objects.filter(
        object_type="voice.notice", object_id=str(notice.pk), action="create"
    ).exists()


def test_one_delivery_per_active_endpoint(world, robot):
    robot_endpoint(world, robot, "wecom", "企微一群")
    robot_endpoint(world, robot, "wecom", "企微二群")
    off = robot_endpoint(world, robot, "wecom", "停用群")
    endpoint_set_active(actor=manager(world), endpoint=off, active=False)
    robot_endpoint(world, robot, "dingtalk", "钉钉群")
    notice = create(world, channels=("wecom", "dingtalk", "sms", "portal"))
    assert sorted(by_channel(notice)) == [
        ("dingtalk", "钉钉群"),
        ("portal", ""),
        ("sms", ""),
        ("wecom", "企微一群"),
        ("wecom", "企微二群"),
    ]


@pytest.mark.parametrize(
    ("fields", "code"),
    [
        ({"title": "  "}, "notice_title"),
        ({"body": ""}, "notice_body"),
        ({"scheduled_at": NOW - datetime.timedelta(minutes=1)}, "notice_past"),
        ({"channels": ()}, "notice_channels"),
        ({"channels": ("fax",)}, "notice_channels"),
        ({"channels": ("wecom",)}, "notice_no_endpoint"),
        ({"audience": "buildings", "audience_ids": ()}, "notice_audience_empty"),
        ({"audience": "everyone"}, "notice_audience"),
        ({"audience": "units", "audience_ids": ("x",)}, "notice_audience_ids"),
        ({"template": "nope"}, "template_unknown"),
    ],
)
def test_refused(world, fields, code):
    with pytest.raises(ValidationError) as exc:
        create(world, **fields)
    assert exc.value.code == code
    assert not Notice.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.parametrize(("audience", "place"), [("buildings", "b1"), ("units", "b1u1"), ("list", "home_b")])
def test_audience_of_another_compound_refused(world, audience, place):
    with pytest.raises(ValidationError) as exc:
        create(world, audience=audience, audience_ids=[getattr(world, place).pk])
    assert exc.value.code == "notice_audience_foreign"
    assert exc.value.messages == ["所选对象不属于本小区"]


def test_scope(world):
    with pytest.raises(Http404):
        notice_create(actor=manager(world), compound=world.compound_b, title="t", body="b")
    with pytest.raises(PermissionDenied):
        notice_create(actor=world.users[Role.VOLUNTEER], compound=world.compound_a, title="t", body="b")
    with pytest.raises(Http404):
        notice_create(actor=world.users[Role.RESIDENT], compound=world.compound_a, title="t", body="b")
    assert not Notice.objects.exists()


def test_scheduled_published_when_due(world):
    at = NOW + datetime.timedelta(hours=2)
    notice = create(world, scheduled_at=at, channels=("portal", "sms"))
    assert notice.published_at is None
    assert set(Delivery.objects.filter(notice=notice).values_list("status", flat=True)) == {"pending"}
    # not yet due: nothing published, nothing sent
    assert notice_publish_due(NOW + datetime.timedelta(hours=1)) == 0
    assert deliveries_send(NOW + datetime.timedelta(hours=1)) == {"sent": 0, "failed": 0, "gave_up": 0}
    assert notice_publish_due(at) == 1
    assert notice_publish_due(at) == 0  # once only
    notice.refresh_from_db()
    assert notice.published_at == at
    assert Delivery.objects.get(notice=notice, channel="portal").status == "sent"
    assert Delivery.objects.get(notice=notice, channel="sms").status == "pending"


def test_sms_to_the_audience_phones(world, sms):
    notice = create(world, channels=("sms",), audience="buildings", audience_ids=[world.a1.pk])
    assert deliveries_send(NOW) == {"sent": 1, "failed": 0, "gave_up": 0}
    [(phones, text)] = sms.sent
    assert phones == ["13812345678"]  # the elder of building 1; the child has no phone
    assert text == "【核酸通知】今天下楼核酸"
    delivery = Delivery.objects.get(notice=notice)
    assert (delivery.status, delivery.recipients, delivery.attempts) == ("sent", 1, 1)


def test_wecom_down_others_still_sent(world, robot, sms):
    with RobotServer() as down:
        pass  # closed at once: nothing listens there any more
    robot_endpoint(world, down, "wecom", "企微群")
    robot_endpoint(world, robot, "dingtalk", "钉钉群", secret="SECx")
    robot.secret = "SECx"
    notice = create(world, channels=("wecom", "dingtalk", "sms", "portal"))
    counts = deliveries_send(NOW)
    assert counts == {"sent": 2, "failed": 1, "gave_up": 0}
    state = {k: (d.status, d.attempts) for k, d in by_channel(notice).items()}
    assert state == {
        ("wecom", "企微群"): ("failed", 1),
        ("dingtalk", "钉钉群"): ("sent", 1),
        ("sms", ""): ("sent", 1),
        ("portal", ""): ("sent", 1),
    }
    wecom = by_channel(notice)[("wecom", "企微群")]
    assert wecom.last_error
    assert wecom.next_attempt_at == NOW + datetime.timedelta(minutes=1)
    assert robot.received[0]["sign_ok"] is True


def test_backoff_then_give_up(world, robot, settings):
    settings.TONGXIN_NOTICE_MAX_ATTEMPTS = 5
    robot.answer = {"errcode": 310000, "errmsg": "sign not match"}
    robot_endpoint(world, robot, "dingtalk", "钉钉群")
    notice = create(world, channels=("dingtalk",))
    now = NOW
    waits = []
    for attempt in range(1, 6):
        counts = deliveries_send(now)
        delivery = Delivery.objects.get(notice=notice)
        assert delivery.attempts == attempt
        assert delivery.status == "failed"
        assert "310000" in delivery.last_error
        if attempt < 5:
            assert counts == {"sent": 0, "failed": 1, "gave_up": 0}
            waits.append(delivery.next_attempt_at - now)
            # not due a second before its time
            assert deliveries_send(delivery.next_attempt_at - datetime.timedelta(seconds=1))["failed"] == 0
            now = delivery.next_attempt_at
        else:
            assert counts == {"sent": 0, "failed": 0, "gave_up": 1}
            assert delivery.next_attempt_at is None
    assert [w.total_seconds() / 60 for w in waits] == [1, 5, 15, 60]
    # given up: never tried again
    assert deliveries_send(now + datetime.timedelta(days=1)) == {"sent": 0, "failed": 0, "gave_up": 0}
    assert len(robot.received) == 5


def test_failure_then_success(world, robot):
    robot.status = 500
    robot_endpoint(world, robot, "wecom", "企微群")
    notice = create(world, channels=("wecom",))
    deliveries_send(NOW)
    delivery = Delivery.objects.get(notice=notice)
    assert (delivery.status, delivery.last_error) == ("failed", "HTTP 500")
    robot.status = 200
    assert deliveries_send(NOW + datetime.timedelta(minutes=1))["sent"] == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error, delivery.recipients) == (
        "sent",
        2,
        "",
        1,
    )
    assert delivery.sent_at == NOW + datetime.timedelta(minutes=1)


def test_limit(world, sms):
    for i in range(3):
        create(world, title=f"通知{i}", channels=("sms",))
    assert deliveries_send(NOW, limit=2)["sent"] == 2
    assert deliveries_send(NOW, limit=2)["sent"] == 1


def test_two_runs_read_the_same_delivery_one_sends(world, sms):
    """Two overlapping runs read the same due delivery: only one claims and sends it."""
    from tongxin.voice.actions.notices import delivery_send

    notice = create(world, channels=("sms",))
    first = Delivery.objects.get(notice=notice)
    second = Delivery.objects.get(notice=notice)  # the stale read of the other run
    assert delivery_send(first, NOW) == "sent"
    assert delivery_send(second, NOW) == ""
    assert len(sms.sent) == 1
    first.refresh_from_db()
    assert (first.status, first.attempts) == ("sent", 1)


def test_claimed_delivery_not_due_during_send(world, sms, monkeypatch):
    """A run started while another is sending skips the delivery; a run that died while sending
    leaves it due again after the claim."""
    from tongxin.voice.actions import notices

    notice = create(world, channels=("sms",))

    def crash(delivery, notice):
        assert deliveries_send(NOW) == {"sent": 0, "failed": 0, "gave_up": 0}  # the overlapping run
        raise KeyboardInterrupt  # the process dies mid-send

    monkeypatch.setattr(notices.senders, "send", crash)
    with pytest.raises(KeyboardInterrupt):
        deliveries_send(NOW)
    delivery = Delivery.objects.get(notice=notice)
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert delivery.next_attempt_at == NOW + notices.CLAIM
    monkeypatch.undo()
    assert deliveries_send(NOW + notices.CLAIM)["sent"] == 1


def test_provider_exception_is_a_failure(world, settings):
    settings.TONGXIN_SMS_PROVIDER = "tongxin.voice.tests.test_notices_actions.BrokenSms"
    notice = create(world, channels=("sms", "portal"))
    assert deliveries_send(NOW)["failed"] == 1
    delivery = Delivery.objects.get(notice=notice, channel="sms")
    assert delivery.last_error == "gateway down"


class BrokenSms:
    def send(self, phones, text):
        raise RuntimeError("gateway down")


def test_inactive_endpoint_fails_delivery(world, robot):
    endpoint = robot_endpoint(world, robot, "wecom", "企微群")
    notice = create(world, channels=("wecom",))
    endpoint_set_active(actor=manager(world), endpoint=endpoint, active=False)
    deliveries_send(NOW)
    delivery = Delivery.objects.get(notice=notice)
    assert (delivery.status, delivery.last_error) == ("failed", "群机器人已停用")
    assert robot.received == []


def test_backoff_table():
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4, 5, 9)] == [1, 5, 15, 60, 60, 60]


def test_default_now_is_now(world):
    notice = notice_create(actor=manager(world), compound=world.compound_a, title="t", body="b")
    assert abs(notice.published_at - timezone.now()) < datetime.timedelta(minutes=1)
