"""Coverage selectors and exemption actions: exact counts for every column, scoping per role."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry import actions as registry_actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident
from tongxin.testing.actions.coverage import exemption_clear, exemption_set
from tongxin.testing.models import Exemption, Retest, RoundCompound, Sample, Tube
from tongxin.testing.selectors import coverage
from tongxin.testing.tests.round_helpers import make_round
from tongxin.testing.tests.test_coverage_helpers import (
    EXPECTED_A,
    EXPECTED_A1,
    EXPECTED_A2,
    coverage_world,
    retest,
    sample_into,
)


@pytest.fixture
def cov(world):
    return coverage_world(world)


def test_every_column_of_the_compound(cov):
    report = coverage.compound_coverage(cov.manager, cov.round, cov.world.compound_a.pk)
    assert report.total.as_dict(health=True) == EXPECTED_A
    by_building = {entry.place.number: entry for entry in report.buildings}
    assert by_building["1"].tally.as_dict(health=True) == EXPECTED_A1
    assert by_building["2"].tally.as_dict(health=True) == EXPECTED_A2
    units = {
        unit.place.pk: unit.tally.as_dict(health=True)
        for entry in report.buildings
        for unit in entry.children
    }
    assert units == {cov.world.a1u1.pk: EXPECTED_A1, cov.world.a2u1.pk: EXPECTED_A2}


def test_the_round_summary_by_compound(cov):
    report = coverage.round_coverage(cov.world.users[Role.PLATFORM_ADMIN], cov.round)
    assert [row.place.code for row in report.compounds] == ["A"]
    assert report.compounds[0].tally.as_dict(health=True) == EXPECTED_A
    assert report.total.as_dict(health=True) == EXPECTED_A


def test_the_missed_list_is_the_missed_column(cov):
    names = [r.name for r in coverage.missed_list(cov.manager, cov.round, cov.world.compound_a.pk)]
    assert names == ["王秀兰", "王小明"]


def test_volunteers_get_no_results_nor_people_tested_elsewhere(cov):
    tally = coverage.compound_coverage(cov.manager, cov.round, cov.world.compound_a.pk).total
    assert tally.as_dict(health=False) == {
        "expected": 10,
        "sampled": 8,
        "missed": 2,
        "exempted": 1,
        "percent": 80,
    }


def test_a_grid_worker_sees_only_their_buildings(cov):
    grid = cov.world.users[Role.GRID_WORKER]
    report = coverage.compound_coverage(grid, cov.round, cov.world.compound_a.pk)
    assert [entry.place.number for entry in report.buildings] == ["1"]
    assert report.total.as_dict(health=True) == EXPECTED_A1
    summary = coverage.round_coverage(grid, cov.round)
    assert summary.total.as_dict(health=True) == EXPECTED_A1
    assert [r.name for r in coverage.missed_list(grid, cov.round, cov.world.compound_a.pk)] == [
        "王秀兰",
        "王小明",
    ]
    with pytest.raises(Http404):
        coverage.building_get(grid, cov.round, cov.world.a2.pk)
    assert coverage.building_get(grid, cov.round, cov.world.a1.pk) == cov.world.a1


def test_an_official_sees_the_compounds_of_their_area_and_others_nothing(cov, world):
    assert (
        coverage.round_coverage(world.users[Role.OFFICIAL], cov.round).total.as_dict(health=True)
        == EXPECTED_A
    )
    other = make_round(world, compound=world.compound_b)
    with pytest.raises(Http404):
        coverage.round_get(world.users[Role.COMPOUND_MANAGER], other.pk)
    with pytest.raises(Http404):
        coverage.compound_coverage(world.users[Role.COMPOUND_MANAGER], cov.round, world.compound_b.pk)
    with pytest.raises(Http404):
        coverage.round_get(world.users[Role.RESIDENT], cov.round.pk)
    assert coverage.round_get(world.users[Role.VOLUNTEER], cov.round.pk) == cov.round


def test_a_round_over_some_buildings_expects_only_their_people(world):
    coverage_people = coverage_world(world)
    second = make_round(world, buildings=[world.a2])
    sample_into(
        second, second.table1, coverage_people.manager, "T2-NEG", [world.neighbour], result="negative"
    )
    report = coverage.compound_coverage(coverage_people.manager, second, world.compound_a.pk)
    assert [entry.place.number for entry in report.buildings] == ["2"]
    # Everyone living in building 2 but 李建国 is missed in this round, but the two tested elsewhere.
    assert report.total.as_dict(health=True) == {
        "expected": 4,
        "sampled": 1,
        "missed": 3,
        "exempted": 0,
        "percent": 25,
        "awaiting": 0,
        "negative": 1,
        "under_review": 0,
        "positive": 0,
        "elsewhere": 2,
        "exempted_by_reason": {},
    }
    with pytest.raises(Http404):
        coverage.building_get(coverage_people.manager, second, world.a1.pk)


def test_a_retest_in_a_later_round_counts_as_sampled_there(cov, world):
    later = make_round(world)
    sample_into(later, later.table1, cov.manager, "S-RETEST", [cov.review], pool_size=1, result="negative")
    assert Sample.objects.get(round=later, resident=cov.review).is_retest
    tally = coverage.compound_coverage(cov.manager, later, world.compound_a.pk).total
    assert (tally.sampled, tally.negative, tally.awaiting) == (1, 1, 0)
    # The other 11 living in A: 2 tested elsewhere, 9 missed; the retested person is not missed.
    assert (tally.expected, tally.missed, tally.elsewhere) == (10, 9, 2)
    assert cov.review.pk not in {r.pk for r in coverage.missed_list(cov.manager, later, world.compound_a.pk)}


def test_an_empty_compound_has_no_share(world):
    round_ = make_round(world)
    tally = coverage.compound_coverage(world.users[Role.COMPOUND_MANAGER], round_, world.compound_a.pk).total
    assert (tally.expected, tally.percent, tally.share) == (0, None, None)


# -- exemptions ------------------------------------------------------------------------------------


def test_exempting_a_missed_person_moves_them_to_exempted_and_is_audited(cov):
    before = AuditLog.objects.count()
    exemption = exemption_set(
        actor=cov.manager, round=cov.round, resident=cov.world.elder, reason="hospital", note=""
    )
    assert (exemption.reason, exemption.compound_id) == ("hospital", cov.world.compound_a.pk)
    tally = coverage.compound_coverage(cov.manager, cov.round, cov.world.compound_a.pk).total
    assert (tally.expected, tally.missed, tally.exempted) == (9, 1, 2)
    assert dict(tally.reasons) == {"away": 1, "hospital": 1}
    log = AuditLog.objects.order_by("-id").first()
    assert AuditLog.objects.count() == before + 1
    assert (log.action, log.detail["reason"], log.detail["resident"]) == (
        "exemption_set",
        "hospital",
        cov.world.elder.pk,
    )

    exemption_set(actor=cov.manager, round=cov.round, resident=cov.world.elder, reason="moved_out", note="")
    assert Exemption.objects.get(round=cov.round, resident=cov.world.elder).reason == "moved_out"
    assert AuditLog.objects.order_by("-id").first().detail["before"] == {"reason": "hospital", "note": ""}

    assert exemption_clear(actor=cov.manager, round=cov.round, resident=cov.world.elder) is True
    assert AuditLog.objects.order_by("-id").first().action == "exemption_clear"
    assert coverage.compound_coverage(cov.manager, cov.round, cov.world.compound_a.pk).total.missed == 2
    count = AuditLog.objects.count()
    assert exemption_clear(actor=cov.manager, round=cov.round, resident=cov.world.elder) is False
    assert AuditLog.objects.count() == count


def test_exemption_refusals(cov, world):
    with pytest.raises(ValidationError, match="本轮已采样，不能免检"):
        exemption_set(actor=cov.manager, round=cov.round, resident=cov.negative, reason="away", note="")
    with pytest.raises(ValidationError) as error:
        exemption_set(actor=cov.manager, round=cov.round, resident=world.elder, reason="other", note=" ")
    assert error.value.message_dict == {"note": ["原因为“其他”时请填写说明"]}
    with pytest.raises(ValidationError) as error:
        exemption_set(actor=cov.manager, round=cov.round, resident=world.elder, reason="bored", note="")
    assert error.value.message_dict == {"reason": ["请选择免检原因"]}
    with pytest.raises(PermissionDenied):  # another compound: outside the manager's area
        exemption_set(actor=cov.manager, round=cov.round, resident=world.stranger, reason="away", note="")
    with pytest.raises(PermissionDenied):  # building 2 is not the grid worker's
        exemption_set(
            actor=world.users[Role.GRID_WORKER], round=cov.round, resident=world.neighbour, reason="away"
        )
    with pytest.raises(PermissionDenied, match="当前角色不能设置免检"):
        exemption_set(actor=world.users[Role.VOLUNTEER], round=cov.round, resident=world.elder, reason="away")
    admin = world.users[Role.PLATFORM_ADMIN]
    with pytest.raises(ValidationError, match="赵四不在本轮检测范围内"):
        exemption_set(actor=admin, round=cov.round, resident=world.stranger, reason="away", note="")
    partial = make_round(world, buildings=[world.a2])
    with pytest.raises(ValidationError, match="王秀兰不在本轮检测范围内"):
        exemption_set(actor=cov.manager, round=partial, resident=world.elder, reason="away", note="")
    assert Exemption.objects.filter(resident__in=[world.elder, world.stranger, cov.negative]).count() == 0


def test_an_exemption_holds_in_the_compound_it_was_made_in(world):
    admin = world.users[Role.PLATFORM_ADMIN]
    Resident.objects.filter(pk=world.elder.pk).update(presence=Resident.Presence.LIVING)
    world.elder.refresh_from_db()
    round_ = make_round(world)
    RoundCompound.objects.create(round=round_, compound=world.compound_b)
    exemption_set(actor=admin, round=round_, resident=world.elder, reason="away", note="")
    assert coverage.compound_coverage(admin, round_, world.compound_a.pk).total.exempted == 1
    registry_actions.resident_move(actor=admin, resident=world.elder, household=world.home_b)
    in_b = coverage.compound_coverage(admin, round_, world.compound_b.pk).total
    assert (in_b.expected, in_b.missed, in_b.exempted) == (1, 1, 0)
    assert [r.name for r in coverage.missed_list(admin, round_, world.compound_b.pk)] == ["王秀兰"]
    assert coverage.compound_coverage(admin, round_, world.compound_a.pk).total.exempted == 0


def test_retest_states_move_people_between_columns(cov):
    Retest.objects.filter(resident=cov.review).update(state=Retest.State.NEGATIVE)
    tally = coverage.compound_coverage(cov.manager, cov.round, cov.world.compound_a.pk).total
    assert (tally.under_review, tally.negative, tally.positive) == (0, 4, 2)
    Tube.objects.filter(code="T-NEG").update(result=Tube.Result.PENDING)
    tally = coverage.compound_coverage(cov.manager, cov.round, cov.world.compound_a.pk).total
    assert (tally.awaiting, tally.negative) == (3, 3)


def test_counts_do_not_depend_on_query_order_of_pool_members(cov, world):
    """A pool with an open retest for one member and none for another: only the member whose
    retest came back leaves "under review"."""
    extra = make_resident(world.home_a1, name="复核卯", presence="living")
    pool = sample_into(
        cov.round, cov.round.table2, cov.manager, "T-POS2", [extra, world.child], result="positive"
    )
    retest(cov.round, pool, extra, Retest.State.NEGATIVE)
    tally = coverage.compound_coverage(cov.manager, cov.round, world.compound_a.pk).total
    assert (tally.sampled, tally.under_review, tally.negative, tally.missed) == (10, 2, 4, 1)
