"""JSON endpoints of risk areas and compound status.

Volunteers read areas and their levels, never reasons nor who wrote them; writes are for health
roles. Lowering or lifting with a stale version answers 409 with the Chinese message, nothing
written (config/api.py maps `StaleEdit`).
"""

import datetime

from django.http import Http404
from django.utils import timezone
from ninja import Field, Router, Schema

from tongxin.outbreak import actions, selectors
from tongxin.outbreak.api.cases import ErrorOut
from tongxin.outbreak.models import RiskArea
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Building, Household, Unit

router = Router(tags=["outbreak: risk areas"])


class AreaOut(Schema):
    id: int
    compound_id: int
    scope: str
    place: str
    building_id: int | None
    unit_id: int | None
    household_id: int | None
    level: str
    level_label: str
    raised_on: datetime.date
    level_since: datetime.date
    clock_from: datetime.date
    lifted_on: datetime.date | None
    version: int
    days_left: int | None = Field(None, description="days until the day count is met; null if never")
    awaiting_screening: bool
    may_lower_from: datetime.date | None
    next_step: str


class EventOut(Schema):
    id: int
    on: datetime.date
    at: datetime.datetime
    kind: str
    kind_label: str
    from_level: str
    to_level: str
    all_negative: bool | None
    reason: str = Field("", description="empty for volunteers")
    actor: str | None = Field(None, description="null for volunteers")


class ProposalOut(Schema):
    area: AreaOut
    from_level: str
    to_level: str | None = Field(None, description="null: the area is lifted")
    to_label: str
    since: datetime.date


class RaiseIn(Schema):
    scope: str = Field(..., description="household, unit, building or compound")
    building_id: int | None = None
    unit_id: int | None = None
    household_id: int | None = None
    level: str | None = Field(None, description="default: the rule set's raise level")
    reason: str
    on: datetime.date


class ScreeningIn(Schema):
    on: datetime.date
    all_negative: bool
    note: str = ""


class LowerIn(Schema):
    version: int
    reason: str = ""


class LiftIn(Schema):
    version: int | None = None
    reason: str
    on: datetime.date | None = None


class StatusPeriodOut(Schema):
    status: str
    status_label: str
    on: datetime.date
    ends_on: datetime.date | None
    days: int
    reason: str = ""


class CompoundStatusOut(Schema):
    compound_id: int
    current: StatusPeriodOut | None
    history: list[StatusPeriodOut]


class StatusIn(Schema):
    status: str
    on: datetime.date
    reason: str = ""


def _area_out(area: RiskArea, state) -> dict:
    level = state.level
    return {
        "id": area.pk,
        "compound_id": area.compound_id,
        "scope": area.scope,
        "place": str(area),
        "building_id": area.building_id,
        "unit_id": area.unit_id,
        "household_id": area.household_id,
        "level": area.level,
        "level_label": str(level.label) if level else area.level,
        "raised_on": area.raised_on,
        "level_since": area.level_since,
        "clock_from": area.clock_from,
        "lifted_on": area.lifted_on,
        "version": area.version,
        "days_left": state.days_left,
        "awaiting_screening": state.awaiting_screening,
        "may_lower_from": state.possible_from,
        "next_step": state.explain() if area.lifted_on is None else "",
    }


def _compound(request, compound_id: int):
    if not selectors.sees_risk_levels(request.user):
        raise Http404
    return registry_selectors.compound_get(request.user, compound_id)


@router.get("/compounds/{int:compound_id}/areas", response=list[AreaOut], summary="Active risk areas")
def area_list(request, compound_id: int, on: datetime.date | None = None):
    compound = _compound(request, compound_id)
    return [
        _area_out(area, area.outlook) for area in selectors.areas_with_outlook(request.user, compound, on)
    ]


@router.get("/areas/{int:area_id}", response=AreaOut)
def area_detail(request, area_id: int):
    area = selectors.area_get(request.user, area_id)
    return _area_out(area, selectors.area_outlook(area))


@router.get("/areas/{int:area_id}/timeline", response=list[EventOut])
def area_timeline(request, area_id: int):
    area = selectors.area_get(request.user, area_id)
    return [
        {
            "id": e.pk,
            "on": e.on,
            "at": e.at,
            "kind": e.kind,
            "kind_label": str(e.get_kind_display()),
            "from_level": e.from_level,
            "to_level": e.to_level,
            "all_negative": e.all_negative,
            "reason": e.reason,
            "actor": str(e.actor) if e.actor else None,
        }
        for e in selectors.area_timeline(request.user, area)
    ]


