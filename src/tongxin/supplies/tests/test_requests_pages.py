"""The requests pages: the queue with its phone form and HTMX buttons, the day's list and its
Excel export, a resident's page; who sees what, and query counts that do not grow."""

import io
from decimal import Decimal

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tongxin.core.models import AuditLog
from tongxin.registry import actions as registry_actions
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.actions import requests as actions
from tongxin.supplies.models import StockMove, SupplyRequest
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER, user
from tongxin.supplies.tests.request_helpers import ask, balance, request_world

pytestmark = pytest.mark.django_db

QUEUE = reverse("supplies:requests")
TODAY = reverse("supplies:requests_today")
EXPORT = reverse("supplies:requests_today_export")
MINE = reverse("supplies:mine_requests")
CREATE = reverse("supplies:request_create")


@pytest.fixture
def w(world):
    return request_world(world)


@pytest.fixture
def as_role(client, w):
    def login(role):
        client.force_login(user(w, role))
        return client

    return login


def a(url, w, **params):
    return url + "?" + "&".join(f"{k}={v}" for k, v in {"compound": w.compound_a.pk, **params}.items())


# The queue ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [ADMIN, OFFICIAL, MANAGER, GRID, VOLUNTEER])
def test_the_team_sees_the_queue_urgent_first(as_role, w, role):
    water = ask(w, hours_ago=3)
    medicine = ask(w, kind="medicine", lines=[], detail="硝苯地平", hours_ago=1)
    page = as_role(role).get(a(QUEUE, w))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index(f'id="request-{medicine.pk}"') < html.index(f'id="request-{water.pk}"')
    assert "13812345678" not in html
    # The masked phone for the staff; a volunteer sees none, as on the registry's pages.
    assert ("138****5678" in html) is (role != VOLUNTEER)
    assert page["Cache-Control"].startswith("max-age=0")


def test_a_resident_is_not_shown_staff_pages_and_another_compound_is_404(as_role, w):
    client = as_role(RESIDENT)
    assert client.get(a(QUEUE, w)).status_code == 404
    assert client.get(a(TODAY, w)).status_code == 404
    assert client.get(a(EXPORT, w)).status_code == 404
    manager = as_role(MANAGER)
    assert manager.get(f"{QUEUE}?compound={w.compound_b.pk}").status_code == 404
    assert manager.get(f"{TODAY}?compound={w.compound_b.pk}").status_code == 404


def test_the_grid_worker_sees_only_his_buildings_requests(as_role, w):
    ask(w, detail="一号楼的")
    far = ask(w, household=w.home_a2, detail="二号楼的")
    html = as_role(GRID).get(a(QUEUE, w)).content.decode()
    assert "一号楼的" in html and "二号楼的" not in html
    url = reverse("supplies:request_accept", args=[far.pk])
    assert as_role(GRID).post(url).status_code == 404
    assert SupplyRequest.objects.get(pk=far.pk).state == "new"


def test_an_official_over_several_compounds_chooses_one(client, w):
    client.force_login(user(w, ADMIN))
    page = client.get(QUEUE)
    assert page.status_code == 200 and "甲小区" in page.content.decode() and "乙小区" in page.content.decode()


def test_a_request_taken_on_the_phone_is_logged_by_room(as_role, w):
    client = as_role(MANAGER)
    answer = client.post(
        CREATE,
        {
            "compound": w.compound_a.pk,
            "room": "1-1-101",
            "kind": "water",
            "via": "phone",
            "detail": "老人独居，放门口",
            "lines": "桶装水 2桶\n酱油 1瓶",
        },
    )
    assert answer.status_code == 302
    made = SupplyRequest.objects.get()
    assert (made.household, made.via, made.detail) == (w.home_a1, "phone", "老人独居，放门口")
    assert list(made.lines.order_by("pk").values_list("item__name", "description", "quantity", "unit")) == [
        ("桶装水", "", Decimal(2), "bucket"),
        (None, "酱油", Decimal(1), "bottle"),
    ]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"room": "9-9-999"}, "找不到该房号"),
        ({"room": "2-1-201", "as": GRID}, "找不到该房号"),
        ({"lines": "桶装水 -2"}, "第1项：数量必须大于零"),
        ({"lines": "桶装水 2公斤"}, "单位“公斤”不能换算为“桶”"),
        ({"kind": "medicine", "detail": ""}, "请注明需要哪种药品"),
    ],
)
def test_a_bad_phone_request_is_shown_again_with_its_error(as_role, w, fields, message):
    role = fields.pop("as", MANAGER)
    data = {"compound": w.compound_a.pk, "room": "1-1-101", "kind": "water", "via": "phone", "lines": ""}
    answer = as_role(role).post(CREATE, data | fields)
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert SupplyRequest.objects.count() == 0


