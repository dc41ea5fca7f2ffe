"""Cases, contacts, transfers, isolations and check-ins: the actions and their refusals."""

import datetime
import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions, selectors
from tongxin.outbreak.models import Case, Contact, HealthCheckin, Isolation, TransferBatch
from tongxin.outbreak.tests.case_helpers import a_case, a_contact, at_local, days_ago, manager
from tongxin.registry.tests.factories import make_resident, make_user


def transfer(world, contacts, *, departed=2):
    """Depart at 20:00 `departed` days ago: by default the day `a_contact` identifies the contact."""
    return actions.transfer_batch_create(
        actor=manager(world),
        compound=world.compound_a,
        vehicle="蒙A·12345",
        departed_at=at_local(days_ago(departed), 20),
        destination="赛罕区集中隔离点",
        escort="张医生",
        contacts=contacts,
    )


def plan_of(contact):
    return [
        (iso.kind, iso.starts_on, iso.planned_end_on, iso.test_days)
        for iso in Isolation.objects.filter(contact=contact).order_by("starts_on")
    ]


# -- isolation planning from each rule set ----------------------------------------------------------


def test_close_contact_plan_2022_11_is_5_central_then_3_home(world):
    contact = a_contact(world, a_case(world))
    batch = transfer(world, [contact], departed=2)
    start = days_ago(2)
    d = datetime.timedelta
    assert plan_of(contact) == [
        ("central", start, start + d(days=4), [1, 2, 3, 5]),
        ("home", start + d(days=5), start + d(days=7), [1, 3]),
    ]
    central = Isolation.objects.get(contact=contact, kind="central")
    assert central.batch == batch and central.resident == world.elder and central.rule == "close_contact"
    assert Isolation.objects.get(contact=contact, kind="home").batch is None


def test_close_contact_plan_june_2022(world, settings):
    settings.TONGXIN_RULE_SET = "2022-06"
    contact = a_contact(world, a_case(world))
    transfer(world, [contact], departed=0)
    start, d = days_ago(0), datetime.timedelta
    assert plan_of(contact) == [
        ("central", start, start + d(days=6), [1, 2, 3, 5, 7]),
        ("home", start + d(days=7), start + d(days=9), [3]),
    ]


def test_close_contact_plan_shanghai_2022(world, settings):
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    contact = a_contact(world, a_case(world))
    transfer(world, [contact], departed=1)
    start, d = days_ago(1), datetime.timedelta
    assert plan_of(contact) == [
        ("central", start, start + d(days=6), [1, 2, 3, 5, 7]),
        ("home", start + d(days=7), start + d(days=13), [1, 3, 5, 7]),
    ]


def test_tongxin_rules_override_changes_the_plan(world, settings):
    settings.TONGXIN_RULES = (
        '{"close_contact": {"central_days": 3, "central_test_days": [1, 3], "home_days": 0}}'
    )
    contact = a_contact(world, a_case(world))
    transfer(world, [contact], departed=2)
    start = days_ago(2)
    assert plan_of(contact) == [("central", start, start + datetime.timedelta(days=2), [1, 3])]


def test_high_risk_leaver_gets_seven_days_home_with_tests_from_the_rule_set(world):
    iso = actions.isolation_create(
        actor=manager(world),
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(1),
        resident=world.neighbour,
    )
    assert (iso.kind, iso.starts_on, iso.planned_end_on, iso.test_days) == (
        "home",
        days_ago(1),
        days_ago(1) + datetime.timedelta(days=6),
        [1, 3, 5, 7],
    )


def test_monitoring_needs_explicit_days(world):
    with pytest.raises(ValidationError) as error:
        actions.isolation_create(
            actor=manager(world),
            compound=world.compound_a,
            rule="other",
            kind="monitoring",
            starts_on=days_ago(0),
            resident=world.neighbour,
        )
    assert error.value.message_dict == {"days": ["请填写天数"]}
    iso = actions.isolation_create(
        actor=manager(world),
        compound=world.compound_a,
        rule="other",
        kind="monitoring",
        starts_on=days_ago(0),
        resident=world.neighbour,
        days=3,
        test_days=[3],
    )
    assert (iso.planned_end_on, iso.test_days) == (days_ago(0) + datetime.timedelta(days=2), [3])
    assert Isolation.objects.count() == 1


