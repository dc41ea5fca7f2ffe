"""`tongxin send-notices`: publishes the due notices, sends their deliveries, prints JSON counts."""

import datetime
import io
import json

from django.core.management import call_command
from django.utils import timezone

from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Delivery, Notice, PortalCode
from tongxin.voice.tests.notice_helpers import manager


def test_command_publishes_and_sends(world, settings):
    settings.TONGXIN_SMS_PROVIDER = "console"
    settings.DEBUG = True  # the console provider only "sends" in development
    now = timezone.now()
    notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="清洁",
        body="消杀",
        channels=("portal", "sms"),
        scheduled_at=now + datetime.timedelta(seconds=1),
        now=now,
    )
    Notice.objects.filter(pk=notice.pk).update(scheduled_at=now - datetime.timedelta(minutes=1))  # now due
    out = io.StringIO()
    call_command("send_notices", stdout=out)
    assert json.loads(out.getvalue()) == {
        "published": 1,
        "sent": 1,
        "failed": 0,
        "gave_up": 0,
        "portal_codes_purged": 0,
    }
    assert set(Delivery.objects.filter(notice=notice).values_list("status", flat=True)) == {"sent"}
    sms = Delivery.objects.get(notice=notice, channel="sms")
    assert sms.recipients == 2  # the elder and the neighbour: the child has no phone
    out = io.StringIO()
    call_command("send_notices", "--limit", "5", stdout=out)
    assert json.loads(out.getvalue()) == {
        "published": 0,
        "sent": 0,
        "failed": 0,
        "gave_up": 0,
        "portal_codes_purged": 0,
    }


def test_command_deletes_the_portal_codes_past_use(db):
    now = timezone.now()

    def code(minutes_ago: int, valid_minutes: int = 5) -> PortalCode:
        created = now - datetime.timedelta(minutes=minutes_ago)
        return PortalCode.objects.create(
            phone_hash="h",
            code_hash="c",
            created_at=created,
            expires_at=created + datetime.timedelta(minutes=valid_minutes),
        )

    old = code(120)
    still_counted = code(30)  # expired, but the hourly send limit still counts it
    fresh = code(1)
    out = io.StringIO()
    call_command("send_notices", stdout=out)
    assert json.loads(out.getvalue())["portal_codes_purged"] == 1
    assert set(PortalCode.objects.values_list("pk", flat=True)) == {still_counted.pk, fresh.pk}
    assert not PortalCode.objects.filter(pk=old.pk).exists()
