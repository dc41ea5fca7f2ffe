"""The daily follow-up list: who is tested today, who checks in, who is overdue, who is lost."""

import datetime

import pytest
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak import actions, selectors
from tongxin.outbreak.models import HealthCheckin
from tongxin.outbreak.models import TestFact as SampleFact
from tongxin.outbreak.tests.case_helpers import at_local, days_ago, manager
from tongxin.registry.tests.factories import make_resident


def isolate(world, resident, *, starts, rule="high_risk_leaver", **fields):
    return actions.isolation_create(
        actor=None,
        compound=resident.compound,
        rule=rule,
        starts_on=days_ago(starts),
        resident=resident,
        **fields,
    )


def sampled(resident, days_back, method="pool"):
    """A sample taken on a past day (the mass-testing module writes these; its history predates us)."""
    return SampleFact.objects.create(
        resident=resident,
        compound_id=resident.compound_id,
        sampled_at=at_local(days_ago(days_back), 7),
        method=method,
    )


def checked_in(isolation, days_back):
    return HealthCheckin.objects.create(
        compound_id=isolation.compound_id,
        isolation=isolation,
        resident=isolation.resident,
        at=at_local(days_ago(days_back), 8),
        temperature="36.5",
        by="staff",
    )


@pytest.fixture
def scene(world):
    """王秀兰 day 3 of 7 (sampled day 1, checked in yesterday); 李建国 day 5 (sampled day 1 only, never
    checked in); 王小明 monitoring day 1 (checked in today); one released, one in compound B."""
    elder = isolate(world, world.elder, starts=2)
    sampled(world.elder, 2)
    checked_in(elder, 1)
    neighbour = isolate(world, world.neighbour, starts=4)
    sampled(world.neighbour, 4)
    child = isolate(world, world.child, starts=0, rule="other", kind="monitoring", days=3)
    checked_in(child, 0)
    released_resident = make_resident(world.home_a2, name="已解除")
    released = isolate(world, released_resident, starts=7)
    actions.isolation_release(
        actor=manager(world), isolation=released, version=1, released_on=days_ago(1), reason="评估"
    )
    isolate(world, world.stranger, starts=1)  # compound B
    return {"elder": elder, "neighbour": neighbour, "child": child}


def names(rows):
    return [row.isolation.name for row in rows]


def test_categories_today(world, scene):
    data = selectors.followup_list(manager(world), world.compound_a, days_ago(0))
    assert names(data["rows"]) == ["李建国", "王秀兰", "王小明"]
    assert names(data["test"]) == ["李建国", "王秀兰"]
    assert names(data["checkin"]) == ["李建国", "王秀兰"]
    assert names(data["overdue"]) == ["李建国"]
    assert names(data["lost"]) == ["李建国"]
    by_name = {row.isolation.name: row for row in data["rows"]}
    neighbour = by_name["李建国"]
    assert (neighbour.day, neighbour.overdue_days, neighbour.last_seen) == (5, [3], days_ago(4))
    assert neighbour.rule == "高风险区外出人员 · 居家隔离"
    elder = by_name["王秀兰"]
    assert (elder.day, elder.test_due, elder.sampled_today, elder.overdue_days, elder.lost) == (
        3,
        True,
        False,
        [],
        False,
    )
    child = by_name["王小明"]
    assert (child.day, child.must_test, child.must_check_in, child.rule) == (
        1,
        False,
        False,
        "其他 · 居家健康监测",
    )


def test_sampling_and_checking_in_clear_today(world, scene):
    actions.followup_sampled_record(actor=manager(world), isolation=scene["elder"])
    actions.checkin_record(actor=manager(world), isolation=scene["elder"], temperature="36.4")
    data = selectors.followup_list(manager(world), world.compound_a)
    assert names(data["test"]) == ["李建国"]
    assert names(data["checkin"]) == ["李建国"]


def test_an_antigen_self_test_is_not_the_test_days_sample(world, scene):
    sampled(world.elder, 0, method="antigen")
    data = selectors.followup_list(manager(world), world.compound_a)
    assert names(data["test"]) == ["李建国", "王秀兰"]
    assert {row.isolation.name: row.sampled_today for row in data["rows"]}["王秀兰"] is False
    sampled(world.elder, 0)
    data = selectors.followup_list(manager(world), world.compound_a)
    assert {row.isolation.name: row.sampled_today for row in data["rows"]}["王秀兰"] is True


def test_a_date_that_cannot_be_read_shows_today_and_says_so(world, scene, client):
    client.force_login(manager(world))
    html = client.get(
        f"/outbreak/compounds/{world.compound_a.pk}/follow-up/?date=2022-13-45"
    ).content.decode()
    assert "日期格式不对（应为2022-11-14这样的格式），已显示今天。" in html
    assert timezone.localdate().isoformat() in html


def test_an_earlier_date(world, scene):
    data = selectors.followup_list(manager(world), world.compound_a, days_ago(1))
    assert names(data["rows"]) == ["李建国", "王秀兰"]  # released that day: no longer followed
    assert names(data["test"]) == []  # day 4 and day 2: no test days
    assert names(data["checkin"]) == ["李建国"]
    assert names(data["overdue"]) == ["李建国"]
    assert names(data["lost"]) == ["李建国"]
    data = selectors.followup_list(manager(world), world.compound_a, days_ago(2))
    assert names(data["rows"]) == ["已解除", "李建国", "王秀兰"]  # by start date


def test_lost_after_days_comes_from_the_rule_set(world, scene, settings):
    settings.TONGXIN_RULES = '{"lost_after_days": 5}'
    data = selectors.followup_list(manager(world), world.compound_a, days_ago(0))
    assert names(data["lost"]) == []


def test_a_grid_worker_sees_their_buildings_only(world, scene):
    data = selectors.followup_list(world.users[Role.GRID_WORKER], world.compound_a, days_ago(0))
    assert names(data["rows"]) == ["王秀兰", "王小明"]
    assert selectors.followup_list(world.users[Role.VOLUNTEER], world.compound_a)["rows"] == []


def test_the_list_takes_a_fixed_number_of_queries(world, scene, django_assert_num_queries):
    user = manager(world)
    with django_assert_num_queries(3):
        selectors.followup_list(user, world.compound_a, days_ago(0))
    for n in range(12):
        person = make_resident(world.home_a2, name=f"居民{n}", birth=datetime.date(1970, 1, 1 + n))
        iso = isolate(world, person, starts=n % 5)
        checked_in(iso, 0)
        sampled(person, 0)
    with django_assert_num_queries(3):
        data = selectors.followup_list(user, world.compound_a, days_ago(0))
    assert len(data["rows"]) == 15
