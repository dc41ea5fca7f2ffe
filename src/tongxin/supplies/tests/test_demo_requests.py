"""The demo's requests: 煤田公交小区's 72 households served door to door in the sealed days with
their stock out of 物资站, medicines bought for the elderly, one request that could not be done,
today's open requests first in the queue for an elder's medicine, the day's list and the stock it
takes; a second run changes nothing."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from tongxin.supplies.demo.common import MEITIAN, STORE, compound, manager
from tongxin.supplies.models import StockMove, SupplyRequest
from tongxin.supplies.selectors.requests import day_list, request_queue

pytestmark = pytest.mark.django_db


def run_demo() -> dict:
    out = StringIO()
    call_command("demo", stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])["supplies"]


def test_the_demo_replays_the_72_households_served():
    summary = run_demo()
    place, actor = compound(MEITIAN), manager(MEITIAN)
    delivered = SupplyRequest.objects.filter(compound=place, state="delivered")
    assert delivered.values("household_id").distinct().count() == 72 == summary["households_served"]
    assert summary["requests_delivered"] == delivered.count() > 144

    # Water, rice and flour taken out of 物资站, one move per delivered line, to the household.
    outs = StockMove.objects.filter(item__compound=place, kind="out_household")
    assert set(outs.values_list("store__name", flat=True)) == {STORE}
    lines = (
        delivered.filter(lines__item__isnull=False)
        .values_list("lines__item__name")
        .annotate(n=Sum("lines__quantity"))
    )
    taken = dict(outs.values_list("item__name").annotate(n=Sum("quantity")))
    assert {name: -quantity for name, quantity in taken.items()} == dict(lines)
    assert taken["桶装水"] == Decimal(-144)
    # In the sealed days, after the stock demo's purchases, and never before the request.
    first_purchase = StockMove.objects.filter(item__compound=place, kind="purchase_in").order_by("at").first()
    assert not outs.filter(at__lt=first_purchase.at).exists()
    assert outs.filter(at__gte=timezone.now() - datetime.timedelta(days=7)).count() == 0

    # Medicines bought for the elderly: urgent, bought, then delivered.
    medicines = delivered.filter(kind="medicine")
    assert medicines.count() == summary["medicines_for_elderly"] == 8
    assert all(r.urgent and r.bought_at and r.bought_at <= r.delivered_at for r in medicines)
    cannot = SupplyRequest.objects.get(compound=place, state="cannot")
    assert cannot.cannot_reason.startswith("封控期间文具店未营业")

    # Today: an elder's medicine first in the queue; the day's list and the stock it takes.
    queue = list(request_queue(actor, place))
    assert len(queue) == summary["requests_open"] == 6
    assert (queue[0].kind, queue[0].urgent, queue[1].kind, queue[1].urgent) == (
        "medicine",
        True,
        "medicine",
        True,
    )
    assert not any(r.urgent for r in queue[2:])
    day = day_list(actor, place)
    assert day.count == summary["day_list"] == 4
    needs = {need.item: (need.need, need.short) for need in day.needs}
    assert needs == {"桶装水": (Decimal(3), False), "大米": (Decimal(1), False), "面粉": (Decimal(1), False)}
    assert summary["day_list_stock"] == {"桶装水": 3, "大米": 1, "面粉": 1}

    count, moves = SupplyRequest.objects.count(), StockMove.objects.count()
    again = run_demo()
    assert (SupplyRequest.objects.count(), StockMove.objects.count()) == (count, moves)
    assert again["households_served"] == 72
