import uuid

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.outbreak.status import status_read
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Bag, Sample, Tube
from tongxin.testing.tests.round_helpers import event, make_round, sample

pytestmark = pytest.mark.django_db


def test_open_sample_close_and_resend_never_duplicates(world):
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    batch = [
        event("tube_open", tube="t0001"),
        sample("T0001", world.elder),
        sample("T0001", world.child),
        event("tube_close", tube="T0001"),
    ]
    first = sampling_sync(actor=actor, table=round_.table1, events=batch)
    assert first.refused == []
    assert sorted(first.stored) == sorted(e["id"] for e in batch)
    assert first.refused == []
    again = sampling_sync(actor=actor, table=round_.table1, events=batch)
    assert sorted(again.stored) == sorted(e["id"] for e in batch)
    assert Sample.objects.count() == 2
    tube = Tube.objects.get(code="T0001")
    assert (tube.people, tube.pool_size, tube.closed_at is not None) == (2, 10, True)


def test_same_person_twice_in_round_refused_with_where(world):
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    sampling_sync(
        actor=actor, table=round_.table1, events=[event("tube_open", tube="A1"), sample("A1", world.elder)]
    )
    opening = event("tube_open", tube="B1")
    second = sample("B1", world.elder)
    answer = sampling_sync(actor=actor, table=round_.table2, events=[opening, second])
    assert [r["code"] for r in answer.refused] == ["duplicate"]
    assert answer.refused[0]["id"] == second["id"]
    assert "1号台" in answer.refused[0]["message"] and answer.refused[0]["where"]["tube"] == "A1"


def test_tube_full_closed_unknown_person_and_pool_size_from_code(world):
    round_ = make_round(world, pool_size=10)
    actor = world.users[Role.VOLUNTEER]
    answer = sampling_sync(
        actor=actor,
        table=round_.table1,
        events=[
            event("tube_open", tube="S0001"),  # "S" codes are single tubes
            sample("S0001", world.elder),
            sample("S0001", world.child),
            sample("S0001", world.stranger),
            event("sample", tube="S0001", person={"document": "110101199003074514"}),
        ],
    )
    codes = sorted(r["code"] for r in answer.refused)
    assert codes == ["tube_full", "unknown_person", "unknown_person"]
    assert Tube.objects.get(code="S0001").pool_size == 1
    close = event("tube_close", tube="S0001")
    sampling_sync(actor=actor, table=round_.table1, events=[close])
    late = sampling_sync(actor=actor, table=round_.table1, events=[sample("S0001", world.neighbour)])
    assert [r["code"] for r in late.refused] == ["tube_closed"]


def test_document_number_finds_the_person_and_status_moves(world):
    round_ = make_round(world)
    actor = world.users[Role.GRID_WORKER]
    before = status_read(world.elder.pk)
    assert before.overdue is True
    number = crypto.decrypt(world.elder.document_cipher)
    answer = sampling_sync(
        actor=actor,
        table=round_.table1,
        events=[event("tube_open", tube="D1"), event("sample", tube="D1", person={"document": number})],
    )
    assert answer.refused == []
    after = status_read(world.elder.pk)
    assert after.overdue is False and after.last_sampled_at is not None


def test_bag_of_closed_tubes(world):
    round_ = make_round(world)
    actor = world.users[Role.VOLUNTEER]
    sampling_sync(
        actor=actor,
        table=round_.table1,
        events=[
            event("tube_open", tube="X1"),
            sample("X1", world.elder),
            event("tube_close", tube="X1"),
            event("tube_open", tube="X2"),
        ],
    )
    refused = sampling_sync(
        actor=actor, table=round_.table1, events=[event("bag_seal", bag="BAG1", tubes=["X1", "X2"])]
    )
    assert [r["code"] for r in refused.refused] == ["bad_bag"]
    ok = sampling_sync(actor=actor, table=round_.table1, events=[event("bag_seal", bag="BAG1", tubes=["X1"])])
    assert ok.refused == [] and Bag.objects.get(code="BAG1").tubes.count() == 1


def test_resident_role_cannot_sample_and_bad_ids_refused(world):
    round_ = make_round(world)
    with pytest.raises(PermissionDenied):
        sampling_sync(actor=world.users[Role.RESIDENT], table=round_.table1, events=[])
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table1,
        events=[
            {"id": "nope", "type": "sample", "at": timezone.now()},
            {"id": str(uuid.uuid4()), "type": "x", "at": timezone.now()},
        ],
    )
    assert sorted(r["code"] for r in answer.refused) == ["bad_event", "bad_event"]


def test_a_round_over_some_buildings_refuses_people_of_the_others(world):
    round_ = make_round(world, buildings=[world.a1])
    answer = sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table1,
        events=[
            event("tube_open", tube="BLD1"),
            sample("BLD1", world.elder),
            sample("BLD1", world.neighbour),
        ],
    )
    assert [r["code"] for r in answer.refused] == ["unknown_person"]
    assert list(Sample.objects.values_list("resident_id", flat=True)) == [world.elder.pk]
