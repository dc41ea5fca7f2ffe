"""Writes of round planning: rounds, their sampling points and tables, the schedule by unit.

Who plans: platform admins, officials and compound managers (`selectors.planning.PLANNING_ROLES`),
in the compounds they see. A change to the round itself (its date, start, pool size, state) needs
every compound of the round in the actor's scope; points, tables and the schedule are per
compound. `actor=None` is the system (demo loader, commands).

A round can be changed while it is not closed and its day is today or later (a round still
sampling after midnight stays changeable until it is closed); a past round is not edited.

While a round is planned, its schedule follows its settings: a change that moves the schedule
(day, start, pool size, household tubes, points or tables) rebuilds the slots of the compounds it
touches, when they had any. Once sampling has started, the posted schedule stays as it is until a
planner rebuilds it.

The schedule (`schedule_build`):

- People per unit: residents living there, minus those tested elsewhere on the round's day
  (central isolation, hospital) and those exempted from the round
  (`selectors.planning.people_by_unit`). Units with nobody expected get no slot.
- A slot lasts people / (tables of its point x TONGXIN_TABLE_PEOPLE_PER_HOUR) hours, rounded up to
  TONGXIN_SLOT_ROUND_MINUTES: 25 people at one table of 120 an hour is 12.5 minutes, a 20-minute
  slot with 10-minute rounding. Come-down units count the point's station tables, door-to-door
  units its door-to-door teams (each falling back to all the point's tables when it has none of
  that mode).
- Each compound's points run one after another from the round's start: units in building and
  unit order, a building's units following each other at the point that is free earliest (ties:
  the point added first), so that the points are balanced by people and a building goes to one
  point.
- Units covered by an active risk area come last: under the rule set's strictest level (no one
  leaves home) they are sampled at the door (`mode` door, one tube per household when the round
  says so: `pool_size` 1), under a lower level they come down after everyone else.
- Rebuilding replaces the slots of the compounds in the actor's scope in one transaction, with a
  fixed number of queries whatever the number of units (bulk inserts aside, which SQLite sends in
  batches).
"""

import datetime
from itertools import groupby

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.outbreak.errors import StaleEdit
from tongxin.registry.models import Building, Compound, Unit
from tongxin.testing.models import (
    POOL_SIZES,
    RoundCompound,
    SamplingPoint,
    SamplingTable,
    ScheduleSlot,
    TestRound,
    Tube,
)
from tongxin.testing.selectors.planning import (
    DOOR,
    LAST,
    PLANNING_ROLES,
    coverage_q,
    people_by_unit,
    units_at_risk,
)

ROUND_EDITABLE = (
    "name",
    "day",
    "starts_at",
    "pool_size",
    "sealed_household_tubes",
    "isolated_single_tubes",
    "note",
)
SCHEDULE_FIELDS = frozenset({"day", "starts_at", "pool_size", "sealed_household_tubes"})
STATE_STEPS = {
    TestRound.State.PLANNED: TestRound.State.SAMPLING,
    TestRound.State.SAMPLING: TestRound.State.CLOSED,
}


# -- checks ----------------------------------------------------------------------------------------


def require_planner(actor, compound_ids) -> None:
    """The actor plans rounds and sees every one of these compounds."""
    if actor is None:
        return
    if not (actor.is_active and actor.role in PLANNING_ROLES):
        raise PermissionDenied(_("当前角色不能安排核酸检测"))
    wanted = set(compound_ids)
    seen = set(
        Compound.objects.filter(scope_q(actor, "compound"), pk__in=wanted).values_list("pk", flat=True)
    )
    if wanted - seen:
        raise PermissionDenied(_("无权为该小区安排核酸检测"))


def _round_compound_ids(round_: TestRound) -> list[int]:
    return list(RoundCompound.objects.filter(round=round_).values_list("compound_id", flat=True))


def require_editable(round_: TestRound, *, system: bool = False) -> None:
    """A closed round is final; a past one too, except for the system (actor None) replaying or
    importing earlier rounds (the demo's story, paper records typed in after the fact)."""
    if round_.state == TestRound.State.CLOSED:
        raise ValidationError(_("本轮检测已结束，不能修改"))
    if not system and round_.day < timezone.localdate() and round_.state != TestRound.State.SAMPLING:
        raise ValidationError(_("不能修改已过去的检测轮次"))


