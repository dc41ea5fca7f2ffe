"""Donations: the donor and value kept for the daily report's thanks, the goods put in stock."""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.registry.models import Compound
from tongxin.supplies.actions.stock import stock_in
from tongxin.supplies.models import Donation, Item, MoveKind, Store
from tongxin.supplies.selectors.scope import require_compound

MAX_VALUE = Decimal("100000000")


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
    if value is not None and not (0 <= value <= MAX_VALUE):
        raise ValidationError(_("捐赠价值无效"), code="invalid_value")
    if not lines:
        raise ValidationError(_("请至少填写一项捐赠物资"), code="lines_required")
    if store.compound_id != compound.pk or any(item.compound_id != compound.pk for item, _q, _u in lines):
        raise ValidationError(_("仓库与物资不属于同一小区"), code="other_compound")
    received_at = received_at or timezone.now()
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
    require_compound(actor, donation.compound_id)
    with transaction.atomic():
        Donation.objects.filter(pk=donation.pk).update(thanked=True)
        donation.thanked = True
        audit(actor=actor, action="update", obj=donation, fields="thanked")
    return donation
