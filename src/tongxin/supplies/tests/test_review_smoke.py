"""Every supplies page and API read, with every role of the world and odd query strings: no 500,
another compound's records not found, a resident kept to their own household's pages."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.donations import donation_record
from tongxin.supplies.actions.stock import stock_in
from tongxin.supplies.models import Item
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.care_helpers import days_ago, visit
from tongxin.supplies.tests.parcel_helpers import JPEG, _media, intake, upload
from tongxin.supplies.tests.request_helpers import ask

pytestmark = pytest.mark.django_db
__all__ = ["_media"]

ODD = [
    "",
    "?compound=abc",
    "?compound=99999999999999999999999",
    "?page=-1&day=9999-99-99&building=abc&unit=-1",
    "?state=x&room=%00&team=abc&store=99999999999999999999&group=x",
]
PAGES = [
    "supplies:index",
    "supplies:stock",
    "supplies:stock_export",
    "supplies:donations",
    "supplies:parcels",
    "supplies:parcel_round",
    "supplies:requests",
    "supplies:requests_today",
    "supplies:requests_today_export",
    "supplies:campaigns",
    "supplies:care",
    "supplies:care_overdue",
    "supplies:care_overdue_export",
    "supplies:settings",
    "supplies:mine",
    "supplies:mine_requests",
]


@pytest.fixture
def sw(world):
    w = campaign_world(world)
    w.manager = w.users[Role.COMPOUND_MANAGER]
    w.manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=w.compound_b)
    stock_in(actor=w.manager, item=w.water, store=w.store, quantity=10)
    stock_in(actor=w.manager_b, item=w.water_b, store=w.store_b, quantity=10)
    w.parcel_b = intake(w, w.home_b, actor=w.manager_b, photo=upload(JPEG))
    w.parcel_a = intake(w, w.home_a1, photo=upload(JPEG))
    w.request_b = ask(w, household=w.home_b, actor=w.manager_b, lines=[(w.water_b, "", 1, "bucket")])
    ask(w)
    plan(w)
    cabbage_b = Item.objects.create(compound=w.compound_b, name="白菜", unit="kg")
    stock_in(actor=w.manager_b, item=cabbage_b, store=w.store_b, quantity=100)
    w.campaign_b = plan(
        w,
        actor=w.manager_b,
        compound=w.compound_b,
        item=cabbage_b,
        store=w.store_b,
        total_quantity=Decimal(10),
        share_quantity=Decimal(1),
        teams=1,
        days=1,
    )
    visit(w.elder, by=w.manager, day=days_ago(10), next_due=days_ago(3))
    visit(w.stranger, by=w.manager_b, day=days_ago(10), next_due=days_ago(3))
    donation_record(
        actor=w.manager_b, compound=w.compound_b, donor="李四", store=w.store_b, lines=[(w.water_b, 1, None)]
    )
    return w


def test_no_page_or_api_read_fails_whatever_the_role_and_query(sw, client):
    api = [
        "/api/v1/supplies/balances",
        "/api/v1/supplies/donations",
        f"/api/v1/supplies/items/{sw.water.pk}/moves",
        f"/api/v1/supplies/parcels/ready?compound={sw.compound_a.pk}",
        "/api/v1/supplies/requests",
        f"/api/v1/supplies/requests/today?compound={sw.compound_a.pk}",
        f"/api/v1/supplies/campaigns?compound={sw.compound_a.pk}",
        f"/api/v1/supplies/care?compound={sw.compound_a.pk}",
        f"/api/v1/supplies/care/overdue?compound={sw.compound_a.pk}",
    ]
    pages = [reverse(name) for name in PAGES] + [
        reverse("supplies:item", args=[sw.water.pk]),
        reverse("supplies:item_export", args=[sw.water.pk]),
        reverse("supplies:parcel_photo", args=[sw.parcel_a.pk]),
        reverse("supplies:care_resident", args=[sw.elder.pk]),
    ]
    failed = []
    for role, account in sw.users.items():
        client.force_login(account)
        for url in pages + api:
            for odd in ODD:
                target = url + (odd if "?" not in url else odd.replace("?", "&"))
                if client.get(target).status_code >= 500:
                    failed.append((role, target))
    assert failed == []


def test_another_compounds_records_are_not_found_and_a_resident_sees_no_staff_page(sw, client):
    elsewhere = [
        reverse("supplies:item", args=[sw.water_b.pk]),
        reverse("supplies:parcel_photo", args=[sw.parcel_b.pk]),
        reverse("supplies:campaign", args=[sw.campaign_b.pk]),
        reverse("supplies:campaign_doors", args=[sw.campaign_b.pk]),
        reverse("supplies:care_resident", args=[sw.stranger.pk]),
        f"/api/v1/supplies/items/{sw.water_b.pk}/moves",
        f"/api/v1/supplies/campaigns/{sw.campaign_b.pk}/doors",
        f"/api/v1/supplies/requests?compound={sw.compound_b.pk}",
        reverse("supplies:stock") + f"?compound={sw.compound_b.pk}",
        reverse("supplies:requests") + f"?compound={sw.compound_b.pk}",
    ]
    for role in (Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER):
        client.force_login(sw.users[role])
        for url in elsewhere:
            assert client.get(url).status_code in (403, 404), (role, url)
    client.force_login(sw.users[Role.RESIDENT])
    for name in PAGES:
        answer = client.get(reverse(name))
        if name in ("supplies:mine", "supplies:mine_requests"):
            assert answer.status_code == 200
            assert "赵四" not in answer.content.decode() and "乙小区" not in answer.content.decode()
        else:
            assert answer.status_code in (302, 403, 404), name
            if answer.status_code == 302:
                assert answer["Location"].startswith("/supplies/mine/"), name