def _clean_name(value, field: str, max_length: int, message: str) -> str:
    value = (value or "").strip()
    if not value:
        raise ValidationError({field: message})
    if len(value) > max_length:
        raise ValidationError({field: _("最多%(n)d个字") % {"n": max_length}})
    return value


def _clean_round_fields(fields: dict, *, system: bool = False) -> dict:
    """Check the round's own fields present in `fields`; every refusal names its field."""
    errors: dict[str, str] = {}
    clean = dict(fields)
    if "name" in fields:
        try:
            clean["name"] = _clean_name(fields["name"], "name", 80, _("请填写轮次名称"))
        except ValidationError as error:
            errors.update({k: v[0] for k, v in error.message_dict.items()})
    if "day" in fields:
        day = fields["day"]
        if not isinstance(day, datetime.date) or isinstance(day, datetime.datetime):
            errors["day"] = _("请填写检测日期")
        elif day < timezone.localdate() and not system:
            errors["day"] = _("检测日期不能早于今天")
    if "starts_at" in fields and not isinstance(fields["starts_at"], datetime.time):
        errors["starts_at"] = _("请填写开始时间")
    if "pool_size" in fields and fields["pool_size"] not in POOL_SIZES:
        errors["pool_size"] = _("混采人数只能是1、5、10或20")
    if "note" in fields:
        clean["note"] = (fields["note"] or "").strip()
        if len(clean["note"]) > 300:
            errors["note"] = _("最多%(n)d个字") % {"n": 300}
    for flag in ("sealed_household_tubes", "isolated_single_tubes"):
        if flag in fields:
            clean[flag] = bool(fields[flag])
    if errors:
        raise ValidationError(errors)
    return clean


# -- rounds ----------------------------------------------------------------------------------------


@transaction.atomic
def round_create(
    *,
    actor,
    name: str,
    day: datetime.date,
    compounds: list[Compound],
    buildings: list[Building] | None = None,
    pool_size: int = 10,
    starts_at: datetime.time = datetime.time(6, 0),
    sealed_household_tubes: bool = True,
    isolated_single_tubes: bool = True,
    note: str = "",
) -> TestRound:
    """A planned round over whole compounds, or over some of their buildings: a compound with
    buildings in `buildings` is covered for those buildings only."""
    compounds = list(dict.fromkeys(compounds or []))
    buildings = list(dict.fromkeys(buildings or []))
    if not compounds:
        raise ValidationError({"compounds": _("请至少选择一个小区")})
    require_planner(actor, [c.pk for c in compounds])
    fields = _clean_round_fields(
        {
            "name": name,
            "day": day,
            "starts_at": starts_at,
            "pool_size": pool_size,
            "sealed_household_tubes": sealed_household_tubes,
            "isolated_single_tubes": isolated_single_tubes,
            "note": note,
        },
        system=actor is None,
    )
    compound_ids = {c.pk for c in compounds}
    strays = [b for b in buildings if b.compound_id not in compound_ids]
    if strays:
        raise ValidationError(
            {"buildings": _("楼栋不属于所选小区：%(b)s") % {"b": "、".join(str(b) for b in strays)}}
        )
    round_ = TestRound.objects.create(created_by=actor if getattr(actor, "pk", None) else None, **fields)
    covers = RoundCompound.objects.bulk_create(
        [RoundCompound(round=round_, compound=compound) for compound in compounds]
    )
    by_compound: dict[int, list[Building]] = {}
    for building in buildings:
        by_compound.setdefault(building.compound_id, []).append(building)
    through = RoundCompound.buildings.through
    through.objects.bulk_create(
        [
            through(roundcompound_id=cover.pk, building_id=building.pk)
            for cover in covers
            for building in by_compound.get(cover.compound_id, [])
        ]
    )
    audit(
        actor=actor,
        action="round_create",
        obj=round_,
        detail={
            "compounds": sorted(compound_ids),
            "buildings": sorted(b.pk for b in buildings),
            "pool_size": fields["pool_size"],
        },
    )
    return round_


