"""Helpers for the access tests: a gate, a pass with its signed code, a status row set directly."""

import datetime
import itertools

from django.utils import timezone

from tongxin.access import signing
from tongxin.access.models import Gate, Pass
from tongxin.access.selectors.passes import room_label
from tongxin.registry.models import Household, Resident

_numbers = itertools.count(1)


def make_gate(world, *, compound=None, name: str = "南门") -> Gate:
    """A gate of compound A (or the compound given)."""
    return Gate.objects.create(compound=compound or world.compound_a, name=name)


def make_pass(
    holder: Resident | Household,
    *,
    expires_at: datetime.datetime | None = None,
    revoked: bool = False,
    number: str | None = None,
) -> tuple[Pass, str]:
    """A pass row for a resident (or a household: a household pass) and its signed code."""
    if isinstance(holder, Resident):
        resident, household = holder, holder.household
    else:
        resident, household = None, holder
    household = Household.objects.select_related("building", "unit").get(pk=household.pk)
    now = timezone.now()
    pass_ = Pass.objects.create(
        number=number or f"T{next(_numbers):09d}",
        compound_id=household.compound_id,
        household=household,
        resident=resident,
        issued_at=now,
        expires_at=expires_at or now + datetime.timedelta(days=30),
        revoked_at=now if revoked else None,
        revoked_reason=Pass.Revoked.LOST if revoked else "",
    )
    code = signing.sign_pass(
        number=pass_.number,
        compound_id=pass_.compound_id,
        room=room_label(household),
        expires_at=pass_.expires_at,
    )
    return pass_, code


def set_status(
    resident: Resident,
    *,
    holds: list[dict] | None = None,
    last_sampled_at: datetime.datetime | None = None,
    risk_level: str = "",
    sampled: bool = True,
) -> None:
    """Store a status row as the outbreak module would, without building the facts behind it
    (`sampled`: a sample an hour ago unless `last_sampled_at` is given)."""
    from tongxin.outbreak.models import ResidentStatus

    if sampled and last_sampled_at is None:
        last_sampled_at = timezone.now() - datetime.timedelta(hours=1)
    ResidentStatus.objects.update_or_create(
        resident_id=resident.pk,
        defaults={
            "compound_id": resident.compound_id,
            "holds": holds or [],
            "last_sampled_at": last_sampled_at,
            "risk_level": risk_level,
            "computed_at": timezone.now(),
        },
    )


def hold(color: str, code: str, *, days_ago: int = 1, days_left: int | None = 5) -> dict:
    """A hold that started `days_ago` days ago and ends in `days_left` days (None: open-ended)."""
    now = timezone.now()
    since = now - datetime.timedelta(days=days_ago)
    until = now + datetime.timedelta(days=days_left) if days_left is not None else None
    return {
        "color": color,
        "code": code,
        "args": {},
        "text": code,
        "since": since.isoformat(),
        "until": until.isoformat() if until else None,
    }