def _place_of(compound, payload: RaiseIn) -> dict:
    """Places by id, only within the compound (the action checks the actor's scope)."""
    return {
        "building": Building.objects.filter(compound=compound, pk=payload.building_id).first()
        if payload.building_id
        else None,
        "unit": Unit.objects.filter(compound=compound, pk=payload.unit_id).select_related("building").first()
        if payload.unit_id
        else None,
        "household": Household.objects.filter(compound=compound, pk=payload.household_id)
        .select_related("unit__building")
        .first()
        if payload.household_id
        else None,
    }


@router.post("/compounds/{int:compound_id}/areas", response={201: AreaOut}, summary="Raise a risk area")
def area_raise(request, compound_id: int, payload: RaiseIn):
    compound = _compound(request, compound_id)
    area = actions.area_raise(
        actor=request.user,
        compound=compound,
        scope=payload.scope,
        level=payload.level,
        reason=payload.reason,
        on=payload.on,
        **_place_of(compound, payload),
    )
    return 201, _area_out(area, selectors.area_outlook(area))


@router.post("/areas/{int:area_id}/screenings", response={201: EventOut})
def area_screening(request, area_id: int, payload: ScreeningIn):
    area = selectors.area_get(request.user, area_id)
    event = actions.area_record_screening(
        actor=request.user, area=area, on=payload.on, all_negative=payload.all_negative, note=payload.note
    )
    return 201, {
        "id": event.pk,
        "on": event.on,
        "at": event.at,
        "kind": event.kind,
        "kind_label": str(event.get_kind_display()),
        "from_level": "",
        "to_level": "",
        "all_negative": event.all_negative,
        "reason": event.reason,
        "actor": str(request.user),
    }


@router.get("/compounds/{int:compound_id}/proposals", response=list[ProposalOut])
def proposals(request, compound_id: int):
    compound = _compound(request, compound_id)
    return [
        {
            "area": _area_out(p.area, p.area.outlook),
            "from_level": p.from_level.code,
            "to_level": p.to_level.code if p.to_level else None,
            "to_label": p.to_label,
            "since": p.since,
        }
        for p in selectors.lowering_proposals(request.user, compound, timezone.localdate())
    ]


@router.post("/areas/{int:area_id}/lower", response={200: AreaOut, 409: ErrorOut})
def area_lower(request, area_id: int, payload: LowerIn):
    area = selectors.area_get(request.user, area_id)
    area = actions.area_lower(
        actor=request.user, area=area, expected_version=payload.version, reason=payload.reason
    )
    return 200, _area_out(area, selectors.area_outlook(area))


@router.post("/areas/{int:area_id}/lift", response={200: AreaOut, 409: ErrorOut})
def area_lift(request, area_id: int, payload: LiftIn):
    area = selectors.area_get(request.user, area_id)
    area = actions.area_lift(
        actor=request.user,
        area=area,
        reason=payload.reason,
        expected_version=payload.version,
        on=payload.on,
    )
    return 200, _area_out(area, selectors.area_outlook(area))


def _status_out(user, compound) -> dict:
    history = [
        {
            "status": p.change.status,
            "status_label": str(p.change.get_status_display()),
            "on": p.change.on,
            "ends_on": p.ends_on,
            "days": p.days,
            "reason": p.change.reason,
        }
        for p in selectors.compound_status_history(user, compound)
    ]
    return {"compound_id": compound.pk, "current": history[-1] if history else None, "history": history}


@router.get("/compounds/{int:compound_id}/status", response=CompoundStatusOut)
def compound_status(request, compound_id: int):
    compound = registry_selectors.compound_get(request.user, compound_id)
    return _status_out(request.user, compound)


@router.post("/compounds/{int:compound_id}/status", response={201: CompoundStatusOut})
def compound_status_set(request, compound_id: int, payload: StatusIn):
    compound = registry_selectors.compound_get(request.user, compound_id)
    actions.compound_status_set(
        actor=request.user, compound=compound, status=payload.status, on=payload.on, reason=payload.reason
    )
    return 201, _status_out(request.user, compound)
