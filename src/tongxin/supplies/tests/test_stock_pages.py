"""/supplies/stock/ and /supplies/stock/items/<id>/: who may open them, the balances and the
low-stock alert, every form's success and refusal (nothing written), the item's history and its
query count, the Excel files (audited, no formula)."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tongxin.core.models import AuditLog
from tongxin.registry import actions as registry_actions
from tongxin.supplies.actions.stock import stock_in, stock_out
from tongxin.supplies.models import Balance, Item, StockMove, Store
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

pytestmark = pytest.mark.django_db

KEEPERS = [ADMIN, OFFICIAL, MANAGER, GRID]


@pytest.fixture
def w(world):
    return stock_world(world)


@pytest.fixture
def as_role(client, w):
    def login(role):
        client.force_login(user(w, role))
        return client

    return login


def url(name, w, *args, compound=None):
    return f"{reverse(name, args=args)}?compound={(compound or w.compound_a).pk}"


def balance(item, store):
    row = Balance.objects.filter(item=item, store=store).first()
    return row.quantity if row else Decimal(0)


def nothing_written():
    return (
        StockMove.objects.count() == 0
        and not AuditLog.objects.filter(object_type="supplies.stockmove").exists()
    )


# Who may open the pages -----------------------------------------------------------------------


@pytest.mark.parametrize("role", KEEPERS)
def test_the_stock_page_opens_for_those_who_keep_the_stock(as_role, w, role):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=12)
    page = as_role(role).get(url("supplies:stock", w))
    assert page.status_code == 200
    html = page.content.decode()
    assert "甲小区" in html and "桶装水" in html and "12 桶" in html
    assert page["Cache-Control"].startswith("max-age=0")


@pytest.mark.parametrize("role", [VOLUNTEER, RESIDENT])
def test_volunteers_and_residents_are_refused_the_stock_pages(as_role, w, role):
    client = as_role(role)
    assert client.get(url("supplies:stock", w)).status_code == 403
    assert client.get(reverse("supplies:item", args=[w.water.pk])).status_code == 403
    assert client.get(url("supplies:stock_export", w)).status_code == 403
    assert client.get(reverse("supplies:item_export", args=[w.water.pk])).status_code == 403
    assert client.post(url("supplies:stock_in", w), {"item": w.water.pk}).status_code == 403
    assert client.post(url("supplies:item_add", w), {"name": "x", "unit": "kg"}).status_code == 403
    assert not Item.objects.filter(name="x").exists()


def test_a_visitor_not_logged_in_is_sent_to_log_in(client, w):
    answer = client.get(url("supplies:stock", w))
    assert answer.status_code == 302 and "login" in answer.url


@pytest.mark.parametrize("role", [OFFICIAL, MANAGER, GRID])
def test_another_compound_is_not_found(as_role, w, role):
    client = as_role(role)
    assert client.get(url("supplies:stock", w, compound=w.compound_b)).status_code == 404
    assert client.get(reverse("supplies:item", args=[w.water_b.pk])).status_code == 404
    assert client.get(reverse("supplies:item_export", args=[w.water_b.pk])).status_code == 404
    assert (
        client.post(url("supplies:store_add", w, compound=w.compound_b), {"name": "偷建"}).status_code == 404
    )
    assert not Store.objects.filter(name="偷建").exists()


def test_an_admin_seeing_several_compounds_chooses_one(as_role, w):
    page = as_role(ADMIN).get(reverse("supplies:stock"))
    assert page.status_code == 200
    assert [t.name for t in page.templates][0] == "supplies/choose.html"
    assert "乙小区" in page.content.decode()


# Balances and the alert ---------------------------------------------------------------------------


def test_the_alert_lists_the_items_below_their_minimum(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=3)
    stock_in(actor=user(w, MANAGER), item=w.cabbage, store=w.store, quantity=5)
    page = as_role(MANAGER).get(url("supplies:stock", w))
    alert = page.content.decode().split('class="card stock-alert"')[1].split("</section>")[0]
    assert "桶装水" in alert and "现有 3桶，最低 10桶" in alert
    assert "白菜" not in alert


def test_no_alert_when_everything_is_above_its_minimum(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    assert "stock-alert" not in as_role(MANAGER).get(url("supplies:stock", w)).content.decode()


def test_the_stock_page_query_count_does_not_grow(as_role, w, django_assert_max_num_queries):
    manager = user(w, MANAGER)
    for index in range(15):
        item = Item.objects.create(compound=w.compound_a, name=f"物资{index}", unit="box", minimum_stock=50)
        stock_in(actor=manager, item=item, store=w.store if index % 2 else w.depot, quantity=index + 1)
    client = as_role(MANAGER)
    with django_assert_max_num_queries(8):
        page = client.get(url("supplies:stock", w))
    assert page.content.decode().count("stock-balances") >= 1 and "物资14" in page.content.decode()


# The forms --------------------------------------------------------------------------------------


def test_adding_an_item_and_a_store(as_role, w):
    client = as_role(MANAGER)
    answer = client.post(url("supplies:item_add", w), {"name": "牛奶", "unit": "box", "minimum_stock": "5"})
    assert answer.status_code == 302
    milk = Item.objects.get(compound=w.compound_a, name="牛奶")
    assert (milk.unit, milk.minimum_stock) == ("box", Decimal(5))
    assert client.post(url("supplies:store_add", w), {"name": "2号楼点"}).status_code == 302
    assert Store.objects.filter(compound=w.compound_a, name="2号楼点").exists()


def test_a_duplicate_item_is_refused_on_the_form(as_role, w):
    answer = as_role(MANAGER).post(url("supplies:item_add", w), {"name": "桶装水", "unit": "bucket"})
    assert answer.status_code == 400
    assert "已有同名物资：桶装水" in answer.content.decode()
    assert Item.objects.filter(compound=w.compound_a, name="桶装水").count() == 1


def test_a_purchase_in_jin_is_stored_in_kilograms_with_its_price(as_role, w):
    answer = as_role(MANAGER).post(
        url("supplies:stock_in", w),
        {"item": w.cabbage.pk, "store": w.store.pk, "quantity": "60", "unit": "jin", "price": "90"},
    )
    assert answer.status_code == 302
    move = StockMove.objects.get()
    assert (move.kind, move.quantity, move.price) == ("purchase_in", Decimal(30), Decimal(90))
    assert balance(w.cabbage, w.store) == Decimal(30)


@pytest.mark.parametrize(
    ("quantity", "unit", "message"),
    [
        ("-5", "", "数量必须大于零"),
        ("0", "", "数量必须大于零"),
        ("1000001", "", "数量超过上限 1,000,000"),
        ("1.0000001", "", "数量最多保留六位小数"),
        ("abc", "", "数量无效"),
        ("3", "kg", "单位“公斤”不能换算为“桶”"),
    ],
)
def test_a_bad_purchase_is_refused_with_its_reason_and_nothing_written(as_role, w, quantity, unit, message):
    answer = as_role(MANAGER).post(
        url("supplies:stock_in", w),
        {"item": w.water.pk, "store": w.store.pk, "quantity": quantity, "unit": unit},
    )
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert nothing_written() and Balance.objects.filter(quantity__gt=0).count() == 0


def test_an_item_of_another_compound_cannot_be_chosen(as_role, w):
    answer = as_role(MANAGER).post(
        url("supplies:stock_in", w), {"item": w.water_b.pk, "store": w.store.pk, "quantity": "3"}
    )
    assert answer.status_code == 400 and nothing_written()


def test_out_to_a_household_picked_by_room(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    answer = as_role(MANAGER).post(
        url("supplies:stock_out", w),
        {
            "item": w.water.pk,
            "store": w.store.pk,
            "quantity": "2",
            "kind": "out_household",
            "room": "1-1-101",
        },
    )
    assert answer.status_code == 302
    move = StockMove.objects.get(kind="out_household")
    assert (move.household, move.quantity) == (w.home_a1, Decimal(-2))
    assert balance(w.water, w.store) == Decimal(8)


@pytest.mark.parametrize(
    ("room", "message"),
    [
        ("3-2-301", "甲小区没有房号为3-2-301的住户"),
        ("1-1-999", "甲小区没有房号为1-1-999的住户"),
        ("101", "房号格式应为“楼号-单元-房号”，例如 3-2-301"),
        ("", "请填写住户房号，例如 3-2-301"),
    ],
)
def test_out_to_a_room_that_does_not_exist_is_a_clear_error(as_role, w, room, message):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    answer = as_role(MANAGER).post(
        url("supplies:stock_out", w),
        {"item": w.water.pk, "store": w.store.pk, "quantity": "2", "kind": "out_household", "room": room},
    )
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert not StockMove.objects.filter(kind="out_household").exists()
    assert balance(w.water, w.store) == Decimal(10)


def test_a_room_of_another_compound_is_not_found_in_this_one(as_role, w):
    """home_b is 1-1-101 of compound B; with the same number in A it is A's household that is
    served, never B's."""
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    as_role(MANAGER).post(
        url("supplies:stock_out", w),
        {
            "item": w.water.pk,
            "store": w.store.pk,
            "quantity": "1",
            "kind": "out_household",
            "room": "1-1-101",
        },
    )
    assert StockMove.objects.get(kind="out_household").household == w.home_a1