def test_a_batch_cannot_depart_before_its_contacts_were_identified(world):
    case = a_case(world)
    elder = a_contact(world, case, identified=1)  # 王秀兰
    zhang = a_contact(world, case, resident=make_resident(world.home_a1, name="张三"), identified=1)
    early = a_contact(world, case, resident=make_resident(world.home_a1, name="李四"), identified=3)
    with pytest.raises(ValidationError) as error:
        transfer(world, [zhang, early, elder], departed=2)
    assert error.value.message_dict == {"departed_at": ["出发时间早于密接判定日期：张三、王秀兰"]}
    assert not TransferBatch.objects.exists() and not Isolation.objects.exists()
    assert AuditLog.objects.filter(object_type="outbreak.transferbatch").count() == 0
    # Departing on the day of identification, even just after midnight, is possible.
    batch = actions.transfer_batch_create(
        actor=manager(world),
        compound=world.compound_a,
        vehicle="蒙A·12345",
        departed_at=at_local(days_ago(1), 0),
        destination="赛罕区集中隔离点",
        contacts=[zhang, early, elder],
    )
    assert Isolation.objects.filter(batch=batch, starts_on=days_ago(1)).count() == 3


def test_a_contact_is_transferred_once(world):
    contact = a_contact(world, a_case(world))
    transfer(world, [contact])
    with pytest.raises(ValidationError) as error:
        transfer(world, [contact])
    assert error.value.message_dict == {"contacts": ["已安排隔离：王秀兰"]}
    assert Isolation.objects.count() == 2


# -- release --------------------------------------------------------------------------------------


def released_isolation(world, *, starts=6, days=7):
    return actions.isolation_create(
        actor=manager(world),
        compound=world.compound_a,
        rule="other",
        kind="home",
        starts_on=days_ago(starts),
        resident=world.neighbour,
        days=days,
    )


def test_release_on_the_planned_end_needs_no_reason(world):
    iso = released_isolation(world, starts=6, days=7)
    iso = actions.isolation_release(actor=manager(world), isolation=iso, version=1, released_on=days_ago(0))
    assert (iso.released_on, iso.release_reason, iso.version) == (days_ago(0), "", 2)


@pytest.mark.parametrize(
    ("starts", "message"),
    [(3, "提前解除须填写原因"), (9, "延后解除须填写原因")],
)
def test_early_or_late_release_needs_a_reason(world, starts, message):
    iso = released_isolation(world, starts=starts, days=7)
    with pytest.raises(ValidationError) as error:
        actions.isolation_release(actor=manager(world), isolation=iso, version=1, released_on=days_ago(0))
    assert error.value.message_dict == {"reason": [message]}
    iso.refresh_from_db()
    assert (iso.released_on, iso.version) == (None, 1)
    iso = actions.isolation_release(
        actor=manager(world), isolation=iso, version=1, released_on=days_ago(0), reason="核酸连续阴性，经评估"
    )
    assert iso.release_reason == "核酸连续阴性，经评估"


def test_release_before_start_is_refused(world):
    iso = released_isolation(world, starts=2)
    with pytest.raises(ValidationError) as error:
        actions.isolation_release(
            actor=manager(world), isolation=iso, version=1, released_on=days_ago(3), reason="录错"
        )
    assert error.value.message_dict == {"released_on": ["解除日期不能早于开始日期"]}
    iso.refresh_from_db()
    assert iso.released_on is None


