"""Shared bits of the portal's tests: an SMS gateway that records what it is given, the code it
sent, a client logged in through the portal, a household pass, a testing slot."""

import datetime
import re

from django.utils import timezone

from tongxin.access.actions.passes import pass_issue
from tongxin.accounts.models import Role
from tongxin.testing.models import ScheduleSlot
from tongxin.voice.actions.portal import portal_login_user
from tongxin.voice.senders import SendResult

PROVIDER = "tongxin.voice.tests.portal_helpers.RecordingSms"


class RecordingSms:
    """An SMS gateway for tests: keeps (phones, text) of every send."""

    sent: list[tuple[list[str], str]] = []

    def send(self, phones, text):
        RecordingSms.sent.append((list(phones), text))
        return SendResult(True, recipients=len(phones))


def recording_sms(settings) -> list:
    """Send the portal's SMS to RecordingSms; its list of sends (for each test module's `sms`
    fixture)."""
    settings.TONGXIN_SMS_PROVIDER = PROVIDER
    settings.TONGXIN_PORTAL_SMS_BACKGROUND = False  # the tests read the code right after sending
    RecordingSms.sent = []
    return RecordingSms.sent


def sent_code(sms, phone: str) -> str:
    """The code in the last SMS sent to `phone`."""
    for phones, text in reversed(sms):
        if phone in phones:
            return re.search(r"(\d{6})", text).group(1)
    raise AssertionError(f"no SMS to {phone}")


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def portal_user(world, resident=None, household=None):
    """The portal account of `resident` (the elder of 1-1-101 by default), or of a household."""
    if household is not None and resident is None:
        return portal_login_user(household=household, via="link")
    resident = resident or world.elder
    return portal_login_user(household=resident.household, resident=resident)


def issue_pass(world, resident):
    return pass_issue(actor=manager(world), resident=resident)


def slot_for(world, unit, *, round_, hours: int = 2, minutes: int = 20):
    starts = timezone.now() + datetime.timedelta(hours=hours)
    return ScheduleSlot.objects.create(
        round=round_,
        compound=unit.compound,
        building=unit.building,
        unit=unit,
        point=round_.point,
        starts_at=starts,
        ends_at=starts + datetime.timedelta(minutes=minutes),
        people=3,
    )
