"""JSON API of the stock and donations (mounted at /api/v1/supplies/).

- `GET balances?compound=`: each store's stock of each item, in the item's unit.
- `GET items/{id}/moves?page=`: the item's moves, newest first, 50 a page.
- `POST moves`: `{"kind": "in", "item", "store", "quantity", "unit"?, "price"?, "note"?}`,
  `{"kind": "out", "to": "household"|"team"|"used", "item", "store", "quantity", "unit"?,
  "room"|"household"?, "team"?, "note"?}`, `{"kind": "transfer", "item", "store", "to_store",
  "quantity", "unit"?, "note"?}`. Quantities as strings ("12.5") or numbers; units
  bucket/kg/jin/box/piece/bag/bottle (jin and kg convert).
- `GET donations?compound=`, `POST donations`, `POST donations/{id}/thanked`.

Stock keepers only (managers, grid workers, officials, admins); a volunteer may only take stock out
to a household. Refusals: 400 with the messages, 403, 404 (another compound's records).
"""

import datetime
from decimal import Decimal
from typing import Literal

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions import stock as actions
from tongxin.supplies.actions.donations import donation_mark_thanked, donation_record
from tongxin.supplies.forms.stock import parse_quantity
from tongxin.supplies.models import Donation, Item, MoveKind, StockMove, StockUnit, Store
from tongxin.supplies.selectors import stock as selectors
from tongxin.supplies.selectors.scope import HANDS_OUT, STOCK_KEEPERS, require_compound
from tongxin.supplies.units import unit_label

router = Router()

Quantity = str | int | float


def _keeper(user) -> None:
    if user.role not in STOCK_KEEPERS:
        raise PermissionDenied(_("当前角色不能管理物资库存"))


def _compound_id(user, compound: int | None) -> int | None:
    if compound is not None:
        require_compound(user, compound)
    return compound


def _number(value: Decimal | None) -> str | None:
    return None if value is None else f"{value.normalize():f}"


class BalanceOut(Schema):
    store_id: int
    store: str
    item_id: int
    item: str
    unit: str
    unit_label: str
    quantity: str


@router.get("/balances", response=list[BalanceOut], url_name="supplies_balances")
def balances(request, compound: int | None = None):
    _keeper(request.user)
    rows = selectors.balances(request.user, compound_id=_compound_id(request.user, compound))
    return [
        {**row.__dict__, "unit_label": unit_label(row.unit), "quantity": _number(row.quantity)}
        for row in rows
    ]


class MoveOut(Schema):
    id: int
    at: datetime.datetime
    kind: str
    kind_label: str
    quantity: str
    unit: str
    store: str
    other_store: str | None
    room: str | None
    team: str
    donor: str | None
    price: str | None
    by: str | None
    note: str


def _move_out(move: StockMove, unit: str) -> dict:
    return {
        "id": move.pk,
        "at": move.at,
        "kind": move.kind,
        "kind_label": str(move.get_kind_display()),
        "quantity": _number(move.quantity),
        "unit": unit,
        "store": move.store.name,
        "other_store": move.other_store.name if move.other_store else None,
        "room": selectors.room_of(move.household) or None,
        "team": move.team,
        "donor": move.donation.donor if move.donation else None,
        "price": _number(move.price),
        "by": move.by.username if move.by else None,
        "note": move.note,
    }


class MovesPage(Schema):
    count: int
    page: int
    pages: int
    moves: list[MoveOut]


@router.get("/items/{item_id}/moves", response=MovesPage, url_name="supplies_item_moves")
def item_moves(request, item_id: int, page: int = 1):
    item = selectors.item_get(request.user, item_id)
    require_compound(request.user, item.compound_id)
    paginator = Paginator(selectors.item_history(request.user, item_id=item.pk), settings.TONGXIN_PAGE_SIZE)
    found = paginator.get_page(page)
    return {
        "count": paginator.count,
        "page": found.number,
        "pages": paginator.num_pages,
        "moves": [_move_out(move, item.unit) for move in found.object_list],
    }


