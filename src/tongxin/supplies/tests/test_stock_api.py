"""/api/v1/supplies/: balances, an item's moves, moves in/out/transfer, donations; refusals as 400
with the messages, 403 for roles that may not, 404 for another compound's records."""

from decimal import Decimal

import pytest
from django.test import Client

from tongxin.supplies.actions.stock import stock_in, stock_out
from tongxin.supplies.models import Balance, Donation, Item, StockMove
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
API = "/api/v1/supplies"


@pytest.fixture
def w(world):
    w = stock_world(world)
    stock_in(actor=user(w, MANAGER), item=w.water, store=w.store, quantity=10)
    return w


def client_of(w, role) -> Client:
    client = Client()
    client.force_login(user(w, role))
    return client


def post(client, path, body):
    return client.post(f"{API}{path}", body, content_type="application/json")


def balance(item, store):
    row = Balance.objects.filter(item=item, store=store).first()
    return row.quantity if row else Decimal(0)


@pytest.mark.parametrize("role", [MANAGER, GRID, OFFICIAL])
def test_balances_of_the_users_compound(w, role):
    stock_in(actor=user(w, ADMIN), item=w.water_b, store=w.store_b, quantity=4)
    answer = client_of(w, role).get(f"{API}/balances?compound={w.compound_a.pk}")
    assert answer.status_code == 200
    assert answer.json() == [
        {
            "store_id": w.store.pk,
            "store": "物资站",
            "item_id": w.water.pk,
            "item": "桶装水",
            "unit": "bucket",
            "unit_label": "桶",
            "quantity": "10",
        }
    ]
    assert client_of(w, role).get(f"{API}/balances?compound={w.compound_b.pk}").status_code == 404
    assert [row["store"] for row in client_of(w, role).get(f"{API}/balances").json()] == ["物资站"]


@pytest.mark.parametrize("role", [VOLUNTEER, RESIDENT])
def test_balances_are_refused_to_volunteers_and_residents(w, role):
    assert client_of(w, role).get(f"{API}/balances?compound={w.compound_a.pk}").status_code in (403, 404)
    assert client_of(w, role).get(f"{API}/balances").status_code == 403


def test_an_items_moves_newest_first(w):
    stock_out(
        actor=user(w, MANAGER),
        item=w.water,
        store=w.store,
        quantity=2,
        kind="out_household",
        household=w.home_a1,
    )
    answer = client_of(w, GRID).get(f"{API}/items/{w.water.pk}/moves")
    body = answer.json()
    assert (body["count"], body["page"], body["pages"]) == (2, 1, 1)
    assert [(m["kind"], m["quantity"], m["room"], m["by"]) for m in body["moves"]] == [
        ("out_household", "-2", "1-1-101", "manager"),
        ("purchase_in", "10", None, "manager"),
    ]
    assert client_of(w, GRID).get(f"{API}/items/{w.water_b.pk}/moves").status_code == 404
    assert client_of(w, VOLUNTEER).get(f"{API}/items/{w.water.pk}/moves").status_code == 403


def test_a_purchase_in_jin_through_the_api(w):
    answer = post(
        client_of(w, MANAGER),
        "/moves",
        {
            "kind": "in",
            "item": w.cabbage.pk,
            "store": w.store.pk,
            "quantity": "60",
            "unit": "jin",
            "price": "90.5",
        },
    )
    assert answer.status_code == 201
    assert answer.json()["moves"][0]["quantity"] == "30" and answer.json()["moves"][0]["price"] == "90.5"
    assert balance(w.cabbage, w.store) == Decimal(30)


def test_out_to_a_household_by_room_also_by_a_volunteer(w):
    answer = post(
        client_of(w, VOLUNTEER),
        "/moves",
        {
            "kind": "out",
            "to": "household",
            "item": w.water.pk,
            "store": w.store.pk,
            "quantity": 2,
            "room": "1-1-101",
        },
    )
    assert answer.status_code == 201, answer.json()
    assert answer.json()["moves"][0]["room"] == "1-1-101"
    assert StockMove.objects.get(kind="out_household").household == w.home_a1
    unknown = post(
        client_of(w, MANAGER),
        "/moves",
        {
            "kind": "out",
            "to": "household",
            "item": w.water.pk,
            "store": w.store.pk,
            "quantity": 1,
            "room": "9-9-909",
        },
    )
    assert unknown.status_code == 400 and unknown.json()["errors"] == {
        "room": ["甲小区没有房号为9-9-909的住户"]
    }
    assert balance(w.water, w.store) == Decimal(8)


def test_a_volunteer_may_not_take_stock_out_to_a_team_or_in(w):
    client = client_of(w, VOLUNTEER)
    team = {
        "kind": "out",
        "to": "team",
        "team": "核酸检查组",
        "item": w.water.pk,
        "store": w.store.pk,
        "quantity": 1,
    }
    assert post(client, "/moves", team).status_code == 403
    assert (
        post(
            client, "/moves", {"kind": "in", "item": w.water.pk, "store": w.store.pk, "quantity": 1}
        ).status_code
        == 403
    )
    assert StockMove.objects.count() == 1


