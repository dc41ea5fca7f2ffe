"""A round's samples recorded at once: one insert, one audit row, statuses recomputed, scope kept."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions
from tongxin.outbreak.models import TestFact
from tongxin.outbreak.status import status_read

pytestmark = pytest.mark.django_db


def test_records_every_sample_and_clears_overdue(world):
    residents = [world.elder, world.child, world.neighbour]
    assert status_read(world.elder.pk).overdue is True
    sampled_at = timezone.now()
    count = actions.test_facts_record_many(
        actor=world.users[Role.COMPOUND_MANAGER], residents=residents, sampled_at=sampled_at, method="pool"
    )
    assert count == 3
    assert sorted(TestFact.objects.values_list("resident_id", "result")) == sorted(
        (r.pk, "pending") for r in residents
    )
    assert AuditLog.objects.filter(object_type="outbreak.testfact", action="create").count() == 1
    assert [status_read(r.pk).overdue for r in residents] == [False, False, False]


def test_refuses_residents_outside_the_actors_area_and_writes_nothing(world):
    with pytest.raises(PermissionDenied):
        actions.test_facts_record_many(
            actor=world.users[Role.GRID_WORKER],  # building 1 only: the neighbour lives in building 2
            residents=[world.elder, world.neighbour],
            sampled_at=timezone.now(),
            method="pool",
        )
    with pytest.raises(PermissionDenied):
        actions.test_facts_record_many(
            actor=world.users[Role.VOLUNTEER],
            residents=[world.elder],
            sampled_at=timezone.now(),
            method="pool",
        )
    assert TestFact.objects.count() == 0


def test_refuses_a_sample_before_registration_or_in_the_future(world):
    with pytest.raises(ValidationError, match="采样时间不能早于该居民登记的时间：王秀兰"):
        actions.test_facts_record_many(
            actor=None,
            residents=[world.elder],
            sampled_at=world.elder.created_at - datetime.timedelta(days=1),
            method="pool",
        )
    with pytest.raises(ValidationError, match="采样时间不能晚于现在"):
        actions.test_facts_record_many(
            actor=None,
            residents=[world.elder],
            sampled_at=timezone.now() + datetime.timedelta(hours=1),
            method="pool",
        )
    assert TestFact.objects.count() == 0
