"""The demo's stock: 煤田公交小区's 5,000-yuan donation in stock and thanked in the daily report's
words, the purchases for the sealed households, the workers' teams' supplies, the low-stock alert,
丁香苑小区's store; a second run changes nothing."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from tongxin.supplies.demo.common import DINGXIANG, MEITIAN, manager
from tongxin.supplies.demo.stock import DONOR, PURCHASE_NOTE
from tongxin.supplies.models import Balance, Donation, StockMove
from tongxin.supplies.selectors.stock import donation_thanks, items_below_minimum

pytestmark = pytest.mark.django_db


def run_demo() -> dict:
    out = StringIO()
    call_command("demo", stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])["supplies"]


def stock_of(code: str, name: str) -> Decimal:
    return Balance.objects.filter(item__compound__code=code, item__name=name).aggregate(s=Sum("quantity"))[
        "s"
    ] or Decimal(0)


def bought(code: str, name: str) -> Decimal:
    return StockMove.objects.filter(item__compound__code=code, item__name=name, kind="purchase_in").aggregate(
        s=Sum("quantity")
    )["s"]


def test_the_demo_stock_and_donation():
    summary = run_demo()
    donation = Donation.objects.get(compound__code=MEITIAN, donor=DONOR)
    assert summary["donation_value"] == 5000 and donation.value == Decimal(5000)
    assert donation.thanked and donation.received_at < timezone.now() - datetime.timedelta(days=7)
    assert summary["donation_thanks"] == f"感谢{DONOR}捐赠酒精、防护服、军大衣（价值5,000元）"
    assert donation_thanks(manager(MEITIAN), donation.compound, None, None) == [summary["donation_thanks"]]

    # The donation is in stock: what came in, less what the teams took and what was used.
    lines = dict(StockMove.objects.filter(donation=donation).values_list("item__name", "quantity"))
    assert lines == {"酒精": Decimal(120), "防护服": Decimal(100), "军大衣": Decimal(30)}
    assert (stock_of(MEITIAN, "酒精"), stock_of(MEITIAN, "防护服"), stock_of(MEITIAN, "军大衣")) == (
        Decimal(100),
        Decimal(70),
        Decimal(10),
    )

    # Enough bought for the 72 households served (the requests demo takes some out after).
    assert (
        bought(MEITIAN, "桶装水") >= 200 and bought(MEITIAN, "大米") >= 120 and bought(MEITIAN, "面粉") >= 120
    )
    teams = set(
        StockMove.objects.filter(item__compound__code=MEITIAN, kind="out_team").values_list(
            "item__name", "team"
        )
    )
    assert {
        ("充电宝", "核酸检查组"),
        ("充电宝", "疫情封控组"),
        ("牛奶", "核酸检查组"),
        ("牛奶", "疫情封控组"),
    } <= teams
    below = {item.name for item in items_below_minimum(manager(MEITIAN), compound_id=donation.compound_id)}
    assert {"牛奶", "食用油"} <= below and {"牛奶", "食用油"} <= set(summary["stock_below_minimum"])

    assert (bought(DINGXIANG, "桶装水"), bought(DINGXIANG, "大米"), bought(DINGXIANG, "面粉")) == (
        100,
        60,
        60,
    )

    mine = (
        StockMove.objects.filter(note=PURCHASE_NOTE).count()
        + StockMove.objects.filter(
            item__compound__code=MEITIAN, kind__in=["donation_in", "out_team", "used"]
        ).count()
    )
    donations = Donation.objects.count()
    again = run_demo()
    assert (
        StockMove.objects.filter(note=PURCHASE_NOTE).count()
        + StockMove.objects.filter(
            item__compound__code=MEITIAN, kind__in=["donation_in", "out_team", "used"]
        ).count()
    ) == mine
    assert Donation.objects.count() == donations
    assert again["donation_thanks"] == summary["donation_thanks"]
