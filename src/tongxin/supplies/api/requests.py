"""JSON API of requests from sealed and isolated homes (mounted at /api/v1/supplies/requests/).

`GET ?compound=&state=` the queue (open ones unless `state` names one), `POST` a request (by a
resident for their own household, by a worker for a room), `POST {id}/accept|bought` (optional
`?at=`), `POST {id}/deliver` ({"store", "at"}), `POST {id}/cannot` ({"reason", "at"}): its state changes (400 with the message when refused: another worker was first, a short stock, a
time before the request), `GET today?compound=` the day's delivery list and the stock it takes.
"""

import datetime
from decimal import Decimal

from django.http import Http404
from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions import requests as actions
from tongxin.supplies.models import Item, RequestKind, Store, SupplyRequest
from tongxin.supplies.selectors import requests as selectors

router = Router()
MAX_ROWS = 200


class LineOut(Schema):
    item: int | None
    label: str
    quantity: Decimal
    unit: str


class RequestOut(Schema):
    id: int
    household: int
    room: str
    kind: str
    kind_label: str
    detail: str
    urgent: bool
    state: str
    state_label: str
    via: str
    source: str
    asked_at: datetime.datetime
    accepted_at: datetime.datetime | None
    bought_at: datetime.datetime | None
    delivered_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    assignee: str
    delivered_by: str
    cannot_reason: str
    lines: list[LineOut]


def _out(request: SupplyRequest) -> dict:
    lines = list(request.lines.all())
    for line in lines:
        if not hasattr(line, "label"):
            line.label = selectors.line_label(line)
    return {
        "id": request.pk,
        "household": request.household_id,
        "room": str(request.household),
        "kind": request.kind,
        "kind_label": request.get_kind_display(),
        "detail": request.detail,
        "urgent": request.urgent,
        "state": request.state,
        "state_label": request.get_state_display(),
        "via": request.via,
        "source": request.source,
        "asked_at": request.asked_at,
        "accepted_at": request.accepted_at,
        "bought_at": request.bought_at,
        "delivered_at": request.delivered_at,
        "closed_at": request.closed_at,
        "assignee": str(request.assignee or ""),
        "delivered_by": str(request.delivered_by or ""),
        "cannot_reason": request.cannot_reason,
        "lines": [
            {"item": line.item_id, "label": line.label, "quantity": line.quantity, "unit": line.unit}
            for line in lines
        ],
    }


@router.get("", response=list[RequestOut], url_name="supplies_requests")
def queue(request, compound: int | None = None, state: str = "", kind: str = "", building: int | None = None):
    """The compound's queue for the team; a resident (no compound) gets their household's own."""
    user = request.user
    if compound is None and user.role == "resident":
        return [_out(r) for r in selectors.own_requests(user)[:MAX_ROWS]]
    if compound is None:
        raise Http404
    selectors.require_team(user)
    place = registry_selectors.compound_get(user, compound)
    rows = selectors.request_queue(user, place, state=state or None, kind=kind or None, building_id=building)
    return [_out(r) for r in rows[:MAX_ROWS]]


class RequestLineIn(Schema):
    item: int | None = Field(None, description="a catalogue item of the compound")
    description: str = Field("", max_length=100)
    quantity: Decimal
    unit: str = Field(
        "", max_length=10, description="a unit code (bucket, kg, jin...); the item's own if empty"
    )


class RequestIn(Schema):
    household: int | None = Field(None, description="a household the caller sees (a resident: their own)")
    kind: RequestKind
    detail: str = Field("", max_length=500)
    lines: list[RequestLineIn] = Field(default_factory=list, max_length=20)
    via: str | None = None
    source: str = Field("", max_length=50)
    asked_at: datetime.datetime | None = None


