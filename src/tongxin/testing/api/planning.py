"""JSON API of round planning (/api/v1/testing/): rounds, their points, tables and schedule.

The same selectors and actions as the pages. A round none of whose compounds the caller sees, and
a compound or building outside their scope, answer 404; a role that does not plan answers 403; a
stale `version` answers 409 (config/api.py maps `StaleEdit`); refusals answer 400 per field.
"""

import datetime

from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Building
from tongxin.registry.selectors import compounds_visible
from tongxin.testing.actions import planning as actions
from tongxin.testing.models import TestRound
from tongxin.testing.selectors import planning as selectors

router = Router(tags=["testing"])


class RoundIn(Schema):
    name: str = Field(..., max_length=80)
    day: datetime.date
    compounds: list[int] = Field(..., description="ids of the compounds covered")
    buildings: list[int] = Field(
        default_factory=list, description="only these buildings of their compounds; others: whole compound"
    )
    pool_size: int = Field(10, description="1, 5, 10 or 20")
    starts_at: datetime.time = datetime.time(6, 0)
    sealed_household_tubes: bool = True
    isolated_single_tubes: bool = True
    note: str = Field("", max_length=300)


class RoundPatch(Schema):
    version: int = Field(..., description="the version read; a different stored version answers 409")
    name: str | None = Field(None, max_length=80)
    day: datetime.date | None = None
    starts_at: datetime.time | None = None
    pool_size: int | None = None
    sealed_household_tubes: bool | None = None
    isolated_single_tubes: bool | None = None
    note: str | None = Field(None, max_length=300)


class StateIn(Schema):
    state: str = Field(..., description="sampling or closed")
    version: int | None = None


class RoundCompoundOut(Schema):
    id: int
    name: str
    buildings: list[int]


class TableOut(Schema):
    id: int
    label: str
    pool_size: int
    mode: str


class PointOut(Schema):
    id: int
    compound_id: int
    name: str
    location: str
    tables: list[TableOut]


class SlotOut(Schema):
    id: int
    compound_id: int
    building_id: int
    unit_id: int
    unit: str
    point_id: int | None
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    people: int
    mode: str
    pool_size: int
    notice: str


class RoundOut(Schema):
    id: int
    name: str
    day: datetime.date
    starts_at: datetime.time
    pool_size: int
    sealed_household_tubes: bool
    isolated_single_tubes: bool
    state: str
    state_label: str
    note: str
    version: int
    compounds: list[RoundCompoundOut]


class RoundDetailOut(RoundOut):
    points: list[PointOut]
    slots: list[SlotOut]


def _round_out(round_: TestRound, covers) -> dict:
    return {
        "id": round_.pk,
        "name": round_.name,
        "day": round_.day,
        "starts_at": round_.starts_at,
        "pool_size": round_.pool_size,
        "sealed_household_tubes": round_.sealed_household_tubes,
        "isolated_single_tubes": round_.isolated_single_tubes,
        "state": round_.state,
        "state_label": str(round_.get_state_display()),
        "note": round_.note,
        "version": round_.version,
        "compounds": [
            {"id": c.compound_id, "name": c.compound.name, "buildings": [b.pk for b in c.buildings.all()]}
            for c in covers
        ],
    }


def _slot_out(slot) -> dict:
    return {
        "id": slot.pk,
        "compound_id": slot.compound_id,
        "building_id": slot.building_id,
        "unit_id": slot.unit_id,
        "unit": str(slot.unit),
        "point_id": slot.point_id,
        "starts_at": timezone.localtime(slot.starts_at),
        "ends_at": timezone.localtime(slot.ends_at),
        "people": slot.people,
        "mode": slot.mode,
        "pool_size": slot.pool_size,
        "notice": selectors.notice_text(slot),
    }


def _detail(user, round_: TestRound) -> dict:
    return {
        **_round_out(round_, selectors.round_compounds_visible(user, round_)),
        "points": [
            {
                "id": p.pk,
                "compound_id": p.compound_id,
                "name": p.name,
                "location": p.location,
                "tables": [
                    {"id": t.pk, "label": t.label, "pool_size": t.pool_size, "mode": t.mode}
                    for t in p.table_list
                ],
            }
            for p in selectors.points_of_round(user, round_)
        ],
        "slots": [_slot_out(slot) for slot in selectors.slots_of_round(user, round_)],
    }


@router.get("/rounds", response=list[RoundOut], summary="Rounds the caller sees, newest first")
def round_list(request, limit: int = 50, offset: int = 0):
    limit = max(1, min(limit, 200))
    offset = min(max(0, offset), 2**31)
    rounds = selectors.rounds_with_compounds(request.user)[offset : offset + limit]
    return [_round_out(r, r.visible_covers) for r in rounds]


@router.get(
    "/rounds/{int:round_id}", response=RoundDetailOut, summary="A round with its points, tables, slots"
)
def round_detail(request, round_id: int):
    return _detail(request.user, selectors.round_get(request.user, round_id))


@router.post("/rounds", response={201: RoundDetailOut}, summary="Plan a round")
def round_create(request, payload: RoundIn):
    user = request.user
    if user.role == "resident":
        raise Http404
    wanted = set(payload.compounds)
    compounds = list(compounds_visible(user).filter(pk__in=wanted))
    if len(compounds) != len(wanted):
        raise Http404
    wanted_buildings = set(payload.buildings)
    buildings = list(Building.objects.filter(scope_q(user, "building"), pk__in=wanted_buildings))
    if len(buildings) != len(wanted_buildings):
        raise Http404
    round_ = actions.round_create(
        actor=user,
        name=payload.name,
        day=payload.day,
        compounds=sorted(compounds, key=lambda c: payload.compounds.index(c.pk)),
        buildings=buildings,
        pool_size=payload.pool_size,
        starts_at=payload.starts_at,
        sealed_household_tubes=payload.sealed_household_tubes,
        isolated_single_tubes=payload.isolated_single_tubes,
        note=payload.note,
    )
    return 201, _detail(user, selectors.round_get(user, round_.pk))


@router.patch("/rounds/{int:round_id}", response=RoundDetailOut, summary="Change a round (with its version)")
def round_update(request, round_id: int, payload: RoundPatch):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    changes = payload.model_dump(exclude_unset=True, exclude={"version"})
    changes = {k: v for k, v in changes.items() if v is not None}
    actions.round_update(actor=user, round=round_, version=payload.version, **changes)
    return _detail(user, round_)


@router.post("/rounds/{int:round_id}/state", response=RoundDetailOut, summary="planned -> sampling -> closed")
def round_state(request, round_id: int, payload: StateIn):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    actions.round_set_state(actor=user, round=round_, state=payload.state, version=payload.version)
    return _detail(user, round_)


@router.post("/rounds/{int:round_id}/schedule", response=list[SlotOut], summary="Build the schedule")
def schedule_build(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    actions.schedule_build(actor=user, round=round_)
    return [_slot_out(slot) for slot in selectors.slots_of_round(user, round_)]
