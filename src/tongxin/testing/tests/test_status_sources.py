"""How a resident's status reads mass testing: through the sources the testing app registers."""

import datetime

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak.status import status_read, status_recompute
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Retest, Tube
from tongxin.testing.tests.round_helpers import event, make_round, sample

pytestmark = pytest.mark.django_db


def _sampled(world, tube_code, people):
    round_ = make_round(world)
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table1,
        events=[
            event("tube_open", tube=tube_code),
            *[sample(tube_code, p) for p in people],
            event("tube_close", tube=tube_code),
        ],
    )
    assert answer.refused == []
    return round_, Tube.objects.get(code=tube_code)


def test_a_pending_sample_keeps_the_test_valid_and_survives_a_recompute(world):
    _sampled(world, "T1", [world.elder])
    status_recompute([world.elder.pk])  # the recompute reads the sample through the source
    status = status_read(world.elder.pk)
    assert status.overdue is False and status.color == "green"
    assert status.last_sampled_at is not None


def test_positive_pool_makes_its_people_yellow_and_keeps_their_household_home(world):
    round_, tube = _sampled(world, "T2", [world.elder])
    Tube.objects.filter(pk=tube.pk).update(result=Tube.Result.POSITIVE, result_at=timezone.now())
    Retest.objects.create(
        round=round_,
        resident=world.elder,
        household=world.home_a1,
        compound=world.compound_a,
        pool_tube=tube,
        pool_sampled_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    status_recompute([world.elder.pk, world.child.pk, world.neighbour.pk])
    elder, child, neighbour = (status_read(r.pk) for r in (world.elder, world.child, world.neighbour))
    assert elder.color == "yellow" and "混采阳性待复核" in elder.reasons
    assert child.color == "yellow" and "同户人员混采阳性待复核，居家管控" in child.reasons
    assert neighbour.color == "green"


def test_negative_single_retest_clears_the_review(world):
    round_, tube = _sampled(world, "T3", [world.elder])
    Tube.objects.filter(pk=tube.pk).update(result=Tube.Result.POSITIVE, result_at=timezone.now())
    retest = Retest.objects.create(
        round=round_,
        resident=world.elder,
        household=world.home_a1,
        compound=world.compound_a,
        pool_tube=tube,
        pool_sampled_at=timezone.now() - datetime.timedelta(minutes=1),
    )
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table2,
        events=[event("tube_open", tube="S9"), sample("S9", world.elder), event("tube_close", tube="S9")],
    )
    assert answer.refused == []  # a retest in the same round is not a duplicate
    retest.refresh_from_db()
    assert retest.state == Retest.State.SAMPLED and retest.sample.is_retest is True
    Tube.objects.filter(code="S9").update(result=Tube.Result.NEGATIVE, result_at=timezone.now())
    Retest.objects.filter(pk=retest.pk).update(state=Retest.State.NEGATIVE)
    status_recompute([world.elder.pk, world.child.pk])
    assert status_read(world.elder.pk).color == "green"
    assert status_read(world.child.pk).color == "green"
