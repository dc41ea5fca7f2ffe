"""`tongxin send-notices`: publishes the due notices, sends their deliveries, prints JSON counts."""

import datetime
import io
import json

from django.core.management import call_command
from django.utils import timezone

from tongxin.voice.actions.notices import notice_create
from tongxin.voice.models import Delivery, Notice
from tongxin.voice.tests.notice_helpers import manager


def test_command_publishes_and_sends(world, settings):
    settings.TONGXIN_SMS_PROVIDER = "console"
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
    assert json.loads(out.getvalue()) == {"published": 1, "sent": 1, "failed": 0, "gave_up": 0}
    assert set(Delivery.objects.filter(notice=notice).values_list("status", flat=True)) == {"sent"}
    sms = Delivery.objects.get(notice=notice, channel="sms")
    assert sms.recipients == 2  # the elder and the neighbour: the child has no phone
    out = io.StringIO()
    call_command("send_notices", "--limit", "5", stdout=out)
    assert json.loads(out.getvalue()) == {"published": 0, "sent": 0, "failed": 0, "gave_up": 0}
