import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Channel, Request, State
from tongxin.voice.selectors import requests as selectors
from tongxin.voice.selectors.scope import requests_visible

from .request_helpers import make_request, manager

NOW = datetime.datetime(2026, 11, 29, 4, 0, tzinfo=datetime.UTC)  # 12:00 in Shanghai


def _at(minutes_ago: int) -> datetime.datetime:
    return NOW - datetime.timedelta(minutes=minutes_ago)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def test_answer_due_and_late_with_fixed_times(world, frozen, settings):
    settings.TONGXIN_VOICE_FIRST_ANSWER_MINUTES = 120
    settings.TONGXIN_VOICE_URGENT_ANSWER_MINUTES = 30
    normal = make_request(world, household=world.home_a2, text="快递", received_at=_at(119))
    urgent = make_request(world, household=world.home_a2, text="发烧", received_at=_at(31))
    assert selectors.answer_due(normal) == _at(-1)
    assert selectors.answer_due(urgent) == _at(1)
    assert not selectors.is_late(normal, NOW)
    assert selectors.is_late(normal, NOW + datetime.timedelta(minutes=2))
    assert selectors.is_late(urgent, NOW)
    assert [r.pk for r in selectors.late_requests(manager(world), world.compound_a.pk, NOW)] == [urgent.pk]
    assert selectors.late_count(manager(world), world.compound_a.pk, NOW + datetime.timedelta(minutes=2)) == 2
    actions.request_answer(actor=manager(world), request=urgent, text="医生马上联系")
    urgent.refresh_from_db()
    assert not selectors.is_late(urgent, NOW + datetime.timedelta(days=1))
    assert selectors.late_count(manager(world), world.compound_a.pk, NOW) == 0


def test_answered_late_is_no_longer_in_the_late_list(world, frozen):
    request = make_request(world, text="快递", received_at=_at(500))
    assert selectors.late_count(manager(world), world.compound_a.pk, NOW) == 1
    actions.request_answer(actor=manager(world), request=request, text="可以")
    assert selectors.late_count(manager(world), world.compound_a.pk, NOW) == 0


def test_queue_urgent_first_then_oldest_open_only(world, frozen):
    old = make_request(world, household=world.home_a2, text="快递", received_at=_at(100))
    new = make_request(world, household=world.home_a2, text="解封", received_at=_at(10))
    urgent = make_request(world, household=world.home_a2, text="药", received_at=_at(5))
    done = make_request(world, text="谢谢", received_at=_at(200))
    actions.request_answer(actor=manager(world), request=done, text="不客气")
    queue = selectors.request_queue(manager(world), world.compound_a.pk)
    assert [r.pk for r in queue] == [urgent.pk, old.pk, new.pk]
    answered = selectors.request_queue(manager(world), world.compound_a.pk, state=State.ANSWERED)
    assert [r.pk for r in answered] == [done.pk]


def test_queue_filters(world):
    hotline = make_request(world, text="核酸结果", channel=Channel.HOTLINE)
    group = make_request(world, text="快递", channel=Channel.GROUP)
    actions.request_acknowledge(actor=manager(world), request=group)
    user, cid = manager(world), world.compound_a.pk
    assert [r.pk for r in selectors.request_queue(user, cid, channel="hotline")] == [hotline.pk]
    assert [r.pk for r in selectors.request_queue(user, cid, category="access")] == [group.pk]
    assert [r.pk for r in selectors.request_queue(user, cid, holder_id=user.pk)] == [group.pk]
    assert list(selectors.request_queue(user, cid, category="nonsense")) == []


def test_queue_query_count(world, django_assert_max_num_queries):
    for n in range(5):
        make_request(world, household=world.home_a2, text=f"第{n}个问题")
    with django_assert_max_num_queries(3):
        rows = list(selectors.request_queue(manager(world), world.compound_a.pk))
        assert len(rows) == 5
        assert all(r.household.room for r in rows)