def test_htmx_buttons_move_a_request_and_swap_its_row(as_role, w):
    made = ask(w)
    client = as_role(VOLUNTEER)
    headers = {"HX-Request": "true"}
    answer = client.post(reverse("supplies:request_accept", args=[made.pk]), headers=headers)
    assert answer.status_code == 200
    html = answer.content.decode()
    assert html.lstrip().startswith('<li class="card request state-accepted') and "已受理" in html
    answer = client.post(
        reverse("supplies:request_deliver", args=[made.pk]), {"store": w.store.pk}, headers=headers
    )
    assert answer.status_code == 200 and "state-delivered" in answer.content.decode()
    assert balance(w.water, w.store) == Decimal(8)
    # Refused: shown in the row with the message, status 400.
    answer = client.post(reverse("supplies:request_accept", args=[made.pk]), headers=headers)
    assert answer.status_code == 400
    assert "该需求当前为“已送达”，不能受理" in answer.content.decode()


def test_a_short_stock_is_told_on_the_row_and_nothing_taken(as_role, w):
    made = ask(w, lines=[(w.water, "", 11, "")])
    actions.supply_request_accept(actor=w.manager, request=made)
    answer = as_role(MANAGER).post(
        reverse("supplies:request_deliver", args=[made.pk]),
        {"store": w.store.pk},
        headers={"HX-Request": "true"},
    )
    assert answer.status_code == 400
    assert "库存不足：物资站的桶装水仅剩 10桶" in answer.content.decode()
    assert SupplyRequest.objects.get(pk=made.pk).state == "accepted"
    assert not StockMove.objects.filter(kind="out_household").exists()


def test_plain_posts_redirect_with_a_message_and_cannot_needs_a_reason(as_role, w):
    made = ask(w)
    client = as_role(MANAGER)
    url = reverse("supplies:request_cannot", args=[made.pk])
    answer = client.post(url, {"reason": ""}, follow=True)
    assert "请填写无法办理的原因" in answer.content.decode()
    answer = client.post(url, {"reason": "药店无货"})
    assert answer.status_code == 302 and answer["Location"] == a(QUEUE, w)
    assert SupplyRequest.objects.get(pk=made.pk).cannot_reason == "药店无货"


def test_volunteers_get_no_cannot_button_and_are_refused_it(as_role, w):
    made = ask(w)
    client = as_role(VOLUNTEER)
    assert "无法办理的原因" not in client.get(a(QUEUE, w)).content.decode()
    answer = client.post(
        reverse("supplies:request_cannot", args=[made.pk]), {"reason": "x"}, headers={"HX-Request": "true"}
    )
    assert answer.status_code == 403
    assert SupplyRequest.objects.get(pk=made.pk).state == "new"


def test_the_queues_queries_do_not_grow_with_the_requests(as_role, w, django_assert_max_num_queries):
    client = as_role(MANAGER)
    for index in range(3):
        ask(w, lines=[(w.water, "", 1, ""), (None, f"菜{index}", 1, "")])
    with django_assert_max_num_queries(16) as few:
        assert client.get(a(QUEUE, w)).status_code == 200
    for index in range(30):
        home = registry_actions.household_ensure(unit=w.a1u1 if index % 2 else w.a2u1, room=str(300 + index))
        make_resident(home, name=f"住户{index}", phone=f"1390000{index:04d}")
        ask(w, household=home, kind="medicine", lines=[(None, "药", 1, "盒")], detail="降压药")
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(a(QUEUE, w)).status_code == 200


# The day's list --------------------------------------------------------------------------------------


def _day(w):
    for household, lines in ((w.home_a1, [(w.water, "", 4, "")]), (w.home_a2, [(w.water, "", 8, "")])):
        made = ask(w, household=household, lines=lines, detail='=HYPERLINK("http://x","点")')
        actions.supply_request_accept(actor=w.manager, request=made)


def test_the_days_list_groups_by_building_and_flags_short_stock(as_role, w):
    _day(w)
    page = as_role(MANAGER).get(a(TODAY, w))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.index("1号楼") < html.index("2号楼")
    assert "12桶" in html and "10桶" in html and "库存不足" in html


