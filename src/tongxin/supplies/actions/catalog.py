"""A compound's catalogue of items and its stores."""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.registry.models import Compound
from tongxin.supplies.models import Item, StockUnit, Store
from tongxin.supplies.selectors.scope import require_compound
from tongxin.supplies.units import checked_quantity


def _name(value: str, label: str) -> str:
    name = " ".join((value or "").split())
    if not name:
        raise ValidationError(_("请填写%(label)s") % {"label": label}, code="name_required")
    if len(name) > 100:
        raise ValidationError(_("%(label)s不能超过100个字") % {"label": label}, code="name_too_long")
    return name


def _minimum(value) -> Decimal:
    if value in (None, "", 0, Decimal(0)):
        return Decimal(0)
    return checked_quantity(value)


def item_create(*, actor, compound: Compound, name: str, unit: str, minimum_stock=0) -> Item:
    require_compound(actor, compound.pk)
    name = _name(name, _("物资名称"))
    if unit not in StockUnit.values:
        raise ValidationError(_("未知的单位：%(unit)s") % {"unit": unit}, code="unknown_unit")
    minimum = _minimum(minimum_stock)
    try:
        with transaction.atomic():
            item = Item.objects.create(compound=compound, name=name, unit=unit, minimum_stock=minimum)
            audit(actor=actor, action="create", obj=item, detail={"unit": unit, "minimum": f"{minimum:f}"})
    except IntegrityError as error:
        raise ValidationError(_("已有同名物资：%(name)s") % {"name": name}, code="duplicate_item") from error
    return item


def item_set_minimum(*, actor, item: Item, minimum_stock) -> Item:
    require_compound(actor, item.compound_id)
    minimum = _minimum(minimum_stock)
    with transaction.atomic():
        Item.objects.filter(pk=item.pk).update(minimum_stock=minimum)
        item.minimum_stock = minimum
        audit(
            actor=actor, action="update", obj=item, fields="minimum_stock", detail={"minimum": f"{minimum:f}"}
        )
    return item


def store_create(*, actor, compound: Compound, name: str) -> Store:
    require_compound(actor, compound.pk)
    name = _name(name, _("仓库名称"))
    try:
        with transaction.atomic():
            store = Store.objects.create(compound=compound, name=name)
            audit(actor=actor, action="create", obj=store)
    except IntegrityError as error:
        raise ValidationError(_("已有同名仓库：%(name)s") % {"name": name}, code="duplicate_store") from error
    return store