def test_release_with_a_stale_version_is_refused(world):
    iso = released_isolation(world, starts=6, days=7)
    actions.isolation_release(actor=manager(world), isolation=iso, version=1, released_on=days_ago(0))
    iso.released_on = None  # a page that still shows the isolation open
    with pytest.raises(ValidationError):
        actions.isolation_release(actor=manager(world), isolation=iso, version=1, released_on=days_ago(0))


# -- cases and contacts ----------------------------------------------------------------------------


def test_case_register_copies_the_residents_place_and_audits(world):
    case = a_case(world)
    assert (case.compound, case.building, case.unit, case.household, case.name) == (
        world.compound_a,
        world.a2,
        world.a2u1,
        world.home_a2,
        "李建国",
    )
    assert case.phone_masked == "139****1111"
    assert (
        AuditLog.objects.filter(action="create", object_type="outbreak.case", object_id=str(case.pk)).count()
        == 1
    )


def test_a_non_resident_case_keeps_the_phone_protected(world):
    case = actions.case_register(
        actor=manager(world),
        compound=world.compound_a,
        confirmed_on=days_ago(1),
        source="external",
        name="外来务工人员",
        phone="13698765432",
        household=world.home_a1,
    )
    assert case.phone_masked == "136****5432"
    assert "13698765432" not in case.phone_cipher
    assert (case.building_id, case.unit_id) == (world.a1.pk, world.a1u1.pk)


def test_case_refusals_write_nothing(world):
    with pytest.raises(ValidationError) as error:
        actions.case_register(
            actor=manager(world),
            compound=world.compound_a,
            confirmed_on=days_ago(-1),
            source="single_test",
            resident=world.neighbour,
        )
    assert error.value.message_dict == {"confirmed_on": ["确诊日期不能晚于今天"]}
    with pytest.raises(ValidationError) as error:
        actions.case_register(
            actor=manager(world),
            compound=world.compound_a,
            confirmed_on=datetime.date(2010, 1, 1),
            source="single_test",
            resident=world.child,
        )
    assert error.value.message_dict == {"confirmed_on": ["确诊日期不能早于出生日期"]}
    with pytest.raises(ValidationError) as error:
        actions.case_register(
            actor=manager(world),
            compound=world.compound_a,
            confirmed_on=days_ago(1),
            source="single_test",
            resident=world.stranger,
        )
    assert error.value.message_dict == {"resident": ["该居民不属于本小区"]}
    assert Case.objects.count() == 0
    assert AuditLog.objects.filter(object_type="outbreak.case").count() == 0


def test_a_contact_cannot_be_the_case_themself(world):
    case = a_case(world)
    with pytest.raises(ValidationError) as error:
        a_contact(world, case, resident=world.neighbour)
    assert error.value.message_dict == {"resident": ["密接不能是病例本人"]}
    outsider = actions.case_register(
        actor=manager(world),
        compound=world.compound_a,
        confirmed_on=days_ago(1),
        source="external",
        name="外来人员",
        phone="13698765432",
    )
    with pytest.raises(ValidationError) as error:
        actions.contact_register(
            actor=manager(world),
            cases=[outsider],
            identified_on=days_ago(0),
            name="外来人员",
            phone="13698765432",
        )
    assert error.value.message_dict == {"resident": ["密接不能是病例本人"]}
    assert Contact.objects.count() == 0


def test_a_contact_cannot_be_identified_in_the_future(world):
    case = a_case(world)
    with pytest.raises(ValidationError) as error:
        a_contact(world, case, identified=-1)
    assert error.value.message_dict == {"identified_on": ["判定日期不能晚于今天"]}
    assert Contact.objects.count() == 0
    # Identification may precede the formal confirmation of the case.
    assert a_contact(world, case, identified=5).identified_on == days_ago(5)


