"""Reads of risk areas and compound status, scoped to the acting user.

Health roles see areas with their timeline and reasons; volunteers see the areas of their compound
and their levels (they need to know which building is sealed), never why.

When an area may be lowered (one definition, used by the proposals, the pages and the map):

- The clock of the current level starts on `start = max(clock_from, level_since)`: the last
  positive in the area, or the day the area reached its level, whichever is later (after a lowering
  from high to medium, the medium level counts its own days). `start` is day 1 of the clock, so
  day k is `start + (k - 1)`.
- "N consecutive days with no new infection" are days 1..N: the area may be lowered from
  `start + N` (day N + 1). Clock from 11-14 at 5 days: 11-14..11-18 pass, lowering on 11-19.
- When the level asks for a screening on day S, an all-negative screening recorded on or after
  day S (`start + S - 1`) is needed, and no screening after it may be positive. The lowering is
  possible from the later of `start + N` and the date of the first all-negative screening of the
  trailing all-negative run (2022-06: day-7 screening on 11-20 for a clock from 11-14, lowering
  on 11-21; Shanghai sealed: day-13 screening, lowering on that day since 7 days have passed).
- A new positive moves `clock_from` (`area_restart_for_case`), which moves everything above.
"""

import datetime
from dataclasses import dataclass

from django.db.models import F, FilteredRelation, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.scoping import building_ids, scope_q
from tongxin.outbreak.models import CompoundStatusChange, RiskArea, RiskAreaEvent
from tongxin.outbreak.rules import Level, RuleSet, active_rules
from tongxin.registry.models import Compound


def sees_risk_levels(user) -> bool:
    return bool(user and user.is_authenticated and (user.sees_health_data or user.role == "volunteer"))


def _areas_q(user) -> Q:
    """scope_q at unit level, plus the compound-wide areas for users limited to some buildings."""
    if not sees_risk_levels(user):
        return Q(pk__in=[])
    q = scope_q(user, "unit")
    if user.role in ("grid_worker", "volunteer") and user.compound_id and building_ids(user):
        q |= Q(compound_id=user.compound_id, building__isnull=True)
    return q


def areas_visible(user, compound: Compound | None = None, *, active: bool = True):
    qs = RiskArea.objects.filter(_areas_q(user)).select_related(
        "compound", "building", "unit__building", "household__unit__building"
    )
    if compound is not None:
        qs = qs.filter(compound=compound)
    if active:
        qs = qs.filter(lifted_on__isnull=True)
    return qs.order_by("lifted_on", "scope", "building__sort_key", "building__number", "unit__number", "id")


def area_get(user, area_id: int) -> RiskArea:
    area = areas_visible(user, active=False).select_related("compound").filter(pk=area_id).first()
    if area is None:
        raise Http404
    return area


def area_timeline(user, area: RiskArea) -> list[RiskAreaEvent]:
    """The area's events in order. Volunteers get the events without their reason nor who wrote them."""
    events = list(area.events.select_related("actor").order_by("at", "id"))
    if not user.sees_health_data:
        for event in events:
            event.reason = ""
            event.actor = None
    return events


# -- lowering -------------------------------------------------------------------------------------


@dataclass
class LoweringState:
    area: RiskArea
    level: Level | None
    start: datetime.date | None = None  # day 1 of the clock of the current level
    days_met_on: datetime.date | None = None  # start + days
    screening_due: datetime.date | None = None  # start + screening_day - 1
    screening_ok_on: datetime.date | None = None  # first all-negative screening of the trailing run
    possible_from: datetime.date | None = None
    today: datetime.date | None = None

    @property
    def to_level(self) -> str | None:
        return self.level.lower_to if self.level else None

    @property
    def needs_screening(self) -> bool:
        return bool(self.level and self.level.screening_day)

    @property
    def may_lower(self) -> bool:
        return self.possible_from is not None and self.today >= self.possible_from

    @property
    def days_left(self) -> int | None:
        """Days until the day count is met (0 once met); None when the level never lowers by itself."""
        if self.days_met_on is None:
            return None
        return max(0, (self.days_met_on - self.today).days)

    @property
    def awaiting_screening(self) -> bool:
        return self.needs_screening and self.screening_ok_on is None

    def short(self) -> str:
        """What stands between the area and a lowering, in a few characters: "3天", "待筛查", "可降级"."""
        if self.level is None or self.days_met_on is None:
            return ""
        if self.may_lower:
            return _("可降级")
        if self.days_left:
            return _("%(days)s天") % {"days": self.days_left}
        return _("待筛查")

    def explain(self) -> str:
        if self.level is None:
            return _("当前规则中没有该风险等级")
        if self.days_met_on is None:
            return _("该等级不会自动降级")
        if self.days_left:
            return _("还需%(days)s天无新增阳性（%(date)s起可降级）") % {
                "days": self.days_left,
                "date": self.days_met_on.isoformat(),
            }
        if self.awaiting_screening:
            return _("等待%(date)s或之后的一次全员阴性筛查") % {"date": self.screening_due.isoformat()}
        return _("可降级")


