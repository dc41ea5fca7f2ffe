"""The requests API: the queue, asking, each state change, the day's list; scope and refusals."""

import datetime
from decimal import Decimal

import pytest
from django.utils import timezone

from tongxin.supplies.actions import requests as actions
from tongxin.supplies.models import StockMove, SupplyRequest
from tongxin.supplies.tests.helpers import GRID, MANAGER, RESIDENT, VOLUNTEER, user
from tongxin.supplies.tests.request_helpers import ask, balance, request_world

pytestmark = pytest.mark.django_db
BASE = "/api/v1/supplies/requests"
LIST = BASE


@pytest.fixture
def w(world):
    return request_world(world)


@pytest.fixture
def as_role(client, w):
    def login(role):
        client.force_login(user(w, role))
        return client

    return login


def test_the_queue_urgent_first_and_filtered_by_state(as_role, w):
    water = ask(w, hours_ago=3)
    medicine = ask(w, kind="medicine", lines=[], detail="胰岛素", hours_ago=1)
    client = as_role(MANAGER)
    rows = client.get(f"{LIST}?compound={w.compound_a.pk}").json()
    assert [r["id"] for r in rows] == [medicine.pk, water.pk]
    assert rows[0]["urgent"] is True and rows[1]["lines"] == [
        {"item": w.water.pk, "label": "桶装水 2桶", "quantity": "2.000000", "unit": "bucket"}
    ]
    assert client.get(f"{LIST}?compound={w.compound_a.pk}&state=delivered").json() == []
    assert client.get(f"{LIST}?compound={w.compound_b.pk}").status_code == 404


def test_a_worker_posts_a_request_for_a_household_and_a_resident_for_their_own(as_role, w):
    answer = as_role(MANAGER).post(
        LIST,
        {
            "household": w.home_a2.pk,
            "kind": "water",
            "lines": [
                {"item": w.water.pk, "quantity": "3"},
                {"description": "酱油", "quantity": "1", "unit": "瓶"},
            ],
            "source": "voice:5",
        },
        content_type="application/json",
    )
    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert (body["household"], body["via"], body["source"], len(body["lines"])) == (
        w.home_a2.pk,
        "phone",
        "voice:5",
        2,
    )
    answer = as_role(RESIDENT).post(
        LIST, {"kind": "medicine", "detail": "降压药"}, content_type="application/json"
    )
    assert answer.status_code == 201
    assert (answer.json()["household"], answer.json()["urgent"], answer.json()["via"]) == (
        w.home_a1.pk,
        True,
        "resident",
    )
    mine = as_role(RESIDENT).get(LIST).json()
    assert [r["household"] for r in mine] == [w.home_a1.pk]


