from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tongxin.core.models import AuditLog
from tongxin.supplies.actions.donations import donation_mark_thanked, donation_record
from tongxin.supplies.models import Balance, Donation, Item, StockMove
from tongxin.supplies.tests.helpers import MANAGER, OFFICIAL, VOLUNTEER, stock_world, user


@pytest.fixture
def w(world):
    w = stock_world(world)
    w.masks = Item.objects.create(compound=w.compound_a, name="口罩", unit="box")
    return w


def test_a_donation_keeps_its_donor_and_value_and_puts_its_goods_in_stock(w):
    donation = donation_record(
        actor=user(w, MANAGER),
        compound=w.compound_a,
        donor=" 爱心企业 ",
        contact="0471-1234567",
        value=Decimal("5000"),
        store=w.store,
        lines=[(w.masks, 50, None), (w.cabbage, 600, "jin")],
    )
    assert (donation.donor, donation.value, donation.thanked, donation.recorded_by) == (
        "爱心企业",
        Decimal(5000),
        False,
        user(w, MANAGER),
    )
    moves = sorted(StockMove.objects.filter(donation=donation).values_list("item__name", "quantity", "kind"))
    assert moves == [("口罩", Decimal(50), "donation_in"), ("白菜", Decimal(300), "donation_in")]
    assert Balance.objects.get(item=w.cabbage, store=w.store).quantity == Decimal(300)
    assert AuditLog.objects.filter(object_type="supplies.donation", object_id=str(donation.pk)).count() == 1
    assert AuditLog.objects.filter(object_type="supplies.stockmove").count() == 2


def test_one_bad_line_refuses_the_whole_donation(w):
    with pytest.raises(ValidationError) as refused:
        donation_record(
            actor=user(w, MANAGER),
            compound=w.compound_a,
            donor="爱心企业",
            store=w.store,
            lines=[(w.masks, 50, None), (w.water, 3, "kg")],
        )
    assert refused.value.messages == ["单位“公斤”不能换算为“桶”"]
    assert (Donation.objects.count(), StockMove.objects.count(), Balance.objects.count()) == (0, 0, 0)
    assert AuditLog.objects.filter(object_type__startswith="supplies.").count() == 0


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"donor": "  "}, "请填写捐赠方"),
        ({"value": Decimal("-1")}, "捐赠价值无效"),
        ({"lines": []}, "请至少填写一项捐赠物资"),
    ],
)
def test_a_donation_without_what_it_needs_is_refused(w, changes, message):
    arguments = {"donor": "爱心企业", "value": Decimal(100), "lines": [(w.masks, 1, None)]} | changes
    with pytest.raises(ValidationError) as refused:
        donation_record(actor=user(w, MANAGER), compound=w.compound_a, store=w.store, **arguments)
    assert refused.value.messages == [message]
    assert Donation.objects.count() == 0


def test_donations_are_kept_by_the_compounds_team_only(w):
    with pytest.raises(Http404):
        donation_record(
            actor=user(w, MANAGER),
            compound=w.compound_b,
            donor="甲",
            store=w.store_b,
            lines=[(w.water_b, 1, None)],
        )
    with pytest.raises(PermissionDenied):
        donation_record(
            actor=user(w, VOLUNTEER),
            compound=w.compound_a,
            donor="甲",
            store=w.store,
            lines=[(w.water, 1, None)],
        )
    with pytest.raises(ValidationError) as refused:
        donation_record(
            actor=user(w, MANAGER),
            compound=w.compound_a,
            donor="甲",
            store=w.store_b,
            lines=[(w.water, 1, None)],
        )
    assert refused.value.messages == ["仓库与物资不属于同一小区"]
    assert Donation.objects.count() == 0


def test_a_donation_is_marked_thanked(w):
    donation = donation_record(
        actor=user(w, OFFICIAL), compound=w.compound_a, donor="甲", store=w.store, lines=[(w.water, 1, None)]
    )
    donation_mark_thanked(actor=user(w, MANAGER), donation=donation)
    donation.refresh_from_db()
    assert donation.thanked is True
    assert (
        AuditLog.objects.filter(object_type="supplies.donation", action="update", fields="thanked").count()
        == 1
    )
