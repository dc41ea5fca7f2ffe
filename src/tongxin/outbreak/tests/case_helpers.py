"""Helpers for the case, contact and follow-up tests: a case in compound A and its contacts."""

import datetime

from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak import actions


def days_ago(n: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=n)


def at_local(day: datetime.date, hour: int = 9) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def a_case(world, *, resident=None, confirmed=3, **fields):
    return actions.case_register(
        actor=manager(world),
        compound=world.compound_a,
        confirmed_on=days_ago(confirmed),
        source="single_test",
        resident=resident if resident is not None else world.neighbour,
        **fields,
    )


def a_contact(world, case, *, resident=None, identified=2, **fields):
    return actions.contact_register(
        actor=manager(world),
        cases=[case],
        identified_on=days_ago(identified),
        resident=resident if resident is not None else world.elder,
        **fields,
    )
