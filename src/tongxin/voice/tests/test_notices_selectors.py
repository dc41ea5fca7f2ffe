"""Notices as the team and a household read them; who a notice reaches (sealed homes by the
strictest risk level)."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak.actions.areas import area_raise
from tongxin.voice.actions.notices import deliveries_send, notice_create
from tongxin.voice.selectors.notices import (
    audience_households,
    delivery_summary,
    notice_get,
    notices_for_household,
    notices_of_compound,
    published_counts,
    sealed_household_ids,
)
from tongxin.voice.tests.notice_helpers import manager


@pytest.fixture
def shanghai(settings):
    """The rule set whose strictest level is 封控 (sealed), lower ones 管控 and 防范."""
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    settings.TONGXIN_RULES = {}


def create(world, compound=None, actor=None, **fields):
    args = {"title": "通知", "body": "正文", **fields}
    return notice_create(actor=actor or manager(world), compound=compound or world.compound_a, **args)


def raise_area(world, scope, level, **place):
    return area_raise(
        actor=None,
        compound=world.compound_a,
        scope=scope,
        level=level,
        reason="测试",
        on=timezone.localdate(),
        **place,
    )


def test_audiences(world):
    assert set(audience_households(create(world))) == {world.home_a1.pk, world.home_a2.pk}
    assert audience_households(create(world, audience="buildings", audience_ids=[world.a2.pk])) == [
        world.home_a2.pk
    ]
    assert audience_households(create(world, audience="units", audience_ids=[world.a1u1.pk])) == [
        world.home_a1.pk
    ]
    assert audience_households(create(world, audience="list", audience_ids=[world.home_a2.pk])) == [
        world.home_a2.pk
    ]


def test_sealed_is_the_strictest_level_only(world, shanghai):
    raise_area(world, "building", "controlled", building=world.a1)
    assert create(world, audience="sealed").audience_ids == []
    assert audience_households(create(world, audience="sealed")) == []
    raise_area(world, "household", "sealed", household=world.home_a2)
    assert audience_households(create(world, audience="sealed")) == [world.home_a2.pk]
    raise_area(world, "building", "sealed", building=world.a1)
    assert set(audience_households(create(world, audience="sealed"))) == {world.home_a1.pk, world.home_a2.pk}


def test_sealed_compound_wide(world, shanghai):
    raise_area(world, "compound", "sealed")
    assert sealed_household_ids(manager(world), world.compound_a) == {world.home_a1.pk, world.home_a2.pk}
    assert sealed_household_ids(None, world.compound_a) == set()


def test_sealed_sms_reaches_only_sealed_phones(world, settings, shanghai):
    settings.TONGXIN_SMS_PROVIDER = "tongxin.voice.tests.test_notices_actions.RecordingSms"
    from tongxin.voice.tests.test_notices_actions import RecordingSms

    RecordingSms.sent = []
    raise_area(world, "household", "sealed", household=world.home_a2)
    create(world, audience="sealed", channels=("sms",))
    deliveries_send(timezone.now())
    assert [phones for phones, _ in RecordingSms.sent] == [["13900001111"]]


def test_notices_of_compound_with_deliveries(world, django_assert_max_num_queries):
    create(world, title="一")
    create(world, title="二", channels=("portal", "sms"))
    create(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN], title="乙")
    with django_assert_max_num_queries(3):
        notices = list(notices_of_compound(world.users[Role.VOLUNTEER], world.compound_a))
        summaries = [(n.title, delivery_summary(n)) for n in notices]
    assert summaries == [
        ("二", {"pending": 1, "sent": 1, "failed": 0}),
        ("一", {"pending": 0, "sent": 1, "failed": 0}),
    ]


def test_notices_of_compound_scope(world):
    with pytest.raises(Http404):
        notices_of_compound(manager(world), world.compound_b)
    with pytest.raises(Http404):
        notices_of_compound(world.users[Role.RESIDENT], world.compound_a)
    notice = create(world)
    assert notice_get(manager(world), notice.pk) == notice
    with pytest.raises(Http404):
        notice_get(world.users[Role.RESIDENT], notice.pk)
    other = create(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    with pytest.raises(Http404):
        notice_get(manager(world), other.pk)


def test_notices_for_household(world):
    everyone = create(world, title="全体")
    create(world, title="二号楼", audience="buildings", audience_ids=[world.a2.pk])
    mine = create(world, title="一单元", audience="units", audience_ids=[world.a1u1.pk])
    create(world, title="名单", audience="list", audience_ids=[world.home_a2.pk])
    create(world, title="计划", scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    create(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN], title="乙")
    resident = world.users[Role.RESIDENT]
    assert {n.title for n in notices_for_household(resident, world.home_a1)} == {everyone.title, mine.title}
    with pytest.raises(Http404):
        notices_for_household(resident, world.home_a2)
    assert {n.title for n in notices_for_household(manager(world), world.home_a2)} == {
        "全体",
        "二号楼",
        "名单",
    }
    with pytest.raises(Http404):
        notices_for_household(manager(world), world.home_b)


def test_notices_for_household_sealed(world, shanghai):
    raise_area(world, "household", "sealed", household=world.home_a1)
    create(world, title="封控", audience="sealed")
    assert [n.title for n in notices_for_household(world.users[Role.RESIDENT], world.home_a1)] == ["封控"]
    assert notices_for_household(manager(world), world.home_a2) == []


def test_published_counts(world):
    create(world)
    create(world)
    create(world, scheduled_at=timezone.now() + datetime.timedelta(hours=1))
    create(world, compound=world.compound_b, actor=world.users[Role.PLATFORM_ADMIN])
    assert published_counts(manager(world)) == {world.compound_a.pk: 2}
    assert published_counts(world.users[Role.PLATFORM_ADMIN]) == {
        world.compound_a.pk: 2,
        world.compound_b.pk: 1,
    }
    assert published_counts(world.users[Role.RESIDENT]) == {}


def test_volunteer_cannot_write(world):
    with pytest.raises(PermissionDenied):
        create(world, actor=world.users[Role.VOLUNTEER])