@transaction.atomic
def round_update(*, actor, round: TestRound, version: int, **changes) -> TestRound:
    """Change the round's name, day, start, pool sizes or note, if it is still at `version`
    (`UPDATE ... WHERE version = expected`; otherwise StaleEdit and nothing is written)."""
    round_ = round
    unknown = set(changes) - set(ROUND_EDITABLE)
    if unknown:
        raise ValidationError(_("不能修改的字段：%(f)s") % {"f": "、".join(sorted(unknown))})
    require_planner(actor, _round_compound_ids(round_))
    current = TestRound.objects.filter(pk=round_.pk).first()
    if current is None or current.version != version:
        raise StaleEdit()
    require_editable(current, system=actor is None)
    # Only what changes is checked: a round sampling past midnight keeps its (now past) day.
    fields = _clean_round_fields(
        {k: v for k, v in changes.items() if getattr(current, k) != v}, system=actor is None
    )
    moved = {k for k, v in fields.items() if getattr(current, k) != v}
    written = TestRound.objects.filter(pk=round_.pk, version=version).update(
        version=F("version") + 1, **fields
    )
    if not written:
        raise StaleEdit()
    round_.refresh_from_db()
    audit(actor=actor, action="round_update", obj=round_, fields=",".join(sorted(moved)))
    if moved & SCHEDULE_FIELDS:
        _rebuild_if_scheduled(actor, round_, _round_compound_ids(round_))
    return round_


@transaction.atomic
def round_set_state(*, actor, round: TestRound, state: str, version: int | None = None) -> TestRound:
    """planned -> sampling -> closed, one step at a time. Sampling needs a table; `version`, when
    given, must be the one the actor read."""
    round_ = round
    require_planner(actor, _round_compound_ids(round_))
    current = TestRound.objects.select_for_update().filter(pk=round_.pk).first()
    if current is None or (version is not None and current.version != version):
        raise StaleEdit()
    if state not in TestRound.State.values:
        raise ValidationError({"state": _("未知的状态")})
    if STATE_STEPS.get(current.state) != state:
        raise ValidationError(
            {
                "state": _("不能从“%(from)s”改为“%(to)s”")
                % {"from": current.get_state_display(), "to": TestRound.State(state).label}
            }
        )
    if state == TestRound.State.SAMPLING and not SamplingTable.objects.filter(round=current).exists():
        raise ValidationError({"state": _("请先添加采样台")})
    TestRound.objects.filter(pk=current.pk).update(state=state, version=F("version") + 1)
    round_.refresh_from_db()
    audit(actor=actor, action="round_state", obj=round_, detail={"from": current.state, "to": state})
    return round_


# -- points and tables -----------------------------------------------------------------------------


def _covered(round_: TestRound, compound: Compound) -> None:
    if not RoundCompound.objects.filter(round=round_, compound=compound).exists():
        raise ValidationError({"compound": _("该小区不在本轮检测范围内")})


@transaction.atomic
def point_add(
    *,
    actor,
    round: TestRound,
    compound: Compound,
    name: str,
    location: str = "",
) -> SamplingPoint:
    round_ = round
    require_planner(actor, [compound.pk])
    require_editable(TestRound.objects.get(pk=round_.pk), system=actor is None)
    _covered(round_, compound)
    name = _clean_name(name, "name", 60, _("请填写采样点名称"))
    location = (location or "").strip()[:120]
    if SamplingPoint.objects.filter(round=round_, compound=compound, name=name).exists():
        raise ValidationError({"name": _("本轮该小区已有同名采样点")})
    point = SamplingPoint.objects.create(round=round_, compound=compound, name=name, location=location)
    audit(actor=actor, action="point_add", obj=point, detail={"round": round_.pk, "compound": compound.pk})
    point.schedule_rebuilt = _rebuild_if_scheduled(actor, round_, [compound.pk])
    return point


@transaction.atomic
def point_remove(*, actor, point: SamplingPoint) -> bool:
    """Remove a point that has no table left; returns whether the schedule was rebuilt."""
    require_planner(actor, [point.compound_id])
    round_ = TestRound.objects.get(pk=point.round_id)
    require_editable(round_, system=actor is None)
    if SamplingTable.objects.filter(point=point).exists():
        raise ValidationError(_("请先移除该采样点的采样台"))
    audit(actor=actor, action="point_remove", obj=point, detail={"round": round_.pk})
    compound_id = point.compound_id
    point.delete()
    return _rebuild_if_scheduled(actor, round_, [compound_id])


