"""A positive pool's retests to the end: sampled by single tube at a table, then negative (review
cleared, the household's hold gone once every retest is negative) or positive (a case)."""

import datetime

import pytest
from django.utils import timezone

from tongxin.outbreak.actions import case_register
from tongxin.outbreak.models import Case
from tongxin.outbreak.status import status_read
from tongxin.testing.actions.lab import lab_results_apply, tube_result_set
from tongxin.testing.models import Alert, Retest, Sample, Tube
from tongxin.testing.tests.test_lab_helpers import HOUR, lab_world, result_time, sampled_tube

pytestmark = pytest.mark.django_db

METHODS = pytest.mark.parametrize("method", [None, "orm"], ids=["default", "orm"])
NEG, POS = "negative", "positive"
MINUTE = datetime.timedelta(minutes=1)


@pytest.fixture
def reviewed(world):
    """T0012 (neighbour and lodger of home_a2) positive; the lodger's child is at home unsampled."""
    lab = lab_world(world)
    sampled_tube(lab, "T0012", [lab.neighbour, lab.lodger])
    report = lab_results_apply(actor=None, rows=[(2, "T0012", POS, result_time(lab))], file_name="pool.csv")
    assert (report.positive_tubes, report.people_under_review) == (1, 2)
    lab.retest_at = lab.sampled_at + 2 * HOUR
    return lab


def retest_tube(lab, code, person, *, minutes=0):
    tube = sampled_tube(lab, code, [person], at=lab.retest_at + minutes * MINUTE)
    assert tube.pool_size == 1  # "S" codes are single tubes
    return tube


def later(lab, minutes=30):
    return lab.retest_at + minutes * MINUTE


@METHODS
def test_negative_retests_clear_the_review_and_then_the_household(reviewed, method):
    lab = reviewed
    retest_tube(lab, "S0001", lab.neighbour)
    retest = Retest.objects.get(resident=lab.neighbour)
    sample = Sample.objects.get(tube__code="S0001")
    assert (retest.state, retest.sample_id, sample.is_retest) == ("sampled", sample.pk, True)

    report = lab_results_apply(
        actor=None, rows=[(2, "S0001", NEG, later(lab))], file_name="s.csv", method=method
    )
    assert (report.applied, report.positive_tubes, report.errors) == (1, 0, [])
    retest.refresh_from_db()
    assert (retest.state, retest.closed_at) == ("negative", later(lab))
    neighbour = status_read(lab.neighbour.pk)
    # No longer under review, but the household stays home while the lodger's retest is open.
    assert (neighbour.color, neighbour.reasons) == ("yellow", ["同户人员混采阳性待复核，居家管控"])
    assert status_read(lab.lodger.pk).reasons == ["混采阳性待复核"]

    retest_tube(lab, "S0002", lab.lodger, minutes=5)
    lab_results_apply(actor=None, rows=[(2, "S0002", NEG, later(lab, 40))], file_name="s2.csv", method=method)
    assert list(Retest.objects.order_by("resident_id").values_list("state", flat=True)) == [
        "negative",
        "negative",
    ]
    for person in (lab.neighbour, lab.lodger):
        status = status_read(person.pk)
        assert (status.color, status.reasons) == ("green", [])
    child = status_read(lab.lodger_child.pk)
    assert (child.color, child.reasons) == ("green", ["超过48小时未采样"])
    assert Alert.objects.filter(kind="positive_single").count() == 0


@METHODS
def test_positive_retest_becomes_a_case_once(reviewed, method):
    lab = reviewed
    retest_tube(lab, "S0003", lab.lodger)
    at = later(lab)
    report = lab_results_apply(actor=None, rows=[(2, "S0003", POS, at)], file_name="s.csv", method=method)
    assert report.to_dict() == {
        "rows": 1,
        "applied": 1,
        "positive_tubes": 1,
        "people_under_review": 0,
        "errors": [],
    }
    retest = Retest.objects.get(resident=lab.lodger)
    assert (retest.state, retest.closed_at) == ("positive", at)
    case = Case.objects.get(resident=lab.lodger)
    assert (case.source, case.confirmed_on, case.sampled_at, case.outcome, case.compound_id) == (
        "pool_retest",
        timezone.localdate(at),
        Sample.objects.get(tube__code="S0003").sampled_at,
        "active",
        lab.compound_a.pk,
    )
    assert case.created_by is None
    alert = Alert.objects.get(kind="positive_single")
    assert alert.text == "2号楼1单元201室 试管S0003 单管阳性，已登记为阳性病例"
    assert status_read(lab.lodger.pk).color == "red"
    again = lab_results_apply(actor=None, rows=[(2, "S0003", POS, at)], file_name="s.csv", method=method)
    assert (again.applied, again.errors) == (1, [])
    assert (
        Case.objects.filter(resident=lab.lodger).count(),
        Alert.objects.filter(kind="positive_single").count(),
    ) == (
        1,
        1,
    )


def test_positive_single_tube_outside_a_retest_is_a_single_test_case(world):
    lab = lab_world(world)
    tube = sampled_tube(lab, "S0100", [lab.elder])
    report = tube_result_set(
        actor=lab.users["compound_manager"], tube=tube, result=POS, result_at=result_time(lab)
    )
    assert (report.positive_tubes, report.people_under_review) == (1, 0)
    assert Case.objects.get(resident=lab.elder).source == "single_test"
    assert Alert.objects.get().text == "1号楼1单元101室 试管S0100 单管阳性，已登记为阳性病例"
    tube.refresh_from_db()
    assert (tube.result, tube.result_at) == (Tube.Result.POSITIVE, result_time(lab))


def test_person_with_an_active_case_gets_no_second_case(world):
    lab = lab_world(world)
    case_register(
        actor=None,
        compound=lab.compound_a,
        confirmed_on=timezone.localdate() - datetime.timedelta(days=1),
        source="external",
        resident=lab.child,
    )
    tube = sampled_tube(lab, "S0200", [lab.child])
    lab_results_apply(actor=None, rows=[(2, "S0200", POS, result_time(lab))], file_name="s.csv")
    assert list(Case.objects.filter(resident=lab.child).values_list("source", flat=True)) == ["external"]
    assert Alert.objects.get().text == "1号楼1单元101室 试管S0200 单管阳性，已在阳性病例名单中"
    tube.refresh_from_db()
    assert tube.result == Tube.Result.POSITIVE
