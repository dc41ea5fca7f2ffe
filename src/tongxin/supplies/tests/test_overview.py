"""The supplies overview: each part's figures for the roles that use it, in a fixed number of
queries; residents go to their own page, another compound is not found."""

import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.supplies.actions.donations import donation_record
from tongxin.supplies.actions.stock import stock_out
from tongxin.supplies.tests.parcel_helpers import held, intake
from tongxin.supplies.tests.request_helpers import ask, request_world

pytestmark = pytest.mark.django_db


def page(user, **params):
    client = Client()
    client.force_login(user)
    return client.get("/supplies/", params)


def busy_world(world):
    w = request_world(world)
    donation_record(
        actor=w.manager,
        compound=w.compound_a,
        donor="爱心企业",
        store=w.store,
        lines=[(w.cabbage, 60, "jin")],
        value=Decimal(5000),
    )
    intake(world)
    held(world, minutes_ago=10)
    held(world, minutes_ago=130)
    ask(w, kind="medicine", detail="降压药", lines=[])  # the elder's household: urgent
    return w


def test_the_manager_sees_every_part_with_its_figures(world):
    busy_world(world)
    response = page(world.users[Role.COMPOUND_MANAGER])
    assert response.status_code == 200
    context = response.context
    assert context["low_stock"] == []  # 10 buckets of water in stock, its minimum is 10
    assert context["donations"]["count"] == 1 and context["donations"]["value"] == 5000
    assert context["donations"]["unthanked"] == 1
    assert context["parcels"] == {"received": 1, "holding": 1, "ready": 1, "delivered_today": 0}
    assert context["requests"]["open"] == 1 and context["requests"]["urgent"] == 1
    assert context["care"]["vulnerable"] >= 1
    body = response.content.decode()
    assert "库存预警" in body and "快递" in body and "关爱探访" in body


def test_a_volunteer_sees_the_work_not_the_stock_or_the_care_list(world):
    busy_world(world)
    response = page(world.users[Role.VOLUNTEER])
    assert response.status_code == 200
    context = response.context
    assert context["low_stock"] is None and context["donations"] is None and context["care"] is None
    assert context["parcels"]["ready"] == 1
    assert "库存预警" not in response.content.decode()


def test_a_resident_goes_to_their_own_page_and_another_compound_is_not_found(world):
    busy_world(world)
    assert page(world.users[Role.RESIDENT])["Location"] == "/supplies/mine/"
    assert page(world.users[Role.COMPOUND_MANAGER], compound=world.compound_b.pk).status_code == 404


def queries_of_the_page(user) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert page(user).status_code == 200
    return len(captured)


def test_the_overview_does_not_grow_with_the_data(world):
    w = busy_world(world)
    manager = world.users[Role.COMPOUND_MANAGER]
    before = queries_of_the_page(manager)
    stock_out(actor=w.manager, item=w.water, store=w.store, quantity=5, kind="used")  # now low
    for _ in range(5):
        held(world, minutes_ago=200)
        ask(w, lines=[], kind="other", detail="买菜", hours_ago=30)
    assert queries_of_the_page(manager) == before <= 30
    assert [item.name for item in page(manager).context["low_stock"]] == ["桶装水"]


def test_donations_count_the_last_thirty_days_and_every_one_not_yet_thanked(world):
    w = request_world(world)
    old = timezone.now() - datetime.timedelta(days=40)
    for received_at in (old, timezone.now() - datetime.timedelta(days=20)):
        donation_record(
            actor=w.manager,
            compound=w.compound_a,
            donor="爱心企业",
            store=w.store,
            lines=[(w.cabbage, 10, "kg")],
            value=Decimal(100),
            received_at=received_at,
        )
    figures = page(world.users[Role.COMPOUND_MANAGER]).context["donations"]
    assert (figures["count"], figures["value"], figures["unthanked"], figures["days"]) == (1, 100, 2, 30)