def test_the_days_list_queries_do_not_grow(as_role, w, django_assert_max_num_queries):
    _day(w)
    client = as_role(MANAGER)
    with django_assert_max_num_queries(16) as few:
        client.get(a(TODAY, w))
    for index in range(20):
        home = registry_actions.household_ensure(unit=w.a2u1, room=str(400 + index))
        made = ask(w, household=home, lines=[(w.water, "", 1, ""), (w.rice, "", 1, "")])
        actions.supply_request_accept(actor=w.manager, request=made)
    with django_assert_max_num_queries(len(few.captured_queries)):
        assert client.get(a(TODAY, w)).status_code == 200


def test_the_excel_export_is_audited_and_formula_safe(as_role, w):
    _day(w)
    answer = as_role(MANAGER).get(a(EXPORT, w))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("楼栋", "单元", "房号", "类别")
    assert rows[1][:3] == ("1", "1", "101") and rows[1][5] == '\'=HYPERLINK("http://x","点")'
    assert rows[1][8] == "138****5678"
    assert ("桶装水", 12, 10, "桶", "库存不足") in [row[:5] for row in rows]
    log = AuditLog.objects.get(action="export")
    assert (log.actor, log.detail["count"], log.detail["compound"]) == (w.manager, 2, w.compound_a.pk)


def test_the_export_of_a_grid_worker_holds_his_buildings_only(as_role, w):
    _day(w)
    sheet = load_workbook(io.BytesIO(as_role(GRID).get(a(EXPORT, w)).content)).active
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    rooms = [row[2] for row in rows[: [r[0] for r in rows].index("物资") - 1]]
    assert rooms == ["101"]


# A resident's page -----------------------------------------------------------------------------------


def test_a_resident_asks_with_a_kinds_button_and_sees_the_state(as_role, w):
    client = as_role(RESIDENT)
    page = client.get(MINE)
    assert page.status_code == 200 and "饮用水" in page.content.decode()
    assert client.post(MINE, {"kind": "water", "quantity": "2"}).status_code == 302
    made = SupplyRequest.objects.get()
    assert (made.household, made.via, made.asked_by) == (w.home_a1, "resident", user(w, RESIDENT))
    assert list(made.lines.values_list("item__name", "quantity")) == [("桶装水", Decimal(2))]
    actions.supply_request_accept(actor=w.manager, request=made)
    assert "已受理" in client.get(MINE).content.decode()


def test_a_residents_medicine_needs_its_name_and_is_urgent(as_role, w):
    client = as_role(RESIDENT)
    answer = client.post(MINE, {"kind": "medicine", "quantity": "1", "detail": ""})
    assert answer.status_code == 400 and "请注明需要哪种药品" in answer.content.decode()
    client.post(MINE, {"kind": "medicine", "quantity": "1", "detail": "硝苯地平缓释片"})
    assert SupplyRequest.objects.get().urgent is True


def test_a_resident_never_sees_another_households_requests_and_is_told_why_not_done(as_role, w):
    ask(w, household=w.home_a2, detail="邻居的需求")
    own = ask(w, detail="我家的需求")
    actions.supply_request_cannot(actor=w.manager, request=own, reason="暂无货源")
    html = as_role(RESIDENT).get(MINE).content.decode()
    assert "我家的需求" in html and "暂无货源" in html and "邻居的需求" not in html


def test_staff_are_sent_from_the_mine_page_to_the_queue(as_role, w):
    answer = as_role(MANAGER).get(MINE)
    assert answer.status_code == 302 and answer["Location"] == QUEUE


def test_the_mine_pages_queries_do_not_grow(as_role, w, django_assert_max_num_queries):
    client = as_role(RESIDENT)
    ask(w)
    with django_assert_max_num_queries(12) as few:
        client.get(MINE)
    for _index in range(10):
        ask(w, lines=[(w.water, "", 1, ""), (None, "菜", 1, "")])
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(MINE)


def test_delivering_from_the_days_list_goes_back_to_it(as_role, w):
    _day(w)
    made = SupplyRequest.objects.filter(household=w.home_a1).get()
    answer = as_role(VOLUNTEER).post(
        reverse("supplies:request_deliver", args=[made.pk]), {"store": w.store.pk, "back": "today"}
    )
    assert answer.status_code == 302 and answer["Location"] == a(TODAY, w)
    assert SupplyRequest.objects.get(pk=made.pk).state == "delivered"
    assert balance(w.water, w.store) == Decimal(6)


@pytest.mark.parametrize(("role", "url"), [(MANAGER, QUEUE), (MANAGER, TODAY), (RESIDENT, MINE)])
def test_pages_hold_no_inline_style_or_script(as_role, w, role, url):
    _day(w)
    html = as_role(role).get(a(url, w) if role != RESIDENT else url).content.decode()
    assert ' style="' not in html
    assert "<script>" not in html
    assert "supplies/requests.css" in html
