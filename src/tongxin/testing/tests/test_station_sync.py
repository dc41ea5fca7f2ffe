"""What a sampling table's device sends in one batch after an offline stretch: the sync keeps the
device's order for each tube, bags many tubes at once and marks retests sampled."""

import datetime

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Bag, Retest, Sample, Tube
from tongxin.testing.tests.round_helpers import event, make_round, many_people, sample

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


def test_a_resend_is_stored_whatever_the_tube_and_the_person_have_become_since(world):
    """The device never heard the answer: it sends the same batch again, after the tube was filled
    and closed and the people sampled. Every event is answered stored, nothing is written twice;
    a new person offered to the full tube in the same resend is still refused."""
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    people = many_people(world, 6)
    batch = [event("tube_open", tube="F0001", at=at(0))]  # F: five to a tube
    batch += [sample("F0001", person, at=at(1 + n)) for n, person in enumerate(people[:5])]
    batch.append(event("tube_close", tube="F0001", at=at(10)))
    assert sampling_sync(actor=actor, table=round_.table1, events=batch).refused == []
    late = sample("F0001", people[5], at=at(11))
    again = sampling_sync(actor=actor, table=round_.table1, events=[*batch, late])
    assert sorted(again.stored) == sorted(e["id"] for e in batch)
    assert [(r["id"], r["code"]) for r in again.refused] == [(late["id"], "tube_closed")]
    assert Sample.objects.filter(round=round_).count() == 5
    assert Tube.objects.get(code="F0001").people == 5


def test_a_resent_retest_is_stored_once(world):
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    sampling_sync(
        actor=actor,
        table=round_.table1,
        events=[event("tube_open", tube="P1", at=at(0)), sample("P1", world.elder, at=at(1))],
    )
    Retest.objects.create(
        round=round_,
        resident=world.elder,
        household=world.home_a1,
        compound=world.compound_a,
        pool_tube=Tube.objects.get(code="P1"),
        pool_sampled_at=at(1),
    )
    batch = [event("tube_open", tube="S0001", at=at(4)), sample("S0001", world.elder, at=at(5))]
    assert sampling_sync(actor=actor, table=round_.table2, events=batch).refused == []
    again = sampling_sync(actor=actor, table=round_.table2, events=batch)
    assert (sorted(again.stored), again.refused) == (sorted(e["id"] for e in batch), [])
    assert Sample.objects.filter(resident=world.elder, is_retest=True).count() == 1
    assert Sample.objects.filter(resident=world.elder).count() == 2


def test_a_resend_after_the_round_closed_is_stored_and_anything_new_refused(world):
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    batch = [event("tube_open", tube="T1", at=at(0)), sample("T1", world.elder, at=at(1))]
    batch.append(event("tube_close", tube="T1", at=at(2)))
    assert sampling_sync(actor=actor, table=round_.table1, events=batch).refused == []
    round_.state = round_.State.CLOSED
    round_.save()
    late = sample("T2", world.child, at=at(3))
    again = sampling_sync(actor=actor, table=round_.table1, events=[*batch, late])
    assert sorted(again.stored) == sorted(e["id"] for e in batch)
    assert [(r["id"], r["code"]) for r in again.refused] == [(late["id"], "round_closed")]
