"""The schedule by building and unit, the notices and the staffing figures of a small world.

The world (compound A, the round's day tomorrow, from 06:00, 120 people an hour per table, slots
rounded to 10 minutes):

- 1号楼1单元: 26 living, one of them in central isolation: 25 expected -> 20 minutes at one table
- 1号楼2单元: 10 living and one away -> 10 minutes
- 2号楼1单元: 5 living -> 10 minutes
- 3号楼1单元: 7 living, the building at high risk -> last, at the door, one tube per household
- 4号楼1单元: nobody -> no slot
"""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions as outbreak_actions
from tongxin.registry import actions as registry_actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident
from tongxin.testing.actions import planning as actions
from tongxin.testing.models import Exemption, ScheduleSlot, TestRound
from tongxin.testing.selectors import planning as selectors


@pytest.fixture(autouse=True)
def _planning_settings(settings):
    settings.TONGXIN_RULE_SET = "2022-11"
    settings.TONGXIN_RULES = "{}"
    settings.TONGXIN_TABLE_PEOPLE_PER_HOUR = 120
    settings.TONGXIN_SLOT_ROUND_MINUTES = 10
    settings.TIME_ZONE = "Asia/Shanghai"


def tomorrow() -> datetime.date:
    return timezone.localdate() + datetime.timedelta(days=1)


def living(household, n: int, *, presence: str = "living") -> list[Resident]:
    return [
        make_resident(household, name=f"居民{household.pk}-{i}", phone="", presence=presence)
        for i in range(n)
    ]


def at(hhmm: str, day: datetime.date | None = None) -> datetime.datetime:
    hour, minute = (int(part) for part in hhmm.split(":"))
    return datetime.datetime.combine(
        day or tomorrow(), datetime.time(hour, minute), tzinfo=timezone.get_default_timezone()
    )


def build_world(world):
    """The small world of the module docstring, on top of the shared `world` fixture."""
    Resident.objects.filter(
        pk__in=[world.elder.pk, world.child.pk, world.neighbour.pk, world.stranger.pk]
    ).update(presence="living")
    isolated = living(world.home_a1, 24)[0]
    outbreak_actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="other",
        kind="central",
        resident=isolated,
        starts_on=timezone.localdate(),
        days=7,
    )
    world.a1u2 = registry_actions.unit_ensure(building=world.a1, number="2")
    home = registry_actions.household_ensure(unit=world.a1u2, room="102")
    living(home, 10)
    living(home, 1, presence="away")
    living(world.home_a2, 4)
    world.a3 = registry_actions.building_ensure(compound=world.compound_a, number="3")
    world.a3u1 = registry_actions.unit_ensure(building=world.a3, number="1")
    world.home_a3 = registry_actions.household_ensure(unit=world.a3u1, room="301")
    living(world.home_a3, 7)
    world.a4 = registry_actions.building_ensure(compound=world.compound_a, number="4")
    world.a4u1 = registry_actions.unit_ensure(building=world.a4, number="1")
    return world


def manager(world):
    return world.users[Role.COMPOUND_MANAGER]


def plan(world, *, compounds=None, tables=1, door_teams=0, day=None, **fields):
    round_ = actions.round_create(
        actor=world.users[Role.PLATFORM_ADMIN],
        name="全员核酸",
        day=day or tomorrow(),
        compounds=compounds or [world.compound_a],
        starts_at=datetime.time(6, 0),
        **fields,
    )
    point = actions.point_add(
        actor=None, round=round_, compound=world.compound_a, name="1号采样点", location="东门"
    )
    for n in range(tables):
        actions.table_add(actor=None, point=point, label=f"{n + 1}号台")
    for n in range(door_teams):
        actions.table_add(actor=None, point=point, label=f"上门{n + 1}组", mode="door")
    round_.point = point
    return round_


def raise_a3(world, level=None):
    return outbreak_actions.area_raise(
        actor=None,
        compound=world.compound_a,
        scope="building",
        building=world.a3,
        level=level,
        reason="阳性所在楼栋",
        on=timezone.localdate(),
    )


