"""Compound status: quiet, sealed, unsealed, in date order, with the day count of each period."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.outbreak import actions, selectors
from tongxin.outbreak.models import CompoundStatusChange
from tongxin.outbreak.tests.risk_helpers import d, manager
from tongxin.registry.tests.factories import make_user


def set_status(world, status, on, reason="", actor=None):
    return actions.compound_status_set(
        actor=actor or manager(world), compound=world.compound_a, status=status, on=on, reason=reason
    )


def test_meitian_gongjiao_43_quiet_days_before_the_first_positive(world):
    set_status(world, "quiet", d(10, 2), "全市静默")
    set_status(world, "sealed", d(11, 14), "首例阳性")
    history = selectors.compound_status_history(manager(world), world.compound_a, d(11, 20))
    assert [(p.change.status, p.change.on, p.ends_on, p.days) for p in history] == [
        ("quiet", d(10, 2), d(11, 14), 43),
        ("sealed", d(11, 14), None, 6),
    ]
    set_status(world, "unsealed", d(11, 22), "无新增阳性，解封")
    current = selectors.compound_status_current(manager(world), world.compound_a, d(11, 30))
    assert (current.change.status, current.change.on, current.days) == ("unsealed", d(11, 22), 8)
    history = selectors.compound_status_history(manager(world), world.compound_a, d(11, 30))
    assert [p.days for p in history] == [43, 8, 8]
    assert [p.change.reason for p in history] == ["全市静默", "首例阳性", "无新增阳性，解封"]


def test_no_status_yet(world):
    assert selectors.compound_status_current(manager(world), world.compound_a, d(11, 1)) is None


def test_a_date_before_the_previous_change_is_refused(world):
    set_status(world, "quiet", d(10, 2))
    set_status(world, "sealed", d(11, 14))
    with pytest.raises(ValidationError) as error:
        set_status(world, "unsealed", d(11, 13))
    assert error.value.message_dict == {"on": ["日期不能早于上一次状态变更（2022-11-14）"]}
    # The same day is allowed (sealed in the morning, the quiet period ended that day).
    set_status(world, "unsealed", d(11, 14))
    assert list(CompoundStatusChange.objects.values_list("status", flat=True)) == [
        "quiet",
        "sealed",
        "unsealed",
    ]


def test_the_same_status_twice_and_unknown_statuses_are_refused(world):
    set_status(world, "sealed", d(11, 14))
    with pytest.raises(ValidationError, match="小区已是该状态"):
        set_status(world, "sealed", d(11, 15))
    with pytest.raises(ValidationError, match="未知的小区状态"):
        set_status(world, "locked", d(11, 15))
    assert CompoundStatusChange.objects.count() == 1


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT, Role.GRID_WORKER])
def test_only_health_roles_of_the_whole_compound_set_it(world, role):
    with pytest.raises(PermissionDenied):
        set_status(world, "quiet", d(10, 2), actor=world.users[role])
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=world.compound_b)
    with pytest.raises(PermissionDenied):
        set_status(world, "quiet", d(10, 2), actor=manager_b)
    assert CompoundStatusChange.objects.count() == 0


def test_volunteers_see_the_status_not_why_and_other_compounds_see_nothing(world):
    set_status(world, "sealed", d(11, 14), "首例阳性")
    history = selectors.compound_status_history(world.users[Role.VOLUNTEER], world.compound_a, d(11, 15))
    assert [(p.change.status, p.change.reason, p.change.actor) for p in history] == [("sealed", "", None)]
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=world.compound_b)
    with pytest.raises(Http404):
        selectors.compound_status_history(manager_b, world.compound_a, d(11, 15))
