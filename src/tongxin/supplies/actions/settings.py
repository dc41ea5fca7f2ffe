"""A compound's supply settings: the parcels' hold time after disinfection, the pick-up slots of
controlled buildings, the care visits' interval. Compound managers and admins change them."""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.registry.models import Building, Compound
from tongxin.supplies.models import SupplySettings
from tongxin.supplies.selectors.scope import require_compound
from tongxin.supplies.selectors.settings import settings_of

SETTINGS_EDITORS = frozenset({Role.PLATFORM_ADMIN, Role.COMPOUND_MANAGER})
HOLD_MAX_MINUTES = 7 * 24 * 60
SLOT_MIN_MINUTES, SLOT_MAX_MINUTES = 5, 24 * 60
CARE_MAX_DAYS = 365
FIELDS = ("parcel_hold_minutes", "pickup_start", "pickup_slot_minutes", "care_visit_days")


def may_edit_settings(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in SETTINGS_EDITORS)


def _whole(value, *, field: str, low: int, high: int, message: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        try:
            value = int(str(value).strip())
        except (TypeError, ValueError):
            raise ValidationError({field: ValidationError(message, code="invalid")}) from None
    if not low <= value <= high:
        raise ValidationError({field: ValidationError(message, code="out_of_range")})
    return value


def _time(value) -> datetime.time:
    if isinstance(value, datetime.time):
        return value.replace(second=0, microsecond=0, tzinfo=None)
    try:
        return datetime.time.fromisoformat(str(value).strip()).replace(second=0, microsecond=0)
    except ValueError:
        raise ValidationError(
            {"pickup_start": ValidationError(_("取件开始时间格式应为 HH:MM"), code="invalid")}
        ) from None


def settings_update(
    *,
    actor,
    compound: Compound,
    parcel_hold_minutes: int,
    pickup_start: datetime.time | str,
    pickup_slot_minutes: int,
    care_visit_days: int,
) -> SupplySettings:
    """Save the compound's settings (creating its row the first time); audited with the values
    before and after."""
    require_compound(actor, compound.pk, roles=SETTINGS_EDITORS)
    values = {
        "parcel_hold_minutes": _whole(
            parcel_hold_minutes,
            field="parcel_hold_minutes",
            low=0,
            high=HOLD_MAX_MINUTES,
            message=_("静置时间应为0到%(max)s分钟（7天）的整数") % {"max": HOLD_MAX_MINUTES},
        ),
        "pickup_start": _time(pickup_start),
        "pickup_slot_minutes": _whole(
            pickup_slot_minutes,
            field="pickup_slot_minutes",
            low=SLOT_MIN_MINUTES,
            high=SLOT_MAX_MINUTES,
            message=_("每栋楼取件时段应为%(min)s到%(max)s分钟的整数")
            % {"min": SLOT_MIN_MINUTES, "max": SLOT_MAX_MINUTES},
        ),
        "care_visit_days": _whole(
            care_visit_days,
            field="care_visit_days",
            low=1,
            high=CARE_MAX_DAYS,
            message=_("探访间隔应为1到%(max)s天的整数") % {"max": CARE_MAX_DAYS},
        ),
    }
    buildings = Building.objects.filter(compound=compound).count()
    start = values["pickup_start"]
    last_end = start.hour * 60 + start.minute + max(buildings, 1) * values["pickup_slot_minutes"]
    if last_end > 24 * 60:
        raise ValidationError(
            {
                "pickup_slot_minutes": ValidationError(
                    _("%(buildings)s栋楼的取件时段从%(start)s起会排到次日，请提前开始时间或缩短时段")
                    % {"buildings": buildings, "start": start.strftime("%H:%M")},
                    code="slots_past_midnight",
                )
            }
        )
    with transaction.atomic():
        SupplySettings.objects.get_or_create(compound=compound)
        row = SupplySettings.objects.select_for_update().get(compound=compound)
        before = {name: str(getattr(row, name)) for name in FIELDS}
        for name, value in values.items():
            setattr(row, name, value)
        row.updated_by = actor
        row.save()
        audit(
            actor=actor,
            action="update",
            obj=row,
            label=compound.name,
            fields=",".join(FIELDS),
            detail={"before": before, "after": {name: str(value) for name, value in values.items()}},
        )
    return row


__all__ = ["settings_of", "settings_update", "may_edit_settings"]
