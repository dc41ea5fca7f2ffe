"""Reads of bulk distributions, scoped to the acting user: the compound's campaigns, a campaign's
progress by building, unit, day and team, the door lists volunteers work from.

Campaigns are seen by the compound's team (volunteers included, for their door lists); the doors
within them by the registry's household scope, so a grid worker sees only his buildings."""

import datetime
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Count, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Compound, Household, Resident, Unit
from tongxin.supplies.actions.campaigns import FINAL, Coverage, natural_room_key
from tongxin.supplies.models import Balance, Campaign, CampaignTask, CampaignVisit, VisitOutcome
from tongxin.supplies.selectors.scope import HANDS_OUT, supplies_q

OUTCOMES = [choice.value for choice in VisitOutcome]
ZERO = Decimal(0)


def require_hands_out(user) -> None:
    """Campaign pages are for the compound's team; anyone else (a resident) is refused."""
    if not user.is_authenticated or user.role not in HANDS_OUT:
        raise PermissionDenied


def campaigns_visible(user):
    return Campaign.objects.filter(supplies_q(user))


def campaign_get(user, campaign_id: int) -> Campaign:
    campaign = (
        campaigns_visible(user).filter(pk=campaign_id).select_related("compound", "item", "store").first()
    )
    if campaign is None:
        raise Http404
    return campaign


def _visible_visits(user, campaign: Campaign):
    return CampaignVisit.objects.filter(
        campaign=campaign, household__in=Household.objects.filter(scope_q(user, "household")).values("pk")
    )


def _counts() -> dict:
    """Per outcome, the quantity given out and the shares planned: one aggregate per group."""
    return {
        "households": Count("id"),
        **{outcome: Count("id", filter=Q(outcome=outcome)) for outcome in OUTCOMES},
        "given": Coalesce(Sum("quantity"), Value(ZERO)),
        "planned": Coalesce(Sum("share"), Value(ZERO)),
    }


def _finish(row: dict) -> dict:
    row["final"] = sum(row[outcome] for outcome in FINAL)
    row["done_share"] = row["final"] / row["households"] if row["households"] else 0
    return row


def _add(into: dict, row: dict) -> None:
    for key in ("households", *OUTCOMES, "given", "planned"):
        into[key] = into.get(key, 0) + row[key]


def campaigns_of_compound(user, compound: Compound) -> list[Campaign]:
    """The compound's campaigns, newest first, each with its doors counted (one query)."""
    return list(
        campaigns_visible(user)
        .filter(compound=compound)
        .select_related("item")
        .annotate(
            households=Count("visits"),
            final=Count("visits", filter=Q(visits__outcome__in=FINAL)),
            delivered=Count("visits", filter=Q(visits__outcome=VisitOutcome.DELIVERED)),
            given=Coalesce(Sum("visits__quantity"), Value(ZERO)),
        )
        .order_by("-starts_on", "-pk")
    )


def campaign_coverage(campaign: Campaign) -> Coverage:
    """Whether the total covers every share (and the shares of the doors not found vacant)."""
    sums = CampaignVisit.objects.filter(campaign=campaign).aggregate(
        needed=Coalesce(Sum("share"), Value(ZERO)),
        occupied=Coalesce(Sum("share", filter=~Q(outcome=VisitOutcome.VACANT)), Value(ZERO)),
    )
    in_stock = (
        Balance.objects.filter(item_id=campaign.item_id, store_id=campaign.store_id)
        .values_list("quantity", flat=True)
        .first()
        or ZERO
    )
    return Coverage(
        total=campaign.total_quantity,
        needed=sums["needed"],
        needed_known_occupied=sums["occupied"],
        in_stock=in_stock,
        unit=campaign.item.unit,
    )


