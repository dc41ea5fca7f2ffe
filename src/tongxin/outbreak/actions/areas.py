"""Writes of risk areas and compound status: raising, restarting the clock, screenings, lowering,
lifting, and the compound's quiet / sealed / unsealed history.

Raising is done by a person with a reason. Lowering is proposed by the system
(`selectors.areas.lowering_proposals`) and confirmed by a person with the version they saw: the
row is written with `UPDATE ... WHERE version = expected`, so of two people confirming the same
proposal at once exactly one succeeds and the other is told to reload. After a level changes, the
stored status of every resident the area covers is recomputed.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.scoping import building_ids, scope_q
from tongxin.outbreak.errors import StaleEdit
from tongxin.outbreak.models import CompoundStatusChange, RiskArea, RiskAreaEvent
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.selectors.areas import lowering_state
from tongxin.outbreak.status import status_recompute
from tongxin.registry.models import Building, Compound, Household, Resident, Unit

Scope = RiskArea.Scope
Kind = RiskAreaEvent.Kind


def _restricted_buildings(actor) -> list[int] | None:
    """The buildings a grid worker (or a volunteer given buildings) is limited to; None: the compound."""
    if actor.role in ("grid_worker", "volunteer") and (actor.role == "grid_worker" or building_ids(actor)):
        return building_ids(actor)
    return None


def require_health_actor(actor, compound_id: int, building_id: int | None = None) -> None:
    """The actor sees health data in this compound (and this building, for a grid worker).

    `actor=None` is the system (demo loader, management commands, another action acting for it).
    """
    if actor is None:
        return
    denied = PermissionDenied(_("无权管理该小区的风险区"))
    if not actor.sees_health_data:
        raise denied
    if not Compound.objects.filter(scope_q(actor, "compound"), pk=compound_id).exists():
        raise denied
    restricted = _restricted_buildings(actor)
    if restricted is not None and (building_id is None or building_id not in restricted):
        raise denied


def _check_on(on: datetime.date, field: str = "on") -> None:
    if not isinstance(on, datetime.date):
        raise ValidationError({field: _("请填写日期")})
    if on > timezone.localdate():
        raise ValidationError({field: _("日期不能晚于今天")})


def _place(
    compound: Compound, scope: str, building: Building | None, unit: Unit | None, household: Household | None
) -> dict:
    """The area's place fields, completed downwards (a household gives its unit and building)."""
    if scope == Scope.HOUSEHOLD:
        if household is None:
            raise ValidationError({"household": _("请选择户")})
        unit, building = household.unit, household.unit.building
    elif scope == Scope.UNIT:
        if unit is None:
            raise ValidationError({"unit": _("请选择单元")})
        building, household = unit.building, None
    elif scope == Scope.BUILDING:
        if building is None:
            raise ValidationError({"building": _("请选择楼栋")})
        unit = household = None
    elif scope == Scope.COMPOUND:
        building = unit = household = None
    else:
        raise ValidationError({"scope": _("未知的范围")})
    if building is not None and building.compound_id != compound.pk:
        raise ValidationError({"building": _("该楼栋不属于这个小区")})
    return {"scope": scope, "building": building, "unit": unit, "household": household}


def area_resident_ids(area: RiskArea) -> list[int]:
    """The residents whose home the area covers, in one query."""
    field = {
        Scope.HOUSEHOLD: ("household_id", area.household_id),
        Scope.UNIT: ("unit_id", area.unit_id),
        Scope.BUILDING: ("building_id", area.building_id),
        Scope.COMPOUND: ("compound_id", area.compound_id),
    }[area.scope]
    return list(Resident.objects.filter(**{field[0]: field[1]}).values_list("id", flat=True))


def _recompute_residents(area: RiskArea) -> None:
    """Recompute the stored status of the area's residents (their risk level changed)."""
    ids = area_resident_ids(area)
    if ids:
        status_recompute(ids)


def _event(area: RiskArea, *, actor, kind: str, on: datetime.date, **fields) -> RiskAreaEvent:
    return RiskAreaEvent.objects.create(
        area=area,
        at=timezone.now(),
        on=on,
        kind=kind,
        actor=actor if getattr(actor, "pk", None) else None,
        **fields,
    )


def _reason(reason: str | None, *, required: bool = True) -> str:
    text = (reason or "").strip()
    if required and not text:
        raise ValidationError({"reason": _("请填写原因")})
    if len(text) > 300:
        raise ValidationError({"reason": _("原因不能超过300字")})
    return text


def _versioned_update(area: RiskArea, expected_version: int, **changes) -> None:
    """Write the changes only if the row is still at the version the actor read."""
    written = RiskArea.objects.filter(pk=area.pk, version=expected_version).update(
        version=F("version") + 1, **changes
    )
    if written != 1:
        raise StaleEdit()
    for name, value in changes.items():
        setattr(area, name, value)
    area.version = expected_version + 1


