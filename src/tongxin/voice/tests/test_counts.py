"""The report's figures per compound (compound_counts): of a local day and since the start, on fixed
times; what each role's scope counts; another compound refused."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.voice.actions import requests as actions
from tongxin.voice.actions.hotline import hotline_log
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.selectors.counts import compound_counts, day_bounds

from .request_helpers import make_request, manager

NOW = datetime.datetime(2026, 11, 29, 6, 0, tzinfo=datetime.UTC)  # 14:00 in Shanghai
TODAY = datetime.date(2026, 11, 29)
YESTERDAY = datetime.date(2026, 11, 28)


@pytest.fixture
def frozen(monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return NOW


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


@pytest.fixture
def figures(world, frozen):
    """Yesterday: 2 requests (one answered and closed), 1 notice, 1 call. Today: 3 requests (one
    answered; one of building 2), 1 notice (and 1 scheduled for tomorrow), 2 calls (one answered).
    Compound B: a request, a notice, a call."""
    boss = manager(world)
    solved = make_request(world, text="快递能进吗", received_at=at(YESTERDAY, 9))
    actions.request_answer(actor=boss, request=solved, text="可以，放门口")
    actions.request_close(actor=boss, request=solved)
    make_request(world, household=world.home_a1, text="门口垃圾", received_at=at(YESTERDAY, 20))  # late now
    answered = make_request(world, text="什么时候解封", received_at=at(TODAY, 8))
    actions.request_answer(actor=boss, request=answered, text="等通知")
    make_request(world, household=world.home_a2, text="二号楼问题", received_at=at(TODAY, 11, 30))  # late
    make_request(world, text="刚收到", received_at=at(TODAY, 13, 50))
    notice_create(actor=boss, compound=world.compound_a, title="昨日通知", body="正文", now=at(YESTERDAY, 10))
    notice_create(actor=boss, compound=world.compound_a, title="今日通知", body="正文", now=at(TODAY, 10))
    notice_create(
        actor=boss,
        compound=world.compound_a,
        title="明日通知",
        body="正文",
        scheduled_at=at(TODAY + datetime.timedelta(days=1), 9),
    )
    hotline_log(
        actor=boss, compound=world.compound_a, caller="王", phone="", asked="核酸几点", at=at(YESTERDAY, 15)
    )
    hotline_log(
        actor=boss,
        compound=world.compound_a,
        caller="李",
        phone="",
        asked="解封",
        answered="等通知",
        at=at(TODAY, 9),
    )
    hotline_log(actor=boss, compound=world.compound_a, caller="赵", phone="", asked="买药", at=at(TODAY, 12))
    admin = world.users[Role.PLATFORM_ADMIN]
    make_request(world, compound=world.compound_b, actor=admin, text="乙小区", received_at=at(TODAY, 8))
    notice_create(actor=admin, compound=world.compound_b, title="乙", body="正文", now=at(TODAY, 8))
    hotline_log(actor=admin, compound=world.compound_b, caller="乙", phone="", asked="乙", at=at(TODAY, 8))
    return world


def pick(counts: dict) -> dict:
    return {k: v for k, v in counts.items() if k not in ("by_channel", "by_category")}


def test_the_day_bounds_are_local_midnights():
    start, end = day_bounds(TODAY)
    assert (start, end) == (
        datetime.datetime(2026, 11, 28, 16, 0, tzinfo=datetime.UTC),
        datetime.datetime(2026, 11, 29, 16, 0, tzinfo=datetime.UTC),
    )


def test_the_figures_of_today_yesterday_and_since_the_start(figures):
    boss = manager(figures)
    assert pick(compound_counts(boss, figures.compound_a, TODAY)) == {
        "notices": 1,
        "received": 3,
        "answered": 1,
        "closed": 0,
        "calls": 2,
        "calls_answered": 1,
        "late": 2,  # late now, whatever the day they came
    }
    assert pick(compound_counts(boss, figures.compound_a, YESTERDAY)) == {
        "notices": 1,
        "received": 2,
        "answered": 1,
        "closed": 1,
        "calls": 1,
        "calls_answered": 0,
        "late": 2,
    }
    overall = compound_counts(boss, figures.compound_a)
    assert pick(overall) == {
        "notices": 2,
        "received": 5,
        "answered": 2,
        "closed": 1,
        "calls": 3,
        "calls_answered": 1,
        "late": 2,
    }
    assert overall["by_channel"] == {"group": 5, "private": 0, "hotline": 0, "walk_in": 0, "portal": 0}
    assert overall["by_category"]["access"] == 3  # 快递, 解封, 门口


def test_a_grid_worker_counts_his_buildings_and_the_requests_of_no_household(figures):
    counts = compound_counts(figures.users[Role.GRID_WORKER], figures.compound_a)
    assert (counts["received"], counts["late"], counts["notices"], counts["calls"]) == (4, 1, 2, 3)


def test_an_official_counts_compound_b_by_id_and_the_manager_may_not(figures):
    official = figures.users[Role.OFFICIAL]
    assert compound_counts(official, figures.compound_a.pk, TODAY)["received"] == 3
    with pytest.raises(Http404):
        compound_counts(official, figures.compound_b)  # community B is not his
    with pytest.raises(Http404):
        compound_counts(manager(figures), figures.compound_b)
    admin = figures.users[Role.PLATFORM_ADMIN]
    assert pick(compound_counts(admin, figures.compound_b, TODAY)) == {
        "notices": 1,
        "received": 1,
        "answered": 0,
        "closed": 0,
        "calls": 1,
        "calls_answered": 0,
        "late": 1,
    }


def test_a_resident_is_refused(figures):
    with pytest.raises((PermissionDenied, Http404)):
        compound_counts(figures.users[Role.RESIDENT], figures.compound_a)


def test_the_counts_take_a_fixed_number_of_queries(figures, django_assert_max_num_queries):
    with django_assert_max_num_queries(10):
        compound_counts(manager(figures), figures.compound_a, TODAY)