def test_bad_requests_are_400_with_the_message_and_others_households_404(as_role, w):
    client = as_role(RESIDENT)
    answer = client.post(LIST, {"kind": "medicine", "detail": ""}, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["detail"] == "请注明需要哪种药品"
    answer = client.post(LIST, {"household": w.home_a2.pk, "kind": "water"}, content_type="application/json")
    assert answer.status_code == 404
    answer = as_role(GRID).post(
        LIST, {"household": w.home_a2.pk, "kind": "water"}, content_type="application/json"
    )
    assert answer.status_code == 404
    answer = as_role(MANAGER).post(
        LIST,
        {"household": w.home_a1.pk, "kind": "water", "lines": [{"item": w.water_b.pk, "quantity": "1"}]},
        content_type="application/json",
    )
    assert answer.status_code == 404
    answer = as_role(MANAGER).post(
        LIST,
        {"household": w.home_a1.pk, "kind": "water", "lines": [{"description": "水", "quantity": "-1"}]},
        content_type="application/json",
    )
    assert answer.status_code == 400 and answer.json()["detail"] == "数量必须大于零"
    assert SupplyRequest.objects.count() == 0


def test_accept_bought_deliver_and_a_second_delivery_refused(as_role, w):
    made = ask(w)
    client = as_role(VOLUNTEER)
    assert client.post(f"{BASE}/{made.pk}/accept").json()["state"] == "accepted"
    assert client.post(f"{BASE}/{made.pk}/bought").json()["state"] == "bought"
    answer = client.post(f"{BASE}/{made.pk}/deliver", {"store": w.store.pk}, content_type="application/json")
    assert answer.status_code == 200 and answer.json()["delivered_by"] == "volunteer"
    assert balance(w.water, w.store) == Decimal(8)
    answer = client.post(f"{BASE}/{made.pk}/deliver", {"store": w.store.pk}, content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["detail"].startswith("该需求当前为“已送达”，不能标记为已送达（volunteer于")


def test_a_delivery_before_the_request_and_a_short_stock_are_400_and_nothing_written(as_role, w):
    made = ask(w, lines=[(w.water, "", 11, "")], hours_ago=2)
    actions.supply_request_accept(actor=w.manager, request=made, at=made.asked_at)
    client = as_role(MANAGER)
    early = (made.asked_at - datetime.timedelta(hours=1)).isoformat()
    answer = client.post(
        f"{BASE}/{made.pk}/deliver", {"store": w.store.pk, "at": early}, content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["detail"].startswith("送达时间不能早于提出时间")
    answer = client.post(f"{BASE}/{made.pk}/deliver", {"store": w.store.pk}, content_type="application/json")
    assert answer.status_code == 400 and answer.json()["detail"] == "库存不足：物资站的桶装水仅剩 10桶"
    future = (timezone.now() + datetime.timedelta(hours=1)).isoformat()
    answer = client.post(
        f"{BASE}/{made.pk}/deliver", {"store": w.store.pk, "at": future}, content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["detail"] == "送达时间不能晚于现在"
    assert SupplyRequest.objects.get(pk=made.pk).state == "accepted"
    assert not StockMove.objects.filter(kind="out_household").exists()


def test_cannot_with_a_reason_scope_and_roles(as_role, w):
    made = ask(w)
    far = ask(w, household=w.home_a2)
    assert as_role(GRID).post(f"{BASE}/{far.pk}/accept").status_code == 404
    assert as_role(RESIDENT).post(f"{BASE}/{made.pk}/accept").status_code == 404
    answer = as_role(VOLUNTEER).post(
        f"{BASE}/{made.pk}/cannot", {"reason": "无货"}, content_type="application/json"
    )
    assert answer.status_code == 403
    answer = as_role(MANAGER).post(
        f"{BASE}/{made.pk}/cannot", {"reason": " "}, content_type="application/json"
    )
    assert answer.status_code == 400 and answer.json()["detail"] == "请填写无法办理的原因"
    answer = as_role(MANAGER).post(
        f"{BASE}/{made.pk}/cannot", {"reason": "无货"}, content_type="application/json"
    )
    assert answer.json()["state"] == "cannot" and answer.json()["cannot_reason"] == "无货"
    assert (
        as_role(MANAGER)
        .post(f"{BASE}/{made.pk}/cannot", {"reason": "x"}, content_type="application/json")
        .status_code
        == 400
    )


def test_the_days_list_by_building_and_unit_with_the_stock_it_takes(as_role, w):
    for household, quantity in ((w.home_a2, 8), (w.home_a1, 4)):
        made = ask(w, household=household, lines=[(w.water, "", quantity, "")])
        actions.supply_request_accept(actor=w.manager, request=made)
    ask(w)  # new: not on the list
    body = as_role(MANAGER).get(f"{BASE}/today?compound={w.compound_a.pk}").json()
    assert body["count"] == 2
    assert [(b["number"], [u["number"] for u in b["units"]]) for b in body["buildings"]] == [
        ("1", ["1"]),
        ("2", ["1"]),
    ]
    assert body["needs"] == [
        {"item": w.water.pk, "name": "桶装水", "unit": "bucket", "need": "12", "stock": "10", "short": True}
    ]
    grid = as_role(GRID).get(f"{BASE}/today?compound={w.compound_a.pk}").json()
    assert grid["count"] == 1
    assert as_role(RESIDENT).get(f"{BASE}/today?compound={w.compound_a.pk}").status_code == 404
    assert as_role(MANAGER).get(f"{BASE}/today?compound={w.compound_b.pk}").status_code == 404
