"""/supplies/donations/: who may open it, recording a donation of several lines (all or nothing),
marking it thanked (one wins), the daily report's thanks as a block to copy, the list's query count."""

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone

from tongxin.core.models import AuditLog
from tongxin.supplies.actions.donations import donation_mark_thanked, donation_record
from tongxin.supplies.models import Balance, Donation, Item, StockMove
from tongxin.supplies.selectors.stock import donation_get, donation_thanks
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


@pytest.fixture
def w(world):
    w = stock_world(world)
    w.alcohol = Item.objects.create(compound=w.compound_a, name="酒精", unit="bottle")
    w.suits = Item.objects.create(compound=w.compound_a, name="防护服", unit="piece")
    w.coats = Item.objects.create(compound=w.compound_a, name="军大衣", unit="piece")
    return w


@pytest.fixture
def as_role(client, w):
    def login(role):
        client.force_login(user(w, role))
        return client

    return login


def page_url(w, compound=None, **params):
    query = "&".join(f"{k}={v}" for k, v in {"compound": (compound or w.compound_a).pk, **params}.items())
    return f"{reverse('supplies:donations')}?{query}"


def add_url(w, compound=None):
    return f"{reverse('supplies:donation_add')}?compound={(compound or w.compound_a).pk}"


def form_data(w, lines, **fields):
    data = {
        "donor": "塞北商贸",
        "contact": "0471-6923158",
        "value": "5,000",
        "store": w.store.pk,
        "note": "",
        "lines-TOTAL_FORMS": "4",
        "lines-INITIAL_FORMS": "0",
        "lines-MIN_NUM_FORMS": "0",
        "lines-MAX_NUM_FORMS": "20",
        **fields,
    }
    for index, (item, quantity, unit) in enumerate(lines):
        data.update(
            {f"lines-{index}-item": item.pk, f"lines-{index}-quantity": quantity, f"lines-{index}-unit": unit}
        )
    return data


def record(w, *, at=None, value=Decimal("5000"), donor="塞北商贸", lines=None):
    return donation_record(
        actor=user(w, MANAGER),
        compound=w.compound_a,
        donor=donor,
        contact="0471-6923158",
        value=value,
        store=w.store,
        lines=lines or [(w.alcohol, 120, None), (w.suits, 100, None), (w.coats, 30, None)],
        received_at=at,
    )


@pytest.mark.parametrize("role", [ADMIN, OFFICIAL, MANAGER, GRID])
def test_the_donations_page_opens_for_the_stock_keepers(as_role, w, role):
    record(w)
    page = as_role(role).get(page_url(w))
    assert page.status_code == 200
    html = page.content.decode()
    assert "塞北商贸" in html and "酒精 120瓶" in html and "0471-6923158" in html and "5,000元" in html


@pytest.mark.parametrize("role", [VOLUNTEER, RESIDENT])
def test_volunteers_and_residents_are_refused(as_role, w, role):
    donation = record(w)
    client = as_role(role)
    assert client.get(page_url(w)).status_code == 403
    assert client.post(add_url(w), form_data(w, [(w.alcohol, "1", "")])).status_code == 403
    assert client.post(reverse("supplies:donation_thanked", args=[donation.pk])).status_code in (403, 404)
    assert Donation.objects.count() == 1 and not Donation.objects.get().thanked


def test_another_compounds_donations_are_not_found(as_role, w):
    other = donation_record(
        actor=user(w, ADMIN),
        compound=w.compound_b,
        donor="乙捐赠方",
        store=w.store_b,
        lines=[(w.water_b, 5, None)],
    )
    client = as_role(MANAGER)
    assert client.get(page_url(w, compound=w.compound_b)).status_code == 404
    assert client.post(reverse("supplies:donation_thanked", args=[other.pk])).status_code == 404
    assert "乙捐赠方" not in client.get(page_url(w)).content.decode()
    assert not Donation.objects.get(pk=other.pk).thanked


def test_recording_a_donation_of_several_lines(as_role, w):
    answer = as_role(MANAGER).post(
        add_url(w), form_data(w, [(w.alcohol, "120", ""), (w.cabbage, "600", "jin"), (w.coats, "30", "")])
    )
    assert answer.status_code == 302
    donation = Donation.objects.get()
    assert (donation.donor, donation.value, donation.contact) == ("塞北商贸", Decimal(5000), "0471-6923158")
    assert sorted(StockMove.objects.filter(donation=donation).values_list("item__name", "quantity")) == [
        ("军大衣", Decimal(30)),
        ("白菜", Decimal(300)),
        ("酒精", Decimal(120)),
    ]
    assert Balance.objects.get(item=w.cabbage, store=w.store).quantity == Decimal(300)


