"""What the requests tests share: a stocked world and a request made in one call."""

import datetime
from decimal import Decimal

from django.utils import timezone

from tongxin.supplies.actions.requests import supply_request_create
from tongxin.supplies.actions.stock import stock_in
from tongxin.supplies.models import Balance, Item
from tongxin.supplies.tests.helpers import MANAGER, stock_world


def request_world(world, *, water: int = 10):
    """stock_world plus rice, `water` buckets in the store, and the manager as `w.manager`."""
    w = stock_world(world)
    w.manager = world.users[MANAGER]
    w.rice = Item.objects.create(compound=w.compound_a, name="大米", unit="bag")
    if water:
        stock_in(actor=w.manager, item=w.water, store=w.store, quantity=water)
    return w


def ask(w, *, household=None, kind="water", lines=None, actor=None, hours_ago: float | None = 1, **extra):
    """A request for `household` (home_a1) asked `hours_ago` (None: now, as a resident asks), with
    a line of 2 buckets by default."""
    return supply_request_create(
        actor=actor or w.manager,
        household=household or w.home_a1,
        kind=kind,
        lines=[(w.water, "", 2, "bucket")] if lines is None else lines,
        asked_at=None if hours_ago is None else timezone.now() - datetime.timedelta(hours=hours_ago),
        **extra,
    )


def balance(item, store) -> Decimal:
    row = Balance.objects.filter(item=item, store=store).first()
    return row.quantity if row else Decimal(0)