@transaction.atomic
def area_raise(
    *,
    actor,
    compound: Compound,
    scope: str,
    building: Building | None = None,
    unit: Unit | None = None,
    household: Household | None = None,
    level: str | None = None,
    reason: str,
    on: datetime.date,
) -> RiskArea:
    """Draw a new risk area, or raise the active area of the same place to a stricter level.

    The clock of a new or raised area starts on `on`. Raising to the same or a lower level is
    refused: lowering goes through a proposal.
    """
    reason = _reason(reason)
    _check_on(on)
    rules = active_rules()
    level = level or rules.raise_level
    new_level = rules.level(level)
    if new_level is None:
        raise ValidationError({"level": _("当前规则中没有该风险等级：%(level)s") % {"level": level}})
    place = _place(compound, scope, building, unit, household)
    require_health_actor(actor, compound.pk, place["building"].pk if place["building"] else None)
    # Two people drawing the same place at once must not leave two active areas: one raise per
    # compound at a time.
    Compound.objects.select_for_update().filter(pk=compound.pk).first()
    area = RiskArea.objects.filter(compound=compound, lifted_on__isnull=True, **place).first()
    if area is None:
        area = RiskArea.objects.create(
            compound=compound, level=level, raised_on=on, level_since=on, clock_from=on, **place
        )
        from_level = ""
    else:
        current = rules.level(area.level)
        if current is not None and current.rank >= new_level.rank:
            raise ValidationError(
                {"level": _("该区域已是%(level)s，不能用升级来降低或维持等级") % {"level": current.label}}
            )
        if on < area.level_since:
            raise ValidationError({"on": _("日期不能早于当前等级的起始日期")})
        from_level = area.level
        _versioned_update(
            area, area.version, level=level, level_since=on, clock_from=max(area.clock_from, on)
        )
    _event(area, actor=actor, kind=Kind.RAISE, on=on, from_level=from_level, to_level=level, reason=reason)
    audit(actor=actor, action="risk_raise", obj=area, reason=reason, detail={"from": from_level, "to": level})
    _recompute_residents(area)
    return area


def _covering_q(*, compound_id, building_id, unit_id, household_id) -> Q:
    q = Q(scope=Scope.COMPOUND, compound_id=compound_id)
    if building_id:
        q |= Q(scope=Scope.BUILDING, building_id=building_id)
    if unit_id:
        q |= Q(scope=Scope.UNIT, unit_id=unit_id)
    if household_id:
        q |= Q(scope=Scope.HOUSEHOLD, household_id=household_id)
    return q


@transaction.atomic
def area_restart_for_case(*, actor, case) -> list[RiskArea]:
    """A new positive restarts the clock of every active area covering the case's home.

    The clock moves to the case's `confirmed_on`, never backwards. A home with no active area is
    left alone: raising is done by a person. Returns the areas whose clock moved.
    """
    place = {
        "building_id": case.building_id,
        "unit_id": case.unit_id,
        "household_id": case.household_id,
    }
    if case.resident_id and not case.household_id:
        resident = Resident.objects.filter(pk=case.resident_id).values(*place).first() or {}
        place.update({key: value for key, value in resident.items() if value})
    require_health_actor(actor, case.compound_id, place["building_id"])
    areas = list(
        RiskArea.objects.select_for_update()
        .filter(
            _covering_q(compound_id=case.compound_id, **place),
            compound_id=case.compound_id,
            lifted_on__isnull=True,
            clock_from__lt=case.confirmed_on,
        )
        .order_by("id")
    )
    for area in areas:
        previous = area.clock_from
        _versioned_update(area, area.version, clock_from=case.confirmed_on)
        _event(
            area,
            actor=actor,
            kind=Kind.RESTART,
            on=case.confirmed_on,
            reason=_("新增阳性，计时起点由%(old)s改为%(new)s")
            % {"old": previous.isoformat(), "new": case.confirmed_on.isoformat()},
        )
        audit(actor=actor, action="risk_restart", obj=area, detail={"case": case.pk})
    return areas


@transaction.atomic
def area_record_screening(
    *, actor, area: RiskArea, on: datetime.date, all_negative: bool, note: str = ""
) -> RiskAreaEvent:
    """An area-wide screening: all negative counts towards lowering, a positive one cancels those
    before it."""
    require_health_actor(actor, area.compound_id, area.building_id)
    _check_on(on)
    if area.lifted_on is not None:
        raise ValidationError(_("该风险区已解除"))
    if on < area.raised_on:
        raise ValidationError({"on": _("筛查日期不能早于划定日期")})
    note = _reason(note, required=False)
    event = _event(
        area, actor=actor, kind=Kind.SCREENING, on=on, all_negative=bool(all_negative), reason=note
    )
    audit(
        actor=actor,
        action="risk_screening",
        obj=area,
        detail={"on": on.isoformat(), "all_negative": all_negative},
    )
    return event