@router.post("", response={201: RequestOut}, url_name="supplies_request_create")
def create(request, payload: RequestIn):
    user = request.user
    household_id = payload.household if payload.household is not None else user.household_id
    if household_id is None:
        raise Http404
    household = registry_selectors.household_get(user, household_id)
    items = {i.pk: i for i in Item.objects.filter(compound_id=household.compound_id)}
    lines = []
    for line in payload.lines:
        if line.item is not None and line.item not in items:
            raise Http404
        lines.append((items.get(line.item), line.description, line.quantity, line.unit))
    made = actions.supply_request_create(
        actor=user,
        household=household,
        kind=payload.kind,
        detail=payload.detail,
        lines=lines,
        via=payload.via,
        source=payload.source,
        asked_at=payload.asked_at,
    )
    return 201, _out(selectors.request_row(user, made.pk) or made)


class DeliverIn(Schema):
    store: int | None = None
    at: datetime.datetime | None = None


class CannotIn(Schema):
    reason: str = Field(..., max_length=200)
    at: datetime.datetime | None = None


def _row(request, pk: int) -> dict:
    return _out(selectors.request_row(request.user, pk))


@router.post("/{request_id}/accept", response=RequestOut, url_name="supplies_request_accept")
def accept(request, request_id: int, at: datetime.datetime | None = None):
    """Take it on (the caller is its assignee); `?at=` when it was accepted, now by default."""
    target = selectors.request_get(request.user, request_id)
    actions.supply_request_accept(actor=request.user, request=target, at=at)
    return _row(request, request_id)


@router.post("/{request_id}/bought", response=RequestOut, url_name="supplies_request_bought")
def bought(request, request_id: int, at: datetime.datetime | None = None):
    target = selectors.request_get(request.user, request_id)
    actions.supply_request_bought(actor=request.user, request=target, at=at)
    return _row(request, request_id)


@router.post("/{request_id}/deliver", response=RequestOut, url_name="supplies_request_deliver")
def deliver(request, request_id: int, payload: DeliverIn):
    target = selectors.request_get(request.user, request_id)
    store = None
    if payload.store is not None:
        store = get_object_or_404(Store, pk=payload.store, compound_id=target.compound_id)
    actions.supply_request_deliver(actor=request.user, request=target, store=store, at=payload.at)
    return _row(request, request_id)


@router.post("/{request_id}/cannot", response=RequestOut, url_name="supplies_request_cannot")
def cannot(request, request_id: int, payload: CannotIn):
    target = selectors.request_get(request.user, request_id)
    actions.supply_request_cannot(actor=request.user, request=target, reason=payload.reason, at=payload.at)
    return _row(request, request_id)


class NeedOut(Schema):
    item: int
    name: str
    unit: str
    need: Decimal
    stock: Decimal
    short: bool


class UnitOut(Schema):
    unit: int
    number: str
    requests: list[RequestOut]


class BuildingOut(Schema):
    building: int
    number: str
    units: list[UnitOut]


class DayOut(Schema):
    count: int
    store: int | None
    buildings: list[BuildingOut]
    needs: list[NeedOut]


@router.get("/today", response=DayOut, url_name="supplies_requests_today")
def today(request, compound: int, store: int | None = None, building: int | None = None):
    selectors.require_team(request.user)
    place = registry_selectors.compound_get(request.user, compound)
    day = selectors.day_list(request.user, place, building_id=building, store_id=store)
    return {
        "count": day.count,
        "store": day.store.pk if day.store else None,
        "buildings": [
            {
                "building": group.building.pk,
                "number": group.building.number,
                "units": [
                    {
                        "unit": unit_group.unit.pk,
                        "number": unit_group.unit.number,
                        "requests": [_out(r) for r in unit_group.requests],
                    }
                    for unit_group in group.units
                ],
            }
            for group in day.buildings
        ],
        "needs": [
            {
                "item": need.item_id,
                "name": need.item,
                "unit": need.unit,
                "need": need.need,
                "stock": need.stock,
                "short": need.short,
            }
            for need in day.needs
        ],
    }