@transaction.atomic
def table_add(
    *,
    actor,
    point: SamplingPoint,
    label: str,
    pool_size: int | None = None,
    mode: str = SamplingTable.Mode.STATION,
) -> SamplingTable:
    """A sampling table (or a door-to-door team) at a point; its pool size defaults to the round's."""
    require_planner(actor, [point.compound_id])
    round_ = TestRound.objects.get(pk=point.round_id)
    require_editable(round_, system=actor is None)
    label = _clean_name(label, "label", 40, _("请填写采样台名称"))
    pool_size = round_.pool_size if pool_size in (None, "") else pool_size
    if pool_size not in POOL_SIZES:
        raise ValidationError({"pool_size": _("混采人数只能是1、5、10或20")})
    if mode not in SamplingTable.Mode.values:
        raise ValidationError({"mode": _("请选择采样方式")})
    if SamplingTable.objects.filter(round=round_, compound_id=point.compound_id, label=label).exists():
        raise ValidationError({"label": _("本轮该小区已有同名采样台")})
    table = SamplingTable.objects.create(
        point=point, round=round_, compound_id=point.compound_id, label=label, pool_size=pool_size, mode=mode
    )
    audit(
        actor=actor,
        action="table_add",
        obj=table,
        detail={"round": round_.pk, "point": point.pk, "pool_size": pool_size, "mode": mode},
    )
    table.schedule_rebuilt = _rebuild_if_scheduled(actor, round_, [point.compound_id])
    return table


@transaction.atomic
def table_remove(*, actor, table: SamplingTable) -> bool:
    """Remove a table that has no tube yet; returns whether the schedule was rebuilt."""
    require_planner(actor, [table.compound_id])
    round_ = TestRound.objects.get(pk=table.round_id)
    require_editable(round_, system=actor is None)
    if Tube.objects.filter(table=table).exists():
        raise ValidationError(_("该采样台已有试管记录，不能移除"))
    audit(actor=actor, action="table_remove", obj=table, detail={"round": round_.pk, "point": table.point_id})
    compound_id = table.compound_id
    table.delete()
    return _rebuild_if_scheduled(actor, round_, [compound_id])


# -- schedule --------------------------------------------------------------------------------------


