"""The status engine against the published rules (rules.md, "Health code colours" and "Testing"):
each colour and reason with its exact sentence and end, time passing without a recompute, the
rule sets' numbers, the query count of a bulk recompute, and the status actions."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions
from tongxin.outbreak.models import Case, Contact, Isolation, ResidentStatus, RiskArea, StatusFlag
from tongxin.outbreak.models import TestFact as Fact
from tongxin.outbreak.status import status_read, status_recompute
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident

TZ = ZoneInfo("Asia/Shanghai")
OVERDUE_48 = "超过48小时未采样"


def at(day: int, hour: int = 12, minute: int = 0, month: int = 11) -> dt.datetime:
    return dt.datetime(2022, month, day, hour, minute, tzinfo=TZ)


def on(day: int, month: int = 11) -> dt.date:
    return dt.date(2022, month, day)


@pytest.fixture
def w(world):
    """The world with its residents registered in October 2022, so that November facts may be recorded."""
    Resident.objects.update(created_at=at(1, 0, month=10))
    for name in ("elder", "child", "neighbour", "stranger"):
        getattr(world, name).refresh_from_db()
    return world


def sampled(resident, when, result="negative", *, method="single", result_at=None, actor=None):
    return actions.test_fact_record(
        actor=actor,
        resident=resident,
        sampled_at=when,
        method=method,
        result=result,
        result_at=result_at if result_at or result == "pending" else when + dt.timedelta(hours=6),
    )


def isolation(resident, kind, starts_on, planned_end_on, rule="close_contact", **extra):
    return Isolation.objects.create(
        compound_id=resident.compound_id,
        resident=resident,
        name=resident.name,
        kind=kind,
        rule=rule,
        starts_on=starts_on,
        planned_end_on=planned_end_on,
        **extra,
    )


def read(resident, when):
    return status_read(resident.pk, at=when)


# -- green and overdue ------------------------------------------------------------------------


def test_a_resident_never_sampled_is_green_and_overdue(w):
    status = read(w.elder, at(15))
    assert status.to_dict() == {
        "color": "green",
        "overdue": True,
        "reasons": [OVERDUE_48],
        "until": None,
        "risk_level": "",
        "risk_level_label": "",
        "last_sampled_at": None,
    }
    assert ResidentStatus.objects.filter(pk=w.elder.pk).exists()  # computed on the fly and stored


def test_overdue_counts_from_the_sampling_time_and_a_pending_sample_counts(w):
    sampled(w.elder, at(10, 8), "pending")
    assert read(w.elder, at(12, 7, 59)).overdue is False
    assert read(w.elder, at(12, 8, 0)).overdue is False  # exactly 48 h: still valid
    late = read(w.elder, at(12, 8, 1))
    assert (late.color, late.overdue, late.reasons) == ("green", True, [OVERDUE_48])
    assert late.last_sampled_at == at(10, 8)


def test_an_antigen_self_test_is_not_a_nucleic_acid_sample(w):
    """Overdue means no nucleic-acid sample ("核酸超时"): an antigen result does not clear it."""
    sampled(w.elder, at(10, 8), "pending")
    sampled(w.elder, at(12, 7), method="antigen")
    status = read(w.elder, at(12, 9))
    assert (status.overdue, status.last_sampled_at) == (True, at(10, 8))


def test_antigen_negatives_do_not_clear_a_yellow_flag(w):
    actions.flag_set(actor=None, resident=w.elder, kind="overlap", reason="", starts_at=at(10, 8))
    sampled(w.elder, at(10, 9), method="antigen")
    sampled(w.elder, at(11, 10), method="antigen")
    assert read(w.elder, at(12, 12)).color == "yellow"
    sampled(w.elder, at(12, 13), method="pool")
    assert read(w.elder, at(13, 0)).color == "yellow"  # one nucleic-acid negative of the two
    sampled(w.elder, at(13, 14), method="pool")
    assert read(w.elder, at(13, 21)).color == "green"


def test_validity_is_not_moved_by_a_late_result(w):
    fact = sampled(w.elder, at(10, 8), "pending")
    actions.test_fact_set_result(actor=None, fact=fact, result="negative", result_at=at(11, 20))
    assert read(w.elder, at(12, 8, 1)).overdue is True


@pytest.mark.parametrize(
    ("rule_set", "overrides", "hours"),
    [
        ("2022-11", {}, 48),
        ("2022-06", {"test_validity_hours": 72}, 72),
        ("shanghai-2022", {"test_validity_hours": 24}, 24),
    ],
)
def test_the_validity_window_is_the_rule_sets(w, settings, rule_set, overrides, hours):
    settings.TONGXIN_RULE_SET, settings.TONGXIN_RULES = rule_set, overrides
    sampled(w.elder, at(10, 8), "pending")
    limit = at(10, 8) + dt.timedelta(hours=hours)
    assert read(w.elder, limit).overdue is False
    after = read(w.elder, limit + dt.timedelta(minutes=1))
    assert (after.overdue, after.reasons) == (True, [f"超过{hours}小时未采样"])


# -- red ----------------------------------------------------------------------------------------


def test_an_active_case_is_red_with_no_end_and_green_from_its_outcome_date(w):
    case = Case.objects.create(
        compound=w.compound_a, resident=w.elder, name=w.elder.name, confirmed_on=on(14), source="single_test"
    )
    sampled(w.elder, at(14, 8), "positive")
    status_recompute([w.elder.pk])
    status = read(w.elder, at(16))
    assert (status.color, status.reasons, status.until) == ("red", ["阳性感染者", OVERDUE_48], None)
    Case.objects.filter(pk=case.pk).update(outcome="recovered", outcome_on=on(24))
    status_recompute([w.elder.pk])
    assert read(w.elder, at(23)).until == at(24, 0)
    assert read(w.elder, at(24, 0)).color == "green"


def test_close_contact_red_through_central_then_home_isolation_then_green(w):
    sampled(w.elder, at(15, 9))
    isolation(w.elder, "central", on(15), on(19))
    isolation(w.elder, "home", on(20), on(22))
    status_recompute([w.elder.pk], now=at(15, 10))

    central = read(w.elder, at(16))
    assert central.to_dict()["color"] == "red"
    assert central.reasons == ["密接，集中隔离至11月19日"]
    assert central.until == at(23, 0)  # the home isolation follows without a gap
    assert read(w.elder, at(19, 23, 59)).reasons[0] == "密接，集中隔离至11月19日"
    home = read(w.elder, at(20, 0))
    assert (home.color, home.reasons[0], home.until) == ("red", "密接，居家隔离至11月22日", at(23, 0))
    assert read(w.elder, at(22, 23, 59)).color == "red"
    assert read(w.elder, at(23, 0)).color == "green"
    assert read(w.elder, at(15, 0)).color == "red"  # from the first day's start


def test_early_release_with_a_reason_is_green_from_that_day(w):
    home = isolation(w.elder, "home", on(15), on(21))
    Isolation.objects.filter(pk=home.pk).update(released_on=on(18), release_reason="复核为非密接")
    status_recompute([w.elder.pk])
    before = read(w.elder, at(17, 23))
    assert (before.color, before.until) == ("red", at(18, 0))
    assert read(w.elder, at(18, 0)).color == "green"


def test_an_isolation_not_yet_started_does_not_hold(w):
    isolation(w.elder, "home", on(20), on(22), rule="high_risk_leaver")
    status_recompute([w.elder.pk])
    assert read(w.elder, at(19)).color == "green"
    assert read(w.elder, at(20)).reasons[0] == "高风险区外出人员，居家隔离至11月22日"


def test_a_close_contact_not_yet_isolated_is_red_for_the_rule_sets_days(w, settings):
    case = Case.objects.create(compound=w.compound_a, name="某", confirmed_on=on(14), source="single_test")
    contact = Contact.objects.create(
        compound=w.compound_a, resident=w.child, name=w.child.name, identified_on=on(14)
    )
    contact.cases.add(case)
    status_recompute([w.child.pk])
    status = read(w.child, at(14, 18))
    assert (status.color, status.reasons[0], status.until) == ("red", "密接，待隔离", at(23, 0))  # 5 + 3 days
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    status_recompute([w.child.pk])
    assert read(w.child, at(14, 18)).until == at(29, 0)  # 7 + 7 days
    isolation(w.child, "central", on(15), on(21), contact=contact)
    status_recompute([w.child.pk])
    status = read(w.child, at(14, 18))  # red until the isolation starts, which then holds
    assert (status.color, status.reasons[0], status.until) == ("red", "密接，待隔离", at(22, 0))
    assert read(w.child, at(16)).reasons[0] == "密接，集中隔离至11月21日"


@pytest.mark.parametrize(
    ("method", "reasons"),
    [("single", ["核酸阳性"]), ("antigen", ["抗原阳性", OVERDUE_48])],  # an antigen test is no sample
)
def test_a_positive_test_without_a_case_yet_is_red(w, method, reasons):
    sampled(w.elder, at(14, 8), "positive", method=method)
    status = read(w.elder, at(14, 20))
    assert (status.color, status.reasons, status.until) == ("red", reasons, None)
    Case.objects.create(
        compound=w.compound_a, resident=w.elder, name=w.elder.name, confirmed_on=on(14), source="single_test"
    )
    status_recompute([w.elder.pk])
    assert read(w.elder, at(14, 20)).reasons == ["阳性感染者", *reasons[1:]]


# -- yellow -------------------------------------------------------------------------------------


def test_health_monitoring_is_yellow(w):
    isolation(w.elder, "monitoring", on(15), on(21), rule="other")
    status_recompute([w.elder.pk])
    status = read(w.elder, at(16))
    assert (status.color, status.reasons[0], status.until) == ("yellow", "居家健康监测至11月21日", at(22, 0))


def test_red_outranks_yellow_and_both_reasons_show(w):
    isolation(w.elder, "monitoring", on(15), on(21), rule="other")
    isolation(w.elder, "home", on(15), on(17))
    status_recompute([w.elder.pk])
    status = read(w.elder, at(16))
    assert (status.color, status.until) == ("red", at(18, 0))
    assert status.reasons[:2] == ["密接，居家隔离至11月17日", "居家健康监测至11月21日"]
    assert (read(w.elder, at(18)).color, read(w.elder, at(18)).until) == ("yellow", at(22, 0))


def test_pool_positive_is_yellow_until_the_single_tube_result(w):
    sampled(w.elder, at(14, 8), "pool_positive", method="pool", result_at=at(14, 20))
    status = read(w.elder, at(14, 21))
    assert (status.color, status.reasons, status.until) == ("yellow", ["混采阳性待复核"], None)
    retest = sampled(w.elder, at(15, 7), "pending")
    assert read(w.elder, at(15, 8)).color == "yellow"
    actions.test_fact_set_result(actor=None, fact=retest, result="negative", result_at=at(15, 12))
    assert read(w.elder, at(15, 11, 59)).until == at(15, 12)
    assert read(w.elder, at(15, 12)).color == "green"


def test_pool_positive_then_single_positive_is_red(w):
    sampled(w.elder, at(14, 8), "pool_positive", method="pool", result_at=at(14, 20))
    sampled(w.elder, at(15, 7), "positive", result_at=at(15, 12))
    status = read(w.elder, at(15, 13))
    assert (status.color, status.reasons) == ("red", ["核酸阳性"])


def test_an_overlap_flag_clears_after_two_negatives_24_hours_apart_within_3_days(w):
    actions.flag_set(
        actor=None, resident=w.elder, kind="overlap", reason="与病例同时段到访超市", starts_at=at(10, 8)
    )
    assert read(w.elder, at(10, 9)).reasons == ["时空伴随", OVERDUE_48]
    sampled(w.elder, at(10, 9), result_at=at(10, 15))
    status = read(w.elder, at(11, 9))
    assert (status.color, status.reasons, status.until) == ("yellow", ["时空伴随"], None)
    sampled(w.elder, at(11, 9), result_at=at(11, 15))
    cleared = read(w.elder, at(11, 14, 59))
    assert (cleared.color, cleared.until) == ("yellow", at(11, 15))  # clears when the result is known
    assert read(w.elder, at(11, 15)).color == "green"


def test_two_negatives_10_hours_apart_do_not_clear_a_flag(w):
    actions.flag_set(actor=None, resident=w.elder, kind="overlap", reason="", starts_at=at(10, 8))
    sampled(w.elder, at(10, 9))
    sampled(w.elder, at(10, 19))
    assert read(w.elder, at(11, 12)).color == "yellow"


def test_negatives_more_than_3_days_apart_or_before_the_flag_do_not_clear_it(w):
    sampled(w.elder, at(9, 9))
    actions.flag_set(actor=None, resident=w.elder, kind="missed_test", reason="", starts_at=at(10, 8))
    sampled(w.elder, at(10, 9))
    sampled(w.elder, at(14, 9))
    status = read(w.elder, at(15))
    assert (status.color, status.reasons) == ("yellow", ["未按要求检测"])
    sampled(w.elder, at(15, 9), result_at=at(15, 14))
    assert read(w.elder, at(15, 14)).color == "green"  # the 14th and the 15th, 24 h apart


def test_the_flag_clearing_numbers_are_the_rule_sets(w, settings):
    settings.TONGXIN_RULES = {"yellow_clear_negatives": 3, "yellow_clear_min_gap_hours": 12}
    actions.flag_set(actor=None, resident=w.elder, kind="arrival", reason="", starts_at=at(10, 8))
    sampled(w.elder, at(10, 9))
    sampled(w.elder, at(10, 21), result_at=at(11, 1))
    assert read(w.elder, at(11, 2)).color == "yellow"
    sampled(w.elder, at(11, 9), result_at=at(11, 13))
    assert read(w.elder, at(11, 13)).color == "green"


def test_a_flag_cleared_by_a_person_is_green_and_needs_a_reason(w):
    flag = actions.flag_set(actor=None, resident=w.elder, kind="other", reason="", starts_at=at(10, 8))
    manager = w.users[Role.COMPOUND_MANAGER]
    with pytest.raises(ValidationError):
        actions.flag_clear(actor=manager, flag=flag, reason=" ")
    actions.flag_clear(actor=manager, flag=flag, reason="核实为误报")
    assert status_read(w.elder.pk).color == "green"
    assert AuditLog.objects.filter(object_type="outbreak.statusflag", reason="核实为误报").count() == 1
    with pytest.raises(ValidationError):
        actions.flag_clear(actor=manager, flag=flag, reason="再次解除")


# -- risk level -----------------------------------------------------------------------------------


def area(world, scope, level, **place):
    return RiskArea.objects.create(
        compound=world.compound_a,
        scope=scope,
        level=level,
        raised_on=on(14),
        level_since=on(14),
        clock_from=on(14),
        **place,
    )


def test_the_risk_level_is_the_strictest_active_area_covering_the_home(w, settings):
    settings.TONGXIN_RULE_SET = "2022-06"
    medium = area(w, "compound", "medium")
    high = area(w, "building", "high", building=w.a1)
    everyone = [w.elder.pk, w.child.pk, w.neighbour.pk, w.stranger.pk]
    status_recompute(everyone)
    assert (read(w.elder, at(15)).risk_level, read(w.elder, at(15)).risk_level_label) == ("high", "高风险区")
    assert read(w.neighbour, at(15)).risk_level_label == "中风险区"
    assert read(w.stranger, at(15)).risk_level == ""
    assert ResidentStatus.objects.get(pk=w.elder.pk).risk_area_id == high.pk
    assert read(w.elder, at(15)).color == "green"  # the level is told, not a colour by itself
    RiskArea.objects.filter(pk__in=[high.pk, medium.pk]).update(lifted_on=on(21))
    status_recompute(everyone)
    assert read(w.elder, at(22)).risk_level == ""


@pytest.mark.parametrize(
    ("scope", "place", "covered"),
    [("unit", "a2u1", {"neighbour"}), ("household", "home_a1", {"elder", "child"})],
)
def test_unit_and_household_areas(w, settings, scope, place, covered):
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    area(w, scope, "sealed", **{scope: getattr(w, place)})
    status_recompute([w.elder.pk, w.child.pk, w.neighbour.pk])
    levels = {
        name: read(getattr(w, name), at(15)).risk_level_label for name in ("elder", "child", "neighbour")
    }
    assert levels == {name: "封控区" if name in covered else "" for name in levels}


# -- reading and recomputing ----------------------------------------------------------------------


def test_a_stored_status_is_one_primary_key_lookup(w, django_assert_num_queries):
    status_recompute([w.elder.pk])
    with django_assert_num_queries(1):
        status_read(w.elder.pk)


def test_an_unknown_resident_has_no_status(db):
    with pytest.raises(Resident.DoesNotExist):
        status_read(999999)


def _residents_with_holds(w, count: int) -> list[int]:
    ids = []
    for index in range(count):
        resident = make_resident(w.home_a2, name=f"居民{index}", phone="")
        ids.append(resident.pk)
        Fact.objects.create(
            resident=resident,
            compound=w.compound_a,
            sampled_at=at(10, 8),
            method="pool",
            result="pool_positive",
        )
        Fact.objects.create(
            resident=resident, compound=w.compound_a, sampled_at=at(11, 8), method="single", result="negative"
        )
        StatusFlag.objects.create(
            resident=resident, compound=w.compound_a, kind="overlap", starts_at=at(10, 6)
        )
        isolation(resident, "home", on(15), on(17))
        Case.objects.create(
            compound=w.compound_a, resident=resident, name="x", confirmed_on=on(16), source="single_test"
        )
    area(w, "unit", "high", unit=w.a2u1)
    return ids


@pytest.mark.parametrize("count", [3, 30])
def test_recomputing_n_residents_takes_a_fixed_number_of_queries(w, count, django_assert_max_num_queries):
    ids = _residents_with_holds(w, count)
    # 10 of the outbreak module's own, one per registered source (mass testing's samples and
    # household reviews).
    with django_assert_max_num_queries(12):
        status_recompute(ids)
    assert ResidentStatus.objects.filter(pk__in=ids, risk_level="high").count() == count
    first = ResidentStatus.objects.get(pk=ids[0])
    assert sorted(h["code"] for h in first.holds) == ["case", "flag_overlap", "home", "pool_positive"]


def test_the_query_count_is_the_same_for_3_and_30_residents(w):
    counts = []
    for ids in (_residents_with_holds(w, 3), _residents_with_holds(w, 30)):
        with CaptureQueriesContext(connection) as captured:
            status_recompute(ids)
        counts.append(len(captured))
    assert counts[0] == counts[1]


# -- actions: bad input and scope -----------------------------------------------------------------


def test_recording_a_fact_is_audited_and_recomputes(w):
    grid = w.users[Role.GRID_WORKER]  # covers building 1, where the elder lives
    fact = sampled(w.elder, at(15, 8), "pending", actor=grid)
    assert fact.recorded_by == grid and fact.compound_id == w.compound_a.pk
    assert AuditLog.objects.filter(object_type="outbreak.testfact", object_id=str(fact.pk)).count() == 1
    assert ResidentStatus.objects.get(pk=w.elder.pk).last_sampled_at == at(15, 8)


@pytest.mark.parametrize(
    ("when", "result_at", "message"),
    [
        (at(30, 12, month=9), None, "登记"),  # before the resident was registered
        (dt.datetime(2999, 1, 1, tzinfo=TZ), None, "晚于现在"),
        (at(15, 12), at(15, 11), "早于采样时间"),
        (dt.datetime(2022, 11, 15, 12), None, "时区"),  # noqa: DTZ001  a naive time
    ],
)
def test_impossible_times_are_refused_and_nothing_is_written(w, when, result_at, message):
    with pytest.raises(ValidationError) as raised:
        actions.test_fact_record(
            actor=None,
            resident=w.elder,
            sampled_at=when,
            method="single",
            result="negative",
            result_at=result_at,
        )
    assert message in str(raised.value)
    assert not Fact.objects.exists() and not ResidentStatus.objects.exists()


def test_unknown_method_and_result_are_refused(w):
    with pytest.raises(ValidationError):
        actions.test_fact_record(actor=None, resident=w.elder, sampled_at=at(15), method="saliva")
    with pytest.raises(ValidationError):
        actions.test_fact_record(
            actor=None, resident=w.elder, sampled_at=at(15), method="single", result="maybe"
        )
    with pytest.raises(ValidationError):
        actions.flag_set(actor=None, resident=w.elder, kind="rumour", reason="")


@pytest.mark.parametrize(
    ("role", "resident"),
    [
        (Role.COMPOUND_MANAGER, "stranger"),  # another compound
        (Role.GRID_WORKER, "neighbour"),  # a building the grid worker does not cover
        (Role.VOLUNTEER, "elder"),  # not a health role
        (Role.RESIDENT, "elder"),  # their own household, still not a health role
    ],
)
def test_status_writes_outside_the_users_area_or_role_are_refused(w, role, resident):
    user, person = w.users[role], getattr(w, resident)
    with pytest.raises(PermissionDenied):
        actions.test_fact_record(actor=user, resident=person, sampled_at=at(15), method="single")
    with pytest.raises(PermissionDenied):
        actions.flag_set(actor=user, resident=person, kind="overlap", reason="")
    flag = StatusFlag.objects.create(
        resident=person, compound_id=person.compound_id, kind="other", starts_at=at(9)
    )
    with pytest.raises(PermissionDenied):
        actions.flag_clear(actor=user, flag=flag, reason="误报")
    fact = Fact.objects.create(
        resident=person, compound_id=person.compound_id, sampled_at=at(9), method="pool"
    )
    with pytest.raises(PermissionDenied):
        actions.test_fact_set_result(actor=user, fact=fact, result="negative", result_at=at(10))
    assert Fact.objects.count() == 1 and StatusFlag.objects.get().cleared_at is None
    assert not ResidentStatus.objects.exists() and not AuditLog.objects.filter(actor=user).exists()


# -- the command ----------------------------------------------------------------------------------


def test_the_command_prints_the_status_as_json(w, capsys):
    isolation(w.elder, "central", on(15), on(19))
    sampled(w.elder, at(16, 8))
    call_command("status", str(w.elder.pk), "--at", "2022-11-16T12:00:00+08:00", "--format", "json")
    assert capsys.readouterr().out.strip() == (
        '{"color": "red", "overdue": false, "reasons": ["密接，集中隔离至11月19日"], '
        '"until": "2022-11-20T00:00:00+08:00", "risk_level": ""}'
    )
    call_command("status", str(w.child.pk), "--at", "2022-11-16T12:00", "--format", "json")
    assert capsys.readouterr().out.strip() == (
        '{"color": "green", "overdue": true, "reasons": ["超过48小时未采样"], "until": null, "risk_level": ""}'
    )


def test_the_command_refuses_an_unknown_resident(db):
    with pytest.raises(CommandError, match="no resident with id 424242"):
        call_command("status", "424242", "--format", "json")
