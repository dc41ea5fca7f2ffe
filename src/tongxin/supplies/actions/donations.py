"""Donations: the donor and value kept for the daily report's thanks, the goods put in stock."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.models import AuditLog
from tongxin.core.sync import CLOCK_SKEW
from tongxin.registry.models import Compound
from tongxin.supplies.actions.stock import stock_in
from tongxin.supplies.models import Donation, Item, MoveKind, Store
from tongxin.supplies.selectors.scope import require_compound

MAX_VALUE = Decimal("100000000")
OLDEST = datetime.timedelta(days=366)


def donation_record(
    *,
    actor,
    compound: Compound,
    donor: str,
    store: Store,
    lines: list[tuple[Item, object, str | None]],
    contact: str = "",
    value: Decimal | None = None,
    received_at: datetime.datetime | None = None,
    note: str = "",
) -> Donation:
    """Record a donation and put each of its lines (item, quantity, unit or None) in `store`.
    Any line refused refuses the whole donation."""
    require_compound(actor, compound.pk)
    donor = donor.strip()
    if not donor:
        raise ValidationError(_("请填写捐赠方"), code="donor_required")
    if value is not None and not (
        value.is_finite() and 0 <= value <= MAX_VALUE and value.as_tuple().exponent >= -2
    ):
        raise ValidationError(_("捐赠价值无效"), code="invalid_value")
    if not lines:
        raise ValidationError(_("请至少填写一项捐赠物资"), code="lines_required")
    if store.compound_id != compound.pk or any(item.compound_id != compound.pk for item, _q, _u in lines):
        raise ValidationError(_("仓库与物资不属于同一小区"), code="other_compound")
    now = timezone.now()
    if received_at is not None and received_at > now + CLOCK_SKEW:
        raise ValidationError(_("接收时间不能晚于现在"), code="received_in_future")
    if received_at is not None and received_at < now - OLDEST:
        raise ValidationError(_("接收时间不能早于一年前"), code="received_too_old")
    received_at = received_at or now
    with transaction.atomic():
        donation = Donation.objects.create(
            compound=compound,
            donor=donor,
            contact=contact.strip(),
            value=value,
            received_at=received_at,
            note=note,
            recorded_by=actor,
        )
        audit(
            actor=actor,
            action="create",
            obj=donation,
            detail={"value": f"{value}" if value is not None else None},
        )
        for item, quantity, unit in lines:
            stock_in(
                actor=actor,
                item=item,
                store=store,
                quantity=quantity,
                unit=unit,
                kind=MoveKind.DONATION_IN,
                donation=donation,
                at=received_at,
            )
    return donation


def donation_mark_thanked(*, actor, donation: Donation) -> Donation:
    """Mark the donation thanked. Two people marking it at once: the first wins, the second is
    told who did it and when, and nothing of theirs is written."""
    require_compound(actor, donation.compound_id)
    with transaction.atomic():
        if not Donation.objects.filter(pk=donation.pk, thanked=False).update(thanked=True):
            done = (
                AuditLog.objects.filter(
                    object_type="supplies.donation", object_id=str(donation.pk), fields="thanked"
                )
                .order_by("-pk")
                .first()
            )
            donation.thanked = True
            if done is None:
                raise ValidationError(_("该捐赠已致谢"), code="already_thanked")
            raise ValidationError(
                _("%(who)s已于%(at)s标记致谢")
                % {
                    "who": done.actor_name or _("他人"),
                    "at": timezone.localtime(done.at).strftime("%Y-%m-%d %H:%M"),
                },
                code="already_thanked",
            )
        donation.thanked = True
        audit(actor=actor, action="update", obj=donation, fields="thanked")
    return donation
