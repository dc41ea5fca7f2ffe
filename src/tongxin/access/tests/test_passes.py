"""Pass actions: issue (per resident or per household), issue the missing ones, reissue, revoke,
the signed code, who may, and the registry's moved listener."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.access import signing
from tongxin.access.actions import passes as actions
from tongxin.access.actions.policy import policy_update
from tongxin.access.models import AccessPolicy, Pass
from tongxin.access.selectors.passes import household_passes, passes_visible, resident_ids_by_pass_codes
from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry import actions as registry_actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident

pytestmark = pytest.mark.django_db

MANAGING = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER]


def per_household(compound, **fields):
    return AccessPolicy.objects.create(compound=compound, pass_per=AccessPolicy.PassPer.HOUSEHOLD, **fields)


def test_issue_gives_a_resident_a_live_pass_with_an_unambiguous_number(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    pass_ = actions.pass_issue(actor=manager, resident=world.elder)
    assert pass_.resident_id == world.elder.pk and pass_.household_id == world.home_a1.pk
    assert pass_.compound_id == world.compound_a.pk and pass_.issued_by == manager
    assert len(pass_.number) == 10 and set(pass_.number) <= set(actions.ALPHABET)
    assert not set(pass_.number) & set("01OI")
    assert pass_.expires_at - pass_.issued_at == datetime.timedelta(days=30)
    row = AuditLog.objects.get(action="pass_issue")
    assert row.actor == manager and row.object_id == str(pass_.pk)


def test_the_alphabet_has_no_characters_a_volunteer_would_misread():
    assert len(actions.ALPHABET) == 32 and not set(actions.ALPHABET) & set("01OI")
    numbers = {actions.new_number() for _ in range(200)}
    assert len(numbers) == 200


def test_validity_follows_the_policy(world):
    AccessPolicy.objects.create(compound=world.compound_a, pass_valid_days=7)
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    assert pass_.expires_at - pass_.issued_at == datetime.timedelta(days=7)


def test_a_second_live_pass_is_refused_with_the_first_ones_number(world):
    first = actions.pass_issue(actor=None, resident=world.elder)
    with pytest.raises(ValidationError) as refused:
        actions.pass_issue(actor=None, resident=world.elder)
    assert first.number in refused.value.messages[0] and "补发" in refused.value.messages[0]
    assert Pass.objects.filter(resident=world.elder).count() == 1


def test_an_expired_pass_is_revoked_as_reissued_when_a_new_one_is_issued(world):
    old = actions.pass_issue(actor=None, resident=world.elder)
    Pass.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    new = actions.pass_issue(actor=None, resident=world.elder)
    old.refresh_from_db()
    assert old.revoked_reason == Pass.Revoked.REISSUED and old.revoked_at is not None
    assert new.revoked_at is None and new.number != old.number


def test_per_resident_compounds_refuse_a_household_pass_and_the_other_way_round(world):
    with pytest.raises(ValidationError, match="每人一证"):
        actions.pass_issue(actor=None, household=world.home_a1)
    per_household(world.compound_a)
    with pytest.raises(ValidationError, match="每户一证"):
        actions.pass_issue(actor=None, resident=world.elder)
    pass_ = actions.pass_issue(actor=None, household=world.home_a1)
    assert pass_.resident_id is None and pass_.household_id == world.home_a1.pk
    with pytest.raises(ValidationError, match="已有有效出入证"):
        actions.pass_issue(actor=None, household=world.home_a1)


def test_issue_needs_exactly_one_holder(world):
    with pytest.raises(ValidationError):
        actions.pass_issue(actor=None)
    with pytest.raises(ValidationError):
        actions.pass_issue(actor=None, resident=world.elder, household=world.home_a1)


def test_no_pass_for_someone_who_moved_out_nor_for_an_empty_household(world):
    registry_actions.resident_set_presence(actor=None, resident=world.neighbour, presence="moved_out")
    with pytest.raises(ValidationError, match="已搬离"):
        actions.pass_issue(actor=None, resident=world.neighbour)
    per_household(world.compound_a)
    with pytest.raises(ValidationError, match="没有在住居民"):
        actions.pass_issue(actor=None, household=world.home_a2)
    assert not Pass.objects.exists()


@pytest.mark.parametrize("role", MANAGING)
def test_managing_roles_issue_in_their_scope(world, role):
    pass_ = actions.pass_issue(actor=world.users[role], resident=world.elder)
    assert pass_.pk


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_volunteers_and_residents_do_not_issue(world, role):
    with pytest.raises(PermissionDenied):
        actions.pass_issue(actor=world.users[role], resident=world.elder)
    assert not Pass.objects.exists()


@pytest.mark.parametrize("role", MANAGING[1:])
def test_no_one_issues_outside_their_area(world, role):
    with pytest.raises(PermissionDenied):
        actions.pass_issue(actor=world.users[role], resident=world.stranger)


def test_a_grid_worker_issues_in_their_buildings_only(world):
    grid = world.users[Role.GRID_WORKER]  # building 1 of compound A
    assert actions.pass_issue(actor=grid, resident=world.elder).pk
    with pytest.raises(PermissionDenied):
        actions.pass_issue(actor=grid, resident=world.neighbour)  # building 2


def test_issue_missing_covers_everyone_living_there_without_a_live_pass(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    kept = actions.pass_issue(actor=manager, resident=world.elder)
    registry_actions.resident_set_presence(actor=None, resident=world.neighbour, presence="moved_out")
    extra = make_resident(world.home_a2, name="李晓红")
    AuditLog.objects.all().delete()
    issued = actions.passes_issue_missing(actor=manager, compound=world.compound_a)
    assert issued == 2  # the child and the new neighbour; not the elder (has one), not who moved out
    live = set(Pass.objects.filter(revoked_at=None).values_list("resident_id", flat=True))
    assert live == {world.elder.pk, world.child.pk, extra.pk}
    assert Pass.objects.get(resident=world.elder) == kept
    assert not Pass.objects.filter(resident=world.stranger).exists()  # the other compound
    row = AuditLog.objects.get()
    assert row.action == "pass_issue" and row.detail["issued"] == 2
    assert actions.passes_issue_missing(actor=manager, compound=world.compound_a) == 0


def test_issue_missing_by_building_and_unit(world):
    assert actions.passes_issue_missing(actor=None, compound=world.compound_a, building=world.a2) == 1
    assert Pass.objects.get().resident == world.neighbour
    assert actions.passes_issue_missing(actor=None, compound=world.compound_a, unit=world.a1u1) == 2
    with pytest.raises(ValidationError):
        actions.passes_issue_missing(actor=None, compound=world.compound_a, building=world.b1)
    with pytest.raises(ValidationError):
        actions.passes_issue_missing(
            actor=None, compound=world.compound_a, building=world.a1, unit=world.a2u1
        )


def test_issue_missing_renews_expired_passes(world):
    old = actions.pass_issue(actor=None, resident=world.elder)
    Pass.objects.filter(pk=old.pk).update(expires_at=timezone.now() - datetime.timedelta(hours=1))
    assert actions.passes_issue_missing(actor=None, compound=world.compound_a) == 3
    old.refresh_from_db()
    assert old.revoked_reason == Pass.Revoked.REISSUED
    assert Pass.objects.filter(resident=world.elder, revoked_at=None).count() == 1


def test_a_grid_worker_issues_the_missing_ones_of_their_buildings_only(world):
    issued = actions.passes_issue_missing(actor=world.users[Role.GRID_WORKER], compound=world.compound_a)
    assert issued == 2
    assert set(Pass.objects.values_list("resident_id", flat=True)) == {world.elder.pk, world.child.pk}


def test_issue_missing_per_household(world):
    per_household(world.compound_a)
    make_resident(world.home_a2, name="李晓红")
    assert actions.passes_issue_missing(actor=None, compound=world.compound_a) == 2
    assert set(Pass.objects.values_list("household_id", "resident_id")) == {
        (world.home_a1.pk, None),
        (world.home_a2.pk, None),
    }


def test_issue_missing_refuses_roles_and_other_compounds(world):
    with pytest.raises(PermissionDenied):
        actions.passes_issue_missing(actor=world.users[Role.VOLUNTEER], compound=world.compound_a)
    with pytest.raises(PermissionDenied):
        actions.passes_issue_missing(actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_b)
    assert not Pass.objects.exists()


def test_reissue_revokes_the_old_pass_and_issues_a_new_one(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    old = actions.pass_issue(actor=manager, resident=world.elder)
    new = actions.pass_reissue(actor=manager, pass_=old, reason=Pass.Revoked.LOST)
    old.refresh_from_db()
    assert old.revoked_reason == Pass.Revoked.LOST and old.revoked_by == manager
    assert new.resident_id == world.elder.pk and new.revoked_at is None and new.number != old.number
    row = AuditLog.objects.get(action="pass_reissue")
    assert row.detail == {"old": old.number} and row.reason == "lost"


def test_reissue_needs_a_reason_of_its_own_and_a_live_pass(world):
    old = actions.pass_issue(actor=None, resident=world.elder)
    with pytest.raises(ValidationError):
        actions.pass_reissue(actor=None, pass_=old, reason=Pass.Revoked.MOVED_OUT)
    actions.pass_revoke(actor=None, pass_=old, reason=Pass.Revoked.OTHER)
    with pytest.raises(ValidationError, match="已注销"):
        actions.pass_reissue(actor=None, pass_=old, reason=Pass.Revoked.LOST)
    assert Pass.objects.count() == 1


def test_reissue_refused_for_someone_who_moved_out_writes_nothing(world):
    old = actions.pass_issue(actor=None, resident=world.elder)
    Resident.objects.filter(pk=world.elder.pk).update(presence="moved_out")
    with pytest.raises(ValidationError, match="已搬离"):
        actions.pass_reissue(actor=None, pass_=old, reason=Pass.Revoked.LOST)
    old.refresh_from_db()
    assert old.revoked_at is None and Pass.objects.count() == 1


def test_revoke_with_each_reason(world):
    for reason, resident in zip(
        actions.REVOKE_REASONS, [world.elder, world.child, world.neighbour], strict=True
    ):
        pass_ = actions.pass_issue(actor=None, resident=resident)
        actions.pass_revoke(actor=world.users[Role.OFFICIAL], pass_=pass_, reason=reason)
        pass_.refresh_from_db()
        assert pass_.revoked_reason == reason and pass_.revoked_by == world.users[Role.OFFICIAL]
    assert AuditLog.objects.filter(action="pass_revoke").count() == 3


def test_revoke_refuses_an_unknown_reason_a_revoked_pass_and_other_roles(world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    with pytest.raises(ValidationError):
        actions.pass_revoke(actor=None, pass_=pass_, reason=Pass.Revoked.REISSUED)
    with pytest.raises(PermissionDenied):
        actions.pass_revoke(actor=world.users[Role.VOLUNTEER], pass_=pass_, reason=Pass.Revoked.LOST)
    other = actions.pass_issue(actor=None, resident=world.stranger)
    with pytest.raises(PermissionDenied):
        actions.pass_revoke(actor=world.users[Role.COMPOUND_MANAGER], pass_=other, reason=Pass.Revoked.LOST)
    actions.pass_revoke(actor=None, pass_=pass_, reason=Pass.Revoked.LOST)
    with pytest.raises(ValidationError, match="已注销"):
        actions.pass_revoke(actor=None, pass_=pass_, reason=Pass.Revoked.OTHER)


def test_the_code_is_signed_and_names_the_room_not_the_person(world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    code = actions.pass_code(pass_)
    claims = signing.read_pass(code)
    assert claims.number == pass_.number and claims.compound_id == world.compound_a.pk
    assert claims.room == "1-1-101" and int(claims.expires_at.timestamp()) == int(
        pass_.expires_at.timestamp()
    )
    assert world.elder.name not in code and "13812345678" not in code
    assert resident_ids_by_pass_codes([code]) == {code: world.elder.pk}
    actions.pass_revoke(actor=None, pass_=pass_, reason=Pass.Revoked.LOST)
    assert resident_ids_by_pass_codes([code]) == {}


def test_moving_out_revokes_the_live_pass(world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    kept = actions.pass_issue(actor=None, resident=world.child)
    registry_actions.resident_set_presence(
        actor=world.users[Role.COMPOUND_MANAGER], resident=world.elder, presence="moved_out"
    )
    pass_.refresh_from_db()
    kept.refresh_from_db()
    assert pass_.revoked_reason == Pass.Revoked.MOVED_OUT and pass_.revoked_at is not None
    assert kept.revoked_at is None
    assert AuditLog.objects.filter(action="pass_revoke", reason="moved_out").count() == 1


def test_moving_to_another_household_revokes_the_pass_of_the_old_room(world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    registry_actions.resident_move(actor=None, resident=world.elder, household=world.home_a2)
    pass_.refresh_from_db()
    assert pass_.revoked_reason == Pass.Revoked.MOVED_OUT
    assert actions.pass_issue(actor=None, resident=world.elder).household_id == world.home_a2.pk


def test_a_household_pass_is_revoked_when_its_last_resident_moves_out(world):
    per_household(world.compound_a)
    pass_ = actions.pass_issue(actor=None, household=world.home_a1)
    registry_actions.resident_set_presence(actor=None, resident=world.elder, presence="moved_out")
    pass_.refresh_from_db()
    assert pass_.revoked_at is None  # the child still lives there
    registry_actions.resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    pass_.refresh_from_db()
    assert pass_.revoked_reason == Pass.Revoked.MOVED_OUT


def test_other_presence_changes_leave_the_pass_alone(world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    for presence in ("living", "away", "unverified"):
        registry_actions.resident_set_presence(actor=None, resident=world.elder, presence=presence)
    pass_.refresh_from_db()
    assert pass_.revoked_at is None


def test_passes_visible_follow_the_scope(world):
    mine = actions.pass_issue(actor=None, resident=world.elder)
    theirs = actions.pass_issue(actor=None, resident=world.neighbour)
    other = actions.pass_issue(actor=None, resident=world.stranger)
    assert set(passes_visible(world.users[Role.COMPOUND_MANAGER])) == {mine, theirs}
    assert set(passes_visible(world.users[Role.GRID_WORKER])) == {mine}
    assert set(passes_visible(world.users[Role.OFFICIAL])) == {mine, theirs}
    assert set(passes_visible(world.users[Role.PLATFORM_ADMIN])) == {mine, theirs, other}
    assert set(passes_visible(world.users[Role.RESIDENT])) == {mine}


def test_household_passes_are_the_households_unrevoked_ones(world):
    resident = world.users[Role.RESIDENT]  # lives in home_a1
    elder = actions.pass_issue(actor=None, resident=world.elder)
    child = actions.pass_issue(actor=None, resident=world.child)
    actions.pass_issue(actor=None, resident=world.neighbour)
    assert household_passes(resident, world.home_a1) == [elder, child]
    assert household_passes(resident, world.home_a2) == []
    actions.pass_revoke(actor=None, pass_=child, reason=Pass.Revoked.LOST)
    assert household_passes(resident, world.home_a1) == [elder]


def test_policy_update_checks_the_version(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    policy = policy_update(actor=manager, compound=world.compound_a, version=1, exits_per_household=1)
    assert policy.version == 2 and policy.exits_per_household == 1 and policy.updated_by == manager
    with pytest.raises(ValidationError, match="已被他人修改"):
        policy_update(actor=manager, compound=world.compound_a, version=1, exit_max_minutes=120)
    policy = policy_update(actor=manager, compound=world.compound_a, version=2, exit_max_minutes=120)
    assert (policy.version, policy.exits_per_household, policy.exit_max_minutes) == (3, 1, 120)
    assert AuditLog.objects.filter(action="policy_update").count() == 2


def test_policy_update_roles_and_values(world):
    for role in (Role.GRID_WORKER, Role.VOLUNTEER, Role.RESIDENT):
        with pytest.raises(PermissionDenied):
            policy_update(actor=world.users[role], compound=world.compound_a, version=1, exit_period_days=3)
    with pytest.raises(PermissionDenied):
        policy_update(actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_b, version=1)
    with pytest.raises(ValidationError) as refused:
        policy_update(
            actor=None, compound=world.compound_a, version=1, exit_period_days=0, exit_max_minutes=5
        )
    assert set(refused.value.message_dict) == {"exit_period_days", "exit_max_minutes"}
    with pytest.raises(ValidationError):
        policy_update(actor=None, compound=world.compound_a, version=1, number="x")
    assert not AccessPolicy.objects.exists()


def test_a_household_pass_of_an_empty_household_is_not_reissued(world):
    per_household(world.compound_a)
    pass_ = actions.pass_issue(actor=None, household=world.home_a2)
    Resident.objects.filter(household=world.home_a2).update(presence="moved_out")
    with pytest.raises(ValidationError, match="没有在住居民"):
        actions.pass_reissue(actor=None, pass_=pass_, reason=Pass.Revoked.LOST)
    pass_.refresh_from_db()
    assert pass_.revoked_at is None and Pass.objects.count() == 1


def test_moving_out_through_the_resident_form_revokes_the_pass_too(world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    registry_actions.resident_update(
        actor=world.users[Role.COMPOUND_MANAGER], resident=world.elder, presence="moved_out"
    )
    pass_.refresh_from_db()
    assert pass_.revoked_reason == Pass.Revoked.MOVED_OUT


def test_a_household_pass_is_revoked_when_its_last_resident_moves_to_another_household(world):
    per_household(world.compound_a)
    left = actions.pass_issue(actor=None, household=world.home_a2)  # the neighbour's alone
    kept = actions.pass_issue(actor=None, household=world.home_a1)
    registry_actions.resident_move(actor=None, resident=world.neighbour, household=world.home_a1)
    left.refresh_from_db()
    kept.refresh_from_db()
    assert (left.revoked_reason, kept.revoked_at) == (Pass.Revoked.MOVED_OUT, None)
