"""What a sampling table's device sends in one batch after an offline stretch: the sync keeps the
device's order for each tube, bags many tubes at once and marks retests sampled."""

import datetime

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Bag, Retest, Sample, Tube
from tongxin.testing.tests.round_helpers import event, make_round, sample

pytestmark = pytest.mark.django_db


def at(seconds: int) -> datetime.datetime:
    """A moment of the device's clock, `seconds` after now: the world's residents were registered
    just before."""
    return timezone.now() + datetime.timedelta(seconds=seconds)


def test_a_sample_made_after_its_tube_was_closed_in_the_same_batch_is_refused(world):
    round_ = make_round(world)
    late = sample("T1", world.neighbour, at=at(3))
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table1,
        events=[
            event("tube_open", tube="T1", at=at(0)),
            sample("T1", world.elder, at=at(1)),
            event("tube_close", tube="T1", at=at(2)),
            late,
        ],
    )
    assert [(r["id"], r["code"]) for r in answer.refused] == [(late["id"], "tube_closed")]
    assert list(Sample.objects.values_list("resident_id", flat=True)) == [world.elder.pk]
    assert Tube.objects.get(code="T1").people == 1


def test_several_bags_in_one_batch_and_a_tube_offered_to_two_bags(world):
    round_ = make_round(world)
    events = []
    for n, person in enumerate([world.elder, world.child, world.neighbour]):
        code = f"T{n}"
        events += [
            event("tube_open", tube=code, at=at(n * 3)),
            sample(code, person, at=at(n * 3 + 1)),
            event("tube_close", tube=code, at=at(n * 3 + 2)),
        ]
    first = event("bag_seal", bag="bag-1", tubes=["T0", "T1"], at=at(10))
    second = event("bag_seal", bag="BAG-2", tubes=["T2"], at=at(11))
    twice = event("bag_seal", bag="BAG-3", tubes=["T1"], at=at(12))
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER], table=round_.table1, events=[*events, first, second, twice]
    )
    assert [(r["id"], r["code"]) for r in answer.refused] == [(twice["id"], "bad_bag")]
    assert dict(Tube.objects.values_list("code", "bag__code")) == {
        "T0": "BAG-1",
        "T1": "BAG-1",
        "T2": "BAG-2",
    }
    again = sampling_sync(actor=world.users[Role.VOLUNTEER], table=round_.table1, events=[first, second])
    assert sorted(again.stored) == sorted([first["id"], second["id"]]) and again.refused == []
    reused = event("bag_seal", bag="BAG-2", tubes=["T2"])
    answer = sampling_sync(actor=world.users[Role.VOLUNTEER], table=round_.table1, events=[reused])
    assert [r["code"] for r in answer.refused] == ["bag_used"]
    assert Bag.objects.count() == 2


def test_a_retest_in_a_single_tube_marks_the_retest_sampled(world):
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    sampling_sync(
        actor=actor,
        table=round_.table1,
        events=[event("tube_open", tube="P1", at=at(0)), sample("P1", world.elder, at=at(1))],
    )
    pool = Tube.objects.get(code="P1")
    retest = Retest.objects.create(
        round=round_,
        resident=world.elder,
        household=world.home_a1,
        compound=world.compound_a,
        pool_tube=pool,
        pool_sampled_at=at(1),
    )
    single = sample("S0001", world.elder, at=at(5))
    answer = sampling_sync(
        actor=actor, table=round_.table2, events=[event("tube_open", tube="S0001", at=at(4)), single]
    )
    assert answer.refused == []
    retest.refresh_from_db()
    stored = Sample.objects.get(scan_id=single["id"])
    assert (retest.state, retest.sample_id, stored.is_retest) == (Retest.State.SAMPLED, stored.pk, True)
