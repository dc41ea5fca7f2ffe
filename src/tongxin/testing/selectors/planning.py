"""Reads of round planning: rounds, their compounds, points, tables, schedule, notices, staffing.

A round may cover compounds of several areas. A user sees a round when at least one of its
compounds is in their scope, and sees only the parts inside it: the compounds, points and tables
of the compounds they see, and the schedule slots of the buildings they see (a grid worker sees
their buildings' units). Residents see no round.

`people_by_unit` and `units_at_risk` are not scoped: they return ids and counts for the actions
and for the scoped selectors below, which decide what a user gets.
"""

import datetime
import math
from dataclasses import dataclass, field

from django.conf import settings
from django.db.models import Count, Exists, Max, Min, OuterRef, Prefetch, Q, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core.scoping import scope_q
from tongxin.outbreak.models import RiskArea
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.selectors import residents_tested_elsewhere
from tongxin.registry.models import Compound, Resident
from tongxin.testing.actions.sampling import any_of
from tongxin.testing.models import (
    Exemption,
    RoundCompound,
    SamplingPoint,
    SamplingTable,
    ScheduleSlot,
    TestRound,
    Tube,
)

# Roles that plan rounds (create, edit, points, tables, schedule, state) in the compounds they see.
# Grid workers and volunteers work a round; they do not plan it.
PLANNING_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER})


def may_plan(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in PLANNING_ROLES)


def _compounds(user):
    return Compound.objects.filter(scope_q(user, "compound"))


def _sees_testing(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role != Role.RESIDENT)


# -- rounds ----------------------------------------------------------------------------------------


def rounds_visible(user):
    """Rounds with at least one compound the user sees, newest first."""
    if not _sees_testing(user):
        return TestRound.objects.none()
    covered = RoundCompound.objects.filter(round=OuterRef("pk"), compound__in=_compounds(user))
    return TestRound.objects.filter(Exists(covered)).order_by("-day", "-id")


def rounds_with_compounds(user):
    """`rounds_visible` with `.visible_covers` (the covered compounds the user sees, with their
    buildings) prefetched."""
    return rounds_visible(user).prefetch_related(
        Prefetch(
            "covers",
            queryset=RoundCompound.objects.filter(compound__in=_compounds(user))
            .select_related("compound")
            .prefetch_related("buildings")
            .order_by("compound__code"),
            to_attr="visible_covers",
        )
    )


