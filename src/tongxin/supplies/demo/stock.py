"""The demo's stock: 煤田公交小区's store (物资站) with the 5,000-yuan donation of alcohol, protective
suits and army coats, the water, rice, flour and vegetables bought for the sealed households (the
requests demo, run next, takes them out), power banks, milk and coats handed to the workers' teams,
and two items below their minimum so that the alert shows; 丁香苑小区's store with water, rice and
flour. Through the module's own actions, dated in the weeks before `now`; a second run changes
nothing (each story is guarded on its own records)."""

import datetime
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from tongxin.supplies.actions.donations import donation_mark_thanked, donation_record
from tongxin.supplies.actions.stock import stock_in, stock_out
from tongxin.supplies.demo.common import DINGXIANG, MEITIAN, compound, item, manager, store
from tongxin.supplies.models import Donation, MoveKind, StockMove
from tongxin.supplies.selectors.stock import donation_thanks, items_below_minimum

DONOR = "呼和浩特市塞北商贸有限公司"
DONOR_CONTACT = "0471-6923158"
DONATION_VALUE = Decimal("5000")
DONATION_LINES = [("酒精", 120), ("防护服", 100), ("军大衣", 30)]  # bottles, pieces, pieces
# (days before now, hour, item, quantity, yuan per unit)
MEITIAN_PURCHASES = [
    (21, 9, "桶装水", 120, "8"),
    (21, 9, "大米", 80, "75"),
    (21, 9, "面粉", 80, "60"),
    (21, 10, "蔬菜包", 60, "35"),
    (20, 15, "充电宝", 20, "60"),
    (20, 15, "牛奶", 24, "60"),
    (20, 15, "食用油", 3, "60"),
    (14, 9, "桶装水", 120, "8"),
    (14, 9, "大米", 70, "75"),
    (14, 9, "面粉", 70, "60"),
    (14, 10, "蔬菜包", 60, "35"),
]
# (days before now, hour, item, quantity, team or "" for used)
MEITIAN_OUT = [
    (19, 8, "充电宝", 8, "核酸检查组"),
    (19, 8, "充电宝", 6, "疫情封控组"),
    (19, 8, "牛奶", 12, "核酸检查组"),
    (19, 8, "牛奶", 10, "疫情封控组"),
    (17, 20, "军大衣", 20, "疫情封控组"),  # night shifts at the gates
    (16, 9, "酒精", 20, ""),  # the stairwells' disinfection
    (16, 9, "防护服", 30, "核酸检查组"),
]
PURCHASE_NOTE = "演示采购"
DINGXIANG_PURCHASES = [(15, 10, "桶装水", 100, "8"), (15, 10, "大米", 60, "75"), (15, 10, "面粉", 60, "60")]


def _at(now: datetime.datetime, days: int, hour: int) -> datetime.datetime:
    local = timezone.localtime(now) - datetime.timedelta(days=days)
    return local.replace(hour=hour, minute=30, second=0, microsecond=0)


def _purchases(code: str, rows, now) -> None:
    actor, place = manager(code), store(code)
    for days, hour, name, quantity, price in rows:
        stock_in(
            actor=actor,
            item=item(code, name),
            store=place,
            quantity=quantity,
            kind=MoveKind.PURCHASE_IN,
            price=Decimal(price) * quantity,
            at=_at(now, days, hour),
            note=PURCHASE_NOTE,
        )


def _meitian(now) -> None:
    actor, place = manager(MEITIAN), store(MEITIAN)
    donation = donation_record(
        actor=actor,
        compound=compound(MEITIAN),
        donor=DONOR,
        contact=DONOR_CONTACT,
        value=DONATION_VALUE,
        store=place,
        lines=[(item(MEITIAN, name), quantity, None) for name, quantity in DONATION_LINES],
        received_at=_at(now, 18, 11),
        note="防疫物资",
    )
    donation_mark_thanked(actor=actor, donation=donation)
    _purchases(MEITIAN, MEITIAN_PURCHASES, now)
    for days, hour, name, quantity, team in MEITIAN_OUT:
        stock_out(
            actor=actor,
            item=item(MEITIAN, name),
            store=place,
            quantity=quantity,
            kind=MoveKind.OUT_TEAM if team else MoveKind.USED,
            team=team,
            at=_at(now, days, hour),
        )


def load(*, now: datetime.datetime) -> dict:
    meitian, dingxiang = compound(MEITIAN), compound(DINGXIANG)
    with transaction.atomic():
        if not Donation.objects.filter(compound=meitian, donor=DONOR).exists():
            _meitian(now)
        dx_store = store(DINGXIANG)
        if not StockMove.objects.filter(
            store=dx_store, kind=MoveKind.PURCHASE_IN, note=PURCHASE_NOTE
        ).exists():
            _purchases(DINGXIANG, DINGXIANG_PURCHASES, now)
    actor = manager(MEITIAN)
    donation = Donation.objects.get(compound=meitian, donor=DONOR)
    return {
        "donation_value": int(donation.value),
        "donation_thanks": donation_thanks(
            actor, meitian, donation.received_at, donation.received_at + datetime.timedelta(seconds=1)
        )[0],
        "stock_below_minimum": [i.name for i in items_below_minimum(actor, compound_id=meitian.pk)],
        "stock_moves_meitian": StockMove.objects.filter(item__compound=meitian).count(),
        "stock_moves_dingxiang": StockMove.objects.filter(item__compound=dingxiang).count(),
    }
