"""Campaign planning and door marking: the plan's rows, conversions, bad input, stock, scoping, and
two volunteers at the same door."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.core.models import AuditLog
from tongxin.registry.actions import household_verify_occupancy
from tongxin.registry.models import Household, Resident
from tongxin.supplies.actions.campaigns import (
    campaign_close,
    campaign_visit_record,
    natural_room_key,
    split_days,
)
from tongxin.supplies.models import Balance, Campaign, CampaignTask, CampaignVisit, StockMove
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(world):
    return campaign_world(world)


def _balance(world):
    return Balance.objects.get(item=world.cabbage, store=world.store).quantity


def _visit(campaign, household):
    return CampaignVisit.objects.select_related("campaign__item", "campaign__store").get(
        campaign=campaign, household=household
    )


# --- planning -------------------------------------------------------------------------------------


def test_plan_writes_one_visit_per_household_and_one_task_per_unit(cw):
    campaign = plan(cw)
    assert campaign.share_quantity == Decimal(30)  # 60 斤 = 30 公斤
    assert campaign.total_quantity == Decimal(200)
    visits = CampaignVisit.objects.filter(campaign=campaign)
    assert visits.count() == Household.objects.filter(compound=cw.compound_a).count() == 7
    assert set(visits.values_list("share", flat=True)) == {Decimal(30)}
    assert set(visits.values_list("outcome", flat=True)) == {"pending"}
    assert not visits.filter(household__compound=cw.compound_b).exists()
    start = campaign.starts_on
    tasks = {t.unit_id: (t.day, t.team) for t in CampaignTask.objects.filter(campaign=campaign)}
    # units in order [3, 2, 2] households over two days: the first unit alone on day 1
    assert tasks == {
        cw.a1u1.pk: (start, 1),
        cw.a1u2.pk: (start + datetime.timedelta(days=1), 1),
        cw.a2u1.pk: (start + datetime.timedelta(days=1), 2),
    }
    row = AuditLog.objects.get(object_type="supplies.campaign", object_id=str(campaign.pk))
    assert row.detail["households"] == 7 and row.detail["covers"] is False


def test_plan_warns_when_the_total_does_not_cover_every_share(cw):
    campaign = plan(cw)
    coverage = campaign.coverage
    assert (coverage.needed, coverage.total, coverage.shortfall) == (Decimal(210), Decimal(200), Decimal(10))
    assert not coverage.covers
    assert any("不足以覆盖" in w for w in coverage.warnings())
    covered = plan(cw, total_quantity=420, unit="jin")
    assert covered.coverage.covers and covered.total_quantity == Decimal(210)
    assert not any("不足以覆盖" in w for w in covered.coverage.warnings())


def test_known_vacant_households_are_listed_but_not_counted_as_needed(cw):
    household_verify_occupancy(actor=None, household=cw.h103, occupancy="vacant")
    campaign = plan(cw)
    assert CampaignVisit.objects.filter(campaign=campaign, household=cw.h103).exists()
    assert campaign.coverage.needed_known_occupied == Decimal(180)
    assert campaign.coverage.shares_covered


def test_per_person_share_counts_residents_not_moved_out(cw):
    Resident.objects.filter(pk=cw.child.pk).update(presence="moved_out")
    campaign = plan(cw, share_basis="person", share_quantity=Decimal(5), share_unit="kg")
    shares = dict(CampaignVisit.objects.filter(campaign=campaign).values_list("household_id", "share"))
    assert shares[cw.home_a1.pk] == Decimal(5)  # the elder; the child moved out
    assert shares[cw.h2101.pk] == Decimal(15)
    assert shares[cw.h103.pk] == Decimal(0)
    assert campaign.coverage.needed == Decimal(5 + 5 + 5 + 15)


def test_round_robin_across_teams_within_a_day(cw):
    campaign = plan(cw, days=1, teams=2)
    teams = dict(CampaignTask.objects.filter(campaign=campaign).values_list("unit_id", "team"))
    assert teams == {cw.a1u1.pk: 1, cw.a1u2.pk: 2, cw.a2u1.pk: 1}
    assert set(CampaignTask.objects.filter(campaign=campaign).values_list("day", flat=True)) == {
        campaign.starts_on
    }


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"total_quantity": Decimal(-5)}, "total_quantity"),
        ({"total_quantity": "abc"}, "total_quantity"),
        ({"share_quantity": 0}, "share_quantity"),
        ({"share_unit": "bucket"}, "share_quantity"),
        ({"unit": "box"}, "total_quantity"),
        ({"days": 0}, "days"),
        ({"days": 61}, "days"),
        ({"teams": 0}, "teams"),
        ({"teams": "x"}, "teams"),
        ({"volunteers": -1}, "volunteers"),
        ({"volunteers": 1, "teams": 2}, "volunteers"),
        ({"name": "  "}, "name"),
        ({"share_basis": "room"}, "share_basis"),
        ({"starts_on": "2026-01-01"}, "starts_on"),
    ],
)
def test_bad_input_is_refused_and_nothing_written(cw, overrides, field):
    with pytest.raises(ValidationError) as caught:
        plan(cw, **overrides)
    assert field in caught.value.message_dict
    assert not Campaign.objects.exists() and not CampaignVisit.objects.exists()


def test_item_of_another_compound_is_refused(cw):
    with pytest.raises(ValidationError) as caught:
        plan(cw, item=cw.water_b)
    assert "item" in caught.value.message_dict
    assert not Campaign.objects.exists()


@pytest.mark.parametrize("role", [GRID, VOLUNTEER])
def test_only_managers_plan(cw, role):
    with pytest.raises(PermissionDenied):
        plan(cw, actor=cw.users[role])
    assert not Campaign.objects.exists()


def test_another_compound_is_not_found(cw):
    with pytest.raises(Http404):
        plan(cw, actor=cw.users[RESIDENT])
    with pytest.raises(Http404):
        plan(cw, compound=cw.compound_b, item=cw.water_b, store=cw.store_b)


@pytest.mark.parametrize("role", [ADMIN, OFFICIAL])
def test_admin_and_official_plan(cw, role):
    assert plan(cw, actor=cw.users[role]).visits.count() == 7


@settings(max_examples=40, suppress_health_check=[HealthCheck.function_scoped_fixture], deadline=None)
@given(
    total=st.one_of(
        st.decimals(allow_nan=True, allow_infinity=True),
        st.text(max_size=12),
        st.integers(min_value=-(10**9), max_value=10**9),
    ),
    unit=st.sampled_from(["kg", "jin", "bucket", "", "斤", None]),
)
def test_any_total_either_plans_in_kg_or_is_refused_cleanly(cw, total, unit):
    try:
        campaign = plan(cw, total_quantity=total, unit=unit)
    except ValidationError as error:
        assert error.message_dict
        assert not Campaign.objects.filter(visits__isnull=True).exists()
        return
    expected = Decimal(str(total)) * (Decimal("0.5") if unit == "jin" else 1)
    assert campaign.total_quantity == expected.normalize()
    assert 0 < campaign.total_quantity <= Decimal(1000000)
    assert campaign.visits.count() == 7
    Campaign.objects.filter(pk=campaign.pk).delete()


@given(
    counts=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=60), days=st.integers(1, 10)
)
def test_split_days_is_contiguous_and_balanced(counts, days):
    result = split_days(counts, days)
    assert len(result) == len(counts)
    assert result == sorted(result)
    assert all(0 <= d < days for d in result)
    total = sum(counts)
    if total:
        per_day = [sum(c for c, d in zip(counts, result, strict=True) if d == day) for day in range(days)]
        # no day holds more than its fair part plus the largest unit
        assert max(per_day) <= total / days + max(counts)


def test_natural_room_order():
    rooms = ["1001", "101", "9", "2-10", "2-9", "B3"]
    assert sorted(rooms, key=natural_room_key) == ["2-9", "2-10", "9", "101", "1001", "B3"]


# --- marking doors --------------------------------------------------------------------------------


def test_delivered_takes_the_share_out_of_stock_and_marks_the_household_occupied(cw):
    campaign = plan(cw)
    volunteer = cw.users[VOLUNTEER]
    visit = campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.home_a1), outcome="delivered")
    assert (visit.outcome, visit.quantity, visit.attempts, visit.visited_by) == (
        "delivered",
        Decimal(30),
        1,
        volunteer,
    )
    assert _balance(cw) == Decimal(970)
    move = StockMove.objects.get(household=cw.home_a1)
    assert (move.kind, move.quantity, move.by) == ("out_household", Decimal(-30), volunteer)
    home = Household.objects.get(pk=cw.home_a1.pk)
    assert home.occupancy == "occupied"
    # Who among the registered lives here is verified person by person, not by the door.
    assert set(Resident.objects.filter(household=home).values_list("presence", flat=True)) == {"unverified"}
    assert AuditLog.objects.filter(object_type="supplies.campaignvisit", object_id=str(visit.pk)).count() == 1


def test_nobody_home_stays_to_come_back_and_can_later_be_delivered(cw):
    campaign = plan(cw)
    volunteer = cw.users[VOLUNTEER]
    visit = campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.h102), outcome="nobody_home")
    assert (visit.outcome, visit.attempts, visit.quantity) == ("nobody_home", 1, None)
    assert Household.objects.get(pk=cw.h102.pk).occupancy == "unknown"
    assert _balance(cw) == Decimal(1000)
    visit = campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.h102), outcome="nobody_home")
    assert visit.attempts == 2
    visit = campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.h102), outcome="delivered")
    assert (visit.outcome, visit.attempts) == ("delivered", 3)
    assert _balance(cw) == Decimal(970)


def test_refused_marks_occupied_without_stock(cw):
    campaign = plan(cw)
    visit = campaign_visit_record(
        actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.home_a2), outcome="refused", note="自家有菜"
    )
    assert (visit.outcome, visit.note, visit.quantity) == ("refused", "自家有菜", None)
    assert Household.objects.get(pk=cw.home_a2.pk).occupancy == "occupied"
    assert _balance(cw) == Decimal(1000)


def test_vacant_marks_the_flat_vacant_and_its_residents_away(cw):
    campaign = plan(cw)
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h2101), outcome="vacant")
    assert Household.objects.get(pk=cw.h2101.pk).occupancy == "vacant"
    assert set(Resident.objects.filter(household=cw.h2101).values_list("presence", flat=True)) == {"away"}
    assert not StockMove.objects.filter(household=cw.h2101).exists()


def test_short_stock_refuses_the_delivery_and_nothing_is_written(world):
    cw = campaign_world(world, cabbage_kg=20)
    campaign = plan(cw)
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(
            actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.home_a1), outcome="delivered"
        )
    assert caught.value.code == "insufficient_stock"
    assert "库存不足" in caught.value.messages[0]
    visit = _visit(campaign, cw.home_a1)
    assert (visit.outcome, visit.attempts) == ("pending", 0)
    assert Household.objects.get(pk=cw.home_a1.pk).occupancy == "unknown"
    assert _balance(cw) == Decimal(20)


@pytest.mark.parametrize("final", ["delivered", "refused", "vacant"])
def test_a_final_door_is_not_marked_again_by_a_volunteer(cw, final):
    campaign = plan(cw)
    manager = cw.users[MANAGER]
    campaign_visit_record(actor=manager, visit=_visit(campaign, cw.home_a1), outcome=final)
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(
            actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.home_a1), outcome="nobody_home"
        )
    assert caught.value.code == "already_marked"
    assert "manager" in caught.value.messages[0] or manager.get_full_name() in caught.value.messages[0]
    assert _visit(campaign, cw.home_a1).outcome == final


def test_a_manager_corrects_a_refused_or_vacant_door(cw):
    campaign = plan(cw)
    manager = cw.users[MANAGER]
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h2101), outcome="vacant")
    visit = campaign_visit_record(actor=manager, visit=_visit(campaign, cw.h2101), outcome="delivered")
    assert (visit.outcome, visit.quantity, visit.attempts) == ("delivered", Decimal(30), 2)
    assert Household.objects.get(pk=cw.h2101.pk).occupancy == "occupied"
    assert _balance(cw) == Decimal(970)
    # The three the vacant mark took as away are to be verified again, not left away.
    assert set(Resident.objects.filter(household=cw.h2101).values_list("presence", flat=True)) == {
        "unverified"
    }


def test_a_delivered_door_is_never_changed_even_by_a_manager(cw):
    campaign = plan(cw)
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.home_a1), outcome="delivered")
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(actor=cw.users[MANAGER], visit=_visit(campaign, cw.home_a1), outcome="refused")
    assert caught.value.code == "delivered_final"
    assert _visit(campaign, cw.home_a1).outcome == "delivered"
    assert _balance(cw) == Decimal(970)


def test_two_volunteers_at_the_same_door_one_wins_the_other_is_told(cw):
    campaign = plan(cw)
    first, second = cw.users[VOLUNTEER], cw.users[MANAGER]
    seen_by_first = _visit(campaign, cw.home_a1)
    seen_by_second = _visit(campaign, cw.home_a1)  # both read "pending"
    campaign_visit_record(actor=first, visit=seen_by_first, outcome="delivered")
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(actor=second, visit=seen_by_second, outcome="delivered")
    assert caught.value.code == "already_marked"
    message = caught.value.messages[0]
    assert first.username in message or first.get_full_name() in message
    assert "已送达" in message
    assert StockMove.objects.filter(household=cw.home_a1).count() == 1
    assert _balance(cw) == Decimal(970)


def test_two_nobody_home_marks_from_one_read_count_once(cw):
    campaign = plan(cw)
    stale = _visit(campaign, cw.h102)
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h102), outcome="nobody_home")
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(actor=cw.users[VOLUNTEER], visit=stale, outcome="nobody_home")
    assert caught.value.code == "already_marked"
    assert _visit(campaign, cw.h102).attempts == 1


def test_expected_outcome_from_the_page_is_checked(cw):
    campaign = plan(cw)
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h102), outcome="nobody_home")
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(
            actor=cw.users[VOLUNTEER],
            visit=_visit(campaign, cw.h102),
            outcome="refused",
            expected_outcome="pending",
        )
    assert caught.value.code == "already_marked"
    assert _visit(campaign, cw.h102).outcome == "nobody_home"


@pytest.mark.parametrize("outcome", ["pending", "lost", ""])
def test_invalid_outcome_is_refused(cw, outcome):
    campaign = plan(cw)
    with pytest.raises(ValidationError):
        campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h102), outcome=outcome)
    assert _visit(campaign, cw.h102).attempts == 0


def test_grid_worker_marks_only_doors_of_his_buildings(cw):
    campaign = plan(cw)
    grid = cw.users[GRID]
    assert (
        campaign_visit_record(actor=grid, visit=_visit(campaign, cw.h102), outcome="refused").outcome
        == "refused"
    )
    with pytest.raises(Http404):
        campaign_visit_record(actor=grid, visit=_visit(campaign, cw.home_a2), outcome="refused")
    assert _visit(campaign, cw.home_a2).outcome == "pending"


def test_resident_cannot_mark(cw):
    campaign = plan(cw)
    with pytest.raises(Http404):
        campaign_visit_record(
            actor=cw.users[RESIDENT], visit=_visit(campaign, cw.home_a1), outcome="delivered"
        )
    assert _balance(cw) == Decimal(1000)


def test_a_closed_campaign_takes_no_marks(cw):
    campaign = plan(cw)
    campaign_close(actor=cw.users[MANAGER], campaign=campaign)
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h102), outcome="refused")
    assert caught.value.code == "closed"
    with pytest.raises(PermissionDenied):
        campaign_close(actor=cw.users[VOLUNTEER], campaign=campaign)


def test_marking_sets_the_visit_time(cw):
    campaign = plan(cw)
    before = timezone.now()
    visit = campaign_visit_record(
        actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h102), outcome="refused"
    )
    assert before <= visit.visited_at <= timezone.now()


def test_a_round_recorded_afterwards_keeps_its_time_never_ahead(cw):
    campaign = plan(cw)
    yesterday = timezone.now() - datetime.timedelta(days=1)
    visit = campaign_visit_record(
        actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.home_a1), outcome="delivered", at=yesterday
    )
    assert visit.visited_at == yesterday
    assert StockMove.objects.get(household=cw.home_a1).at == yesterday
    assert Household.objects.get(pk=cw.home_a1.pk).occupancy_verified_on == timezone.localdate(yesterday)
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(
            actor=cw.users[VOLUNTEER],
            visit=_visit(campaign, cw.h102),
            outcome="refused",
            at=timezone.now() + datetime.timedelta(hours=1),
        )
    assert "at" in caught.value.message_dict
    assert _visit(campaign, cw.h102).outcome == "pending"


def test_the_second_is_told_even_when_the_first_account_is_gone(cw):
    from tongxin.registry.tests.factories import make_user

    campaign = plan(cw)
    gone = make_user(VOLUNTEER, username="gone", compound=cw.compound_a)
    stale = _visit(campaign, cw.h102)
    campaign_visit_record(actor=gone, visit=_visit(campaign, cw.h102), outcome="refused")
    gone.delete()
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(actor=cw.users[VOLUNTEER], visit=stale, outcome="delivered")
    assert "他人" in caught.value.messages[0] and "拒收" in caught.value.messages[0]


def test_a_per_person_share_too_large_for_a_household_is_refused(cw):
    with pytest.raises(ValidationError) as caught:
        plan(cw, share_basis="person", share_quantity=Decimal(400000), share_unit="kg", total_quantity=1)
    assert "share_quantity" in caught.value.message_dict  # 3 people × 400,000 kg
    assert not Campaign.objects.exists()


def test_the_doors_are_given_no_more_than_the_campaigns_planned_total(cw):
    """The store holds 1,000 kg but the campaign plans 60 kg (two shares of 30): the third door
    is told the campaign's total is given out, and nothing of it is written."""
    campaign = plan(cw, total_quantity=Decimal(60))
    volunteer = cw.users[VOLUNTEER]
    for home in (cw.home_a1, cw.h102):
        campaign_visit_record(actor=volunteer, visit=_visit(campaign, home), outcome="delivered")
    with pytest.raises(ValidationError) as caught:
        campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.h103), outcome="delivered")
    assert caught.value.code == "campaign_total_reached"
    assert caught.value.messages == ["本次发放总量 60公斤 已发完"]
    assert _visit(campaign, cw.h103).outcome == "pending"
    assert _balance(cw) == Decimal(940)
