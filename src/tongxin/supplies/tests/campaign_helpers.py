"""A compound A of 3 units with households for the campaign tests, the cabbage in stock."""

import datetime
from decimal import Decimal

from django.utils import timezone

from tongxin.registry import actions as registry
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.actions.campaigns import campaign_create
from tongxin.supplies.actions.stock import stock_in
from tongxin.supplies.models import MoveKind
from tongxin.supplies.tests.helpers import MANAGER, stock_world


def campaign_world(world, *, cabbage_kg=1000):
    """Compound A: building 1 unit 1 (home_a1 + 102, 103), building 1 unit 2 (101, 102), building 2
    unit 1 (home_a2 = 201, 202). Residents: home_a1 2, home_a2 1, 1-1-102 one, 1-2-101 three; the
    other new households have none registered. Cabbage in the store."""
    stock_world(world)
    world.a1u2 = registry.unit_ensure(building=world.a1, number="2")
    world.h102 = registry.household_ensure(unit=world.a1u1, room="102")
    world.h103 = registry.household_ensure(unit=world.a1u1, room="103")
    world.h2101 = registry.household_ensure(unit=world.a1u2, room="101")
    world.h2102 = registry.household_ensure(unit=world.a1u2, room="102")
    world.h202 = registry.household_ensure(unit=world.a2u1, room="202")
    make_resident(world.h102, name="孙一")
    for name in ("周一", "周二", "周三"):
        make_resident(world.h2101, name=name)
    if cabbage_kg:
        stock_in(
            actor=world.users[MANAGER],
            item=world.cabbage,
            store=world.store,
            quantity=cabbage_kg,
            kind=MoveKind.DONATION_IN,
        )
    return world


def plan(world, *, actor=None, **overrides):
    fields = {
        "compound": world.compound_a,
        "name": "白菜发放",
        "item": world.cabbage,
        "store": world.store,
        "total_quantity": Decimal(200),
        "unit": "kg",
        "share_basis": "household",
        "share_quantity": Decimal(60),
        "share_unit": "jin",
        "starts_on": timezone.localdate() - datetime.timedelta(days=1),
        "days": 2,
        "teams": 2,
        "volunteers": 4,
    }
    fields.update(overrides)
    return campaign_create(actor=actor or world.users[MANAGER], **fields)
