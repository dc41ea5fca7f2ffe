"""Helpers of the lab result tests (no tests here): residents registered two days ago, and tubes
sampled and closed through the sampling tables' sync, as in the field."""

import datetime

from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Tube
from tongxin.testing.tests.round_helpers import event, make_round, sample

HOUR = datetime.timedelta(hours=1)


def lab_world(world, *, pool_size=10):
    """The world's round, residents registered two days ago (so samples three hours ago are
    believed), and a few more people in home_a2 (the neighbour's household)."""
    world.lodger = make_resident(world.home_a2, name="李娜", relation="spouse")
    world.lodger_child = make_resident(
        world.home_a2, name="李小雨", birth=datetime.date(2016, 2, 3), relation="child"
    )
    Resident.objects.update(created_at=timezone.now() - 48 * HOUR)
    for name in ("elder", "child", "neighbour", "stranger", "lodger", "lodger_child"):
        getattr(world, name).refresh_from_db()
    world.round = make_round(world, pool_size=pool_size)
    world.sampled_at = timezone.now() - 3 * HOUR
    return world


def sampled_tube(world, code, people, *, pool_size=None, close=True, at=None, table=None, actor=None):
    """Open a tube, sample these people into it and close it one minute later (a volunteer of
    compound A unless `actor` is given); returns the tube."""
    at = at or world.sampled_at
    events = [event("tube_open", tube=code, at=at, pool_size=pool_size)]
    events += [
        sample(code, person, at=at + datetime.timedelta(seconds=i + 1)) for i, person in enumerate(people)
    ]
    if close:
        events.append(event("tube_close", tube=code, at=at + datetime.timedelta(minutes=1)))
    answer = sampling_sync(
        actor=actor or world.users[Role.VOLUNTEER], table=table or world.round.table1, events=events
    )
    assert answer.refused == [], answer.refused
    return Tube.objects.get(code=code.upper())


def result_time(world, minutes=60):
    """A result time after the tubes were closed and before now."""
    return world.sampled_at + datetime.timedelta(minutes=minutes)