def rows(slots):
    return [
        (
            str(s.unit),
            timezone.localtime(s.starts_at).strftime("%H:%M"),
            timezone.localtime(s.ends_at).strftime("%H:%M"),
            s.people,
            s.mode,
            s.pool_size,
        )
        for s in slots
    ]


def test_slots_sized_by_people_and_throughput_risk_units_last_at_the_door(world):
    build_world(world)
    raise_a3(world)
    round_ = plan(world)
    slots = actions.schedule_build(actor=manager(world), round=round_)
    assert rows(slots) == [
        ("1号楼1单元", "06:00", "06:20", 25, "down", 10),
        ("1号楼2单元", "06:20", "06:30", 10, "down", 10),
        ("2号楼1单元", "06:30", "06:40", 5, "down", 10),
        ("3号楼1单元", "06:40", "06:50", 7, "door", 1),
    ]
    assert slots[0].starts_at == at("06:00") and slots[-1].ends_at == at("06:50")
    assert {s.point_id for s in slots} == {round_.point.pk}
    assert ScheduleSlot.objects.filter(round=round_).count() == 4
    log = AuditLog.objects.filter(action="schedule_build").get()
    assert log.detail == {"compounds": [world.compound_a.pk], "slots": 4, "people": 47, "door": 1}


def test_rounding_and_table_count(world, settings):
    build_world(world)
    round_ = plan(world, tables=2)
    slots = actions.schedule_build(actor=None, round=round_)
    # 25 people at 2 tables of 120 an hour: 6.25 minutes -> 10; 3号楼 is not at risk: in order.
    assert rows(slots) == [
        ("1号楼1单元", "06:00", "06:10", 25, "down", 10),
        ("1号楼2单元", "06:10", "06:20", 10, "down", 10),
        ("2号楼1单元", "06:20", "06:30", 5, "down", 10),
        ("3号楼1单元", "06:30", "06:40", 7, "down", 10),
    ]
    settings.TONGXIN_SLOT_ROUND_MINUTES = 5
    settings.TONGXIN_TABLE_PEOPLE_PER_HOUR = 60
    slots = actions.schedule_build(actor=None, round=round_)
    # 25 / (2 x 60) h = 12.5 min -> 15; 10 -> 5; 5 -> 2.5 -> 5; 7 -> 3.5 -> 5
    assert rows(slots)[:4] == [
        ("1号楼1单元", "06:00", "06:15", 25, "down", 10),
        ("1号楼2单元", "06:15", "06:20", 10, "down", 10),
        ("2号楼1单元", "06:20", "06:25", 5, "down", 10),
        ("3号楼1单元", "06:25", "06:30", 7, "down", 10),
    ]
    assert ScheduleSlot.objects.filter(round=round_).count() == 4  # rebuilt, not added


def test_buildings_spread_over_points_and_door_units_use_door_teams(world):
    build_world(world)
    raise_a3(world)
    round_ = plan(world, tables=1)
    east = round_.point
    west = actions.point_add(actor=None, round=round_, compound=world.compound_a, name="2号采样点")
    actions.table_add(actor=None, point=west, label="3号台")
    actions.table_add(actor=None, point=west, label="4号台")
    actions.table_add(actor=None, point=west, label="上门1组", mode="door")
    slots = actions.schedule_build(actor=None, round=round_)
    by_unit = {str(s.unit): (s.point_id, *rows([s])[0][1:]) for s in slots}
    # 1号楼 at the first point (both free at 06:00); 2号楼 at the second, free first, with its two
    # station tables; 3号楼 at the door, by the second point's door team, once its queue is done.
    assert by_unit == {
        "1号楼1单元": (east.pk, "06:00", "06:20", 25, "down", 10),
        "1号楼2单元": (east.pk, "06:20", "06:30", 10, "down", 10),
        "2号楼1单元": (west.pk, "06:00", "06:10", 5, "down", 10),
        "3号楼1单元": (west.pk, "06:10", "06:20", 7, "door", 1),
    }