class MoveIn(Schema):
    kind: Literal["in", "out", "transfer"]
    to: Literal["household", "team", "used"] | None = Field(None, description="for kind out")
    item: int
    store: int
    to_store: int | None = Field(None, description="for kind transfer")
    quantity: Quantity
    unit: str | None = Field(None, max_length=10, description="the item's own when left out")
    price: Decimal | None = Field(None, description="for kind in: yuan, two decimal places at most")
    household: int | None = Field(None, description="for out to a household: its id, or")
    room: str | None = Field(None, max_length=40, description='for out to a household: "3-2-301"')
    team: str = Field("", max_length=100)
    note: str = Field("", max_length=200)


class MoveDone(Schema):
    moves: list[MoveOut]


def _item_store(user, item_id: int, store_id: int) -> tuple[Item, Store]:
    item = selectors.item_get(user, item_id)
    store = selectors.stores_of(user, item.compound_id).filter(pk=store_id).first()
    if store is None:
        raise ValidationError({"store": [_("该小区没有这个仓库")]}, code="unknown_store")
    return item, store


def _unit(value: str | None) -> str | None:
    if value and value not in StockUnit.values:
        raise ValidationError({"unit": [_("未知的单位：%(unit)s") % {"unit": value}]}, code="unknown_unit")
    return value or None


def _household(user, item: Item, payload: MoveIn):
    if payload.household is not None:
        return registry_selectors.household_get(user, payload.household)
    if payload.room:
        household = registry_selectors.household_by_room(user, item.compound_id, payload.room)
        if household is None:
            raise ValidationError(
                {
                    "room": [
                        _("%(compound)s没有房号为%(room)s的住户")
                        % {"compound": item.compound.name, "room": payload.room}
                    ]
                },
                code="unknown_room",
            )
        return household
    raise ValidationError({"room": [_("请填写住户房号，例如 3-2-301")]}, code="household_required")


@router.post("/moves", response={201: MoveDone}, url_name="supplies_moves")
def move(request, payload: MoveIn):
    """Stock in (a purchase), out (to a household, a team, used) or between two stores; nothing is
    written when anything is refused."""
    user = request.user
    if payload.kind != "out" or payload.to != "household":
        _keeper(user)
    elif user.role not in HANDS_OUT:
        raise PermissionDenied
    item, store = _item_store(user, payload.item, payload.store)
    quantity = parse_quantity(payload.quantity)
    unit = _unit(payload.unit)
    if payload.kind == "in":
        made = [
            actions.stock_in(
                actor=user,
                item=item,
                store=store,
                quantity=quantity,
                unit=unit,
                price=payload.price,
                note=payload.note,
            )
        ]
    elif payload.kind == "out":
        if payload.to is None:
            raise ValidationError({"to": [_("请选择出库去向")]}, code="to_required")
        kind = {"household": MoveKind.OUT_HOUSEHOLD, "team": MoveKind.OUT_TEAM, "used": MoveKind.USED}[
            payload.to
        ]
        made = [
            actions.stock_out(
                actor=user,
                item=item,
                store=store,
                quantity=quantity,
                unit=unit,
                kind=kind,
                household=_household(user, item, payload) if payload.to == "household" else None,
                team=payload.team if payload.to == "team" else "",
                note=payload.note,
            )
        ]
    else:
        if payload.to_store is None:
            raise ValidationError({"to_store": [_("请选择调入仓库")]}, code="to_store_required")
        _item, to_store = _item_store(user, payload.item, payload.to_store)
        made = list(
            actions.stock_transfer(
                actor=user,
                item=item,
                from_store=store,
                to_store=to_store,
                quantity=quantity,
                unit=unit,
                note=payload.note,
            )
        )
    return 201, {"moves": [_move_out(one, item.unit) for one in _reloaded(user, made)]}


def _reloaded(user, made: list[StockMove]) -> list[StockMove]:
    by_pk = {
        m.pk: m
        for m in selectors.item_history(user, item_id=made[0].item_id).filter(pk__in=[m.pk for m in made])
    }
    return [by_pk[m.pk] for m in made]


