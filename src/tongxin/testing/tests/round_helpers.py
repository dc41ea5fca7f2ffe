"""Test fixtures for mass testing: a round over compound A with one point and two tables."""

import uuid

from django.utils import timezone

from tongxin.testing.models import RoundCompound, SamplingPoint, SamplingTable, TestRound


def make_round(world, *, day=None, pool_size=10, buildings=None, compound=None):
    compound = compound or world.compound_a
    round_ = TestRound.objects.create(name="全员核酸", day=day or timezone.localdate(), pool_size=pool_size)
    cover = RoundCompound.objects.create(round=round_, compound=compound)
    if buildings:
        cover.buildings.set(buildings)
    point = SamplingPoint.objects.create(round=round_, compound=compound, name="1号采样点")
    round_.table1 = SamplingTable.objects.create(
        point=point, round=round_, compound=compound, label="1号台", pool_size=pool_size
    )
    round_.table2 = SamplingTable.objects.create(
        point=point, round=round_, compound=compound, label="2号台", pool_size=pool_size
    )
    round_.point = point
    return round_


def event(kind, *, at=None, **fields):
    """One device event as the sync action takes it (times aware, ids fresh)."""
    return {
        "id": str(uuid.uuid4()),
        "type": kind,
        "at": at or timezone.now(),
        **fields,
    }


def sample(tube, resident, *, at=None):
    return event("sample", at=at, tube=tube, person={"resident": resident.pk})
