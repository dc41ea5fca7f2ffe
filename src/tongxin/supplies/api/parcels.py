"""JSON API of the parcels (mounted at /api/v1/supplies/parcels/).

- `POST parcels/`: `{"compound", "lookup": "3-2-301" | "13812345678" | "household": id, "courier"?,
  "tracking_number"?, "pieces"?, "note"?}` logs one parcel; with `"parcels": [{"lookup" |
  "household", "tracking_number"?, "pieces"?, "note"?}, ...]` a courier's batch at once (all or
  nothing). A phone of several households answers 400 with `errors.lookup` and `households`
  (their ids and rooms) to choose from. Photos are taken by the page only.
- `POST parcels/disinfect`: `{"parcels": [id, ...]}`: ready at now + the compound's hold time.
- `POST parcels/{id}/deliver`, `POST parcels/{id}/refuse` (`{"reason"}`).
- `GET parcels/ready?compound=`: the ready parcels in the round's order with each household's way
  of getting them.

The compound's team, volunteers included; residents 403; another compound's parcels 404. Two people
marking the same parcel: the second gets 400 naming who did it.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions import parcels as actions
from tongxin.supplies.models import Parcel
from tongxin.supplies.selectors import parcels as selectors
from tongxin.supplies.selectors.scope import HANDS_OUT, require_compound

router = Router()


def _team(user) -> None:
    if user.role not in HANDS_OUT:
        raise PermissionDenied(_("当前角色不能处理快递"))


class ParcelOut(Schema):
    id: int
    compound: int
    household: int
    room: str
    courier: str
    tracking_number: str
    pieces: int
    note: str
    state: str
    state_label: str
    received_at: datetime.datetime
    disinfected_at: datetime.datetime | None
    ready_at: datetime.datetime | None
    handed_at: datetime.datetime | None
    refusal_reason: str
    has_photo: bool


def _out(parcel: Parcel) -> dict:
    return {
        "id": parcel.pk,
        "compound": parcel.compound_id,
        "household": parcel.household_id,
        "room": selectors.room_label(parcel.household),
        "courier": parcel.courier,
        "tracking_number": parcel.tracking_number,
        "pieces": parcel.pieces,
        "note": parcel.note,
        "state": parcel.state,
        "state_label": str(parcel.get_state_display()),
        "received_at": parcel.received_at,
        "disinfected_at": parcel.disinfected_at,
        "ready_at": parcel.ready_at,
        "handed_at": parcel.handed_at,
        "refusal_reason": parcel.refusal_reason,
        "has_photo": bool(parcel.photo),
    }


class ParcelLineIn(Schema):
    lookup: str = Field("", max_length=80)
    household: int | None = None
    tracking_number: str = Field("", max_length=50)
    pieces: int = 1
    note: str = Field("", max_length=200)


class IntakeIn(ParcelLineIn):
    compound: int
    courier: str = Field("", max_length=50)
    parcels: list[ParcelLineIn] | None = Field(None, max_length=actions.MAX_BATCH)


class IntakeOut(Schema):
    parcels: list[ParcelOut]


@router.post("", response={200: IntakeOut, 400: dict}, url_name="supplies_parcel_intake")
def intake(request, body: IntakeIn):
    user = request.user
    _team(user)
    compound = registry_selectors.compound_get(user, body.compound)
    require_compound(user, compound.pk, roles=HANDS_OUT)
    try:
        if body.parcels is not None:
            created = actions.parcels_intake(
                actor=user,
                compound=compound,
                courier=body.courier,
                lines=[actions.BatchLine(**line.dict()) for line in body.parcels],
            )
        else:
            created = [
                actions.parcel_intake(
                    actor=user,
                    compound=compound,
                    household=body.household,
                    lookup=body.lookup,
                    courier=body.courier,
                    tracking_number=body.tracking_number,
                    pieces=body.pieces,
                    note=body.note,
                )
            ]
    except ValidationError as error:
        choices = _several(user, error)
        if not choices:
            raise
        detail = "；".join(error.messages)
        return 400, {"detail": detail, "errors": error.message_dict, "households": choices}
    rows = Parcel.objects.filter(pk__in=[p.pk for p in created]).select_related(
        "household__unit", "household__building"
    )
    return {"parcels": [_out(p) for p in rows.order_by("pk")]}


def _several(user, error: ValidationError) -> list[dict]:
    for items in getattr(error, "error_dict", {}).values():
        for item in items:
            if item.code == "several_households":
                return [
                    {"id": pk, "room": room}
                    for pk, room in selectors.intake_choices(user, item.params["households"])
                ]
    return []


class DisinfectIn(Schema):
    parcels: list[int] = Field(..., min_length=1, max_length=actions.MAX_BATCH)


@router.post("/disinfect", response=list[ParcelOut], url_name="supplies_parcels_disinfect")
def disinfect(request, body: DisinfectIn):
    _team(request.user)
    return [_out(p) for p in actions.parcels_disinfect(actor=request.user, parcels=body.parcels)]


@router.post("/{parcel_id}/deliver", response=ParcelOut, url_name="supplies_parcel_deliver")
def deliver(request, parcel_id: int):
    _team(request.user)
    return _out(actions.parcel_deliver(actor=request.user, parcel=parcel_id))


class RefuseIn(Schema):
    reason: str = Field("", max_length=200)


@router.post("/{parcel_id}/refuse", response=ParcelOut, url_name="supplies_parcel_refuse")
def refuse(request, parcel_id: int, body: RefuseIn):
    _team(request.user)
    return _out(actions.parcel_refuse(actor=request.user, parcel=parcel_id, reason=body.reason))


class ReadyOut(ParcelOut):
    delivery: str
    delivery_label: str
    delivery_text: str
    slot_start: str | None
    slot_end: str | None


@router.get("/ready", response=list[ReadyOut], url_name="supplies_parcels_ready")
def ready(request, compound: int):
    user = request.user
    _team(user)
    place = registry_selectors.compound_get(user, compound)
    require_compound(user, place.pk, roles=HANDS_OUT)
    return [
        {
            **_out(parcel),
            "delivery": delivery.mode,
            "delivery_label": delivery.label,
            "delivery_text": delivery.text,
            "slot_start": delivery.slot_start.strftime("%H:%M") if delivery.slot_start else None,
            "slot_end": delivery.slot_end.strftime("%H:%M") if delivery.slot_end else None,
        }
        for parcel, delivery in selectors.ready_parcels(user, place)
    ]
