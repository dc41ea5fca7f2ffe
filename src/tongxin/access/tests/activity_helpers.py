"""Rows of a day at the gates, written directly (the gate's actions are tested on their own)."""

import datetime
import uuid

from django.utils import timezone

from tongxin.access.models import AccessEvent, Outing, Visitor
from tongxin.core import crypto
from tongxin.core.masking import mask_phone


def local(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_current_timezone())


def check(
    gate, at, direction="in", *, allowed=True, reason="ok", resident=None, emergency=False
) -> AccessEvent:
    return AccessEvent.objects.create(
        scan_id=uuid.uuid4(),
        gate=gate,
        compound_id=gate.compound_id,
        at=at,
        direction=direction,
        method=AccessEvent.Method.PASS if resident else AccessEvent.Method.ROOM,
        resident=resident,
        household_id=resident.household_id if resident else None,
        allowed=allowed,
        reason=reason,
        emergency=emergency,
    )


def outing(gate, resident, out_at, *, due_at=None, back_at=None, emergency=False) -> Outing:
    event = check(gate, out_at, "out", resident=resident, emergency=emergency)
    return Outing.objects.create(
        resident=resident,
        household_id=resident.household_id,
        compound_id=resident.compound_id,
        out_at=out_at,
        due_at=due_at,
        back_at=back_at,
        emergency=emergency,
        out_event=event,
    )


def visitor(
    gate, at, *, name="访客甲", phone="13911112222", kind="visitor", admitted=True, **fields
) -> Visitor:
    return Visitor.objects.create(
        scan_id=uuid.uuid4(),
        kind=kind,
        compound_id=gate.compound_id,
        gate=gate,
        name=name,
        phone_cipher=crypto.encrypt(phone),
        phone_masked=mask_phone(phone),
        code_color=fields.pop("code_color", "green"),
        arrived_at=at,
        admitted=admitted,
        **fields,
    )
