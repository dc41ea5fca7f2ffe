"""Round planning actions: validation, who may plan what, versions, points and tables, states."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak.errors import StaleEdit
from tongxin.registry.tests.factories import make_user
from tongxin.testing.actions import planning as actions
from tongxin.testing.models import RoundCompound, SamplingPoint, SamplingTable, ScheduleSlot, TestRound, Tube
from tongxin.testing.selectors import planning as selectors
from tongxin.testing.tests.test_planning_schedule import build_world, plan, tomorrow


@pytest.fixture(autouse=True)
def _planning_settings(settings):
    settings.TONGXIN_RULE_SET = "2022-11"
    settings.TONGXIN_RULES = "{}"
    settings.TONGXIN_TABLE_PEOPLE_PER_HOUR = 120
    settings.TONGXIN_SLOT_ROUND_MINUTES = 10


def create(world, role=Role.COMPOUND_MANAGER, **fields):
    values = {
        "name": "全员核酸",
        "day": tomorrow(),
        "compounds": [world.compound_a],
        "pool_size": 10,
        "starts_at": datetime.time(6, 30),
        "note": "",
    }
    values.update(fields)
    actor = world.users[role] if isinstance(role, str) else role
    return actions.round_create(actor=actor, **values)


def errors(excinfo) -> dict:
    return excinfo.value.message_dict


def test_create_round_with_buildings_and_audit(world):
    round_ = create(
        world,
        role=Role.PLATFORM_ADMIN,
        compounds=[world.compound_a, world.compound_b],
        buildings=[world.a1],
        pool_size=20,
        sealed_household_tubes=False,
        note=" 早上6点半开始 ",
    )
    assert (round_.name, round_.day, round_.starts_at, round_.pool_size, round_.state, round_.version) == (
        "全员核酸",
        tomorrow(),
        datetime.time(6, 30),
        20,
        "planned",
        1,
    )
    assert (round_.sealed_household_tubes, round_.isolated_single_tubes, round_.note) == (
        False,
        True,
        "早上6点半开始",
    )
    assert round_.created_by == world.users[Role.PLATFORM_ADMIN]
    covers = {
        c.compound_id: [b.pk for b in c.buildings.all()] for c in RoundCompound.objects.filter(round=round_)
    }
    assert covers == {world.compound_a.pk: [world.a1.pk], world.compound_b.pk: []}
    log = AuditLog.objects.get(action="round_create")
    assert (log.object_id, log.actor_name, log.detail) == (
        str(round_.pk),
        "admin",
        {
            "compounds": sorted([world.compound_a.pk, world.compound_b.pk]),
            "buildings": [world.a1.pk],
            "pool_size": 20,
        },
    )


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"pool_size": 8}, {"pool_size": ["混采人数只能是1、5、10或20"]}),
        ({"name": "  "}, {"name": ["请填写轮次名称"]}),
        ({"day": timezone.localdate() - datetime.timedelta(days=1)}, {"day": ["检测日期不能早于今天"]}),
        ({"compounds": []}, {"compounds": ["请至少选择一个小区"]}),
        ({"note": "很" * 301}, {"note": ["最多300个字"]}),
    ],
)
def test_create_refusals_name_their_field_and_write_nothing(world, fields, expected):
    with pytest.raises(ValidationError) as refused:
        create(world, **fields)
    assert errors(refused) == expected
    assert not TestRound.objects.exists() and not AuditLog.objects.filter(action="round_create").exists()


def test_today_is_allowed_and_buildings_must_belong_to_the_chosen_compounds(world):
    assert create(world, day=timezone.localdate()).day == timezone.localdate()
    with pytest.raises(ValidationError) as refused:
        create(world, role=Role.PLATFORM_ADMIN, buildings=[world.b1])
    assert errors(refused) == {"buildings": ["楼栋不属于所选小区：1号楼"]}
    assert TestRound.objects.count() == 1


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.VOLUNTEER, Role.RESIDENT])
def test_roles_that_do_not_plan_are_refused(world, role):
    with pytest.raises(PermissionDenied) as refused:
        create(world, role=role)
    assert str(refused.value) == "当前角色不能安排核酸检测"


def test_planners_plan_only_compounds_they_see(world):
    with pytest.raises(PermissionDenied) as refused:
        create(world, role=Role.COMPOUND_MANAGER, compounds=[world.compound_a, world.compound_b])
    assert str(refused.value) == "无权为该小区安排核酸检测"
    with pytest.raises(PermissionDenied):
        create(world, role=Role.OFFICIAL, compounds=[world.compound_b])
    assert create(world, role=Role.OFFICIAL).covers.get().compound == world.compound_a


def test_update_with_version_and_stale_edit(world):
    round_ = create(world)
    manager = world.users[Role.COMPOUND_MANAGER]
    updated = actions.round_update(actor=manager, round=round_, version=1, name="第二轮", pool_size=5)
    assert (updated.name, updated.pool_size, updated.version) == ("第二轮", 5, 2)
    with pytest.raises(StaleEdit) as stale:
        actions.round_update(actor=manager, round=round_, version=1, name="第三轮")
    assert stale.value.messages == ["记录已被他人修改，请刷新后重试"]
    assert TestRound.objects.get(pk=round_.pk).name == "第二轮"
    with pytest.raises(ValidationError) as refused:
        actions.round_update(actor=manager, round=round_, version=2, state="closed")
    assert refused.value.messages == ["不能修改的字段：state"]
    with pytest.raises(ValidationError) as refused:
        actions.round_update(actor=manager, round=round_, version=2, pool_size=3)
    assert errors(refused) == {"pool_size": ["混采人数只能是1、5、10或20"]}
    assert list(AuditLog.objects.filter(action="round_update").values_list("fields", flat=True)) == [
        "name,pool_size"
    ]


def test_round_level_changes_need_every_compound(world):
    round_ = create(world, role=Role.PLATFORM_ADMIN, compounds=[world.compound_a, world.compound_b])
    with pytest.raises(PermissionDenied):
        actions.round_update(actor=world.users[Role.COMPOUND_MANAGER], round=round_, version=1, name="改名")
    with pytest.raises(PermissionDenied):
        actions.round_set_state(actor=world.users[Role.COMPOUND_MANAGER], round=round_, state="sampling")
    # ...but the compound's own points and tables are the manager's.
    point = actions.point_add(
        actor=world.users[Role.COMPOUND_MANAGER], round=round_, compound=world.compound_a, name="东门"
    )
    assert point.compound == world.compound_a
    with pytest.raises(PermissionDenied):
        actions.point_add(
            actor=world.users[Role.COMPOUND_MANAGER], round=round_, compound=world.compound_b, name="乙"
        )


def test_past_or_closed_round_is_not_edited(world):
    round_ = create(world)
    manager = world.users[Role.COMPOUND_MANAGER]
    TestRound.objects.filter(pk=round_.pk).update(day=timezone.localdate() - datetime.timedelta(days=1))
    with pytest.raises(ValidationError) as refused:
        actions.round_update(actor=manager, round=round_, version=1, name="补")
    assert refused.value.messages == ["不能修改已过去的检测轮次"]
    with pytest.raises(ValidationError):
        actions.point_add(actor=manager, round=round_, compound=world.compound_a, name="东门")
    # Still sampling after midnight: the round may be changed, its past day kept.
    TestRound.objects.filter(pk=round_.pk).update(state="sampling")
    assert (
        actions.round_update(actor=manager, round=round_, version=1, name="补", day=round_.day).name == "补"
    )
    TestRound.objects.filter(pk=round_.pk).update(state="closed", day=tomorrow())
    with pytest.raises(ValidationError) as refused:
        actions.round_update(actor=manager, round=round_, version=2, name="再补")
    assert refused.value.messages == ["本轮检测已结束，不能修改"]


def test_points_and_tables(world):
    round_ = create(world, pool_size=5)
    manager = world.users[Role.COMPOUND_MANAGER]
    point = actions.point_add(
        actor=manager, round=round_, compound=world.compound_a, name=" 1号采样点 ", location="东门"
    )
    assert (point.name, point.location, point.schedule_rebuilt) == ("1号采样点", "东门", False)
    with pytest.raises(ValidationError) as refused:
        actions.point_add(actor=manager, round=round_, compound=world.compound_a, name="1号采样点")
    assert errors(refused) == {"name": ["本轮该小区已有同名采样点"]}
    with pytest.raises(ValidationError) as refused:
        actions.point_add(actor=None, round=round_, compound=world.compound_b, name="乙")
    assert errors(refused) == {"compound": ["该小区不在本轮检测范围内"]}
    table = actions.table_add(actor=manager, point=point, label="1号台")
    assert (table.pool_size, table.mode, table.round_id, table.compound_id) == (
        5,
        "station",
        round_.pk,
        world.compound_a.pk,
    )
    door = actions.table_add(actor=manager, point=point, label="上门组", pool_size=1, mode="door")
    assert (door.pool_size, door.mode) == (1, "door")
    for fields, expected in (
        ({"label": "1号台"}, {"label": ["本轮该小区已有同名采样台"]}),
        ({"label": ""}, {"label": ["请填写采样台名称"]}),
        ({"label": "2号台", "pool_size": 3}, {"pool_size": ["混采人数只能是1、5、10或20"]}),
        ({"label": "2号台", "mode": "drive"}, {"mode": ["请选择采样方式"]}),
    ):
        with pytest.raises(ValidationError) as refused:
            actions.table_add(actor=manager, point=point, **fields)
        assert errors(refused) == expected
    with pytest.raises(PermissionDenied):
        actions.table_add(actor=world.users[Role.VOLUNTEER], point=point, label="志愿者台")
    with pytest.raises(ValidationError) as refused:
        actions.point_remove(actor=manager, point=point)
    assert refused.value.messages == ["请先移除该采样点的采样台"]
    Tube.objects.create(
        code="T0001", round=round_, table=table, compound=world.compound_a, pool_size=5,
        opened_at=timezone.now(), scan_id=uuid.uuid4(),
    )  # fmt: skip
    with pytest.raises(ValidationError) as refused:
        actions.table_remove(actor=manager, table=table)
    assert refused.value.messages == ["该采样台已有试管记录，不能移除"]
    assert actions.table_remove(actor=manager, table=door) is False
    assert list(SamplingTable.objects.filter(round=round_).values_list("label", flat=True)) == ["1号台"]
    assert list(
        AuditLog.objects.filter(object_type__startswith="testing.")
        .order_by("id")
        .values_list("action", flat=True)
    ) == [
        "round_create",
        "point_add",
        "table_add",
        "table_add",
        "table_remove",
    ]


def test_table_changes_rebuild_a_planned_schedule(world):
    build_world(world)
    round_ = plan(world)
    actions.schedule_build(actor=None, round=round_)
    first = ScheduleSlot.objects.filter(round=round_).order_by("starts_at").first()
    assert (first.ends_at - first.starts_at) == datetime.timedelta(minutes=20)
    table = actions.table_add(actor=None, point=round_.point, label="加开2号台")
    assert table.schedule_rebuilt is True
    first = ScheduleSlot.objects.filter(round=round_).order_by("starts_at").first()
    assert (first.ends_at - first.starts_at) == datetime.timedelta(minutes=10)
    assert actions.table_remove(actor=None, table=table) is True
    first = ScheduleSlot.objects.filter(round=round_).order_by("starts_at").first()
    assert (first.ends_at - first.starts_at) == datetime.timedelta(minutes=20)
    # Moving the start moves the slots.
    round_.refresh_from_db()
    actions.round_update(actor=None, round=round_, version=round_.version, starts_at=datetime.time(7, 0))
    first = ScheduleSlot.objects.filter(round=round_).order_by("starts_at").first()
    assert timezone.localtime(first.starts_at).strftime("%H:%M") == "07:00"
    # Once sampling, the posted schedule stays.
    actions.round_set_state(actor=None, round=round_, state="sampling")
    table = actions.table_add(actor=None, point=round_.point, label="加开3号台")
    assert table.schedule_rebuilt is False
    first = ScheduleSlot.objects.filter(round=round_).order_by("starts_at").first()
    assert (first.ends_at - first.starts_at) == datetime.timedelta(minutes=20)


def test_states_step_forward_only(world):
    round_ = create(world)
    manager = world.users[Role.COMPOUND_MANAGER]
    with pytest.raises(ValidationError) as refused:
        actions.round_set_state(actor=manager, round=round_, state="sampling", version=1)
    assert errors(refused) == {"state": ["请先添加采样台"]}
    point = actions.point_add(actor=manager, round=round_, compound=world.compound_a, name="东门")
    actions.table_add(actor=manager, point=point, label="1号台")
    with pytest.raises(ValidationError) as refused:
        actions.round_set_state(actor=manager, round=round_, state="closed", version=1)
    assert errors(refused) == {"state": ["不能从“计划中”改为“已结束”"]}
    round_ = actions.round_set_state(actor=manager, round=round_, state="sampling", version=1)
    assert (round_.state, round_.version) == ("sampling", 2)
    with pytest.raises(StaleEdit):
        actions.round_set_state(actor=manager, round=round_, state="closed", version=1)
    round_ = actions.round_set_state(actor=manager, round=round_, state="closed", version=2)
    assert round_.state == "closed"
    with pytest.raises(ValidationError):
        actions.round_set_state(actor=manager, round=round_, state="sampling")
    assert list(
        AuditLog.objects.filter(action="round_state").order_by("id").values_list("detail", flat=True)
    ) == [
        {"from": "planned", "to": "sampling"},
        {"from": "sampling", "to": "closed"},
    ]


def test_scoping_of_rounds_and_their_parts(world):
    round_ = create(world, role=Role.PLATFORM_ADMIN, compounds=[world.compound_a, world.compound_b])
    point_a = actions.point_add(actor=None, round=round_, compound=world.compound_a, name="甲采样点")
    point_b = actions.point_add(actor=None, round=round_, compound=world.compound_b, name="乙采样点")
    actions.table_add(actor=None, point=point_a, label="甲1号台")
    actions.table_add(actor=None, point=point_b, label="乙1号台")
    b_manager = make_user(Role.COMPOUND_MANAGER, compound=world.compound_b)
    for user, compounds, tables in (
        (world.users[Role.PLATFORM_ADMIN], ["甲小区", "乙小区"], ["甲1号台", "乙1号台"]),
        (world.users[Role.OFFICIAL], ["甲小区"], ["甲1号台"]),
        (world.users[Role.COMPOUND_MANAGER], ["甲小区"], ["甲1号台"]),
        (world.users[Role.GRID_WORKER], ["甲小区"], ["甲1号台"]),
        (world.users[Role.VOLUNTEER], ["甲小区"], ["甲1号台"]),
        (b_manager, ["乙小区"], ["乙1号台"]),
    ):
        assert list(selectors.rounds_visible(user)) == [round_]
        assert [c.compound.name for c in selectors.round_compounds_visible(user, round_)] == compounds
        assert [t.label for t in selectors.tables_of_round(user, round_)] == tables
        assert [t.label for p in selectors.points_of_round(user, round_) for t in p.table_list] == tables
    resident = world.users[Role.RESIDENT]
    assert list(selectors.rounds_visible(resident)) == []
    with pytest.raises(Exception) as missing:
        selectors.round_get(resident, round_.pk)
    assert type(missing.value).__name__ == "Http404"
    assert selectors.round_fully_visible(world.users[Role.PLATFORM_ADMIN], round_) is True
    assert selectors.round_fully_visible(world.users[Role.OFFICIAL], round_) is False
    assert SamplingPoint.objects.filter(round=round_).count() == 2
