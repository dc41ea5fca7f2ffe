"""Balances, history and the low-stock alert, scoped to the acting user's compounds."""

from dataclasses import dataclass
from decimal import Decimal

from django.db.models import F, Prefetch, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import gettext as _

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Household
from tongxin.supplies.models import Balance, Donation, Item, StockMove, Store
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
    return _balance_rows(rows)


def _balance_rows(rows) -> list[BalanceRow]:
    return [
        BalanceRow(
            r["store_id"], r["store__name"], r["item_id"], r["item__name"], r["item__unit"], r["quantity"]
        )
        for r in rows.order_by("store__name", "item__name").values(
            "store_id", "store__name", "item_id", "item__name", "item__unit", "quantity"
        )
    ]


def item_history(user, *, item_id: int):
    """The moves of one item, newest first; none for an item outside the user's area. A move's
    household is there only when the user sees it: a grid worker keeps the compound's stock but
    sees the rooms served (who was given medicine) of his buildings only; other moves have
    `household` None."""
    seen = Household.objects.filter(scope_q(user, "household")).select_related("unit__building")
    return (
        StockMove.objects.filter(supplies_q(user, "item__"), item_id=item_id)
        .select_related("store", "other_store", "donation", "by")
        .prefetch_related(Prefetch("household", queryset=seen))
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


def items_of(user, compound_id: int):
    """The compound's catalogue, by name."""
    return Item.objects.filter(supplies_q(user), compound_id=compound_id).order_by("name")


def stores_of(user, compound_id: int):
    return Store.objects.filter(supplies_q(user), compound_id=compound_id).order_by("name")


def item_get(user, item_id: int) -> Item:
    """One item of the user's compounds (404 otherwise), with its compound."""
    item = Item.objects.filter(supplies_q(user), pk=item_id).select_related("compound").first()
    if item is None:
        raise Http404
    return item


def item_balances(user, *, item_id: int) -> list[BalanceRow]:
    """What each store holds of one item, in one query."""
    return _balance_rows(Balance.objects.filter(supplies_q(user, "item__"), item_id=item_id))


def donation_get(user, donation_id: int) -> Donation:
    donation = Donation.objects.filter(supplies_q(user), pk=donation_id).first()
    if donation is None:
        raise Http404
    return donation


def donations_with_lines(user, *, compound_id: int | None = None, since=None, until=None):
    """`donations` with each one's stock moves and their items prefetched (`moves`): two more
    queries whatever the number of donations."""
    moves = StockMove.objects.select_related("item", "store").order_by("pk")
    return donations(user, compound_id=compound_id, since=since, until=until).prefetch_related(
        Prefetch("moves", queryset=moves)
    )


def money(value: Decimal) -> str:
    """5000 -> "5,000"; 5000.5 -> "5,000.50"."""
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def donation_thanks_line(donation: Donation) -> str:
    """The daily report's thanks for one donation (its `moves` read, prefetched or not):
    "感谢XX捐赠酒精、防护服、军大衣（价值5,000元）"."""
    names = list(dict.fromkeys(move.item.name for move in donation.moves.all()))
    goods = "、".join(names) or _("物资")
    if donation.value:
        return _("感谢%(donor)s捐赠%(goods)s（价值%(value)s元）") % {
            "donor": donation.donor,
            "goods": goods,
            "value": money(donation.value),
        }
    return _("感谢%(donor)s捐赠%(goods)s") % {"donor": donation.donor, "goods": goods}


def donation_thanks(user, compound, since=None, until=None) -> list[str]:
    """The daily report's thank-you lines for the compound's donations received in
    [since, until), oldest first. `compound` is a Compound or its id."""
    compound_id = getattr(compound, "pk", compound)
    rows = donations_with_lines(user, compound_id=compound_id, since=since, until=until)
    return [donation_thanks_line(donation) for donation in reversed(list(rows))]


def room_of(household: Household | None) -> str:
    """ "3-2-301" (needs `unit__building` loaded)."""
    if household is None:
        return ""
    return f"{household.unit.building.number}-{household.unit.number}-{household.room}"
