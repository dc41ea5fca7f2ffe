"""A care world: the `world` fixture's residents (王秀兰, elderly and living alone, in building 1;
李建国, a veteran, in building 2; 赵四 in compound B) and visits placed on chosen days."""

import datetime

from django.utils import timezone

from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.models import CareVisit


def at(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def visit(resident, *, by, day: datetime.date, next_due: datetime.date, brought: str = "", hour: int = 10):
    """A visit written straight to the table (the action is tested on its own): any day, any due."""
    return CareVisit.objects.create(
        compound_id=resident.compound_id,
        resident=resident,
        visited_at=at(day, hour),
        visited_by=by,
        brought=brought,
        next_due=next_due,
    )


def more_residents(household, n: int, **tags):
    return [
        make_resident(household, name=f"居民{i}", phone="", **(tags or {"veteran": True})) for i in range(n)
    ]
