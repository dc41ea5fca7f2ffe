"""The registry's JSON endpoints: the same selectors and actions as the pages.

Each endpoint parses, calls one selector or action, and shapes the answer for the caller's role:
staff with full data and residents (their household) see masked numbers and ages, never birth
dates: the birth date is exactly the masked part of an ID number. Volunteers see names, rooms, tags
and presence and no number at all. Full ID numbers and phones leave the server only through
`reveal`, which is audited.
"""

import datetime
from typing import Literal

from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.registry import actions, selectors
from tongxin.registry.models import Household, Resident

router = Router(tags=["registry"])

MAX_PAGE = 100
MAX_OFFSET = 10_000_000  # beyond any registry; a larger offset overflows the database's integer


# -- output schemas ---------------------------------------------------------------------------


class CompoundOut(Schema):
    id: int
    code: str
    name: str
    address: str
    community: str
    buildings: int
    units: int
    households: int
    residents: int
    elderly: int


class CompoundPage(Schema):
    items: list[CompoundOut]
    next_offset: int | None


class MapUnitOut(Schema):
    id: int
    number: str
    households: int
    residents: int
    verified: int
    elderly: int
    vulnerable: int
    value: float | None
    label: str
    band: str


class MapBuildingOut(Schema):
    id: int
    number: str
    units: list[MapUnitOut]


class BandOut(Schema):
    name: str
    start: float
    label: str


class LegendOut(Schema):
    band: str
    label: str


class ErrorOut(Schema):
    detail: str


class CompoundMapOut(Schema):
    compound_id: int
    measure: str
    measure_label: str
    palette: str
    measures: dict[str, str]
    bands: list[BandOut]
    legend: list[LegendOut]
    as_of: datetime.date
    buildings: list[MapBuildingOut]


class CompoundStatsOut(Schema):
    compounds: int
    buildings: int
    units: int
    households: int
    residents: int
    elderly: int
    lives_alone: int
    veterans: int
    serious_illness: int
    disabled: int
    living: int
    away: int
    moved_out: int
    unverified: int
    returning: int
    mobile: int


class PlaceOut(Schema):
    """Where a resident lives: ids for links, numbers for people."""

    compound_id: int
    building_id: int
    building: str
    unit_id: int
    unit: str
    household_id: int
    room: str


class ResidentForVolunteer(Schema):
    """What a volunteer at a post needs: who lives where, their tags and presence. No numbers."""

    view: Literal["volunteer"] = "volunteer"
    id: int
    name: str
    place: PlaceOut
    tags: list[str]
    tag_codes: list[str]
    presence: str
    presence_label: str
    presence_verified_on: datetime.date | None


class ResidentForHousehold(Schema):
    """A resident's own household: masked numbers, age rather than birth date, no staff note."""

    view: Literal["household"] = "household"
    id: int
    name: str
    place: PlaceOut
    relation: str
    relation_label: str
    sex: str
    age: int | None
    document_type: str
    document_masked: str
    phone_masked: str
    tags: list[str]
    tag_codes: list[str]
    presence: str
    presence_label: str
    presence_verified_on: datetime.date | None
    mobility: str
    arrived_on: datetime.date | None
    arrived_from: str
    registered_address: str


class ResidentFull(ResidentForHousehold):
    """Staff who may see full data: the note and who verified presence.

    The document and phone are still masked here, and the birth date is left out (with the masked
    number it would complete it); the full values only come from `reveal`, which is audited.
    """

    view: Literal["full"] = "full"  # type: ignore[assignment]
    presence_verified_by: str | None
    note: str


ResidentOut = ResidentFull | ResidentForHousehold | ResidentForVolunteer


class ResidentPage(Schema):
    items: list[ResidentOut] = Field(..., description="at most `limit` residents")
    next_offset: int | None


class HouseholdOut(Schema):
    id: int
    room: str
    compound_id: int
    building_id: int
    building: str
    unit_id: int
    unit: str
    resident_count: int
    residents: list[ResidentOut]


class RevealIn(Schema):
    field: str = Field(..., description='"document" or "phone"')
    reason: str = ""


class RevealOut(Schema):
    value: str


class PresenceIn(Schema):
    presence: str = Field(..., description="living, away, moved_out or unverified")
    on: datetime.date | None = None


class ResidentPatch(Schema):
    """Only the fields sent are changed. `tags` replaces the resident's tags (elderly is derived)."""

    name: str | None = None
    relation: str | None = None
    tags: list[str] | None = None
    mobility: str | None = None
    arrived_on: datetime.date | None = None
    arrived_from: str | None = None
    registered_address: str | None = None
    note: str | None = None
    phone: str | None = None