def slot_minutes(people: int, tables: int) -> int:
    """people / (tables x TONGXIN_TABLE_PEOPLE_PER_HOUR) hours in minutes, rounded up to
    TONGXIN_SLOT_ROUND_MINUTES."""
    step = max(1, settings.TONGXIN_SLOT_ROUND_MINUTES)
    per_step = max(1, tables) * settings.TONGXIN_TABLE_PEOPLE_PER_HOUR * step
    return -(-people * 60 // per_step) * step


def _round_start(round_: TestRound) -> datetime.datetime:
    starts_at = round_.starts_at
    if isinstance(starts_at, str):
        starts_at = datetime.time.fromisoformat(starts_at)
    return datetime.datetime.combine(round_.day, starts_at, tzinfo=timezone.get_default_timezone())


def _plan_compound(round_, compound_id, units, people, risk, points, tables_by_point) -> list[ScheduleSlot]:
    """The slots of one compound's units over its points (see the module docstring)."""
    start = _round_start(round_)
    free_at = {point.pk: start for point in points}
    order = {point.pk: index for index, point in enumerate(points)}

    def table_count(point_id: int, door: bool) -> int:
        modes = tables_by_point[point_id]
        wanted = SamplingTable.Mode.DOOR_TO_DOOR if door else SamplingTable.Mode.STATION
        return sum(1 for mode in modes if mode == wanted) or len(modes)

    phases = (
        [u for u in units if u.pk not in risk],
        [u for u in units if risk.get(u.pk) == LAST],
        [u for u in units if risk.get(u.pk) == DOOR],
    )
    slots = []
    for phase, door in zip(phases, (False, False, True), strict=True):
        for _building_id, building_units in groupby(phase, key=lambda u: u.building_id):
            point_id = min(free_at, key=lambda pk: (free_at[pk], order[pk]))
            tables = table_count(point_id, door)
            for unit in building_units:
                minutes = slot_minutes(people[unit.pk], tables)
                begins = free_at[point_id]
                free_at[point_id] = begins + datetime.timedelta(minutes=minutes)
                slots.append(
                    ScheduleSlot(
                        round=round_,
                        compound_id=compound_id,
                        building_id=unit.building_id,
                        unit=unit,
                        point_id=point_id,
                        starts_at=begins,
                        ends_at=free_at[point_id],
                        people=people[unit.pk],
                        mode=ScheduleSlot.Mode.DOOR_TO_DOOR if door else ScheduleSlot.Mode.COME_DOWN,
                        pool_size=1 if door and round_.sealed_household_tubes else round_.pool_size,
                    )
                )
    return slots


def _build(round_: TestRound, compound_ids: list[int]) -> list[ScheduleSlot]:
    """Replace the slots of these compounds of the round; see the module docstring."""
    covers = list(
        RoundCompound.objects.filter(round=round_, compound_id__in=compound_ids)
        .select_related("compound")
        .prefetch_related("buildings")
        .order_by("compound__code")
    )
    compound_ids = [c.compound_id for c in covers]
    points = list(SamplingPoint.objects.filter(round=round_, compound_id__in=compound_ids).order_by("id"))
    tables_by_point: dict[int, list[str]] = {}
    for point_id, mode in (
        SamplingTable.objects.filter(round=round_, compound_id__in=compound_ids)
        .order_by("id")
        .values_list("point_id", "mode")
    ):
        tables_by_point.setdefault(point_id, []).append(mode)
    points_by_compound: dict[int, list[SamplingPoint]] = {}
    for point in points:
        if point.pk in tables_by_point:
            points_by_compound.setdefault(point.compound_id, []).append(point)
    missing = [c.compound.name for c in covers if c.compound_id not in points_by_compound]
    if missing:
        raise ValidationError(
            _("以下小区还没有采样台，无法生成排班：%(names)s") % {"names": "、".join(missing)}
        )
    people = people_by_unit(round_, covers)
    units = [
        unit
        for unit in Unit.objects.filter(coverage_q(covers))
        .only("id", "compound_id", "building_id", "sort_key", "number")
        .order_by("compound_id", "building__sort_key", "building__number", "sort_key", "number", "id")
        if people.get(unit.pk)
    ]
    risk = units_at_risk(compound_ids, units)
    ScheduleSlot.objects.filter(round=round_, compound_id__in=compound_ids).delete()
    slots = []
    for compound_id, compound_units in groupby(units, key=lambda u: u.compound_id):
        slots += _plan_compound(
            round_,
            compound_id,
            list(compound_units),
            people,
            risk,
            points_by_compound[compound_id],
            tables_by_point,
        )
    return ScheduleSlot.objects.bulk_create(slots, batch_size=2000)


@transaction.atomic
def schedule_build(*, actor, round: TestRound) -> list[ScheduleSlot]:
    """Build (or rebuild) the schedule of the round's compounds in the actor's scope."""
    round_ = round
    if actor is not None and not (actor.is_active and actor.role in PLANNING_ROLES):
        raise PermissionDenied(_("当前角色不能安排核酸检测"))
    # One rebuild of a round at a time: two planners pressing the button both delete and insert.
    require_editable(TestRound.objects.select_for_update().get(pk=round_.pk), system=actor is None)
    covered = RoundCompound.objects.filter(round=round_)
    if actor is not None:
        covered = covered.filter(compound__in=Compound.objects.filter(scope_q(actor, "compound")))
    compound_ids = list(covered.values_list("compound_id", flat=True))
    if not compound_ids:
        raise PermissionDenied(_("无权为该小区安排核酸检测"))
    slots = _build(round_, compound_ids)
    audit(
        actor=actor,
        action="schedule_build",
        obj=round_,
        detail={
            "compounds": sorted(compound_ids),
            "slots": len(slots),
            "people": sum(slot.people for slot in slots),
            "door": sum(1 for slot in slots if slot.mode == ScheduleSlot.Mode.DOOR_TO_DOOR),
        },
    )
    return slots


def _rebuild_if_scheduled(actor, round_: TestRound, compound_ids) -> bool:
    """While the round is planned, rebuild the slots of these compounds when they have any."""
    fresh = TestRound.objects.select_for_update().get(pk=round_.pk)
    if fresh.state != TestRound.State.PLANNED:
        return False
    scheduled = list(
        ScheduleSlot.objects.filter(round=fresh, compound_id__in=list(compound_ids))
        .values_list("compound_id", flat=True)
        .distinct()
    )
    if not scheduled:
        return False
    slots = _build(fresh, scheduled)
    audit(
        actor=actor,
        action="schedule_build",
        obj=fresh,
        detail={"compounds": sorted(scheduled), "slots": len(slots), "automatic": True},
    )
    return True