def test_lower_levels_come_down_last_and_household_tubes_follow_the_round(world, settings):
    settings.TONGXIN_RULE_SET = "2022-06"
    build_world(world)
    raise_a3(world, level="medium")
    round_ = plan(world, pool_size=5)
    slots = actions.schedule_build(actor=None, round=round_)
    assert [r[0] for r in rows(slots)] == ["1号楼1单元", "1号楼2单元", "2号楼1单元", "3号楼1单元"]
    # 2号楼 goes after 3号楼 in building order, but 3号楼 is at (medium) risk: last, coming down.
    outbreak_actions.area_raise(
        actor=None,
        compound=world.compound_a,
        scope="unit",
        unit=world.a1u2,
        level="medium",
        reason="密接所在单元",
        on=timezone.localdate(),
    )
    slots = actions.schedule_build(actor=None, round=round_)
    assert [(r[0], r[4], r[5]) for r in rows(slots)] == [
        ("1号楼1单元", "down", 5),
        ("2号楼1单元", "down", 5),
        ("1号楼2单元", "down", 5),
        ("3号楼1单元", "down", 5),
    ]
    settings.TONGXIN_RULE_SET = "2022-11"
    round_.refresh_from_db()
    # Under the 2022-11 rules "medium" is no level: read as the strictest, at the door; without
    # household tubes the door pool keeps the round's size.
    actions.round_update(actor=None, round=round_, version=round_.version, sealed_household_tubes=False)
    slots = ScheduleSlot.objects.filter(round=round_).select_related("unit__building").order_by("starts_at")
    assert [(r[0], r[4], r[5]) for r in rows(slots)] == [
        ("1号楼1单元", "down", 5),
        ("2号楼1单元", "down", 5),
        ("1号楼2单元", "door", 5),
        ("3号楼1单元", "door", 5),
    ]


def test_household_area_marks_its_unit_and_lifted_areas_do_not_count(world):
    build_world(world)
    area = outbreak_actions.area_raise(
        actor=None,
        compound=world.compound_a,
        scope="household",
        household=world.home_a2,
        reason="密接家庭",
        on=timezone.localdate(),
    )
    round_ = plan(world)
    slots = actions.schedule_build(actor=None, round=round_)
    assert [(r[0], r[4]) for r in rows(slots)][-1] == ("2号楼1单元", "door")
    outbreak_actions.area_lift(actor=None, area=area, reason="解除", on=timezone.localdate())
    slots = actions.schedule_build(actor=None, round=round_)
    assert [(r[0], r[4]) for r in rows(slots)] == [
        ("1号楼1单元", "down"),
        ("1号楼2单元", "down"),
        ("2号楼1单元", "down"),
        ("3号楼1单元", "down"),
    ]


def test_buildings_restrict_coverage_and_exemptions_are_not_expected(world):
    build_world(world)
    round_ = actions.round_create(
        actor=None,
        name="重点楼栋",
        day=tomorrow(),
        compounds=[world.compound_a],
        buildings=[world.a1],
        starts_at=datetime.time(7, 0),
    )
    point = actions.point_add(actor=None, round=round_, compound=world.compound_a, name="1号采样点")
    actions.table_add(actor=None, point=point, label="1号台")
    Exemption.objects.create(round=round_, resident=world.elder, compound=world.compound_a, reason="hospital")
    slots = actions.schedule_build(actor=None, round=round_)
    assert rows(slots) == [
        ("1号楼1单元", "07:00", "07:20", 24, "down", 10),
        ("1号楼2单元", "07:20", "07:30", 10, "down", 10),
    ]


def test_rebuild_needs_tables_everywhere_and_writes_nothing_otherwise(world):
    build_world(world)
    round_ = plan(world, compounds=[world.compound_a, world.compound_b])
    with pytest.raises(Exception) as refused:
        actions.schedule_build(actor=None, round=round_)
    assert refused.value.messages == ["以下小区还没有采样台，无法生成排班：乙小区"]
    assert not ScheduleSlot.objects.filter(round=round_).exists()
    # The compound manager of A rebuilds A only: B is not theirs.
    slots = actions.schedule_build(actor=manager(world), round=round_)
    assert {s.compound_id for s in slots} == {world.compound_a.pk}