# -- shaping ----------------------------------------------------------------------------------


def _compound_out(compound) -> CompoundOut:
    return CompoundOut(
        id=compound.pk,
        code=compound.code,
        name=compound.name,
        address=compound.address,
        community=compound.community.name,
        buildings=compound.building_count,
        units=compound.unit_count,
        households=compound.household_count,
        residents=compound.resident_count,
        elderly=compound.elderly_count,
    )


def _place(resident: Resident) -> PlaceOut:
    household = resident.household
    return PlaceOut(
        compound_id=resident.compound_id,
        building_id=resident.building_id,
        building=household.unit.building.number,
        unit_id=resident.unit_id,
        unit=household.unit.number,
        household_id=household.pk,
        room=household.room,
    )


def _tag_codes(resident: Resident) -> list[str]:
    return (["elderly"] if resident.is_elderly else []) + [
        field for field in Resident.TAG_FIELDS if getattr(resident, field)
    ]


def resident_out(user, resident: Resident) -> ResidentFull | ResidentForHousehold | ResidentForVolunteer:
    """The resident as the acting user may see them."""
    common = {
        "id": resident.pk,
        "name": resident.name,
        "place": _place(resident),
        "tags": resident.tags(),
        "tag_codes": _tag_codes(resident),
        "presence": resident.presence,
        "presence_label": resident.get_presence_display(),
        "presence_verified_on": resident.presence_verified_on,
    }
    if user.role == Role.VOLUNTEER or not (user.may_see_full_data or user.role == Role.RESIDENT):
        return ResidentForVolunteer(**common)
    household_view = {
        **common,
        "relation": resident.relation,
        "relation_label": resident.get_relation_display(),
        "sex": resident.sex,
        "age": resident.age(),
        "document_type": resident.document_type,
        "document_masked": resident.document_masked,
        "phone_masked": resident.phone_masked,
        "mobility": resident.mobility,
        "arrived_on": resident.arrived_on,
        "arrived_from": resident.arrived_from,
        "registered_address": resident.registered_address,
    }
    if not user.may_see_full_data:
        return ResidentForHousehold(**household_view)
    verifier = resident.presence_verified_by if resident.presence_verified_by_id else None
    return ResidentFull(
        **household_view,
        presence_verified_by=str(verifier) if verifier else None,
        note=resident.note,
    )


def _household_out(user, household: Household, residents) -> HouseholdOut:
    residents = list(residents)
    return HouseholdOut(
        id=household.pk,
        room=household.room,
        compound_id=household.compound_id,
        building_id=household.building_id,
        building=household.unit.building.number,
        unit_id=household.unit_id,
        unit=household.unit.number,
        resident_count=len(residents),
        residents=[resident_out(user, resident) for resident in residents],
    )


def _page(rows: list, offset: int, limit: int) -> tuple[list, int | None]:
    """Rows were read with one more than `limit`: that one only tells that another page exists."""
    return rows[:limit], (offset + limit if len(rows) > limit else None)


# -- places -----------------------------------------------------------------------------------


@router.get("/compounds", response=CompoundPage, summary="Visible compounds with their counts")
def compound_list(
    request, offset: int = Query(0, ge=0, le=MAX_OFFSET), limit: int = Query(MAX_PAGE, ge=1, le=MAX_PAGE)
):
    rows = list(selectors.compounds_overview(request.user)[offset : offset + limit + 1])
    items, next_offset = _page(rows, offset, limit)
    return {"items": [_compound_out(c) for c in items], "next_offset": next_offset}


@router.get("/compounds/{int:compound_id}", response=CompoundOut)
def compound_detail(request, compound_id: int):
    compound = selectors.compounds_overview(request.user).filter(pk=compound_id).first()
    if compound is None:
        raise Http404
    return _compound_out(compound)


@router.get("/compounds/{int:compound_id}/map", response={200: CompoundMapOut, 422: ErrorOut})
def compound_map(request, compound_id: int, measure: str = "verified"):
    if measure not in selectors.map_measures_for(request.user):
        return 422, {"detail": _("未知的着色指标：%(m)s") % {"m": measure}}
    compound = selectors.compound_get(request.user, compound_id)
    data = selectors.compound_map(request.user, compound, measure)
    return {
        "compound_id": compound.pk,
        "measure": data["measure"],
        "measure_label": str(data["measure_label"]),
        "palette": data["palette"],
        "measures": {key: str(label) for key, label in data["measures"].items()},
        "bands": [{"name": name, "start": start, "label": label} for start, name, label in data["bands"]],
        "legend": [{"band": band, "label": label} for band, label in data["legend"]],
        "as_of": data["as_of"],
        "buildings": [
            {
                "id": entry["building"].pk,
                "number": entry["building"].number,
                "units": [
                    {**cell, "id": cell["unit"].pk, "number": cell["unit"].number} for cell in entry["units"]
                ],
            }
            for entry in data["buildings"]
        ],
    }


