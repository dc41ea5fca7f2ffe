"""Campaign reads: progress per building, unit, day and team; door lists; the map measure; scope."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.http import Http404
from django.test.utils import CaptureQueriesContext

from tongxin.registry.selectors import compound_map
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.campaigns import campaign_visit_record
from tongxin.supplies.map_measures import CampaignProgressMeasure
from tongxin.supplies.models import CampaignVisit
from tongxin.supplies.selectors.campaigns import (
    campaign_coverage,
    campaign_get,
    campaign_progress,
    campaign_team_days,
    campaign_units,
    campaigns_of_compound,
    door_list,
    require_hands_out,
    visit_get,
)
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(world):
    return campaign_world(world)


@pytest.fixture
def marked(cw):
    """Unit 1-1: 101 delivered, 102 nobody home, 103 vacant; 1-2: 101 refused; 2-1: 201 delivered."""
    campaign = plan(cw)
    volunteer = cw.users[VOLUNTEER]
    for household, outcome in (
        (cw.home_a1, "delivered"),
        (cw.h102, "nobody_home"),
        (cw.h103, "vacant"),
        (cw.h2101, "refused"),
        (cw.home_a2, "delivered"),
    ):
        visit = CampaignVisit.objects.select_related("campaign").get(campaign=campaign, household=household)
        campaign_visit_record(actor=volunteer, visit=visit, outcome=outcome)
    cw.campaign = campaign
    return cw


def test_progress_per_building_and_unit(marked):
    data = campaign_progress(marked.users[MANAGER], marked.campaign)
    totals = data["totals"]
    assert {
        k: totals[k] for k in ("households", "delivered", "nobody_home", "refused", "vacant", "pending")
    } == {
        "households": 7,
        "delivered": 2,
        "nobody_home": 1,
        "refused": 1,
        "vacant": 1,
        "pending": 2,
    }
    assert (totals["final"], totals["given"], totals["planned"]) == (4, Decimal(60), Decimal(210))
    assert [entry["building"].number for entry in data["buildings"]] == ["1", "2"]
    first, second = data["buildings"]
    assert (first["households"], first["final"], first["given"]) == (5, 3, Decimal(30))
    assert [(row["unit"].number, row["households"], row["final"]) for row in first["units"]] == [
        ("1", 3, 2),
        ("2", 2, 1),
    ]
    assert (second["households"], second["delivered"], second["pending"]) == (2, 1, 1)
    assert second["done_share"] == 0.5


def test_progress_per_day_and_team(marked):
    data = campaign_progress(marked.users[MANAGER], marked.campaign)
    start = marked.campaign.starts_on
    rows = [(t["day"], t["team"], t["households"], t["final"], t["nobody_home"]) for t in data["tasks"]]
    assert rows == [
        (start, 1, 3, 2, 1),
        (start + datetime.timedelta(days=1), 1, 2, 1, 0),
        (start + datetime.timedelta(days=1), 2, 2, 1, 0),
    ]
    assert campaign_team_days(marked.users[MANAGER], marked.campaign) == [
        (start, 1),
        (start + datetime.timedelta(days=1), 1),
        (start + datetime.timedelta(days=1), 2),
    ]


def test_progress_takes_three_queries_whatever_the_size(marked):
    with CaptureQueriesContext(connection) as queries:
        campaign_progress(marked.users[MANAGER], marked.campaign)
    assert len(queries) <= 3


def test_grid_worker_progress_counts_only_his_buildings(marked):
    data = campaign_progress(marked.users[GRID], marked.campaign)
    assert data["totals"]["households"] == 5
    assert [entry["building"].number for entry in data["buildings"]] == ["1"]


def test_door_list_of_a_unit_in_room_order_with_residents(marked):
    rows = door_list(marked.users[VOLUNTEER], marked.campaign, unit_id=marked.a1u1.pk)
    assert [(v.household.room, v.people, v.outcome) for v in rows] == [
        ("101", 2, "delivered"),
        ("102", 1, "nobody_home"),
        ("103", 0, "vacant"),
    ]


def test_door_list_of_a_team_day_and_by_outcome(marked):
    start = marked.campaign.starts_on
    rows = door_list(marked.users[VOLUNTEER], marked.campaign, day=start + datetime.timedelta(days=1), team=1)
    assert [v.household_id for v in rows] == [marked.h2101.pk, marked.h2102.pk]
    come_back = door_list(marked.users[VOLUNTEER], marked.campaign, outcomes=["nobody_home"])
    assert [v.household_id for v in come_back] == [marked.h102.pk]
    assert [
        v.household_id for v in door_list(marked.users[GRID], marked.campaign, unit_id=marked.a2u1.pk)
    ] == []


def test_door_list_is_one_query(marked):
    with CaptureQueriesContext(connection) as queries:
        rows = door_list(marked.users[MANAGER], marked.campaign)
        [(v.household.room, v.unit.number, v.building.number, v.visited_by) for v in rows]
    assert len(rows) == 7 and len(queries) == 1


def test_campaigns_of_compound_with_counts(marked):
    second = plan(marked, name="第二批", starts_on=marked.campaign.starts_on + datetime.timedelta(days=3))
    rows = campaigns_of_compound(marked.users[MANAGER], marked.compound_a)
    assert [(c.pk, c.households, c.final, c.delivered, c.given) for c in rows] == [
        (second.pk, 7, 0, 0, Decimal(0)),
        (marked.campaign.pk, 7, 4, 2, Decimal(60)),
    ]
    assert campaigns_of_compound(marked.users[MANAGER], marked.compound_b) == []


def test_coverage_after_doors_found_vacant(marked):
    coverage = campaign_coverage(marked.campaign)
    assert (coverage.needed, coverage.needed_known_occupied, coverage.in_stock) == (
        Decimal(210),
        Decimal(180),
        Decimal(940),
    )
    assert not coverage.covers and coverage.shares_covered and not coverage.stock_short


def test_campaign_and_visit_scoping(marked):
    other = make_user(MANAGER, compound=marked.compound_b)
    with pytest.raises(Http404):
        campaign_get(other, marked.campaign.pk)
    with pytest.raises(Http404):
        campaign_get(marked.users[RESIDENT], marked.campaign.pk)
    assert campaign_get(marked.users[OFFICIAL], marked.campaign.pk) == marked.campaign
    visit = CampaignVisit.objects.get(campaign=marked.campaign, household=marked.home_a2)
    with pytest.raises(Http404):
        visit_get(marked.users[GRID], visit.pk)
    assert visit_get(marked.users[VOLUNTEER], visit.pk).people == 1
    with pytest.raises(PermissionDenied):
        require_hands_out(marked.users[RESIDENT])
    require_hands_out(marked.users[ADMIN])
    assert [u.pk for u in campaign_units(marked.users[GRID], marked.campaign)] == [
        marked.a1u1.pk,
        marked.a1u2.pk,
    ]


# --- the map measure ------------------------------------------------------------------------------


def test_map_measure_colours_units_by_final_share_in_one_query(marked):
    measure = CampaignProgressMeasure()
    unit_ids = [marked.a1u1.pk, marked.a1u2.pk, marked.a2u1.pk]
    with CaptureQueriesContext(connection) as queries:
        rows = measure.unit_rows(marked.users[MANAGER], marked.compound_a, unit_ids)
    assert len(queries) == 1
    assert rows == {
        marked.a1u1.pk: {"campaign_households": 3, "campaign_final": 2},
        marked.a1u2.pk: {"campaign_households": 2, "campaign_final": 1},
        marked.a2u1.pk: {"campaign_households": 2, "campaign_final": 1},
    }
    assert measure.cell(rows[marked.a1u1.pk], 0) == (2 / 3, "67%")
    assert measure.cell({}, 0) == (None, "–")


def test_map_measure_uses_the_latest_campaign(marked):
    plan(marked, name="新一批", starts_on=marked.campaign.starts_on + datetime.timedelta(days=5))
    rows = CampaignProgressMeasure().unit_rows(marked.users[MANAGER], marked.compound_a, [marked.a1u1.pk])
    assert rows == {marked.a1u1.pk: {"campaign_households": 3, "campaign_final": 0}}


def test_map_measure_visible_to_the_team_only(marked):
    measure = CampaignProgressMeasure()
    assert measure.visible_to(marked.users[VOLUNTEER]) and measure.visible_to(marked.users[GRID])
    assert not measure.visible_to(marked.users[RESIDENT])
    data = compound_map(marked.users[MANAGER], marked.compound_a, "campaign")
    assert data["measure"] == "campaign" and data["palette"] == "progress"
    assert "campaign" in data["measures"]


def test_map_measure_without_campaign_is_empty(cw):
    assert CampaignProgressMeasure().unit_rows(cw.users[MANAGER], cw.compound_a, [cw.a1u1.pk]) == {}
    other = make_user(MANAGER, compound=cw.compound_b)
    campaign = plan(cw)
    assert campaign.pk
    assert CampaignProgressMeasure().unit_rows(other, cw.compound_a, [cw.a1u1.pk]) == {}