def test_out_to_a_team_and_a_transfer(w):
    client = client_of(w, MANAGER)
    team = post(
        client,
        "/moves",
        {
            "kind": "out",
            "to": "team",
            "team": "疫情封控组",
            "item": w.water.pk,
            "store": w.store.pk,
            "quantity": 3,
        },
    )
    assert team.status_code == 201 and team.json()["moves"][0]["team"] == "疫情封控组"
    moved = post(
        client,
        "/moves",
        {
            "kind": "transfer",
            "item": w.water.pk,
            "store": w.store.pk,
            "to_store": w.depot.pk,
            "quantity": "4",
        },
    )
    assert moved.status_code == 201
    assert [(m["store"], m["quantity"], m["other_store"]) for m in moved.json()["moves"]] == [
        ("物资站", "-4", "1号楼临时点"),
        ("1号楼临时点", "4", "物资站"),
    ]
    assert (balance(w.water, w.store), balance(w.water, w.depot)) == (Decimal(3), Decimal(4))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"quantity": "-1"}, "数量必须大于零"),
        ({"quantity": 0}, "数量必须大于零"),
        ({"quantity": "1000001"}, "数量超过上限 1,000,000"),
        ({"quantity": "0.0000001"}, "数量最多保留六位小数"),
        ({"quantity": "NaN"}, "数量无效"),
        ({"quantity": "11"}, "库存不足：物资站的桶装水仅剩 10桶"),
        ({"unit": "kg"}, "单位“公斤”不能换算为“桶”"),
        ({"unit": "ton"}, "未知的单位：ton"),
        ({"to": None}, "请选择出库去向"),
        ({"to": "team", "team": " "}, "请填写领取的队伍"),
        ({"kind": "in", "price": "-3"}, "金额不能为负"),
        ({"kind": "in", "price": "3.001"}, "金额最多保留两位小数"),
    ],
)
def test_bad_moves_are_400_with_the_message_and_nothing_written(w, body, message):
    payload = {"kind": "out", "to": "used", "item": w.water.pk, "store": w.store.pk, "quantity": 1, **body}
    answer = post(client_of(w, MANAGER), "/moves", payload)
    assert answer.status_code == 400
    assert message in answer.json()["detail"]
    assert StockMove.objects.count() == 1 and balance(w.water, w.store) == Decimal(10)


def test_another_compounds_item_or_store_is_not_found_or_refused(w):
    client = client_of(w, MANAGER)
    other_item = post(
        client, "/moves", {"kind": "in", "item": w.water_b.pk, "store": w.store.pk, "quantity": 1}
    )
    assert other_item.status_code == 404
    other_store = post(
        client, "/moves", {"kind": "in", "item": w.water.pk, "store": w.store_b.pk, "quantity": 1}
    )
    assert other_store.status_code == 400 and other_store.json()["errors"] == {
        "store": ["该小区没有这个仓库"]
    }
    assert StockMove.objects.count() == 1


def test_donations_recorded_listed_and_thanked(w):
    client = client_of(w, MANAGER)
    coats = Item.objects.create(compound=w.compound_a, name="军大衣", unit="piece")
    made = post(
        client,
        "/donations",
        {
            "compound": w.compound_a.pk,
            "store": w.store.pk,
            "donor": "塞北商贸",
            "value": "5000",
            "lines": [
                {"item": coats.pk, "quantity": 30},
                {"item": w.cabbage.pk, "quantity": "100", "unit": "jin"},
            ],
        },
    )
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["thanks"] == "感谢塞北商贸捐赠军大衣、白菜（价值5,000元）"
    assert body["lines"] == [
        {"item": "军大衣", "quantity": "30", "unit": "piece"},
        {"item": "白菜", "quantity": "50", "unit": "kg"},
    ]
    listed = client.get(f"{API}/donations?compound={w.compound_a.pk}").json()
    assert (listed["count"], listed["donations"][0]["donor"]) == (1, "塞北商贸")
    thanked = client.post(f"{API}/donations/{body['id']}/thanked")
    assert thanked.status_code == 200 and thanked.json()["thanked"] is True
    again = client.post(f"{API}/donations/{body['id']}/thanked")
    assert again.status_code == 400 and "manager已于" in again.json()["detail"]


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"lines": []}, 400, "请至少填写一项捐赠物资"),
        ({"donor": "  "}, 400, "请填写捐赠方"),
        ({"lines": [{"item": 999999, "quantity": 1}]}, 400, "该小区没有这些物资：999999"),
        (
            {"lines": [{"item": "water", "quantity": 1}, {"item": "water", "quantity": "2", "unit": "kg"}]},
            400,
            "不能换算",
        ),
        ({"value": "-1"}, 400, "捐赠价值无效"),
        ({"value": "12.345"}, 400, "捐赠价值无效"),
    ],
)
def test_bad_donations_are_refused_whole(w, change, status, message):
    payload = {"compound": w.compound_a.pk, "store": w.store.pk, "donor": "塞北商贸", "lines": [], **change}
    payload["lines"] = [
        {**line, "item": w.water.pk} if line.get("item") == "water" else line for line in payload["lines"]
    ]
    answer = post(client_of(w, MANAGER), "/donations", payload)
    assert answer.status_code == status
    assert message in str(answer.json())
    assert Donation.objects.count() == 0 and StockMove.objects.count() == 1


def test_donations_of_another_compound_are_not_found(w):
    client = client_of(w, MANAGER)
    made = post(
        client_of(w, ADMIN),
        "/donations",
        {
            "compound": w.compound_b.pk,
            "store": w.store_b.pk,
            "donor": "乙",
            "lines": [{"item": w.water_b.pk, "quantity": 1}],
        },
    )
    assert made.status_code == 201
    assert client.get(f"{API}/donations?compound={w.compound_b.pk}").status_code == 404
    assert client.post(f"{API}/donations/{made.json()['id']}/thanked").status_code == 404
    assert (
        post(
            client,
            "/donations",
            {"compound": w.compound_b.pk, "store": w.store_b.pk, "donor": "x", "lines": []},
        ).status_code
        == 404
    )
    assert client_of(w, VOLUNTEER).get(f"{API}/donations").status_code == 403
