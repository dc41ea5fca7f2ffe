"""JSON API of bulk distributions (mounted at /api/v1/supplies/campaigns/).

`GET ?compound=` the compound's campaigns with their counts; `POST` plans one (cadres; the answer
carries the coverage warnings); `GET {id}/progress` by building, unit, day and team;
`GET {id}/doors?unit=` (or `?day=&team=`, `?outcome=`) the door list; `POST visits/{id}` marks a
door (`expected` is the outcome the client saw: a door marked since is refused with who and when).
"""

import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from ninja import Router, Schema

from tongxin.registry.selectors import compound_get
from tongxin.supplies.actions.campaigns import campaign_create, campaign_visit_record
from tongxin.supplies.models import Item, Store, VisitOutcome
from tongxin.supplies.selectors.campaigns import (
    campaign_coverage,
    campaign_get,
    campaign_progress,
    campaigns_of_compound,
    door_list,
    require_hands_out,
    visit_get,
)
from tongxin.supplies.selectors.scope import require_compound

router = Router()


class CampaignIn(Schema):
    compound: int
    name: str
    item: int
    store: int
    total_quantity: str
    unit: str | None = None
    share_basis: str = "household"
    share_quantity: str
    share_unit: str | None = None
    starts_on: datetime.date
    days: int
    teams: int
    volunteers: int = 0


class DoorVisitIn(Schema):
    outcome: str
    note: str = ""
    expected: str | None = None


def _number(value: Decimal) -> str:
    return f"{value.normalize():f}"


def _campaign(c, **extra) -> dict:
    return {
        "id": c.pk,
        "compound": c.compound_id,
        "name": c.name,
        "item": c.item_id,
        "item_name": c.item.name,
        "unit": c.item.unit,
        "store": c.store_id,
        "total_quantity": _number(c.total_quantity),
        "share_basis": c.share_basis,
        "share_quantity": _number(c.share_quantity),
        "starts_on": c.starts_on.isoformat(),
        "days": c.days,
        "teams": c.teams,
        "volunteers": c.volunteers,
        "closed": c.closed_at is not None,
        **extra,
    }


def _counts(row: dict) -> dict:
    keys = ("households", *[o.value for o in VisitOutcome], "final")
    return {
        **{key: row[key] for key in keys},
        "given": _number(row["given"]),
        "planned": _number(row["planned"]),
    }


def _door(visit) -> dict:
    return {
        "id": visit.pk,
        "household": visit.household_id,
        "building": visit.building.number,
        "unit": visit.unit.number,
        "unit_id": visit.unit_id,
        "room": visit.household.room,
        "people": visit.people,
        "share": _number(visit.share),
        "outcome": visit.outcome,
        "quantity": _number(visit.quantity) if visit.quantity is not None else None,
        "attempts": visit.attempts,
        "visited_at": visit.visited_at.isoformat() if visit.visited_at else None,
        "visited_by": (visit.visited_by.get_full_name() or visit.visited_by.username)
        if visit.visited_by
        else None,
        "note": visit.note,
    }


@router.get("", url_name="supplies_campaigns")
def campaigns(request, compound: int):
    require_hands_out(request.user)
    place = compound_get(request.user, compound)
    return [
        _campaign(c, households=c.households, final=c.final, delivered=c.delivered, given=_number(c.given))
        for c in campaigns_of_compound(request.user, place)
    ]


@router.post("", url_name="supplies_campaign_create", response={201: dict})
def create(request, payload: CampaignIn):
    user = request.user
    require_compound(user, payload.compound)
    place = compound_get(user, payload.compound)
    item = Item.objects.filter(pk=payload.item, compound=place).first()
    store = Store.objects.filter(pk=payload.store, compound=place).first()
    if item is None or store is None:
        raise ValidationError({"item": [_("仓库与物资不属于同一小区")]})
    fields = payload.model_dump(exclude={"compound", "item", "store"})
    campaign = campaign_create(actor=user, compound=place, item=item, store=store, **fields)
    coverage = campaign.coverage
    return 201, _campaign(
        campaign,
        households=campaign.visits.count(),
        coverage={
            "covers": coverage.covers,
            "needed": _number(coverage.needed),
            "shortfall": _number(coverage.shortfall),
            "warnings": coverage.warnings(),
        },
    )


@router.get("/{campaign_id}/progress", url_name="supplies_campaign_progress")
def progress(request, campaign_id: int):
    user = request.user
    require_hands_out(user)
    campaign = campaign_get(user, campaign_id)
    data = campaign_progress(user, campaign)
    coverage = campaign_coverage(campaign)
    return {
        "campaign": _campaign(campaign),
        "totals": _counts(data["totals"]),
        "covers": coverage.covers,
        "buildings": [
            {
                "building": entry["building"].number,
                **_counts(entry),
                "units": [
                    {
                        "unit_id": row["unit"].pk,
                        "unit": row["unit"].number,
                        "day": row["task"][0].isoformat() if row["task"] else None,
                        "team": row["task"][1] if row["task"] else None,
                        **_counts(row),
                    }
                    for row in entry["units"]
                ],
            }
            for entry in data["buildings"]
        ],
        "tasks": [
            {
                "day": task["day"].isoformat(),
                "team": task["team"],
                "units": [f"{u.building.number}-{u.number}" for u in task["units"]],
                **_counts(task),
            }
            for task in data["tasks"]
        ],
    }


@router.get("/{campaign_id}/doors", url_name="supplies_campaign_doors")
def doors(
    request,
    campaign_id: int,
    unit: int | None = None,
    day: datetime.date | None = None,
    team: int | None = None,
    outcome: str | None = None,
):
    user = request.user
    require_hands_out(user)
    campaign = campaign_get(user, campaign_id)
    outcomes = [outcome] if outcome else None
    return [_door(v) for v in door_list(user, campaign, unit_id=unit, day=day, team=team, outcomes=outcomes)]


@router.post("/visits/{visit_id}", url_name="supplies_campaign_visit")
def visit(request, visit_id: int, payload: DoorVisitIn):
    user = request.user
    require_hands_out(user)
    found = visit_get(user, visit_id)
    marked = campaign_visit_record(
        actor=user, visit=found, outcome=payload.outcome, note=payload.note, expected_outcome=payload.expected
    )
    return _door(visit_get(user, marked.pk))
