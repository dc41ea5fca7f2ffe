"""lab_results_apply: every check, all-or-nothing, idempotence, the effects of negative and
positive tubes, on both paths (on PostgreSQL the set-based one and the portable one)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection, transaction
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak.actions import flag_clear, flag_set
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.status import status_read
from tongxin.testing.actions import lab as lab_actions
from tongxin.testing.actions.lab import lab_results_apply
from tongxin.testing.models import Alert, LabImport, Retest, Tube
from tongxin.testing.tests.round_helpers import make_round
from tongxin.testing.tests.test_lab_helpers import HOUR, lab_world, result_time, sampled_tube

pytestmark = pytest.mark.django_db

METHODS = pytest.mark.parametrize("method", [None, "orm"], ids=["default", "orm"])
NEG, POS = "negative", "positive"


def local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def apply(rows, *, method=None, actor=None, round=None, name="lab.csv"):
    return lab_results_apply(actor=actor, rows=rows, file_name=name, round=round, method=method)


@pytest.fixture
def lab(world):
    return lab_world(world)


@METHODS
def test_every_check_reported_with_row_column_and_nothing_applied(lab, method):
    good = sampled_tube(lab, "T0001", [lab.elder, lab.child])
    sampled_tube(lab, "T0002", [lab.neighbour], close=False)
    early = sampled_tube(lab, "T0003", [lab.lodger])
    at = result_time(lab)
    too_early = early.closed_at - datetime.timedelta(minutes=5)
    future = timezone.now() + HOUR
    report = apply(
        [
            (2, "T0001", NEG, at),
            (3, "NOPE1", NEG, at),
            (4, "T0002", NEG, at),
            (5, "T0003", NEG, too_early),
            (6, "T0001", POS, at),
            (7, "T0001", NEG, at),
            (8, "T0003", NEG, future),
        ],
        method=method,
    )
    assert report.to_dict() == {
        "rows": 7,
        "applied": 0,
        "positive_tubes": 0,
        "people_under_review": 0,
        "errors": [
            {"row": 3, "column": "管码", "code": "unknown_tube", "message": "查无此试管：NOPE1"},
            {"row": 4, "column": "管码", "code": "not_closed", "message": "试管T0002尚未封管，不能录入结果"},
            {
                "row": 5,
                "column": "检测时间",
                "code": "before_sampling",
                "message": f"检测时间{local(too_early)}早于该试管的采样（封管）时间{local(early.closed_at)}",
            },
            {
                "row": 6,
                "column": "结果",
                "code": "duplicate_conflict",
                "message": "试管T0001在第2行为“阴性”，在第6行为“阳性”，结果不一致",
            },
            {
                "row": 8,
                "column": "检测时间",
                "code": "future_time",
                "message": f"检测时间{local(future)}晚于现在",
            },
        ],
    }
    good.refresh_from_db()
    assert (good.result, good.result_at) == (Tube.Result.PENDING, None)
    assert Tube.objects.exclude(result=Tube.Result.PENDING).count() == 0
    imported = LabImport.objects.get()
    assert (imported.rows, imported.applied, len(imported.errors), imported.round_id) == (
        7,
        0,
        5,
        lab.round.pk,
    )
    assert AuditLog.objects.filter(action="lab_import", object_id=str(imported.pk)).count() == 1


@METHODS
def test_same_result_twice_is_idempotent_and_a_different_one_conflicts(lab, method):
    tube = sampled_tube(lab, "T0001", [lab.elder, lab.child])
    at = result_time(lab)
    first = apply(
        [(2, "T0001", NEG, at), (3, "T0001", NEG, at + datetime.timedelta(minutes=5))], method=method
    )
    assert first.to_dict() == {
        "rows": 2,
        "applied": 2,
        "positive_tubes": 0,
        "people_under_review": 0,
        "errors": [],
    }
    tube.refresh_from_db()
    assert (tube.result, tube.result_at) == (Tube.Result.NEGATIVE, at)  # the earlier time of the two
    again = apply([(2, "T0001", NEG, at + HOUR)], method=method)
    assert (again.applied, again.errors) == (1, [])
    tube.refresh_from_db()
    assert tube.result_at == at
    conflict = apply([(2, "T0001", POS, at)], method=method)
    assert conflict.errors == [
        {
            "row": 2,
            "column": "结果",
            "code": "result_conflict",
            "message": "试管T0001已有结果“阴性”，与此行的“阳性”不一致",
        }
    ]
    tube.refresh_from_db()
    assert tube.result == Tube.Result.NEGATIVE and Retest.objects.count() == 0
    assert LabImport.objects.filter(round=lab.round).count() == 3  # the round, from the tubes


@METHODS
def test_one_bad_row_leaves_every_good_one_pending(lab, method):
    sampled_tube(lab, "T0001", [lab.neighbour, lab.lodger])
    sampled_tube(lab, "T0002", [lab.elder])
    at = result_time(lab)
    report = apply([(2, "T0001", POS, at), (3, "T0002", NEG, at), (4, "T9999", NEG, at)], method=method)
    assert [e["code"] for e in report.errors] == ["unknown_tube"]
    assert (report.applied, report.positive_tubes, report.people_under_review) == (0, 0, 0)
    assert set(Tube.objects.values_list("result", flat=True)) == {Tube.Result.PENDING}
    assert (Retest.objects.count(), Alert.objects.count()) == (0, 0)
    assert status_read(lab.neighbour.pk).color == "green"


@METHODS
def test_tube_outside_the_actors_area_is_unknown_and_round_is_checked(lab, method):
    other = make_round(lab, compound=lab.compound_b)
    sampled_tube(lab, "B0001", [lab.stranger], table=other.table1, actor=lab.users[Role.PLATFORM_ADMIN])
    at = result_time(lab)
    manager = lab.users[Role.COMPOUND_MANAGER]
    report = apply([(2, "B0001", NEG, at)], method=method, actor=manager)
    assert report.errors == [
        {"row": 2, "column": "管码", "code": "unknown_tube", "message": "查无此试管：B0001"}
    ]
    sampled_tube(lab, "T0001", [lab.elder])
    wrong_round = apply([(2, "T0001", NEG, at)], method=method, round=other)
    assert wrong_round.errors == [
        {"row": 2, "column": "管码", "code": "unknown_tube", "message": "本轮检测查无此试管：T0001"}
    ]
    ok = apply([(2, "T0001", NEG, at)], method=method, actor=lab.users[Role.GRID_WORKER], round=lab.round)
    assert (ok.applied, ok.errors) == (1, [])
    assert LabImport.objects.filter(applied=1).get().created_by == lab.users[Role.GRID_WORKER]


def test_roles_without_health_data_cannot_apply(lab):
    with pytest.raises(PermissionDenied):
        apply([], actor=lab.users[Role.VOLUNTEER])
    with pytest.raises(PermissionDenied):
        apply([], actor=lab.users[Role.RESIDENT])
    other = make_round(lab, compound=lab.compound_b)
    with pytest.raises(PermissionDenied):
        apply([], actor=lab.users[Role.COMPOUND_MANAGER], round=other)
    assert LabImport.objects.count() == 0


@METHODS
def test_positive_pool_puts_everyone_under_review_and_the_household_home(lab, method):
    pool = sampled_tube(lab, "T0012", [lab.neighbour, lab.lodger])
    sampled_tube(lab, "T0013", [lab.elder, lab.child])
    at = result_time(lab)
    report = apply([(2, "T0012", POS, at), (3, "T0013", NEG, at)], method=method)
    assert report.to_dict() == {
        "rows": 2,
        "applied": 2,
        "positive_tubes": 1,
        "people_under_review": 2,
        "errors": [],
    }
    retests = list(Retest.objects.order_by("resident_id").values_list("resident_id", "state", "pool_tube_id"))
    assert retests == [(lab.neighbour.pk, "open", pool.pk), (lab.lodger.pk, "open", pool.pk)]
    assert Retest.objects.get(resident=lab.lodger).household_id == lab.home_a2.pk
    alert = Alert.objects.get()
    assert (alert.kind, alert.compound_id, alert.round_id, alert.text) == (
        "positive_pool",
        lab.compound_a.pk,
        lab.round.pk,
        "2号楼1单元 试管T0012 混采阳性，2人待复核",
    )
    neighbour = status_read(lab.neighbour.pk)
    assert (neighbour.color, neighbour.reasons) == ("yellow", ["混采阳性待复核"])
    child = status_read(lab.lodger_child.pk)
    assert (child.color, child.reasons) == (
        "yellow",
        ["同户人员混采阳性待复核，居家管控", "超过48小时未采样"],
    )
    assert status_read(lab.elder.pk).color == "green"
    # The same file again: nothing new (no second retest, alert or recompute), the same report.
    again = apply([(2, "T0012", POS, at), (3, "T0013", NEG, at)], method=method)
    assert again.to_dict() == report.to_dict()
    assert (Retest.objects.count(), Alert.objects.count()) == (2, 1)


@METHODS
def test_negative_tube_recomputes_only_people_whose_status_can_change(lab, method, monkeypatch):
    sampled_tube(lab, "T0001", [lab.elder, lab.child, lab.neighbour])
    flag_set(actor=None, resident=lab.elder, kind="other", reason="外地返回", starts_at=lab.sampled_at - HOUR)
    status_read(lab.child.pk)  # stored, no holds
    ended = flag_set(
        actor=None,
        resident=lab.neighbour,
        kind="other",
        reason="时空伴随",
        starts_at=lab.sampled_at - 2 * HOUR,
    )
    flag_clear(actor=None, flag=ended, reason="核实无接触")  # a hold that has ended
    assert len(ResidentStatus.objects.get(resident=lab.neighbour).holds) == 1
    before = dict(ResidentStatus.objects.values_list("resident_id", "computed_at"))
    recomputed = []
    original = lab_actions.status_recompute

    def spy(ids, **kwargs):
        recomputed.extend(sorted(ids))
        return original(ids, **kwargs)

    monkeypatch.setattr(lab_actions, "status_recompute", spy)
    report = apply([(2, "T0001", NEG, result_time(lab))], method=method)
    assert (report.applied, report.errors) == (1, [])
    assert recomputed == [lab.elder.pk]
    after = dict(ResidentStatus.objects.values_list("resident_id", "computed_at"))
    assert after[lab.child.pk] == before[lab.child.pk]
    assert status_read(lab.elder.pk).color == "yellow"  # one negative does not clear a flag


def test_limits_the_listed_errors_and_counts_the_rest(lab, monkeypatch):
    monkeypatch.setattr(lab_actions, "MAX_ERRORS", 3)
    at = result_time(lab)
    report = apply([(n, f"X{n}", NEG, at) for n in reversed(range(2, 12))])  # kept small on the way
    assert [e["row"] for e in report.errors] == [2, 3, 4, None]
    assert report.errors[-1] == {
        "row": None,
        "column": "",
        "code": "more_errors",
        "message": "另有7处错误未列出",
    }
    assert report.rows == 10


def test_bad_tuples_are_errors_not_crashes(lab):
    at = result_time(lab)
    report = apply([(2, "", NEG, at), (3, "T1", "阴性", at), (4, "T1", NEG, "2022-11-24"), "junk"])
    assert [(e["row"], e["column"], e["code"]) for e in report.errors] == [
        (None, "", "invalid"),
        (2, "管码", "invalid"),
        (3, "结果", "invalid"),
        (4, "检测时间", "invalid"),
    ]
    assert (report.rows, report.applied) == (4, 0)


def _snapshot():
    return {
        "tubes": sorted(Tube.objects.values_list("code", "result", "result_at")),
        "retests": sorted(Retest.objects.values_list("resident_id", "state", "pool_tube__code", "closed_at")),
        "alerts": sorted(Alert.objects.values_list("kind", "compound_id", "text")),
        "statuses": sorted(ResidentStatus.objects.values_list("resident_id", "holds")),
    }


def test_both_paths_give_the_same_result(lab):
    """On PostgreSQL the set-based path and the portable path, on the same data, leave the same
    tubes, retests, alerts and statuses and report the same (on SQLite both are the portable one)."""
    sampled_tube(lab, "T0001", [lab.neighbour, lab.lodger])
    sampled_tube(lab, "T0002", [lab.elder, lab.child])
    other = make_round(lab, compound=lab.compound_b)
    sampled_tube(lab, "T0003", [lab.stranger], table=other.table1, actor=lab.users[Role.PLATFORM_ADMIN])
    flag_set(actor=None, resident=lab.child, kind="other", reason="时空伴随", starts_at=lab.sampled_at - HOUR)
    at = result_time(lab)
    bad = [
        (2, "T0001", POS, at),
        (3, "T0001", NEG, at),
        (4, "ZZZ", NEG, at),
        (5, "T0002", NEG, at - 2 * HOUR),
    ]
    good = [(2, "T0001", POS, at), (3, "T0002", NEG, at), (4, "T0003", NEG, at), (5, "T0002", NEG, at)]
    outcomes = []
    for method in (None, "orm"):
        refused = apply(bad, method=method).to_dict()
        try:
            with transaction.atomic():
                report = apply(good, method=method).to_dict()
                outcomes.append((refused, report, _snapshot()))
                raise RuntimeError("roll back")
        except RuntimeError:
            pass
    assert outcomes[0] == outcomes[1]
    refused, report, state = outcomes[0]
    assert [(e["row"], e["code"]) for e in refused["errors"]] == [
        (3, "duplicate_conflict"),
        (4, "unknown_tube"),
        (5, "before_sampling"),
    ]
    assert report == {"rows": 4, "applied": 4, "positive_tubes": 1, "people_under_review": 2, "errors": []}
    assert [t[1] for t in state["tubes"]] == ["positive", "negative", "negative"]
    assert [(r[0], r[1]) for r in state["retests"]] == [(lab.neighbour.pk, "open"), (lab.lodger.pk, "open")]
    assert state["alerts"] == [
        ("positive_pool", lab.compound_a.pk, "2号楼1单元 试管T0001 混采阳性，2人待复核")
    ]
    assert connection.vendor in ("sqlite", "postgresql")