@router.get("/compounds/{int:compound_id}/stats", response=CompoundStatsOut)
def compound_stats(request, compound_id: int):
    compound = selectors.compound_get(request.user, compound_id)
    return selectors.compound_stats(request.user, compound)


@router.get("/units/{int:unit_id}/households", response=list[HouseholdOut])
def unit_households(request, unit_id: int):
    unit = selectors.unit_get(request.user, unit_id)
    return [
        _household_out(request.user, household, household.residents.all())
        for household in selectors.households_of_unit(request.user, unit)
    ]


@router.get("/households/{int:household_id}", response=HouseholdOut)
def household_detail(request, household_id: int):
    household = selectors.household_get(request.user, household_id)
    return _household_out(request.user, household, selectors.residents_of_household(request.user, household))


# -- residents --------------------------------------------------------------------------------


class SearchIn(Schema):
    q: str = Field(..., max_length=60, description="name, room, or a full phone or ID number")
    compound: int | None = None
    offset: int = Field(0, ge=0, le=MAX_OFFSET)
    limit: int = Field(50, ge=1, le=MAX_PAGE)


def _search(request, q: str, compound: int | None, offset: int, limit: int) -> dict:
    scope = selectors.compound_get(request.user, compound) if compound is not None else None
    found = selectors.resident_search(request.user, q, compound=scope, limit=offset + limit + 1)
    items, next_offset = _page(list(found[offset:]), offset, limit)
    return {"items": [resident_out(request.user, r) for r in items], "next_offset": next_offset}


@router.get(
    "/residents",
    response={200: ResidentPage, 400: ErrorOut},
    summary="Search by name or room (full phones and ID numbers: POST /residents/search)",
)
def resident_search(
    request,
    q: str = "",
    compound: int | None = None,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    if selectors.search_is_exact_number(q):
        return 400, {"detail": _("手机号和证件号码请用 POST /api/v1/residents/search 查找，不要放在网址里")}
    return _search(request, q, compound, offset, limit)


@router.post(
    "/residents/search", response=ResidentPage, summary="Search by name, room, phone or ID number (exact)"
)
def resident_search_by_number(request, payload: SearchIn):
    """The same search with the query in the body, so that a full number never lands in a URL."""
    return _search(request, payload.q, payload.compound, payload.offset, payload.limit)


@router.get("/residents/{int:resident_id}", response=ResidentOut)
def resident_detail(request, resident_id: int):
    return resident_out(request.user, selectors.resident_get(request.user, resident_id))


@router.post(
    "/residents/{int:resident_id}/reveal", response=RevealOut, summary="Full ID number or phone (audited)"
)
def resident_reveal(request, resident_id: int, payload: RevealIn):
    resident = selectors.resident_get(request.user, resident_id)
    value = actions.resident_reveal(
        actor=request.user,
        resident=resident,
        field=payload.field,
        reason=payload.reason,
        ip=client_ip(request),
    )
    return {"value": value}


@router.post("/residents/{int:resident_id}/presence", response=ResidentOut)
def resident_presence(request, resident_id: int, payload: PresenceIn):
    resident = selectors.resident_get(request.user, resident_id)
    resident = actions.resident_set_presence(
        actor=request.user, resident=resident, presence=payload.presence, on=payload.on
    )
    return resident_out(request.user, resident)


@router.patch("/residents/{int:resident_id}", response=ResidentOut)
def resident_patch(request, resident_id: int, payload: ResidentPatch):
    resident = selectors.resident_get(request.user, resident_id)
    changes = payload.dict(exclude_unset=True)
    tags = changes.pop("tags", None)
    if tags is not None:
        unknown = sorted(set(tags) - set(Resident.TAG_FIELDS))
        if unknown:
            raise ValidationError({"tags": [_("未知的标签：%(t)s") % {"t": "、".join(unknown)}]})
        changes.update({field: field in tags for field in Resident.TAG_FIELDS})
    resident = actions.resident_update(actor=request.user, resident=resident, **changes)
    return resident_out(request.user, resident)