@pytest.mark.parametrize(
    ("lines", "fields", "message"),
    [
        ([], {}, "请至少填写一项捐赠物资"),
        ([("alcohol", "10", ""), ("water", "2", "kg")], {}, "单位“公斤”不能换算为“桶”"),
        ([("alcohol", "-1", "")], {}, "数量必须大于零"),
        ([("alcohol", "10", "")], {"donor": " "}, "这个字段是必填项"),
        ([("alcohol", "10", "")], {"value": "-5"}, "确保该值大于或等于0"),
        ([("alcohol", "10", "")], {"received_at": "2099-01-01T10:00"}, "接收时间不能晚于现在"),
    ],
)
def test_a_bad_donation_is_refused_whole(as_role, w, lines, fields, message):
    data = form_data(w, [(getattr(w, name), q, u) for name, q, u in lines], **fields)
    answer = as_role(MANAGER).post(add_url(w), data)
    assert answer.status_code == 400
    assert message in answer.content.decode()
    assert (Donation.objects.count(), StockMove.objects.count()) == (0, 0)
    assert not AuditLog.objects.filter(object_type__startswith="supplies.").exists()


def test_marking_thanked(as_role, w):
    donation = record(w)
    client = as_role(MANAGER)
    answer = client.post(reverse("supplies:donation_thanked", args=[donation.pk]))
    assert answer.status_code == 302
    assert Donation.objects.get().thanked
    again = client.post(reverse("supplies:donation_thanked", args=[donation.pk]), follow=True)
    assert "manager已于" in again.content.decode() and "标记致谢" in again.content.decode()
    assert AuditLog.objects.filter(object_type="supplies.donation", fields="thanked").count() == 1


def test_two_people_marking_thanked_at_once_one_wins_the_other_is_told(w):
    record(w)
    first = donation_get(user(w, MANAGER), Donation.objects.get().pk)
    second = donation_get(user(w, GRID), first.pk)  # both read "not thanked"
    donation_mark_thanked(actor=user(w, MANAGER), donation=first)
    with pytest.raises(ValidationError) as told:
        donation_mark_thanked(actor=user(w, GRID), donation=second)
    assert told.value.code == "already_thanked"
    assert told.value.messages[0].startswith("manager已于")
    logged = AuditLog.objects.filter(object_type="supplies.donation", fields="thanked")
    assert list(logged.values_list("actor_name", flat=True)) == ["manager"]


def test_the_thanks_lines_of_the_day(as_role, w):
    today = timezone.localtime().replace(hour=9, minute=0, second=0, microsecond=0)
    if today > timezone.now():
        today -= datetime.timedelta(days=1)
    record(w, at=today)
    record(w, at=today, donor="爱心人士张先生", value=None, lines=[(w.water, 20, None)])
    record(w, at=today - datetime.timedelta(days=3), donor="前几天的捐赠方", value=Decimal("1234.5"))
    lines = donation_thanks(
        user(w, MANAGER),
        w.compound_a,
        today.replace(hour=0),
        today.replace(hour=0) + datetime.timedelta(days=1),
    )
    assert lines == ["感谢塞北商贸捐赠酒精、防护服、军大衣（价值5,000元）", "感谢爱心人士张先生捐赠桶装水"]
    earlier = donation_thanks(user(w, MANAGER), w.compound_a.pk, None, today.replace(hour=0))
    assert earlier == ["感谢前几天的捐赠方捐赠酒精、防护服、军大衣（价值1,234.50元）"]
    assert donation_thanks(user(w, VOLUNTEER), w.compound_b, None, None) == []
    page = as_role(MANAGER).get(page_url(w, day=today.date().isoformat()))
    block = page.content.decode().split('id="thanks-block"')[1].split("</textarea>")[0]
    assert "感谢塞北商贸捐赠酒精、防护服、军大衣（价值5,000元）\n感谢爱心人士张先生捐赠桶装水" in block
    assert "前几天" not in block


def test_the_list_query_count_does_not_grow(as_role, w, django_assert_max_num_queries):
    for index in range(12):
        record(w, donor=f"捐赠方{index}", lines=[(w.alcohol, index + 1, None), (w.coats, 1, None)])
    client = as_role(MANAGER)
    with django_assert_max_num_queries(11):
        page = client.get(page_url(w))
    assert page.status_code == 200 and page.content.decode().count("标记已致谢") == 12