def test_a_contact_links_to_several_cases_of_one_compound(world):
    first = a_case(world)
    second = a_case(world, resident=world.child, confirmed=2)
    contact = actions.contact_register(
        actor=manager(world),
        cases=[first, second],
        identified_on=days_ago(1),
        resident=world.elder,
    )
    assert sorted(contact.cases.values_list("pk", flat=True)) == sorted([first.pk, second.pk])
    other = actions.case_register(
        actor=make_user(Role.COMPOUND_MANAGER, compound=world.compound_b),
        compound=world.compound_b,
        confirmed_on=days_ago(1),
        source="single_test",
        resident=world.stranger,
    )
    with pytest.raises(ValidationError) as error:
        actions.contact_register(actor=None, cases=[first, other], identified_on=days_ago(0), name="某人")
    assert error.value.message_dict == {"cases": ["所选病例须属于同一小区"]}


def test_contact_became_case_links_the_new_case(world):
    contact = a_contact(world, a_case(world))
    case = actions.contact_became_case(
        actor=manager(world), contact=contact, confirmed_on=days_ago(0), source="single_test"
    )
    contact.refresh_from_db()
    assert contact.became_case == case and case.resident == world.elder
    with pytest.raises(ValidationError):
        actions.contact_became_case(
            actor=manager(world), contact=contact, confirmed_on=days_ago(0), source="single_test"
        )


# -- concurrent edits -------------------------------------------------------------------------------


def test_two_updates_with_the_same_version_the_second_is_refused(world):
    case = a_case(world)
    mine, theirs = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)
    actions.case_update(actor=manager(world), case=mine, version=mine.version, note="首次编辑")
    with pytest.raises(ValidationError) as error:
        actions.case_update(actor=manager(world), case=theirs, version=theirs.version, note="第二次编辑")
    assert error.value.messages == ["记录已被他人修改，请刷新后重试"]
    assert isinstance(error.value, actions.StaleEdit)
    case.refresh_from_db()
    assert (case.note, case.version) == ("首次编辑", 2)
    assert AuditLog.objects.filter(action="update", object_type="outbreak.case").count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks whole tables across threads",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_holding_one_version_cannot_both_win(world):
    case = a_case(world)
    barrier = threading.Barrier(2)
    results = []

    def edit(note):
        try:
            barrier.wait(timeout=5)
            actions.case_update(actor=manager(world), case=Case.objects.get(pk=case.pk), version=1, note=note)
            results.append("ok")
        except ValidationError as error:
            results.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(note,)) for note in ("甲", "乙")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "记录已被他人修改，请刷新后重试"]
    case.refresh_from_db()
    assert case.version == 2 and case.note in ("甲", "乙")


def test_case_transfer_and_outcome_use_the_version(world):
    case = a_case(world)
    case = actions.case_transfer(
        actor=manager(world),
        case=case,
        version=1,
        taken_to="shelter",
        place="会展中心方舱",
        taken_at=at_local(days_ago(2)),
    )
    assert (case.taken_to, case.taken_to_place, case.version) == ("shelter", "会展中心方舱", 2)
    with pytest.raises(ValidationError):
        actions.case_set_outcome(
            actor=manager(world), case=case, version=1, outcome="recovered", on=days_ago(0)
        )
    case = actions.case_set_outcome(
        actor=manager(world), case=case, version=2, outcome="recovered", on=days_ago(0)
    )
    assert (case.outcome, case.outcome_on) == ("recovered", days_ago(0))


# -- audited views and scoping --------------------------------------------------------------------


def test_every_view_of_a_case_or_contact_writes_an_audit_row(world):
    case = a_case(world)
    contact = a_contact(world, case)
    user = manager(world)
    for _ in range(3):
        selectors.case_get(user, case.pk)
    selectors.contact_get(user, contact.pk)
    selectors.contact_get(world.users[Role.OFFICIAL], contact.pk)
    views = AuditLog.objects.filter(action="view")
    assert views.filter(object_type="outbreak.case", object_id=str(case.pk), actor=user).count() == 3
    assert views.filter(object_type="outbreak.contact", object_id=str(contact.pk)).count() == 2