def test_query_count_does_not_grow_with_units(world):
    build_world(world)
    raise_a3(world)
    round_ = plan(world)
    with CaptureQueriesContext(connection) as small:
        actions.schedule_build(actor=manager(world), round=round_)
    for number in range(5, 15):
        building = registry_actions.building_ensure(compound=world.compound_a, number=str(number))
        for unit_number in ("1", "2"):
            unit = registry_actions.unit_ensure(building=building, number=unit_number)
            living(registry_actions.household_ensure(unit=unit, room="101"), 1)
    with CaptureQueriesContext(connection) as large:
        slots = actions.schedule_build(actor=manager(world), round=round_)
    assert len(slots) == 24
    assert len(large.captured_queries) == len(small.captured_queries)


def test_notices_text_per_unit(world):
    build_world(world)
    raise_a3(world)
    round_ = plan(world)
    actions.schedule_build(actor=None, round=round_)
    texts = [n.text for n in selectors.notices(manager(world), round_)]
    assert texts == [
        "1号楼1单元 06:00-06:20 下楼检测，带好出入证",
        "1号楼2单元 06:20-06:30 下楼检测，带好出入证",
        "2号楼1单元 06:30-06:40 下楼检测，带好出入证",
        "3号楼1单元 06:40-06:50 上门采样，请在家等候",
    ]
    # A grid worker of 1号楼 gets the notices of 1号楼 only.
    grid = [n.text for n in selectors.notices(world.users[Role.GRID_WORKER], round_)]
    assert grid == texts[:2]


def test_staffing_figures(world, settings):
    settings.TONGXIN_PEOPLE_PER_TABLE = 20
    settings.TONGXIN_PEOPLE_PER_POINT = 30
    settings.TONGXIN_PEOPLE_PER_SAMPLER = 10
    build_world(world)
    raise_a3(world)
    round_ = plan(world, compounds=[world.compound_a, world.compound_b])
    point_b = actions.point_add(actor=None, round=round_, compound=world.compound_b, name="乙采样点")
    actions.table_add(actor=None, point=point_b, label="乙1号台")
    actions.schedule_build(actor=None, round=round_)
    figures = selectors.staffing(world.users[Role.PLATFORM_ADMIN], round_)

    def line(x):
        return (
            x.people,
            x.tables_needed,
            x.tables_configured,
            x.tables_missing,
            x.points_needed,
            x.points_configured,
            x.samplers,
            x.order_keepers,
            x.order_keepers_configured,
            timezone.localtime(x.finishes_at).strftime("%H:%M"),
        )

    a, b = figures.lines
    assert (a.compound, b.compound) == (world.compound_a, world.compound_b)
    # A: 47 people; ceil(47/20) = 3 tables, ceil(47/30) = 2 points, ceil(47/10) = 5 samplers,
    # 3 + 2 = 5 order-keepers needed, 1 + 1 = 2 for what is configured.
    assert line(a) == (47, 3, 1, 2, 2, 1, 5, 5, 2, "06:50")
    assert line(b) == (1, 1, 1, 0, 1, 1, 1, 2, 2, "06:10")
    assert line(figures.total) == (48, 4, 2, 2, 3, 2, 6, 7, 4, "06:50")
    # The official of A's community sees A only.
    official = selectors.staffing(world.users[Role.OFFICIAL], round_)
    assert [line(x) for x in official.lines] == [line(a)]


def test_past_and_closed_rounds_are_not_rescheduled(world):
    build_world(world)
    round_ = plan(world)
    TestRound.objects.filter(pk=round_.pk).update(day=timezone.localdate() - datetime.timedelta(days=1))
    manager = world.users[Role.COMPOUND_MANAGER]
    with pytest.raises(ValidationError) as refused:
        actions.schedule_build(actor=manager, round=round_)
    assert refused.value.messages == ["不能修改已过去的检测轮次"]
    # The system replaying an earlier round (the demo, paper records typed in) may.
    assert actions.schedule_build(actor=None, round=round_)
    TestRound.objects.filter(pk=round_.pk).update(state="closed", day=tomorrow())
    for actor in (manager, None):
        with pytest.raises(ValidationError) as refused:
            actions.schedule_build(actor=actor, round=round_)
        assert refused.value.messages == ["本轮检测已结束，不能修改"]
