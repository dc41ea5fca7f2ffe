"""Risk areas: raising, the clock, screenings, the lowering proposals of each rule set with exact
dates, confirming, lifting, concurrency and scoping."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import F

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions, selectors
from tongxin.outbreak.models import ResidentStatus, RiskArea, RiskAreaEvent
from tongxin.outbreak.tests.risk_helpers import d, make_case, manager, raise_building
from tongxin.registry.tests.factories import make_user


@pytest.fixture
def rule_set(settings):
    def use(code: str, overrides: str = "{}"):
        settings.TONGXIN_RULE_SET = code
        settings.TONGXIN_RULES = overrides

    return use


def proposal_on(world, day):
    """The single proposal of compound A on `day` as (area id, to level, since), or None."""
    proposals = selectors.lowering_proposals(manager(world), world.compound_a, day)
    assert len(proposals) <= 1
    if not proposals:
        return None
    p = proposals[0]
    return p.area.pk, (p.to_level.code if p.to_level else None), p.since


def first_lowering_day(world, start, end):
    day = start
    while day <= end:
        if proposal_on(world, day):
            return day
        day = day.fromordinal(day.toordinal() + 1)
    return None


def screening(world, area, on, all_negative=True):
    return actions.area_record_screening(
        actor=manager(world), area=area, on=on, all_negative=all_negative, note=""
    )


def kinds(area):
    return list(RiskAreaEvent.objects.filter(area=area).order_by("at", "id").values_list("kind", flat=True))


# -- 2022-11: high, lifted after 5 days with no new positive ----------------------------------------


def test_2022_11_high_is_lifted_after_five_days_boundary_exact(world, rule_set):
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    assert (area.level, area.raised_on, area.level_since, area.clock_from) == (
        "high",
        d(11, 14),
        d(11, 14),
        d(11, 14),
    )
    assert proposal_on(world, d(11, 18)) is None
    assert proposal_on(world, d(11, 19)) == (area.pk, None, d(11, 19))
    assert proposal_on(world, d(11, 25)) == (area.pk, None, d(11, 19))
    state = selectors.area_outlook(area, d(11, 16))
    assert (state.days_left, state.short(), state.awaiting_screening) == (3, "3天", False)
    assert selectors.area_outlook(area, d(11, 19)).short() == "可降级"

    with pytest.raises(ValidationError, match="尚不满足降级条件"):
        actions.area_lower(actor=manager(world), area=area, expected_version=area.version, on=d(11, 18))
    actions.area_lower(
        actor=manager(world), area=area, expected_version=1, on=d(11, 19), reason="连续5天无新增"
    )
    area.refresh_from_db()
    assert (area.lifted_on, area.version) == (d(11, 19), 2)
    assert kinds(area) == ["raise", "lift"]
    lift = RiskAreaEvent.objects.get(area=area, kind="lift")
    assert (lift.on, lift.from_level, lift.to_level, lift.reason, lift.actor) == (
        d(11, 19),
        "high",
        "",
        "连续5天无新增",
        manager(world),
    )
    assert proposal_on(world, d(11, 20)) is None


def test_a_new_positive_on_day_three_restarts_the_clock(world, rule_set):
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    restarted = actions.area_restart_for_case(actor=manager(world), case=make_case(world, d(11, 16)))
    assert [a.pk for a in restarted] == [area.pk]
    area.refresh_from_db()
    assert (area.clock_from, area.version) == (d(11, 16), 2)
    assert first_lowering_day(world, d(11, 14), d(11, 30)) == d(11, 21)
    restart = RiskAreaEvent.objects.get(area=area, kind="restart")
    assert (restart.on, restart.actor) == (d(11, 16), manager(world))


def test_restart_covers_the_households_unit_building_and_compound_and_never_goes_back(world, rule_set):
    rule_set("2022-11")
    building = raise_building(world, d(11, 14))
    other_building = raise_building(world, d(11, 14), building=world.a2)
    unit = actions.area_raise(
        actor=manager(world),
        compound=world.compound_a,
        scope="unit",
        unit=world.a1u1,
        reason="r",
        on=d(11, 15),
    )
    restarted = actions.area_restart_for_case(actor=manager(world), case=make_case(world, d(11, 17)))
    assert sorted(a.pk for a in restarted) == sorted([building.pk, unit.pk])
    other_building.refresh_from_db()
    assert other_building.clock_from == d(11, 14)
    # An older positive registered late does not move the clock back.
    assert actions.area_restart_for_case(actor=manager(world), case=make_case(world, d(11, 16))) == []
    building.refresh_from_db()
    assert building.clock_from == d(11, 17)


def test_a_case_with_no_active_area_at_home_raises_nothing(world, rule_set):
    rule_set("2022-11")
    raise_building(world, d(11, 14), building=world.a2)
    assert actions.area_restart_for_case(actor=manager(world), case=make_case(world, d(11, 16))) == []
    assert RiskArea.objects.count() == 1


# -- 2022-06: high -> medium -> low, 7 days and an all-negative day-7 screening --------------------


def test_2022_06_needs_seven_days_and_the_day_seven_screening(world, rule_set):
    rule_set("2022-06")
    area = raise_building(world, d(11, 1))
    assert area.level == "high"
    # Seven days without the screening: no proposal, the cell says it awaits the screening.
    assert first_lowering_day(world, d(11, 1), d(11, 20)) is None
    state = selectors.area_outlook(area, d(11, 10))
    assert (state.days_left, state.awaiting_screening, state.short()) == (0, True, "待筛查")
    # A screening on day 6 (11-06) is too early to count.
    screening(world, area, d(11, 6))
    assert first_lowering_day(world, d(11, 1), d(11, 20)) is None
    # Day 7 is 11-07: the area may drop to medium from 11-08, after the seven days.
    screening(world, area, d(11, 7))
    assert proposal_on(world, d(11, 7)) is None
    assert proposal_on(world, d(11, 8)) == (area.pk, "medium", d(11, 8))

    actions.area_lower(actor=manager(world), area=area, expected_version=area.version, on=d(11, 8))
    area.refresh_from_db()
    assert (area.level, area.level_since, area.lifted_on) == ("medium", d(11, 8), None)
    # Medium counts its own seven days from 11-08, with its own day-7 screening (11-14).
    assert first_lowering_day(world, d(11, 8), d(11, 30)) is None
    screening(world, area, d(11, 14))
    assert first_lowering_day(world, d(11, 8), d(11, 30)) == d(11, 15)
    assert proposal_on(world, d(11, 15)) == (area.pk, None, d(11, 15))
    actions.area_lower(actor=manager(world), area=area, expected_version=area.version, on=d(11, 15))
    area.refresh_from_db()
    assert (area.level, area.lifted_on) == ("medium", d(11, 15))
    assert kinds(area) == ["raise", "screening", "screening", "lower", "screening", "lift"]


def test_2022_06_a_positive_screening_cancels_the_negative_one_before_it(world, rule_set):
    rule_set("2022-06")
    area = raise_building(world, d(11, 1))
    screening(world, area, d(11, 7))
    screening(world, area, d(11, 8), all_negative=False)
    assert first_lowering_day(world, d(11, 1), d(11, 20)) is None
    screening(world, area, d(11, 10))
    assert first_lowering_day(world, d(11, 1), d(11, 20)) == d(11, 10)
    assert proposal_on(world, d(11, 12)) == (area.pk, "medium", d(11, 10))


# -- Shanghai 2022: sealed -> controlled -> precaution -> lifted -----------------------------------


def test_shanghai_sealed_controlled_precaution_with_their_day_counts(world, rule_set):
    rule_set("shanghai-2022")
    area = raise_building(world, d(4, 1))
    assert area.level == "sealed"
    # Sealed: 7 days (met on 04-08) and an all-negative day-13 screening (04-13).
    screening(world, area, d(4, 12))
    assert first_lowering_day(world, d(4, 1), d(4, 30)) is None
    screening(world, area, d(4, 13))
    assert first_lowering_day(world, d(4, 1), d(4, 30)) == d(4, 13)
    assert proposal_on(world, d(4, 13)) == (area.pk, "controlled", d(4, 13))
    actions.area_lower(actor=manager(world), area=area, expected_version=area.version, on=d(4, 13))
    area.refresh_from_db()
    assert (area.level, area.level_since) == ("controlled", d(4, 13))
    # Controlled: 7 days from 04-13 (met on 04-20) and an all-negative day-6 screening (04-18).
    screening(world, area, d(4, 18))
    assert first_lowering_day(world, d(4, 13), d(5, 30)) == d(4, 20)
    actions.area_lower(actor=manager(world), area=area, expected_version=area.version, on=d(4, 20))
    area.refresh_from_db()
    assert (area.level, area.level_since) == ("precaution", d(4, 20))
    # Precaution: 14 days, no screening: lifted from 05-04.
    assert first_lowering_day(world, d(4, 20), d(5, 30)) == d(5, 4)
    state = selectors.area_outlook(area, d(4, 21))
    assert (state.days_left, state.awaiting_screening) == (13, False)
    actions.area_lower(actor=manager(world), area=area, expected_version=area.version, on=d(5, 4))
    area.refresh_from_db()
    assert area.lifted_on == d(5, 4)
    assert [k for k in kinds(area) if k != "screening"] == ["raise", "lower", "lower", "lift"]


def test_shanghai_new_positive_in_the_sealed_building_restarts_the_day_13_count(world, rule_set):
    rule_set("shanghai-2022")
    area = raise_building(world, d(4, 1))
    actions.area_restart_for_case(actor=manager(world), case=make_case(world, d(4, 5)))
    screening(world, area, d(4, 13))  # day 9 of the new clock: too early
    assert first_lowering_day(world, d(4, 1), d(4, 30)) is None
    screening(world, area, d(4, 17))  # day 13 of the clock from 04-05
    assert first_lowering_day(world, d(4, 1), d(4, 30)) == d(4, 17)


def test_rules_override_changes_the_proposal_date(world, rule_set):
    rule_set("2022-11", '{"levels": {"high": {"days": 7}}}')
    area = raise_building(world, d(11, 14))
    assert first_lowering_day(world, d(11, 14), d(11, 30)) == d(11, 21)
    assert selectors.area_outlook(area, d(11, 19)).days_left == 2


# -- raising ------------------------------------------------------------------------------------------


def test_raising_needs_a_reason_and_a_level_of_the_rule_set(world, rule_set):
    rule_set("2022-11")
    with pytest.raises(ValidationError) as error:
        raise_building(world, d(11, 14), reason="  ")
    assert error.value.message_dict == {"reason": ["请填写原因"]}
    with pytest.raises(ValidationError) as error:
        raise_building(world, d(11, 14), level="medium")
    assert error.value.message_dict == {"level": ["当前规则中没有该风险等级：medium"]}
    assert RiskArea.objects.count() == RiskAreaEvent.objects.count() == 0


def test_raising_an_active_area_of_the_same_place_raises_it_and_keeps_one_area(world, rule_set):
    rule_set("2022-06")
    area = raise_building(world, d(11, 1), level="medium")
    with pytest.raises(ValidationError, match="不能用升级来降低或维持等级"):
        raise_building(world, d(11, 2), level="medium")
    raised = raise_building(world, d(11, 3), level="high", reason="楼内新增2例")
    assert raised.pk == area.pk
    area.refresh_from_db()
    assert (area.level, area.raised_on, area.level_since, area.clock_from, area.version) == (
        "high",
        d(11, 1),
        d(11, 3),
        d(11, 3),
        2,
    )
    events = list(
        RiskAreaEvent.objects.filter(area=area).values_list("kind", "from_level", "to_level", "reason")
    )
    assert events == [("raise", "", "medium", "首例阳性所在楼栋"), ("raise", "medium", "high", "楼内新增2例")]
    assert AuditLog.objects.filter(action="risk_raise", object_id=str(area.pk)).count() == 2


def test_raising_checks_the_place_and_the_date(world, rule_set):
    rule_set("2022-11")
    with pytest.raises(ValidationError, match="该楼栋不属于这个小区"):
        raise_building(world, d(11, 14), building=world.b1)
    with pytest.raises(ValidationError, match="请选择单元"):
        actions.area_raise(
            actor=manager(world), compound=world.compound_a, scope="unit", reason="r", on=d(11, 14)
        )
    import datetime

    from django.utils import timezone

    with pytest.raises(ValidationError, match="日期不能晚于今天"):
        raise_building(world, timezone.localdate() + datetime.timedelta(days=1))
    assert RiskArea.objects.count() == 0


def test_household_area_gets_its_unit_and_building(world, rule_set):
    rule_set("2022-11")
    area = actions.area_raise(
        actor=manager(world),
        compound=world.compound_a,
        scope="household",
        household=world.home_a1,
        reason="户内阳性",
        on=d(11, 14),
    )
    assert (area.household, area.unit, area.building) == (world.home_a1, world.a1u1, world.a1)
    assert str(area) == "1号楼1单元101室"


def test_raising_recomputes_the_status_of_the_areas_residents(world, rule_set):
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    levels = dict(ResidentStatus.objects.values_list("resident_id", "risk_level"))
    assert levels.get(world.elder.pk) == "high"
    assert levels.get(world.child.pk) == "high"
    assert levels.get(world.neighbour.pk, "") == ""
    actions.area_lift(actor=manager(world), area=area, reason="误划", on=d(11, 15))
    assert ResidentStatus.objects.get(pk=world.elder.pk).risk_level == ""


def test_area_resident_ids_by_scope(world, rule_set):
    rule_set("2022-11")
    compound = actions.area_raise(
        actor=manager(world), compound=world.compound_a, scope="compound", reason="全域静默", on=d(11, 14)
    )
    assert sorted(actions.area_resident_ids(compound)) == sorted(
        [world.elder.pk, world.child.pk, world.neighbour.pk]
    )
    assert sorted(actions.area_resident_ids(raise_building(world, d(11, 14), building=world.a2))) == [
        world.neighbour.pk
    ]


# -- screenings and lifting ---------------------------------------------------------------------------


def test_screening_dates_and_lifted_areas_are_refused(world, rule_set):
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    with pytest.raises(ValidationError, match="筛查日期不能早于划定日期"):
        screening(world, area, d(11, 13))
    actions.area_lift(actor=manager(world), area=area, reason="误划", on=d(11, 14))
    with pytest.raises(ValidationError, match="该风险区已解除"):
        screening(world, area, d(11, 15))
    with pytest.raises(ValidationError) as error:
        actions.area_lift(actor=manager(world), area=area, reason="", on=d(11, 15))
    assert error.value.message_dict == {"reason": ["请填写原因"]}
    assert kinds(area) == ["raise", "lift"]


def test_lifting_by_hand_needs_a_reason(world, rule_set):
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    with pytest.raises(ValidationError):
        actions.area_lift(actor=manager(world), area=area, reason=" ", on=d(11, 15))
    actions.area_lift(actor=manager(world), area=area, reason="上级通知解除", on=d(11, 15))
    area.refresh_from_db()
    assert area.lifted_on == d(11, 15)
    event = RiskAreaEvent.objects.get(area=area, kind="lift")
    assert (event.reason, event.from_level) == ("上级通知解除", "high")


# -- concurrency ----------------------------------------------------------------------------------------


def test_two_confirmations_with_the_same_version_one_applies(world, rule_set):
    rule_set("2022-06")
    area = raise_building(world, d(11, 1))
    screening(world, area, d(11, 7))
    version = area.version
    first = actions.area_lower(actor=manager(world), area=area, expected_version=version, on=d(11, 8))
    other = make_user(Role.GRID_WORKER, username="grid2", compound=world.compound_a, buildings=[world.a1])
    with pytest.raises(actions.StaleEdit) as error:
        actions.area_lower(actor=other, area=area, expected_version=version, on=d(11, 8))
    assert error.value.messages == ["记录已被他人修改，请刷新后重试"]
    area.refresh_from_db()
    assert (area.level, area.version) == ("medium", first.version)
    assert RiskAreaEvent.objects.filter(area=area, kind="lower").count() == 1


def test_a_write_between_the_check_and_the_update_is_not_overwritten(world, rule_set, monkeypatch):
    """The guard is the UPDATE ... WHERE version = expected itself, not only the read before it."""
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    real = selectors.lowering_state

    def racing(*args, **kwargs):
        RiskArea.objects.filter(pk=area.pk).update(version=F("version") + 1, clock_from=d(11, 16))
        return real(*args, **kwargs)

    # area_lower looks lowering_state up in its own module.
    monkeypatch.setattr("tongxin.outbreak.actions.areas.lowering_state", racing)
    with pytest.raises(actions.StaleEdit):
        actions.area_lower(actor=manager(world), area=area, expected_version=1, on=d(11, 19))
    # The simulated write shared the action's transaction, so it was rolled back with it.
    area.refresh_from_db()
    assert (area.lifted_on, area.version) == (None, 1)
    assert kinds(area) == ["raise"]


# -- who may ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_non_health_roles_cannot_write(world, rule_set, role):
    rule_set("2022-11")
    with pytest.raises(PermissionDenied):
        actions.area_raise(
            actor=world.users[role],
            compound=world.compound_a,
            scope="building",
            building=world.a1,
            reason="r",
            on=d(11, 14),
        )
    area = raise_building(world, d(11, 14))
    with pytest.raises(PermissionDenied):
        screening_by = world.users[role]
        actions.area_record_screening(actor=screening_by, area=area, on=d(11, 15), all_negative=True)
    with pytest.raises(PermissionDenied):
        actions.area_lift(actor=world.users[role], area=area, reason="r", on=d(11, 15))
    assert RiskArea.objects.count() == 1
    assert kinds(area) == ["raise"]


def test_users_outside_the_scope_cannot_write(world, rule_set):
    rule_set("2022-11")
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=world.compound_b)
    with pytest.raises(PermissionDenied):
        actions.area_raise(
            actor=manager_b,
            compound=world.compound_a,
            scope="building",
            building=world.a1,
            reason="r",
            on=d(11, 14),
        )
    # The grid worker of building 1 may raise building 1, not building 2 nor the whole compound.
    grid = world.users[Role.GRID_WORKER]
    actions.area_raise(
        actor=grid, compound=world.compound_a, scope="building", building=world.a1, reason="r", on=d(11, 14)
    )
    for scope, place in (("building", {"building": world.a2}), ("compound", {})):
        with pytest.raises(PermissionDenied):
            actions.area_raise(
                actor=grid, compound=world.compound_a, scope=scope, reason="r", on=d(11, 14), **place
            )
    assert RiskArea.objects.count() == 1


def test_scoping_of_reads(world, rule_set):
    rule_set("2022-11")
    area = raise_building(world, d(11, 14), reason="首例阳性")
    compound_wide = actions.area_raise(
        actor=None, compound=world.compound_a, scope="compound", reason="静默", on=d(11, 14)
    )
    a2_area = raise_building(world, d(11, 14), building=world.a2)
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=world.compound_b)
    assert list(selectors.areas_visible(manager_b)) == []
    from django.http import Http404

    with pytest.raises(Http404):
        selectors.area_get(manager_b, area.pk)
    with pytest.raises(Http404):
        selectors.area_get(world.users[Role.RESIDENT], area.pk)
    grid = world.users[Role.GRID_WORKER]
    assert {a.pk for a in selectors.areas_visible(grid)} == {area.pk, compound_wide.pk}
    volunteer = world.users[Role.VOLUNTEER]
    assert {a.pk for a in selectors.areas_visible(volunteer)} == {area.pk, compound_wide.pk, a2_area.pk}
    events = selectors.area_timeline(volunteer, selectors.area_get(volunteer, area.pk))
    assert [(e.kind, e.to_level, e.reason, e.actor) for e in events] == [("raise", "high", "", None)]
    assert selectors.lowering_proposals(volunteer, world.compound_a, d(11, 20)) == []
    events = selectors.area_timeline(manager(world), area)
    assert [(e.reason, e.actor) for e in events] == [("首例阳性", manager(world))]


# -- per unit ------------------------------------------------------------------------------------------


def test_unit_risk_is_the_strictest_area_covering_the_unit(world, rule_set):
    rule_set("shanghai-2022")
    raise_building(world, d(4, 1), level="controlled")
    household = actions.area_raise(
        actor=manager(world),
        compound=world.compound_a,
        scope="household",
        household=world.home_a1,
        reason="r",
        on=d(4, 3),
    )
    risk = selectors.unit_risk(manager(world), world.compound_a, [world.a1u1.pk, world.a2u1.pk], d(4, 5))
    assert set(risk) == {world.a1u1.pk}
    state = risk[world.a1u1.pk]
    assert (state.area.pk, state.level.code, state.days_left) == (household.pk, "sealed", 5)
    assert state.short() == "5天"


@pytest.mark.django_db(transaction=True)
def test_concurrent_confirmations_on_postgresql(world, rule_set, monkeypatch):
    """Two people confirm the same proposal at the same moment, each in their own connection: both
    pass the version check, then exactly one UPDATE ... WHERE version = 1 writes."""
    import threading

    from django.db import connection, connections

    if connection.vendor != "postgresql":
        pytest.skip("needs two real connections (PostgreSQL)")
    rule_set("2022-11")
    area = raise_building(world, d(11, 14))
    barrier = threading.Barrier(2, timeout=10)
    real = selectors.lowering_state

    def both_checked(*args, **kwargs):
        barrier.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr("tongxin.outbreak.actions.areas.lowering_state", both_checked)
    outcomes = []

    def confirm():
        try:
            actions.area_lower(
                actor=manager(world), area=RiskArea.objects.get(pk=area.pk), expected_version=1, on=d(11, 19)
            )
            outcomes.append("lowered")
        except actions.StaleEdit:
            outcomes.append("stale")
        finally:
            connections.close_all()

    threads = [threading.Thread(target=confirm) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["lowered", "stale"]
    area.refresh_from_db()
    assert (area.lifted_on, area.version) == (d(11, 19), 2)
    assert RiskAreaEvent.objects.filter(area=area, kind="lift").count() == 1