def test_scoping_of_cases(world):
    case = a_case(world)  # lives in building 2
    in_b1 = a_case(world, resident=world.child)  # building 1
    manager_b = make_user(Role.COMPOUND_MANAGER, compound=world.compound_b)
    for user in (manager_b, world.users[Role.VOLUNTEER], world.users[Role.RESIDENT]):
        with pytest.raises(Http404):
            selectors.case_get(user, case.pk)
        assert list(selectors.cases_visible(user)) == []
    grid = world.users[Role.GRID_WORKER]  # building 1 only
    assert list(selectors.cases_visible(grid)) == [in_b1]
    with pytest.raises(Http404):
        selectors.case_get(grid, case.pk)
    assert AuditLog.objects.filter(action="view").count() == 0
    with pytest.raises(PermissionDenied):
        actions.case_update(actor=manager_b, case=case, version=1, note="越权")
    with pytest.raises(PermissionDenied):
        actions.case_update(actor=grid, case=case, version=1, note="越权")
    with pytest.raises(PermissionDenied):
        actions.case_register(
            actor=world.users[Role.VOLUNTEER],
            compound=world.compound_a,
            confirmed_on=days_ago(0),
            source="antigen",
            name="某人",
        )
    with pytest.raises(PermissionDenied):
        actions.case_register(
            actor=grid,
            compound=world.compound_a,
            confirmed_on=days_ago(0),
            source="antigen",
            resident=world.neighbour,
        )
    case.refresh_from_db()
    assert case.version == 1


# -- check-ins -----------------------------------------------------------------------------------


@pytest.mark.parametrize("temperature", ["33.9", "43.1", "abc", "", "NaN", "Infinity"])
def test_temperature_out_of_range_is_refused_and_nothing_is_written(world, temperature):
    iso = released_isolation(world, starts=1)
    with pytest.raises(ValidationError) as error:
        actions.checkin_record(actor=manager(world), isolation=iso, temperature=temperature)
    assert list(error.value.message_dict) == ["temperature"]
    assert HealthCheckin.objects.count() == 0


def test_checkin_by_staff_and_by_the_resident_for_their_household(world):
    iso = actions.isolation_create(
        actor=manager(world),
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(1),
        resident=world.elder,
    )
    staff = actions.checkin_record(
        actor=manager(world), isolation=iso, temperature="36.6", symptoms=["cough"]
    )
    own = actions.checkin_record(
        actor=world.users[Role.RESIDENT],
        isolation=iso,
        temperature=37.85,
        symptoms=["fever"],
        symptoms_text="头痛",
    )
    assert (staff.by, staff.symptoms, staff.temperature) == ("staff", "咳嗽", Decimal("36.6"))
    assert (own.by, own.symptoms, own.temperature, own.resident) == (
        "self",
        "发热、头痛",
        Decimal("37.9"),
        world.elder,
    )
    other = actions.isolation_create(
        actor=manager(world),
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(1),
        resident=world.neighbour,
    )
    with pytest.raises(PermissionDenied):
        actions.checkin_record(actor=world.users[Role.RESIDENT], isolation=other, temperature="36.5")
    with pytest.raises(PermissionDenied):
        actions.checkin_record(actor=world.users[Role.VOLUNTEER], isolation=other, temperature="36.5")
    with pytest.raises(ValidationError) as error:
        actions.checkin_record(actor=manager(world), isolation=other, temperature="36.5", symptoms=["sneeze"])
    assert error.value.message_dict == {"symptoms": ["未知的症状：sneeze"]}
    assert HealthCheckin.objects.count() == 2


def test_a_new_case_restarts_the_clock_of_the_area_around_its_home(world):
    area = actions.area_raise(
        actor=manager(world),
        compound=world.compound_a,
        scope="building",
        building=world.a2,
        reason="首例阳性",
        on=days_ago(6),
    )
    a_case(world, confirmed=2)  # 李建国 lives in building 2
    area.refresh_from_db()
    assert area.clock_from == days_ago(2)