class DonationLineOut(Schema):
    item: str
    quantity: str
    unit: str


class DonationOut(Schema):
    id: int
    donor: str
    contact: str
    value: str | None
    received_at: datetime.datetime
    thanked: bool
    note: str
    lines: list[DonationLineOut]
    thanks: str


def _donation_out(donation: Donation) -> dict:
    return {
        "id": donation.pk,
        "donor": donation.donor,
        "contact": donation.contact,
        "value": _number(donation.value),
        "received_at": donation.received_at,
        "thanked": donation.thanked,
        "note": donation.note,
        "lines": [
            {"item": move.item.name, "quantity": _number(move.quantity), "unit": move.item.unit}
            for move in donation.moves.all()
        ],
        "thanks": selectors.donation_thanks_line(donation),
    }


class DonationsPage(Schema):
    count: int
    page: int
    pages: int
    donations: list[DonationOut]


@router.get("/donations", response=DonationsPage, url_name="supplies_donations")
def donations(request, compound: int | None = None, page: int = 1):
    _keeper(request.user)
    rows = selectors.donations_with_lines(request.user, compound_id=_compound_id(request.user, compound))
    paginator = Paginator(rows, settings.TONGXIN_PAGE_SIZE)
    found = paginator.get_page(page)
    return {
        "count": paginator.count,
        "page": found.number,
        "pages": paginator.num_pages,
        "donations": [_donation_out(d) for d in found.object_list],
    }


class DonationLineIn(Schema):
    item: int
    quantity: Quantity
    unit: str | None = Field(None, max_length=10)


class DonationIn(Schema):
    compound: int
    store: int
    donor: str = Field(..., max_length=100)
    contact: str = Field("", max_length=100)
    value: Decimal | None = Field(None, description="yuan, two decimal places at most")
    received_at: datetime.datetime | None = None
    note: str = Field("", max_length=200)
    lines: list[DonationLineIn] = Field(..., max_length=50)


def _aware(moment: datetime.datetime | None) -> datetime.datetime | None:
    if moment is not None and timezone.is_naive(moment):
        return timezone.make_aware(moment)
    return moment


def _donation(user, donation_id: int) -> Donation:
    _keeper(user)
    donation = selectors.donation_get(user, donation_id)
    require_compound(user, donation.compound_id)
    return selectors.donations_with_lines(user, compound_id=donation.compound_id).get(pk=donation.pk)


@router.post("/donations", response={201: DonationOut}, url_name="supplies_donation_record")
def donation_create(request, payload: DonationIn):
    user = request.user
    _keeper(user)
    compound = registry_selectors.compound_get(user, payload.compound)
    require_compound(user, compound.pk)
    store = selectors.stores_of(user, compound.pk).filter(pk=payload.store).first()
    if store is None:
        raise ValidationError({"store": [_("该小区没有这个仓库")]}, code="unknown_store")
    items = {
        item.pk: item
        for item in selectors.items_of(user, compound.pk).filter(pk__in=[line.item for line in payload.lines])
    }
    missing = [line.item for line in payload.lines if line.item not in items]
    if missing:
        raise ValidationError(
            {"lines": [_("该小区没有这些物资：%(ids)s") % {"ids": ", ".join(map(str, missing))}]}
        )
    lines = [(items[line.item], parse_quantity(line.quantity), _unit(line.unit)) for line in payload.lines]
    donation = donation_record(
        actor=user,
        compound=compound,
        donor=payload.donor,
        contact=payload.contact,
        value=payload.value,
        store=store,
        lines=lines,
        received_at=_aware(payload.received_at),
        note=payload.note,
    )
    return 201, _donation_out(_donation(user, donation.pk))


@router.post("/donations/{donation_id}/thanked", response=DonationOut, url_name="supplies_donation_thanked")
def donation_thanked(request, donation_id: int):
    user = request.user
    donation = _donation(user, donation_id)
    donation_mark_thanked(actor=user, donation=donation)
    return _donation_out(donation)
