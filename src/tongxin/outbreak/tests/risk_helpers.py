"""Helpers of the risk area tests: dates of November 2022, raising as the compound's manager."""

import datetime

from tongxin.accounts.models import Role
from tongxin.outbreak import actions
from tongxin.outbreak.models import Case


def d(month: int, day: int, year: int = 2022) -> datetime.date:
    return datetime.date(year, month, day)


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def raise_building(world, on, *, building=None, level=None, reason="首例阳性所在楼栋"):
    return actions.area_raise(
        actor=manager(world),
        compound=world.compound_a,
        scope="building",
        building=building or world.a1,
        level=level,
        reason=reason,
        on=on,
    )


def make_case(world, confirmed_on, *, household=None):
    household = household or world.home_a1
    return Case.objects.create(
        compound=world.compound_a,
        name="阳性甲",
        confirmed_on=confirmed_on,
        source=Case.Source.SINGLE_TEST,
        household=household,
        unit=household.unit,
        building=household.unit.building,
    )
