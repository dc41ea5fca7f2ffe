"""Stock in, out and between stores.

Every write locks the per-item-per-store `Balance` row (`select_for_update`) before reading it,
so two people taking the last bucket at once are served one after the other: the first gets it,
the second is told the stock is short and nothing of theirs is written.
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Household
from tongxin.supplies.models import Balance, Item, MoveKind, StockMove, Store
from tongxin.supplies.selectors.scope import HANDS_OUT, STOCK_KEEPERS, require_compound
from tongxin.supplies.units import checked_quantity, convert, unit_label

IN_KINDS = (MoveKind.DONATION_IN, MoveKind.PURCHASE_IN)
OUT_KINDS = (MoveKind.OUT_HOUSEHOLD, MoveKind.OUT_TEAM, MoveKind.USED)


def base_quantity(item: Item, quantity, unit: str | None) -> Decimal:
    """A checked quantity in `unit` (the item's own when None), converted to the item's unit."""
    converted = convert(checked_quantity(quantity), from_unit=unit or item.unit, to_unit=item.unit)
    return checked_quantity(converted.normalize())


MAX_MONEY = Decimal("9999999999.99")


def checked_money(value) -> Decimal | None:
    """An amount in yuan: not negative, at most 9,999,999,999.99, at most two decimal places."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except ArithmeticError:
        amount = None
    if amount is None or not amount.is_finite():
        raise ValidationError(_("金额无效"), code="invalid_price")
    if amount < 0:
        raise ValidationError(_("金额不能为负"), code="negative_price")
    if amount > MAX_MONEY or -amount.as_tuple().exponent > 2:
        raise ValidationError(_("金额最多保留两位小数，且不超过100亿元"), code="invalid_price")
    return amount


def _same_compound(item: Item, *stores: Store) -> None:
    if any(store.compound_id != item.compound_id for store in stores):
        raise ValidationError(_("仓库与物资不属于同一小区"), code="other_compound")


def _apply(*, item: Item, store: Store, delta: Decimal) -> Balance:
    """Lock the item's balance in the store, refuse a stock going below zero, then apply."""
    Balance.objects.get_or_create(item=item, store=store)
    balance = Balance.objects.select_for_update().get(item=item, store=store)
    if balance.quantity + delta < 0:
        raise ValidationError(
            _("库存不足：%(store)s的%(item)s仅剩 %(left)s%(unit)s")
            % {
                "store": store.name,
                "item": item.name,
                "left": f"{balance.quantity.normalize():f}",
                "unit": unit_label(item.unit),
            },
            code="insufficient_stock",
        )
    balance.quantity += delta
    balance.save(update_fields=["quantity"])
    return balance


def _move(*, actor, item, store, quantity, kind, at, note, **extra) -> StockMove:
    move = StockMove.objects.create(
        item=item, store=store, quantity=quantity, kind=kind, at=at, by=actor, note=note, **extra
    )
    audit(
        actor=actor,
        action="create",
        obj=move,
        label=f"{item.name} {quantity.normalize():f}{unit_label(item.unit)}",
        detail={"kind": kind, "store": store.pk, "item": item.pk, "quantity": f"{quantity:f}"},
    )
    return move


def stock_in(
    *,
    actor,
    item: Item,
    store: Store,
    quantity,
    unit: str | None = None,
    kind: str = MoveKind.PURCHASE_IN,
    price: Decimal | None = None,
    donation=None,
    at: datetime.datetime | None = None,
    note: str = "",
) -> StockMove:
    if kind not in IN_KINDS:
        raise ValidationError(_("入库类型无效"), code="invalid_kind")
    require_compound(actor, item.compound_id)
    _same_compound(item, store)
    amount = base_quantity(item, quantity, unit)
    price = checked_money(price)
    with transaction.atomic():
        _apply(item=item, store=store, delta=amount)
        return _move(
            actor=actor,
            item=item,
            store=store,
            quantity=amount,
            kind=kind,
            at=at or timezone.now(),
            note=note,
            price=price,
            donation=donation,
        )


def stock_out(
    *,
    actor,
    item: Item,
    store: Store,
    quantity,
    kind: str,
    unit: str | None = None,
    household: Household | None = None,
    team: str = "",
    at: datetime.datetime | None = None,
    note: str = "",
) -> StockMove:
    """Out to a household (volunteers too), to a team of workers, or used."""
    if kind not in OUT_KINDS:
        raise ValidationError(_("出库类型无效"), code="invalid_kind")
    require_compound(
        actor, item.compound_id, roles=HANDS_OUT if kind == MoveKind.OUT_HOUSEHOLD else STOCK_KEEPERS
    )
    _same_compound(item, store)
    amount = base_quantity(item, quantity, unit)
    if kind == MoveKind.OUT_HOUSEHOLD:
        if household is None:
            raise ValidationError(_("请选择发放的住户"), code="household_required")
        if not Household.objects.filter(scope_q(actor, "household"), pk=household.pk).exists():
            raise Http404
        if household.compound_id != item.compound_id:
            raise ValidationError(_("住户不属于该小区"), code="other_compound")
    elif household is not None:
        raise ValidationError(_("只有发放到户才填写住户"), code="household_not_expected")
    team = team.strip()
    if kind == MoveKind.OUT_TEAM and not team:
        raise ValidationError(_("请填写领取的队伍"), code="team_required")
    with transaction.atomic():
        _apply(item=item, store=store, delta=-amount)
        return _move(
            actor=actor,
            item=item,
            store=store,
            quantity=-amount,
            kind=kind,
            at=at or timezone.now(),
            note=note,
            household=household,
            team=team,
        )


def stock_transfer(
    *,
    actor,
    item: Item,
    from_store: Store,
    to_store: Store,
    quantity,
    unit: str | None = None,
    at: datetime.datetime | None = None,
    note: str = "",
) -> tuple[StockMove, StockMove]:
    require_compound(actor, item.compound_id)
    _same_compound(item, from_store, to_store)
    if from_store.pk == to_store.pk:
        raise ValidationError(_("调出与调入仓库不能相同"), code="same_store")
    amount = base_quantity(item, quantity, unit)
    at = at or timezone.now()
    with transaction.atomic():
        # Lock in a fixed order so two opposite transfers cannot deadlock.
        for store, delta in sorted([(from_store, -amount), (to_store, amount)], key=lambda pair: pair[0].pk):
            _apply(item=item, store=store, delta=delta)
        out = _move(
            actor=actor,
            item=item,
            store=from_store,
            quantity=-amount,
            kind=MoveKind.TRANSFER,
            at=at,
            note=note,
            other_store=to_store,
        )
        into = _move(
            actor=actor,
            item=item,
            store=to_store,
            quantity=amount,
            kind=MoveKind.TRANSFER,
            at=at,
            note=note,
            other_store=from_store,
        )
        return out, into


def balances_export(*, actor, compound, ip: str | None = None) -> tuple[bytes, str]:
    """The compound's balances as .xlsx (bytes and a file name), for those who keep the stock;
    audited."""
    from tongxin.supplies import stock_export
    from tongxin.supplies.selectors.stock import balances

    require_compound(actor, compound.pk)
    rows = balances(actor, compound_id=compound.pk)
    content = stock_export.write_balances(rows, compound=compound)
    audit(
        actor=actor,
        action="export",
        obj=compound,
        fields="supplies_balances",
        detail={"rows": len(rows)},
        ip=ip,
    )
    return content, stock_export.balances_file_name(compound)


def item_history_export(*, actor, item: Item, ip: str | None = None) -> tuple[bytes, str]:
    """One item's moves as .xlsx, newest first: rooms of the households served and who did what,
    so audited with the count."""
    from tongxin.supplies import stock_export
    from tongxin.supplies.selectors.stock import item_history

    require_compound(actor, item.compound_id)
    moves = item_history(actor, item_id=item.pk)
    content = stock_export.write_history(moves.iterator(chunk_size=2000), item=item)
    audit(
        actor=actor,
        action="export",
        obj=item,
        fields="supplies_moves",
        detail={"moves": moves.count()},
        ip=ip,
    )
    return content, stock_export.history_file_name(item)
