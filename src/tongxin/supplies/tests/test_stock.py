import threading
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404

from tongxin.core.models import AuditLog
from tongxin.supplies.actions.stock import stock_in, stock_out, stock_transfer
from tongxin.supplies.models import Balance, Item, StockMove
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
    return stock_world(world)


def balance(item, store):
    row = Balance.objects.filter(item=item, store=store).first()
    return row.quantity if row else Decimal(0)


def test_stock_in_records_a_move_a_balance_and_an_audit_row(w):
    move = stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=20, price=Decimal("160"))
    assert (move.kind, move.quantity, move.price, move.by) == (
        "purchase_in",
        Decimal(20),
        Decimal(160),
        user(w, MANAGER),
    )
    assert balance(w.water, w.store) == Decimal(20)
    assert (
        AuditLog.objects.filter(
            action="create", object_type="supplies.stockmove", object_id=str(move.pk)
        ).count()
        == 1
    )


def test_quantity_in_jin_is_stored_in_the_items_kilograms(w):
    move = stock_in(actor=user(w, MANAGER), item=w.cabbage, store=w.store, quantity=60, unit="jin")
    assert move.quantity == Decimal(30)
    assert balance(w.cabbage, w.store) == Decimal(30)


def test_a_unit_that_does_not_convert_is_refused_and_nothing_written(w):
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=2, unit="kg")
    assert refused.value.messages == ["单位“公斤”不能换算为“桶”"]
    assert StockMove.objects.count() == 0 and Balance.objects.count() == 0


@pytest.mark.parametrize(
    ("quantity", "message"),
    [
        (0, "数量必须大于零"),
        (-3, "数量必须大于零"),
        ("1000001", "数量超过上限 1,000,000"),
        ("1.0000001", "数量最多保留六位小数"),
    ],
)
def test_bad_quantities_are_refused_and_nothing_written(w, quantity, message):
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=quantity)
    assert refused.value.messages == [message]
    assert (
        StockMove.objects.count() == 0
        and AuditLog.objects.filter(object_type="supplies.stockmove").count() == 0
    )


def test_limits_apply_to_the_quantity_converted_to_the_items_unit(w):
    rice = Item.objects.create(compound=w.compound_a, name="大米", unit="jin")
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=user(w, MANAGER), item=rice, store=w.store, quantity="600000", unit="kg")
    assert refused.value.messages == ["数量超过上限 1,000,000"]
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=user(w, MANAGER), item=w.cabbage, store=w.store, quantity="0.000001", unit="jin")
    assert refused.value.messages == ["数量最多保留六位小数"]
    assert StockMove.objects.count() == 0
    stock_in(actor=user(w, MANAGER), item=w.cabbage, store=w.store, quantity="1000000", unit="jin")
    assert balance(w.cabbage, w.store) == Decimal("500000")


def test_stock_out_below_zero_is_refused_and_nothing_written(w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=2)
    with pytest.raises(ValidationError) as refused:
        stock_out(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=3, kind="used")
    assert refused.value.messages == ["库存不足：物资站的桶装水仅剩 2桶"]
    assert balance(w.water, w.store) == Decimal(2)
    assert StockMove.objects.count() == 1


