"""Test fixtures for mass testing: a round over compound A with one point and two tables."""

import uuid

from django.utils import timezone

from tongxin.registry.models import Resident
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


def many_people(world, count: int) -> list[Resident]:
    """`count` more residents in compound A, written in one statement (no encryption per row:
    the sync reads them by id)."""
    rows = [
        Resident(
            household=world.home_a2,
            unit_id=world.a2u1.pk,
            building_id=world.a2.pk,
            compound_id=world.compound_a.pk,
            name=f"居民{n}",
            document_cipher="-",
            document_hash=f"bulk-{n}",
            document_masked="-",
        )
        for n in range(count)
    ]
    Resident.objects.bulk_create(rows)
    return list(Resident.objects.filter(document_hash__startswith="bulk-").order_by("pk"))