def campaign_progress(user, campaign: Campaign) -> dict:
    """Progress per building and unit (in the compound's order) and per day and team, over the
    doors the user sees: three queries whatever the compound's size."""
    by_unit = {
        row["unit_id"]: row for row in _visible_visits(user, campaign).values("unit_id").annotate(**_counts())
    }
    units = list(
        Unit.objects.filter(pk__in=list(by_unit))
        .select_related("building")
        .order_by("building__sort_key", "building__number", "sort_key", "number")
    )
    tasks = {
        unit_id: (day, team)
        for unit_id, day, team in CampaignTask.objects.filter(campaign=campaign).values_list(
            "unit_id", "day", "team"
        )
    }
    totals: dict = {}
    buildings: dict[int, dict] = {}
    teams: dict[tuple, dict] = {}
    for unit in units:
        row = _finish({**by_unit[unit.pk], "unit": unit, "task": tasks.get(unit.pk)})
        _add(totals, row)
        entry = buildings.setdefault(unit.building_id, {"building": unit.building, "units": []})
        _add(entry, row)
        entry["units"].append(row)
        if unit.pk in tasks:
            day, team = tasks[unit.pk]
            slot = teams.setdefault((day, team), {"day": day, "team": team, "units": []})
            _add(slot, row)
            slot["units"].append(unit)
    if not totals:
        totals = {"households": 0, **dict.fromkeys(OUTCOMES, 0), "given": ZERO, "planned": ZERO}
    for entry in [*buildings.values(), *teams.values()]:
        _finish(entry)
    return {
        "totals": _finish(totals),
        "buildings": list(buildings.values()),
        "tasks": [teams[key] for key in sorted(teams)],
    }


def _people_count():
    return Coalesce(
        Subquery(
            Resident.objects.filter(household=OuterRef("household_id"))
            .exclude(presence=Resident.Presence.MOVED_OUT)
            .values("household_id")
            .annotate(n=Count("id"))
            .values("n"),
            output_field=IntegerField(),
        ),
        Value(0),
    )


def door_list(
    user,
    campaign: Campaign,
    *,
    unit_id: int | None = None,
    day: datetime.date | None = None,
    team: int | None = None,
    outcomes: list[str] | None = None,
) -> list[CampaignVisit]:
    """The doors of a unit, of a team's day, or with given outcomes (the come-back list, the vacant
    flats found), in building, unit and room order; each with its residents' count. One query."""
    visits = _visible_visits(user, campaign)
    if unit_id is not None:
        visits = visits.filter(unit_id=unit_id)
    if day is not None or team is not None:
        tasks = CampaignTask.objects.filter(campaign=campaign)
        if day is not None:
            tasks = tasks.filter(day=day)
        if team is not None:
            tasks = tasks.filter(team=team)
        visits = visits.filter(unit_id__in=tasks.values("unit_id"))
    if outcomes:
        visits = visits.filter(outcome__in=outcomes)
    rows = list(
        visits.select_related("household", "unit", "building", "visited_by").annotate(people=_people_count())
    )
    rows.sort(
        key=lambda v: (
            v.building.sort_key,
            natural_room_key(v.building.number),
            v.unit.sort_key,
            natural_room_key(v.unit.number),
            natural_room_key(v.household.room),
        )
    )
    return rows


def visit_get(user, visit_id: int) -> CampaignVisit:
    """A door the user may mark: a campaign of their compound, a household in their scope."""
    visit = (
        _visits_in_scope(user)
        .filter(pk=visit_id)
        .select_related("campaign__item", "campaign__store", "household", "unit", "building", "visited_by")
        .annotate(people=_people_count())
        .first()
    )
    if visit is None:
        raise Http404
    return visit


def _visits_in_scope(user):
    return CampaignVisit.objects.filter(
        campaign__in=campaigns_visible(user).values("pk"),
        household__in=Household.objects.filter(scope_q(user, "household")).values("pk"),
    )


def campaign_team_days(user, campaign: Campaign) -> list[tuple[datetime.date, int]]:
    return list(
        CampaignTask.objects.filter(campaign=campaign)
        .values_list("day", "team")
        .distinct()
        .order_by("day", "team")
    )


def campaign_units(user, campaign: Campaign) -> list[Unit]:
    """The units of the campaign's plan the user sees, in order, each with its task's day and team."""
    tasks = {
        unit_id: (day, team)
        for unit_id, day, team in CampaignTask.objects.filter(campaign=campaign).values_list(
            "unit_id", "day", "team"
        )
    }
    units = list(
        Unit.objects.filter(pk__in=_visible_visits(user, campaign).values("unit_id"))
        .select_related("building")
        .order_by("building__sort_key", "building__number", "sort_key", "number")
    )
    for unit in units:
        unit.task_day, unit.task_team = tasks.get(unit.pk, (None, None))
    return units