def test_a_grid_worker_cannot_serve_a_room_outside_his_buildings(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    answer = as_role(GRID).post(
        url("supplies:stock_out", w),
        {
            "item": w.water.pk,
            "store": w.store.pk,
            "quantity": "1",
            "kind": "out_household",
            "room": "2-1-201",
        },
    )
    assert answer.status_code == 400 and "没有房号为2-1-201的住户" in answer.content.decode()
    assert not StockMove.objects.filter(kind="out_household").exists()


def test_out_to_a_team_of_workers(as_role, w):
    power = Item.objects.create(compound=w.compound_a, name="充电宝", unit="piece")
    stock_in(actor=user(w, MANAGER), item=power, store=w.store, quantity=10)
    client = as_role(MANAGER)
    data = {"item": power.pk, "store": w.store.pk, "quantity": "4", "kind": "out_team", "team": "核酸检查组"}
    assert client.post(url("supplies:stock_out", w), data).status_code == 302
    move = StockMove.objects.get(kind="out_team")
    assert (move.team, move.quantity, move.household) == ("核酸检查组", Decimal(-4), None)
    no_team = client.post(url("supplies:stock_out", w), {**data, "team": "  "})
    assert no_team.status_code == 400 and "请填写领取的队伍" in no_team.content.decode()
    assert StockMove.objects.filter(kind="out_team").count() == 1


def test_used_stock(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.cabbage, store=w.store, quantity=10)
    answer = as_role(MANAGER).post(
        url("supplies:stock_out", w),
        {"item": w.cabbage.pk, "store": w.store.pk, "quantity": "4", "unit": "jin", "kind": "used"},
    )
    assert answer.status_code == 302
    assert balance(w.cabbage, w.store) == Decimal(8)


def test_going_below_zero_is_refused_naming_what_is_left(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=3)
    answer = as_role(MANAGER).post(
        url("supplies:stock_out", w),
        {"item": w.water.pk, "store": w.store.pk, "quantity": "5", "kind": "used"},
    )
    assert answer.status_code == 400
    assert "库存不足：物资站的桶装水仅剩 3桶" in answer.content.decode()
    assert balance(w.water, w.store) == Decimal(3)
    assert StockMove.objects.count() == 1


def test_transfer_between_stores(as_role, w):
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    client = as_role(MANAGER)
    data = {"item": w.water.pk, "from_store": w.store.pk, "to_store": w.depot.pk, "quantity": "4"}
    assert client.post(url("supplies:stock_transfer", w), data).status_code == 302
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (Decimal(6), Decimal(4))
    same = client.post(url("supplies:stock_transfer", w), {**data, "to_store": w.store.pk})
    assert same.status_code == 400 and "调出与调入仓库不能相同" in same.content.decode()
    too_many = client.post(url("supplies:stock_transfer", w), {**data, "quantity": "7"})
    assert too_many.status_code == 400 and "仅剩 6桶" in too_many.content.decode()
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (Decimal(6), Decimal(4))
    assert StockMove.objects.filter(kind="transfer").count() == 2


# The item's page --------------------------------------------------------------------------------


def test_the_items_history_newest_first_with_rooms_teams_and_who(as_role, w):
    manager = user(w, MANAGER)
    stock_in(actor=manager, item=w.water, store=w.store, quantity=10, price=Decimal("80"))
    stock_out(
        actor=manager, item=w.water, store=w.store, quantity=2, kind="out_household", household=w.home_a1
    )
    stock_out(actor=manager, item=w.water, store=w.store, quantity=1, kind="out_team", team="疫情封控组")
    page = as_role(GRID).get(reverse("supplies:item", args=[w.water.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("疫情封控组") < html.index("1-1-101") < html.index("采购入库")
    assert "80.00元" in html and "manager" in html
    assert "合计 7桶 · 最低库存 10桶" in html and "低于最低库存" in html


def test_the_items_history_is_paginated_with_a_fixed_query_count(
    as_role, w, settings, django_assert_max_num_queries
):
    settings.TONGXIN_PAGE_SIZE = 10
    manager = user(w, MANAGER)
    stock_in(actor=manager, item=w.water, store=w.store, quantity=100)
    for index in range(25):
        home = registry_actions.household_ensure(unit=w.a1u1, room=str(300 + index))
        stock_out(
            actor=manager, item=w.water, store=w.store, quantity=1, kind="out_household", household=home
        )
    client = as_role(MANAGER)
    # 8: the page's households are read apart, among those the user sees (a grid worker's buildings).
    with django_assert_max_num_queries(8):
        first = client.get(reverse("supplies:item", args=[w.water.pk]))
    assert "第 1 / 3 页" in first.content.decode() and "1-1-324" in first.content.decode()
    with django_assert_max_num_queries(8):
        last = client.get(reverse("supplies:item", args=[w.water.pk]) + "?page=3")
    assert "采购入库" in last.content.decode() and "1-1-324" not in last.content.decode()


def test_setting_the_minimum(as_role, w):
    client = as_role(MANAGER)
    answer = client.post(reverse("supplies:item_minimum", args=[w.water.pk]), {"minimum_stock": "25"})
    assert answer.status_code == 302
    w.water.refresh_from_db()
    assert w.water.minimum_stock == Decimal(25)
    bad = client.post(reverse("supplies:item_minimum", args=[w.water.pk]), {"minimum_stock": "-1"})
    assert bad.status_code == 400 and "数量必须大于零" in bad.content.decode()
    w.water.refresh_from_db()
    assert w.water.minimum_stock == Decimal(25)


# Excel ------------------------------------------------------------------------------------------


def rows_of(content: bytes) -> list[tuple]:
    sheet = load_workbook(io.BytesIO(content)).active
    return [tuple(row) for row in sheet.iter_rows(values_only=True)]


def test_the_balances_export(as_role, w):
    formula = Item.objects.create(compound=w.compound_a, name="=HYPERLINK(1)", unit="box")
    stock_in(actor=user(w, MANAGER), item=formula, store=w.store, quantity=2)
    stock_in(actor=user(w, MANAGER), item=w.cabbage, store=w.store, quantity="12.5")
    stock_in(actor=user(w, ADMIN), item=w.water_b, store=w.store_b, quantity=9)
    answer = as_role(MANAGER).get(url("supplies:stock_export", w))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert rows_of(answer.content) == [
        ("仓库", "物资", "数量", "单位"),
        ("物资站", "'=HYPERLINK(1)", 2, "箱"),
        ("物资站", "白菜", 12.5, "公斤"),
    ]
    logged = AuditLog.objects.get(action="export", fields="supplies_balances")
    assert (logged.actor, logged.object_id, logged.detail) == (
        user(w, MANAGER),
        str(w.compound_a.pk),
        {"rows": 2},
    )


def test_the_items_history_export(as_role, w):
    manager = user(w, MANAGER)
    stock_in(actor=manager, item=w.water, store=w.store, quantity=10, note="+86 采购")
    stock_out(
        actor=manager, item=w.water, store=w.store, quantity=2, kind="out_household", household=w.home_a1
    )
    answer = as_role(MANAGER).get(reverse("supplies:item_export", args=[w.water.pk]))
    rows = rows_of(answer.content)
    assert rows[0][:3] == ("时间", "类型", "数量")
    assert [(r[1], r[2], r[4], r[6], r[10], r[11]) for r in rows[1:]] == [
        ("发放到户", -2, "物资站", "1-1-101", "manager", None),
        ("采购入库", 10, "物资站", None, "manager", "'+86 采购"),
    ]
    logged = AuditLog.objects.get(action="export", fields="supplies_moves")
    assert (logged.object_id, logged.detail) == (str(w.water.pk), {"moves": 2})