def round_get(user, round_id) -> TestRound:
    """The round, or 404 when none of its compounds is in the user's scope."""
    try:
        return rounds_visible(user).get(pk=round_id)
    except (TestRound.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def round_compounds_visible(user, round_: TestRound) -> list[RoundCompound]:
    """The round's compounds the user sees, each with its buildings (`.buildings.all()`, empty for
    the whole compound)."""
    return list(
        RoundCompound.objects.filter(round=round_, compound__in=_compounds(user))
        .select_related("compound")
        .prefetch_related("buildings")
        .order_by("compound__code")
    )


def round_fully_visible(user, round_: TestRound) -> bool:
    """Every compound of the round is in the user's scope (needed to change the round itself)."""
    return not RoundCompound.objects.filter(round=round_).exclude(compound__in=_compounds(user)).exists()


def points_of_round(user, round_: TestRound) -> list[SamplingPoint]:
    """The round's sampling points in the user's compounds, each with `.table_list` (its tables,
    each with `.has_tubes`: a table with tubes cannot be removed)."""
    tables = SamplingTable.objects.annotate(
        has_tubes=Exists(Tube.objects.filter(table=OuterRef("pk")))
    ).order_by("id")
    return list(
        SamplingPoint.objects.filter(round=round_, compound__in=_compounds(user))
        .select_related("compound")
        .prefetch_related(Prefetch("tables", queryset=tables, to_attr="table_list"))
        .order_by("compound__code", "id")
    )


def tables_of_round(user, round_: TestRound):
    return (
        SamplingTable.objects.filter(round=round_, compound__in=_compounds(user))
        .select_related("point", "compound")
        .order_by("compound__code", "point_id", "id")
    )


def slots_of_round(user, round_: TestRound, compound: Compound | None = None):
    """The schedule slots of the units the user sees, by compound, point and time."""
    if not _sees_testing(user):
        return ScheduleSlot.objects.none()
    qs = ScheduleSlot.objects.filter(scope_q(user, "unit"), round=round_)
    if compound is not None:
        qs = qs.filter(compound=compound)
    return qs.select_related("compound", "unit__building", "point").order_by(
        "compound__code", "point_id", "starts_at", "id"
    )


# -- who is expected, where the risk is (unscoped: ids and counts) ---------------------------------


def coverage_q(covers) -> Q:
    """Residents (or units) of the covered places: whole compounds, or the chosen buildings."""
    whole, buildings = [], []
    for cover in covers:
        chosen = [b.pk for b in cover.buildings.all()]
        if chosen:
            buildings += chosen
        else:
            whole.append(cover.compound_id)
    q = Q(pk__in=[])
    if whole:
        q |= Q(compound_id__in=whole)
    if buildings:
        q |= Q(building_id__in=buildings)
    return q


def _people_rows(round_: TestRound, covers) -> list[tuple[int, int, int]]:
    """(compound id, unit id, people) of the covered units with anyone expected."""
    covers = list(covers)
    if not covers:
        return []
    elsewhere = residents_tested_elsewhere([c.compound_id for c in covers], round_.day)
    rows = (
        Resident.objects.filter(coverage_q(covers), presence=Resident.Presence.LIVING)
        .exclude(pk__in=any_of(elsewhere, "bigint") if elsewhere else [])
        .exclude(pk__in=Exemption.objects.filter(round=round_).values("resident_id"))
        .values("compound_id", "unit_id")
        .annotate(n=Count("id"))
        .values_list("compound_id", "unit_id", "n")
        .order_by()
    )
    return list(rows)


def people_by_unit(round_: TestRound, covers) -> dict[int, int]:
    """Residents expected in the round per unit of the covered places: living there
    (`presence == living`), not tested elsewhere on the round's day (central isolation, taken to
    hospital: `outbreak.selectors.residents_tested_elsewhere`), not exempted from the round. A
    fixed number of queries whatever the number of units."""
    return {unit_id: n for _compound_id, unit_id, n in _people_rows(round_, covers)}


def people_by_compound(round_: TestRound, covers) -> dict[int, int]:
    """`people_by_unit` summed per compound."""
    found: dict[int, int] = {}
    for compound_id, _unit_id, n in _people_rows(round_, covers):
        found[compound_id] = found.get(compound_id, 0) + n
    return found


DOOR = "door"  # units under the rule set's strictest level: no one leaves home
LAST = "last"  # units under a lower active level: they come down, after everyone else


def units_at_risk(compound_ids, units) -> dict[int, str]:
    """For each of `units` covered by an active risk area (its own, one of its households', its
    building's or its compound's): DOOR when the strictest covering level is the rule set's
    strictest (or a level the rule set no longer knows), else LAST. One query.

    Read-only on the outbreak module's areas: `outbreak.selectors.unit_risk` answers the same
    question for one compound as a user sees it, with each area's lowering outlook; planning needs
    all the round's compounds at once, also when the system builds the schedule.
    """
    rules = active_rules()
    ranks = [level.rank for level in rules.levels.values()]
    top = max(ranks) if ranks else 0
    strictness: dict[tuple, str] = {}

    def mark(key, kind):
        if strictness.get(key) != DOOR:
            strictness[key] = kind

    for scope, compound_id, building_id, unit_id, level_code in RiskArea.objects.filter(
        compound_id__in=list(compound_ids), lifted_on__isnull=True
    ).values_list("scope", "compound_id", "building_id", "unit_id", "level"):
        level = rules.level(level_code)
        kind = DOOR if level is None or level.rank >= top else LAST
        if scope == RiskArea.Scope.COMPOUND:
            mark(("c", compound_id), kind)
        elif scope == RiskArea.Scope.BUILDING:
            mark(("b", building_id), kind)
        elif unit_id is not None:
            mark(("u", unit_id), kind)
    found = {}
    for unit in units:
        kinds = {
            strictness.get(("c", unit.compound_id)),
            strictness.get(("b", unit.building_id)),
            strictness.get(("u", unit.pk)),
        }
        if DOOR in kinds:
            found[unit.pk] = DOOR
        elif LAST in kinds:
            found[unit.pk] = LAST
    return found


def homebound_by_unit(user, round_: TestRound, unit_ids) -> dict[int, int]:
    """Residents the user sees living in these units with limited mobility (行动不便), who cannot
    come down and are sampled at the door even when their unit comes down. One query."""
    if not _sees_testing(user):
        return {}
    rows = (
        Resident.objects.filter(
            scope_q(user, "resident"),
            unit_id__in=any_of(list(unit_ids), "bigint"),
            presence=Resident.Presence.LIVING,
            limited_mobility=True,
        )
        .exclude(pk__in=Exemption.objects.filter(round=round_).values("resident_id"))
        .values("unit_id")
        .annotate(n=Count("id"))
        .values_list("unit_id", "n")
        .order_by()
    )
    return dict(rows)


# -- notices ---------------------------------------------------------------------------------------


@dataclass
class Notice:
    """A unit's notice: its place, its times and what to do, and the whole line (`text`)."""

    slot: ScheduleSlot
    unit: str
    times: str
    instruction: str

    @property
    def text(self) -> str:
        return _("%(unit)s %(times)s %(instruction)s") % {
            "unit": self.unit,
            "times": self.times,
            "instruction": self.instruction,
        }


def notice_of(slot: ScheduleSlot) -> Notice:
    """The notice posted in the unit's stairwell: "3号楼2单元 07:20-07:40 下楼检测，带好出入证",
    or "… 上门采样，请在家等候" for a unit sampled at the door. Times are local."""
    start = timezone.localtime(slot.starts_at).strftime("%H:%M")
    end = timezone.localtime(slot.ends_at).strftime("%H:%M")
    door = slot.mode == ScheduleSlot.Mode.DOOR_TO_DOOR
    return Notice(
        slot=slot,
        unit=str(slot.unit),
        times=f"{start}-{end}",
        instruction=_("上门采样，请在家等候") if door else _("下楼检测，带好出入证"),
    )


def notice_text(slot: ScheduleSlot) -> str:
    return notice_of(slot).text


def notices(user, round_: TestRound, compound: Compound | None = None) -> list[Notice]:
    """One notice per unit the user sees, in building and unit order within each compound."""
    slots = slots_of_round(user, round_, compound).order_by(
        "compound__code", "building__sort_key", "building__number", "unit__sort_key", "unit__number"
    )
    return [notice_of(slot) for slot in slots]


# -- staffing --------------------------------------------------------------------------------------


def _ceil_div(people: int, per: int) -> int:
    return math.ceil(people / per) if people and per > 0 else 0


@dataclass
class StaffingLine:
    """What one compound (or the round: `compound` None) needs, against what is configured.

    - tables needed = ceil(people / TONGXIN_PEOPLE_PER_TABLE)
    - points needed = ceil(people / TONGXIN_PEOPLE_PER_POINT)
    - samplers = ceil(people / TONGXIN_PEOPLE_PER_SAMPLER), for a round finished within 24 hours
    - order-keepers = one per table (keeping the queue 1 m apart) plus one per point (checking
      passes at its entrance): needed = tables needed + points needed; for the configured set-up
      = tables configured + points configured.
    """

    compound: Compound | None
    people: int = 0
    tables_configured: int = 0
    points_configured: int = 0
    slots: int = 0
    finishes_at: datetime.datetime | None = None

    @property
    def tables_needed(self) -> int:
        return _ceil_div(self.people, settings.TONGXIN_PEOPLE_PER_TABLE)

    @property
    def points_needed(self) -> int:
        return _ceil_div(self.people, settings.TONGXIN_PEOPLE_PER_POINT)

    @property
    def samplers(self) -> int:
        return _ceil_div(self.people, settings.TONGXIN_PEOPLE_PER_SAMPLER)

    @property
    def order_keepers(self) -> int:
        return self.tables_needed + self.points_needed

    @property
    def order_keepers_configured(self) -> int:
        return self.tables_configured + self.points_configured

    @property
    def tables_missing(self) -> int:
        return max(0, self.tables_needed - self.tables_configured)

    @property
    def points_missing(self) -> int:
        return max(0, self.points_needed - self.points_configured)


@dataclass
class TotalLine(StaffingLine):
    """The round's figures: the sum of its compounds' (a compound's points and tables serve only
    that compound, so the round needs what each of its compounds needs)."""

    lines: list[StaffingLine] = field(default_factory=list)

    @property
    def tables_needed(self) -> int:
        return sum(line.tables_needed for line in self.lines)

    @property
    def points_needed(self) -> int:
        return sum(line.points_needed for line in self.lines)

    @property
    def samplers(self) -> int:
        return sum(line.samplers for line in self.lines)


@dataclass
class Staffing:
    lines: list[StaffingLine]
    total: TotalLine
    per_table: int
    per_point: int
    per_sampler: int
    per_table_hour: int


def staffing(user, round_: TestRound) -> Staffing:
    """People expected, tables, points, samplers and order-keepers needed, per compound the user
    sees and for those together, against the tables and points configured, with the time the
    schedule ends. A fixed number of queries whatever the round's size."""
    covers = round_compounds_visible(user, round_)
    compound_ids = [c.compound_id for c in covers]
    lines = {c.compound_id: StaffingLine(compound=c.compound) for c in covers}
    for compound_id, people in people_by_compound(round_, covers).items():
        lines[compound_id].people = people
    for compound_id, n in (
        SamplingTable.objects.filter(round=round_, compound_id__in=compound_ids)
        .values("compound_id")
        .annotate(n=Count("id"))
        .values_list("compound_id", "n")
        .order_by()
    ):
        lines[compound_id].tables_configured = n
    for compound_id, n in (
        SamplingPoint.objects.filter(round=round_, compound_id__in=compound_ids)
        .values("compound_id")
        .annotate(n=Count("id"))
        .values_list("compound_id", "n")
        .order_by()
    ):
        lines[compound_id].points_configured = n
    for compound_id, n, end in (
        ScheduleSlot.objects.filter(round=round_, compound_id__in=compound_ids)
        .values("compound_id")
        .annotate(n=Count("id"), end=Max("ends_at"))
        .values_list("compound_id", "n", "end")
        .order_by()
    ):
        lines[compound_id].slots, lines[compound_id].finishes_at = n, end
    ordered = [lines[c.compound_id] for c in covers]
    ends = [line.finishes_at for line in ordered if line.finishes_at]
    total = TotalLine(
        compound=None,
        people=sum(line.people for line in ordered),
        tables_configured=sum(line.tables_configured for line in ordered),
        points_configured=sum(line.points_configured for line in ordered),
        slots=sum(line.slots for line in ordered),
        finishes_at=max(ends) if ends else None,
        lines=ordered,
    )
    return Staffing(
        lines=ordered,
        total=total,
        per_table=settings.TONGXIN_PEOPLE_PER_TABLE,
        per_point=settings.TONGXIN_PEOPLE_PER_POINT,
        per_sampler=settings.TONGXIN_PEOPLE_PER_SAMPLER,
        per_table_hour=settings.TONGXIN_TABLE_PEOPLE_PER_HOUR,
    )


def point_get(user, point_id) -> SamplingPoint:
    point = SamplingPoint.objects.filter(compound__in=_compounds(user), pk=point_id).first()
    if point is None:
        raise Http404
    return point


def table_get(user, table_id) -> SamplingTable:
    table = SamplingTable.objects.filter(compound__in=_compounds(user), pk=table_id).first()
    if table is None:
        raise Http404
    return table


@dataclass
class ScheduleSummary:
    slots: int
    people: int
    door: int
    starts_at: datetime.datetime | None
    finishes_at: datetime.datetime | None


def schedule_summary(user, round_: TestRound) -> ScheduleSummary:
    """How many units the user sees scheduled, their people, and the first and last times."""
    figures = (
        slots_of_round(user, round_)
        .order_by()
        .aggregate(
            slots=Count("id"),
            people=Sum("people"),
            door=Count("id", filter=Q(mode=ScheduleSlot.Mode.DOOR_TO_DOOR)),
            starts_at=Min("starts_at"),
            finishes_at=Max("ends_at"),
        )
    )
    return ScheduleSummary(
        slots=figures["slots"],
        people=figures["people"] or 0,
        door=figures["door"],
        starts_at=figures["starts_at"],
        finishes_at=figures["finishes_at"],
    )


def round_editable(round_: TestRound) -> bool:
    """Not closed, and today or later (or still sampling): see actions.planning."""
    if round_.state == TestRound.State.CLOSED:
        return False
    return round_.day >= timezone.localdate() or round_.state == TestRound.State.SAMPLING
