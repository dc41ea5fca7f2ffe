"""Balances, history and the low-stock alert, scoped to the acting user's compounds."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Sum
from django.db.models.functions import Coalesce

from tongxin.supplies.models import Balance, Donation, Item, StockMove
from tongxin.supplies.selectors.scope import supplies_q


@dataclass(frozen=True)
class BalanceRow:
    store_id: int
    store: str
    item_id: int
    item: str
    unit: str
    quantity: Decimal


def balances(user, *, compound_id: int | None = None) -> list[BalanceRow]:
    """Every store's stock of every item it has held, in one query."""
    rows = Balance.objects.filter(supplies_q(user, "item__"))
    if compound_id is not None:
        rows = rows.filter(item__compound_id=compound_id)
    return [
        BalanceRow(
            r["store_id"], r["store__name"], r["item_id"], r["item__name"], r["item__unit"], r["quantity"]
        )
        for r in rows.order_by("store__name", "item__name").values(
            "store_id", "store__name", "item_id", "item__name", "item__unit", "quantity"
        )
    ]


def item_history(user, *, item_id: int):
    """The moves of one item, newest first; none for an item outside the user's area."""
    return (
        StockMove.objects.filter(supplies_q(user, "item__"), item_id=item_id)
        .select_related("store", "other_store", "household", "donation", "by")
        .order_by("-at", "-pk")
    )


def items_below_minimum(user, *, compound_id: int | None = None):
    """Items whose stock over all stores is below their minimum (the alert), with `stock`."""
    items = Item.objects.filter(supplies_q(user))
    if compound_id is not None:
        items = items.filter(compound_id=compound_id)
    total = Coalesce(
        Sum("balances__quantity"), Decimal(0), output_field=Item._meta.get_field("minimum_stock")
    )
    return items.alias().annotate(stock=total).filter(stock__lt=F("minimum_stock")).order_by("name")


def donations(user, *, compound_id: int | None = None, since=None, until=None):
    """Donations with their donors and values, newest first, for the daily report's thanks."""
    rows = Donation.objects.filter(supplies_q(user))
    if compound_id is not None:
        rows = rows.filter(compound_id=compound_id)
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    if until is not None:
        rows = rows.filter(received_at__lt=until)
    return rows.order_by("-received_at", "-pk")