def test_scoping(world):
    mine = make_request(world, household=world.home_a1, text="a1")
    theirs = make_request(world, household=world.home_a2, text="a2")
    nobody = make_request(world, text="群消息")
    other = make_request(
        world, actor=make_user(Role.COMPOUND_MANAGER, compound=world.compound_b), compound=world.compound_b
    )

    def seen(role):
        return set(requests_visible(world.users[role]).values_list("pk", flat=True))

    assert seen(Role.COMPOUND_MANAGER) == {mine.pk, theirs.pk, nobody.pk}
    assert seen(Role.GRID_WORKER) == {mine.pk, nobody.pk}
    assert seen(Role.RESIDENT) == {mine.pk}
    assert seen(Role.OFFICIAL) == {mine.pk, theirs.pk, nobody.pk}
    assert seen(Role.PLATFORM_ADMIN) == {mine.pk, theirs.pk, nobody.pk, other.pk}
    with pytest.raises(Http404):
        selectors.request_queue(manager(world), world.compound_b.pk)
    with pytest.raises(Http404):  # a resident sees no compound's staff lists, even his own compound's
        selectors.request_queue(world.users[Role.RESIDENT], world.compound_a.pk)
    with pytest.raises(Http404):
        selectors.request_detail(world.users[Role.RESIDENT], theirs.pk)
    with pytest.raises(Http404):
        selectors.request_detail(world.users[Role.GRID_WORKER], theirs.pk)
    with pytest.raises(Http404):
        selectors.request_detail(manager(world), other.pk)


def test_detail_with_answers(world, django_assert_max_num_queries):
    request = make_request(world, household=world.home_a1)
    actions.request_answer(actor=manager(world), request=request, text="一")
    actions.request_answer(actor=manager(world), request=request, text="二")
    with django_assert_max_num_queries(3):
        found = selectors.request_detail(world.users[Role.RESIDENT], request.pk)
        assert [a.text for a in found.answers.all()] == ["一", "二"]
        assert list(found.attachments.all()) == []


def test_household_requests_for_the_portal(world):
    resident = world.users[Role.RESIDENT]
    own = make_request(world, actor=resident, channel=Channel.PORTAL, text="买菜")
    make_request(world, household=world.home_a2)
    assert [r.pk for r in selectors.household_requests(resident, world.home_a1.pk)] == [own.pk]
    assert list(selectors.household_requests(resident, world.home_a2.pk)) == []


def test_counts_in_one_query(world, frozen, django_assert_num_queries):
    worker = manager(world)
    a = make_request(world, text="没菜了", channel=Channel.GROUP, received_at=_at(300))
    b = make_request(world, text="发烧了", channel=Channel.HOTLINE, received_at=_at(10))
    make_request(world, text="快递能进吗", channel=Channel.GROUP, received_at=_at(500))
    make_request(world, text="感谢", channel=Channel.WALK_IN, received_at=_at(60 * 24 * 3))
    actions.request_answer(actor=worker, request=a, text="明天送")
    actions.request_close(actor=worker, request=a)
    actions.request_answer(actor=worker, request=b, text="医生联系您")
    with django_assert_num_queries(2):  # the compound's scope check, then one aggregate
        counts = selectors.request_counts(worker, world.compound_a.pk, since=_at(60 * 24), now=NOW)
    assert (counts["received"], counts["answered"], counts["closed"], counts["late"]) == (3, 2, 1, 1)
    assert counts["by_channel"] == {"group": 2, "private": 0, "hotline": 1, "walk_in": 0, "portal": 0}
    assert counts["by_category"]["supplies"] == 1
    assert counts["by_category"]["medical"] == 1
    assert counts["by_category"]["access"] == 1
    assert counts["by_category"]["praise"] == 0
    assert selectors.request_counts(worker, world.compound_a.pk, now=NOW)["received"] == 4
    assert Request.objects.count() == 4


def test_volunteer_given_buildings_is_limited_like_a_grid_worker(world):
    volunteer = world.users[Role.VOLUNTEER]
    mine = make_request(world, household=world.home_a1, text="a1")
    theirs = make_request(world, household=world.home_a2, text="a2")
    nobody = make_request(world, text="群消息")
    assert set(requests_visible(volunteer).values_list("pk", flat=True)) == {mine.pk, theirs.pk, nobody.pk}
    limited = make_user(Role.VOLUNTEER, compound=world.compound_a, buildings=[world.a2])
    assert set(requests_visible(limited).values_list("pk", flat=True)) == {theirs.pk, nobody.pk}


def test_inactive_user_sees_nothing(world):
    make_request(world, household=world.home_a1)
    user = manager(world)
    user.is_active = False
    assert not requests_visible(user).exists()
