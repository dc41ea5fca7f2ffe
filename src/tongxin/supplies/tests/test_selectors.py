import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tongxin.supplies.actions.donations import donation_record
from tongxin.supplies.actions.stock import stock_in, stock_out, stock_transfer
from tongxin.supplies.models import Item, Store
from tongxin.supplies.selectors.stock import balances, donations, item_history, items_below_minimum
from tongxin.supplies.tests.helpers import (
    ADMIN,
    GRID,
    MANAGER,
    OFFICIAL,
    RESIDENT,
    VOLUNTEER,
    stock_world,
    user,
)


@pytest.fixture
def w(world):
    w = stock_world(world)
    manager, admin = user(w, MANAGER), user(w, ADMIN)
    stock_in(actor=manager, item=w.water, store=w.store, quantity=12)
    stock_in(actor=manager, item=w.cabbage, store=w.store, quantity=60, unit="jin")
    stock_transfer(actor=manager, item=w.water, from_store=w.store, to_store=w.depot, quantity=5)
    stock_out(
        actor=manager, item=w.water, store=w.depot, quantity=1, kind="out_household", household=w.home_a1
    )
    stock_in(actor=admin, item=w.water_b, store=w.store_b, quantity=3)
    return w


def test_balances_by_store_and_item(w):
    rows = [(r.store, r.item, r.unit, r.quantity) for r in balances(user(w, MANAGER))]
    assert rows == [
        ("1号楼临时点", "桶装水", "bucket", Decimal(4)),
        ("物资站", "桶装水", "bucket", Decimal(7)),
        ("物资站", "白菜", "kg", Decimal(30)),
    ]


@pytest.mark.parametrize(
    ("role", "count"), [(ADMIN, 4), (OFFICIAL, 3), (MANAGER, 3), (GRID, 3), (VOLUNTEER, 3), (RESIDENT, 0)]
)
def test_balances_are_scoped(w, role, count):
    assert len(balances(user(w, role))) == count


def test_balances_take_one_query_whatever_the_number_of_stores_and_items(w, django_assert_num_queries):
    manager = user(w, MANAGER)
    for n in range(5):
        store = Store.objects.create(compound=w.compound_a, name=f"点{n}")
        item = Item.objects.create(compound=w.compound_a, name=f"物{n}", unit="piece")
        stock_in(actor=manager, item=item, store=store, quantity=n + 1)
    with django_assert_num_queries(1):
        rows = balances(manager)
    assert len(rows) == 8


def test_history_of_an_item_newest_first_and_scoped(w):
    history = list(item_history(user(w, MANAGER), item_id=w.water.pk))
    assert [(m.kind, m.store.name, m.quantity) for m in history] == [
        ("out_household", "1号楼临时点", Decimal(-1)),
        ("transfer", "1号楼临时点", Decimal(5)),
        ("transfer", "物资站", Decimal(-5)),
        ("purchase_in", "物资站", Decimal(12)),
    ]
    assert list(item_history(user(w, MANAGER), item_id=w.water_b.pk)) == []


def test_items_below_minimum_count_every_store(w):
    manager = user(w, MANAGER)
    assert [(i.name, i.stock) for i in items_below_minimum(manager)] == []  # 11 buckets, minimum 10
    stock_out(actor=manager, item=w.water, store=w.store, quantity=2, kind="used")
    assert [(i.name, i.stock) for i in items_below_minimum(manager)] == [("桶装水", Decimal(9))]
    Item.objects.create(compound=w.compound_a, name="药品", unit="box", minimum_stock=1)
    assert {(i.name, i.stock) for i in items_below_minimum(manager)} == {
        ("桶装水", Decimal(9)),
        ("药品", Decimal(0)),
    }
    assert list(items_below_minimum(user(w, RESIDENT))) == []


def test_donations_for_the_daily_report(w):
    manager = user(w, MANAGER)
    now = timezone.now()
    old = donation_record(
        actor=manager,
        compound=w.compound_a,
        donor="乙公司",
        value=Decimal(800),
        store=w.store,
        lines=[(w.water, 2, None)],
        received_at=now - datetime.timedelta(days=2),
    )
    new = donation_record(
        actor=manager,
        compound=w.compound_a,
        donor="甲公司",
        value=Decimal(5000),
        store=w.store,
        lines=[(w.cabbage, 100, None)],
        received_at=now,
    )
    donation_record(
        actor=user(w, ADMIN), compound=w.compound_b, donor="丙", store=w.store_b, lines=[(w.water_b, 1, None)]
    )
    assert [(d.donor, d.value) for d in donations(manager)] == [
        ("甲公司", Decimal(5000)),
        ("乙公司", Decimal(800)),
    ]
    assert list(donations(manager, since=now - datetime.timedelta(days=1))) == [new]
    assert list(donations(manager, until=now - datetime.timedelta(days=1))) == [old]
    assert len(donations(user(w, ADMIN))) == 3
    assert list(donations(user(w, RESIDENT))) == []