def lowering_state(
    area: RiskArea, screenings, today: datetime.date, rules: RuleSet | None = None
) -> LoweringState:
    """Where the area stands against its level's rule on `today` (see the module docstring).

    `screenings` are the area's screening events (any order, any date).
    """
    rules = rules or active_rules()
    level = rules.level(area.level)
    state = LoweringState(area=area, level=level, today=today)
    if level is None or area.lifted_on is not None:
        return state
    state.start = max(area.clock_from, area.level_since)
    if level.days is None:
        return state
    state.days_met_on = state.start + datetime.timedelta(days=level.days)
    if not level.screening_day:
        state.possible_from = state.days_met_on
        return state
    state.screening_due = state.start + datetime.timedelta(days=level.screening_day - 1)
    counted = sorted(
        (s for s in screenings if state.screening_due <= s.on <= today),
        key=lambda s: (s.on, s.at, s.id),
    )
    first_ok = None
    for screening in reversed(counted):
        if not screening.all_negative:
            break
        first_ok = screening.on
    state.screening_ok_on = first_ok
    if first_ok is not None:
        state.possible_from = max(state.days_met_on, first_ok)
    return state


def _active_areas_with_screenings(qs) -> list[RiskArea]:
    """The areas of `qs` in one query, each with `.screenings` (its screening events) and, for a
    building-wide area, `.building_unit_ids` (the building's units)."""
    rows = qs.annotate(
        screening=FilteredRelation("events", condition=Q(events__kind=RiskAreaEvent.Kind.SCREENING)),
        s_id=F("screening__id"),
        s_on=F("screening__on"),
        s_at=F("screening__at"),
        s_negative=F("screening__all_negative"),
        building_unit=F("building__units__id"),
    )
    areas: dict[int, RiskArea] = {}
    for row in rows:
        area = areas.get(row.pk)
        if area is None:
            area = areas[row.pk] = row
            area.screenings, area.building_unit_ids, seen = [], set(), set()
            area._seen_screenings = seen
        if row.s_id is not None and row.s_id not in area._seen_screenings:
            area._seen_screenings.add(row.s_id)
            area.screenings.append(
                RiskAreaEvent(
                    id=row.s_id, on=row.s_on, at=row.s_at, all_negative=row.s_negative, kind="screening"
                )
            )
        if row.building_unit is not None:
            area.building_unit_ids.add(row.building_unit)
    return list(areas.values())


def areas_with_outlook(user, compound: Compound, today: datetime.date | None = None) -> list[RiskArea]:
    """The compound's active areas the user sees, each with `.outlook` (a LoweringState)."""
    today = today or timezone.localdate()
    rules = active_rules()
    areas = _active_areas_with_screenings(areas_visible(user, compound))
    for area in areas:
        area.outlook = lowering_state(area, area.screenings, today, rules)
        area.level_label = area.outlook.level.label if area.outlook.level else area.level
    return areas


@dataclass
class Proposal:
    area: RiskArea
    from_level: Level
    to_level: Level | None  # None: lifted
    since: datetime.date  # the first day the rule held

    @property
    def to_label(self) -> str:
        return str(self.to_level.label) if self.to_level else _("解除")