@transaction.atomic
def area_lower(
    *, actor, area: RiskArea, expected_version: int, reason: str = "", on: datetime.date | None = None
) -> RiskArea:
    """Confirm the system's proposal: the area drops to its level's `lower_to`, or is lifted.

    Refused when the rule does not hold on `on` (today by default) or the area changed since the
    actor read it (`expected_version`).
    """
    require_health_actor(actor, area.compound_id, area.building_id)
    on = on or timezone.localdate()
    _check_on(on)
    reason = _reason(reason, required=False)
    fresh = RiskArea.objects.filter(pk=area.pk).first()
    if fresh is None or fresh.version != expected_version:
        raise StaleEdit()
    if fresh.lifted_on is not None:
        raise ValidationError(_("该风险区已解除"))
    rules = active_rules()
    state = lowering_state(fresh, list(fresh.events.filter(kind=Kind.SCREENING)), on, rules)
    if not state.may_lower:
        raise ValidationError(_("尚不满足降级条件：%(why)s") % {"why": state.explain()})
    to_level = state.to_level or ""
    changes = {"level_since": on}
    if to_level:
        changes["level"] = to_level
    else:
        changes["lifted_on"] = on
    _versioned_update(fresh, expected_version, **changes)
    kind = Kind.LOWER if to_level else Kind.LIFT
    _event(
        fresh, actor=actor, kind=kind, on=on, from_level=state.level.code, to_level=to_level, reason=reason
    )
    audit(actor=actor, action=f"risk_{kind}", obj=fresh, reason=reason, detail={"to": to_level})
    _recompute_residents(fresh)
    area.__dict__.update({k: getattr(fresh, k) for k in ("level", "level_since", "lifted_on", "version")})
    return fresh


@transaction.atomic
def area_lift(
    *,
    actor,
    area: RiskArea,
    reason: str,
    expected_version: int | None = None,
    on: datetime.date | None = None,
) -> RiskArea:
    """Lift an area by hand, whatever the rule says; the reason is required."""
    require_health_actor(actor, area.compound_id, area.building_id)
    reason = _reason(reason)
    on = on or timezone.localdate()
    _check_on(on)
    fresh = RiskArea.objects.filter(pk=area.pk).first()
    if fresh is None or (expected_version is not None and fresh.version != expected_version):
        raise StaleEdit()
    if fresh.lifted_on is not None:
        raise ValidationError(_("该风险区已解除"))
    if on < fresh.level_since:
        raise ValidationError({"on": _("解除日期不能早于当前等级的起始日期")})
    from_level = fresh.level
    _versioned_update(fresh, fresh.version, lifted_on=on)
    _event(fresh, actor=actor, kind=Kind.LIFT, on=on, from_level=from_level, reason=reason)
    audit(actor=actor, action="risk_lift", obj=fresh, reason=reason)
    _recompute_residents(fresh)
    area.__dict__.update({k: getattr(fresh, k) for k in ("lifted_on", "version")})
    return fresh


@transaction.atomic
def compound_status_set(
    *, actor, compound: Compound, status: str, on: datetime.date, reason: str = ""
) -> CompoundStatusChange:
    """Add a change to the compound's status history (quiet, sealed, unsealed, normal).

    The history is kept in date order: a change dated before the latest one is refused, and so is
    setting the status the compound already has.
    """
    require_health_actor(actor, compound.pk)
    if status not in CompoundStatusChange.Status.values:
        raise ValidationError({"status": _("未知的小区状态")})
    _check_on(on)
    reason = _reason(reason, required=False)
    Compound.objects.select_for_update().filter(pk=compound.pk).first()
    latest = CompoundStatusChange.objects.filter(compound=compound).order_by("-on", "-id").first()
    if latest is not None:
        if on < latest.on:
            raise ValidationError(
                {"on": _("日期不能早于上一次状态变更（%(date)s）") % {"date": latest.on.isoformat()}}
            )
        if latest.status == status:
            raise ValidationError({"status": _("小区已是该状态")})
    change = CompoundStatusChange.objects.create(
        compound=compound,
        status=status,
        on=on,
        reason=reason,
        actor=actor if getattr(actor, "pk", None) else None,
    )
    audit(
        actor=actor,
        action="compound_status",
        obj=compound,
        reason=reason,
        detail={"status": status, "on": on.isoformat()},
    )
    return change