def test_stock_out_to_a_household_and_to_a_team(w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    to_home = stock_out(
        actor=user(w, VOLUNTEER),
        item=w.water,
        store=w.store,
        quantity=1,
        kind="out_household",
        household=w.home_a1,
    )
    to_team = stock_out(
        actor=user(w, GRID), item=w.water, store=w.store, quantity=2, kind="out_team", team=" 志愿者队 "
    )
    used = stock_out(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=3, kind="used")
    assert (to_home.quantity, to_home.household, to_team.quantity, to_team.team, used.quantity) == (
        Decimal(-1),
        w.home_a1,
        Decimal(-2),
        "志愿者队",
        Decimal(-3),
    )
    assert balance(w.water, w.store) == Decimal(4)


def test_out_to_a_household_needs_one_of_the_compound(w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    with pytest.raises(ValidationError) as refused:
        stock_out(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=1, kind="out_household")
    assert refused.value.messages == ["请选择发放的住户"]
    with pytest.raises(Http404):
        stock_out(
            actor=user(w, MANAGER),
            item=w.water,
            store=w.store,
            quantity=1,
            kind="out_household",
            household=w.home_b,
        )
    with pytest.raises(ValidationError) as refused:
        stock_out(
            actor=user(w, ADMIN),
            item=w.water,
            store=w.store,
            quantity=1,
            kind="out_household",
            household=w.home_b,
        )
    assert refused.value.messages == ["住户不属于该小区"]
    with pytest.raises(ValidationError) as refused:
        stock_out(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=1, kind="out_team", team=" ")
    assert refused.value.messages == ["请填写领取的队伍"]
    assert balance(w.water, w.store) == Decimal(10)


def test_transfer_writes_two_moves_and_refuses_more_than_held(w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    out, into = stock_transfer(
        actor=user(w, MANAGER), item=w.water, from_store=w.store, to_store=w.depot, quantity=4
    )
    assert (out.quantity, out.store, out.other_store) == (Decimal(-4), w.store, w.depot)
    assert (into.quantity, into.store, into.other_store) == (Decimal(4), w.depot, w.store)
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (Decimal(6), Decimal(4))
    with pytest.raises(ValidationError) as refused:
        stock_transfer(actor=user(w, MANAGER), item=w.water, from_store=w.depot, to_store=w.store, quantity=5)
    assert refused.value.messages == ["库存不足：1号楼临时点的桶装水仅剩 4桶"]
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (Decimal(6), Decimal(4))
    assert StockMove.objects.count() == 3
    with pytest.raises(ValidationError) as refused:
        stock_transfer(actor=user(w, MANAGER), item=w.water, from_store=w.store, to_store=w.store, quantity=1)
    assert refused.value.messages == ["调出与调入仓库不能相同"]


def test_a_store_of_another_compound_is_refused(w):
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=user(w, ADMIN), item=w.water, store=w.store_b, quantity=1)
    assert refused.value.messages == ["仓库与物资不属于同一小区"]


@pytest.mark.parametrize("role", [MANAGER, GRID, OFFICIAL, ADMIN])
def test_the_compounds_team_and_officials_keep_stock(w, role):
    stock_in(actor=user(w, role), item=w.water, store=w.store, quantity=5)
    stock_out(actor=user(w, role), item=w.water, store=w.store, quantity=1, kind="used")
    stock_transfer(actor=user(w, role), item=w.water, from_store=w.store, to_store=w.depot, quantity=1)
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (Decimal(3), Decimal(1))


@pytest.mark.parametrize("role", [MANAGER, GRID, VOLUNTEER, OFFICIAL])
def test_another_compounds_stock_is_not_found(w, role):
    with pytest.raises(Http404):
        stock_in(actor=user(w, role), item=w.water_b, store=w.store_b, quantity=1)
    with pytest.raises(Http404):
        stock_out(actor=user(w, role), item=w.water_b, store=w.store_b, quantity=1, kind="used")


def test_a_volunteer_only_hands_out_to_households(w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=5)
    volunteer = user(w, VOLUNTEER)
    with pytest.raises(PermissionDenied):
        stock_in(actor=volunteer, item=w.water, store=w.store, quantity=1)
    with pytest.raises(PermissionDenied):
        stock_out(actor=volunteer, item=w.water, store=w.store, quantity=1, kind="used")
    with pytest.raises(PermissionDenied):
        stock_out(actor=volunteer, item=w.water, store=w.store, quantity=1, kind="out_team", team="队")
    with pytest.raises(PermissionDenied):
        stock_transfer(actor=volunteer, item=w.water, from_store=w.store, to_store=w.depot, quantity=1)
    assert balance(w.water, w.store) == Decimal(5)


def test_a_resident_keeps_no_stock(w):
    with pytest.raises(Http404):
        stock_in(actor=user(w, RESIDENT), item=w.water, store=w.store, quantity=1)
    with pytest.raises(Http404):
        stock_out(
            actor=user(w, RESIDENT),
            item=w.water,
            store=w.store,
            quantity=1,
            kind="out_household",
            household=w.home_a1,
        )


def test_a_grid_worker_hands_out_only_in_their_buildings(w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=5)
    with pytest.raises(Http404):
        stock_out(
            actor=user(w, GRID),
            item=w.water,
            store=w.store,
            quantity=1,
            kind="out_household",
            household=w.home_a2,
        )
    stock_out(
        actor=user(w, GRID),
        item=w.water,
        store=w.store,
        quantity=1,
        kind="out_household",
        household=w.home_a1,
    )
    assert balance(w.water, w.store) == Decimal(4)


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks whole tables across threads",
)
@pytest.mark.django_db(transaction=True)
def test_two_volunteers_taking_the_last_bucket_one_wins(world):
    w = stock_world(world)
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=1)
    barrier = threading.Barrier(2)
    results = []

    def take(household):
        try:
            barrier.wait(timeout=5)
            stock_out(
                actor=user(w, VOLUNTEER),
                item=w.water,
                store=w.store,
                quantity=1,
                kind="out_household",
                household=household,
            )
            results.append("ok")
        except ValidationError as error:
            results.append(error.messages[0])
        finally:
            connection.close()

    threads = [threading.Thread(target=take, args=(home,)) for home in (w.home_a1, w.home_a2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok", "库存不足：物资站的桶装水仅剩 0桶"]
    assert balance(w.water, w.store) == Decimal(0)
    assert StockMove.objects.filter(kind="out_household").count() == 1


def test_a_move_of_the_wrong_kind_or_with_a_stray_household_is_refused(w):
    manager = user(w, MANAGER)
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=manager, item=w.water, store=w.store, quantity=1, kind="used")
    assert refused.value.messages == ["入库类型无效"]
    with pytest.raises(ValidationError) as refused:
        stock_out(actor=manager, item=w.water, store=w.store, quantity=1, kind="purchase_in")
    assert refused.value.messages == ["出库类型无效"]
    with pytest.raises(ValidationError) as refused:
        stock_out(actor=manager, item=w.water, store=w.store, quantity=1, kind="used", household=w.home_a1)
    assert refused.value.messages == ["只有发放到户才填写住户"]
    with pytest.raises(ValidationError) as refused:
        stock_in(actor=manager, item=w.water, store=w.store, quantity=1, price=Decimal("-1"))
    assert refused.value.messages == ["金额不能为负"]
    assert StockMove.objects.count() == 0