def lowering_proposals(
    user, compound: Compound, today: datetime.date | None = None, *, areas: list[RiskArea] | None = None
) -> list[Proposal]:
    """The areas whose level's rule holds today, waiting for a person to confirm. Health roles only.

    `areas`: the result of `areas_with_outlook` for the same day when the caller has it already.
    """
    if not user.sees_health_data:
        return []
    rules = active_rules()
    proposals = []
    for area in areas if areas is not None else areas_with_outlook(user, compound, today):
        state = area.outlook
        if state.may_lower:
            to_level = rules.level(state.to_level) if state.to_level else None
            proposals.append(
                Proposal(area=area, from_level=state.level, to_level=to_level, since=state.possible_from)
            )
    return proposals


def area_outlook(area: RiskArea, today: datetime.date | None = None) -> LoweringState:
    return lowering_state(
        area, list(area.events.filter(kind=RiskAreaEvent.Kind.SCREENING)), today or timezone.localdate()
    )


# -- per unit -------------------------------------------------------------------------------------


def level_band(rank: int, top: int) -> str:
    """The colour band of a level (the "risk" palette): b4 the strictest level (red), b3 the next
    (orange), b1 any below (yellow), b0 no risk (grey)."""
    if rank <= 0 or top <= 0:
        return "b0"
    return {0: "b4", 1: "b3"}.get(top - rank, "b1")


def level_bands() -> dict[str, str]:
    levels = active_rules().ordered_levels()
    top = levels[0].rank if levels else 0
    return {lv.code: level_band(lv.rank, top) for lv in levels}


def short_level_label(level: Level) -> str:
    """The level's short name for map cells (高, 封控), from the rule set; its full name otherwise."""
    return str(level.short or level.label)


def unit_risk(
    user, compound: Compound, unit_ids: list[int], today: datetime.date | None = None
) -> dict[int, LoweringState]:
    """The strictest active area covering each of the units: its own, its building's, the
    compound's, or one of its households' (a sealed household marks its unit). One query, whatever
    the compound's size; units with no area are left out.

    Between areas of the same level, the one that will be lowered last is kept.
    """
    areas = areas_with_outlook(user, compound, today)
    wanted = set(unit_ids)
    covering: dict[int, list[LoweringState]] = {}
    for area in areas:
        if area.scope == RiskArea.Scope.COMPOUND:
            covered = wanted
        elif area.scope == RiskArea.Scope.BUILDING:
            covered = area.building_unit_ids & wanted
        else:
            covered = {area.unit_id} & wanted
        for unit_id in covered:
            covering.setdefault(unit_id, []).append(area.outlook)
    return {unit_id: max(states, key=_strictness) for unit_id, states in covering.items()}


def _strictness(state: LoweringState):
    rank = state.level.rank if state.level else 0
    return (rank, state.possible_from or state.days_met_on or datetime.date.max)


# -- compound status ------------------------------------------------------------------------------


@dataclass
class StatusPeriod:
    change: CompoundStatusChange
    ends_on: datetime.date | None  # the next change's date; None for the current status
    days: int  # days from its date to the next change, or to today for the current one


def compound_status_history(
    user, compound: Compound, today: datetime.date | None = None
) -> list[StatusPeriod]:
    """The compound's statuses in date order, each with how many days it lasted (or has lasted).

    A quiet period from 2022-10-02 ended by sealing on 2022-11-14 lasted 43 days. Any user who sees
    the compound sees its status: it is posted at the gate.
    """
    if not Compound.objects.filter(scope_q(user, "compound"), pk=compound.pk).exists():
        raise Http404
    today = today or timezone.localdate()
    changes = list(
        CompoundStatusChange.objects.filter(compound=compound).select_related("actor").order_by("on", "id")
    )
    periods = []
    for index, change in enumerate(changes):
        ends_on = changes[index + 1].on if index + 1 < len(changes) else None
        periods.append(
            StatusPeriod(change=change, ends_on=ends_on, days=max(0, ((ends_on or today) - change.on).days))
        )
    if not user.sees_health_data:
        for period in periods:
            period.change.reason = ""
            period.change.actor = None
    return periods


def compound_status_current(
    user, compound: Compound, today: datetime.date | None = None
) -> StatusPeriod | None:
    history = compound_status_history(user, compound, today)
    return history[-1] if history else None
