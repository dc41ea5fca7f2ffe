"""Round planning pages: the rounds, a round, its schedule, notices and staffing, for every role."""

import datetime
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.models import Resident
from tongxin.testing.actions import planning as actions
from tongxin.testing.models import Alert, SamplingTable, ScheduleSlot, TestRound
from tongxin.testing.tests.test_planning_schedule import build_world, plan, raise_a3, tomorrow

ROLES_THAT_SEE = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]


@pytest.fixture(autouse=True)
def _planning_settings(settings):
    settings.TONGXIN_RULE_SET = "2022-11"
    settings.TONGXIN_RULES = "{}"
    settings.TONGXIN_TABLE_PEOPLE_PER_HOUR = 120
    settings.TONGXIN_SLOT_ROUND_MINUTES = 10
    settings.TONGXIN_PEOPLE_PER_TABLE = 700
    settings.TONGXIN_PEOPLE_PER_POINT = 2500
    settings.TONGXIN_PEOPLE_PER_SAMPLER = 360


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role] if isinstance(role, str) else role)
        return client

    return login


@pytest.fixture
def scheduled(world):
    build_world(world)
    raise_a3(world)
    round_ = plan(world)
    actions.schedule_build(actor=None, round=round_)
    return round_


def url_or_none(name, **kwargs):
    try:
        return reverse(name, kwargs=kwargs)
    except NoReverseMatch:
        return None


def csp_clean(html: str) -> bool:
    return " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


@pytest.mark.parametrize("role", ROLES_THAT_SEE)
def test_every_role_but_residents_gets_the_pages(as_role, scheduled, role):
    client = as_role(role)
    for name in ("testing:round", "testing:schedule", "testing:notices", "testing:staffing"):
        response = client.get(reverse(name, args=[scheduled.pk]))
        assert response.status_code == 200, name
        assert csp_clean(response.content.decode()), name
    index = client.get(reverse("testing:index")).content.decode()
    assert reverse("testing:round", args=[scheduled.pk]) in index and "全员核酸" in index
    planner = role in (Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER)
    assert (reverse("testing:round_new") in index) is planner
    assert client.get(reverse("testing:round_new")).status_code == (200 if planner else 403)


def test_residents_get_404(as_role, scheduled):
    client = as_role(Role.RESIDENT)
    assert client.get(reverse("testing:index")).status_code == 404
    for name in (
        "testing:round",
        "testing:schedule",
        "testing:notices",
        "testing:notices_text",
        "testing:staffing",
    ):
        assert client.get(reverse(name, args=[scheduled.pk])).status_code == 404, name
    assert client.post(reverse("testing:schedule_build", args=[scheduled.pk])).status_code == 404


def test_round_outside_scope_is_404(as_role, world):
    round_ = actions.round_create(actor=None, name="乙小区核酸", day=tomorrow(), compounds=[world.compound_b])
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.get(reverse("testing:round", args=[round_.pk])).status_code == 404
    assert client.get(reverse("testing:schedule", args=[round_.pk])).status_code == 404
    assert "乙小区核酸" not in client.get(reverse("testing:index")).content.decode()


def test_index_lists_newest_first_with_alerts_for_health_roles(as_role, world):
    older = actions.round_create(actor=None, name="第一轮", day=tomorrow(), compounds=[world.compound_a])
    newer = actions.round_create(
        actor=None, name="第二轮", day=tomorrow() + datetime.timedelta(days=1), compounds=[world.compound_a]
    )
    Alert.objects.create(
        compound=world.compound_a, round=older, kind="positive_pool", text="T0001 混采阳性，10人待复核"
    )
    html = as_role(Role.COMPOUND_MANAGER).get(reverse("testing:index")).content.decode()
    assert html.index("第二轮") < html.index("第一轮")
    assert "T0001 混采阳性，10人待复核" in html and "新建轮次" in html
    html = as_role(Role.VOLUNTEER).get(reverse("testing:index")).content.decode()
    assert "第二轮" in html and "T0001" not in html and "新建轮次" not in html
    assert reverse("testing:round", args=[newer.pk]) in html


def test_index_query_count_does_not_grow_with_rounds(as_role, world):
    client = as_role(Role.OFFICIAL)
    actions.round_create(
        actor=None, name="第1轮", day=tomorrow(), compounds=[world.compound_a], buildings=[world.a1]
    )
    with CaptureQueriesContext(connection) as one:
        assert client.get(reverse("testing:index")).status_code == 200
    for n in range(2, 8):
        actions.round_create(
            actor=None,
            name=f"第{n}轮",
            day=tomorrow(),
            compounds=[world.compound_a, world.compound_b],
            buildings=[world.a2],
        )
    with CaptureQueriesContext(connection) as seven:
        html = client.get(reverse("testing:index")).content.decode()
    assert html.count("轮</strong>") == 7
    assert len(seven.captured_queries) == len(one.captured_queries) <= 8


def test_create_round_by_form(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    form = client.get(reverse("testing:round_new")).content.decode()
    assert "甲小区" in form and "乙小区" not in form and 'name="buildings"' in form
    day = tomorrow().isoformat()
    response = client.post(
        reverse("testing:round_new"),
        {
            "name": "全员核酸",
            "day": day,
            "starts_at": "06:30",
            "compounds": [world.compound_a.pk],
            "buildings": [world.a2.pk],
            "pool_size": "10",
            "sealed_household_tubes": "on",
            "note": "",
        },
    )
    round_ = TestRound.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("testing:round", args=[round_.pk])
    assert (round_.starts_at, round_.sealed_household_tubes, round_.isolated_single_tubes) == (
        datetime.time(6, 30),
        True,
        False,
    )
    page = client.get(response["Location"]).content.decode()
    assert "已创建检测轮次" in page and "2号楼" in page
    bad = client.post(
        reverse("testing:round_new"),
        {"name": "补检", "day": (timezone.localdate() - datetime.timedelta(days=1)).isoformat(), "starts_at": "06:00",
         "compounds": [world.compound_a.pk], "pool_size": "10"},
    )  # fmt: skip
    assert bad.status_code == 400 and "检测日期不能早于今天" in bad.content.decode()
    assert TestRound.objects.count() == 1


def test_round_page_points_tables_and_placeholder_links(as_role, scheduled, world):
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(reverse("testing:round", args=[scheduled.pk])).content.decode()
    assert "1号采样点" in html and "东门" in html and "1号台" in html
    assert "4 个单元，47 人，06:00 开始，预计" in html and "上门采样 1 个单元" in html
    assert 'action="{}"'.format(reverse("testing:point_add", args=[scheduled.pk])) in html
    assert 'action="{}"'.format(reverse("testing:table_add", args=[scheduled.pk])) in html
    assert "开始采样" in html and 'name="version" value="1"' in html
    table = SamplingTable.objects.get(round=scheduled)
    for link in (
        url_or_none("testing:station", table_id=table.pk),
        url_or_none("testing:lab_import", round_id=scheduled.pk),
        url_or_none("testing:coverage", round_id=scheduled.pk),
    ):
        if link:
            assert f'href="{link}"' in html
    volunteer = as_role(Role.VOLUNTEER).get(reverse("testing:round", args=[scheduled.pk])).content.decode()
    assert "1号台" in volunteer and "添加采样台" not in volunteer and "开始采样" not in volunteer


def test_add_point_and_table_and_remove_by_post(as_role, scheduled, world):
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(
        reverse("testing:point_add", args=[scheduled.pk]),
        {"compound": world.compound_a.pk, "name": "2号采样点", "location": "西门"},
    )
    assert response.status_code == 302
    point = scheduled.points.get(name="2号采样点")
    response = client.post(
        reverse("testing:table_add", args=[scheduled.pk]),
        {"point": point.pk, "label": "2号台", "pool_size": "10", "mode": "station"},
    )
    assert response.status_code == 302
    page = client.get(reverse("testing:round", args=[scheduled.pk])).content.decode()
    assert "已添加采样台：2号台" in page and "排班已按新的设置重新生成，请重新打印通知" in page
    assert set(ScheduleSlot.objects.filter(round=scheduled).values_list("point_id", flat=True)) == {
        scheduled.point.pk,
        point.pk,
    }
    duplicate = client.post(
        reverse("testing:table_add", args=[scheduled.pk]),
        {"point": point.pk, "label": "2号台", "pool_size": "10", "mode": "station"},
    )
    assert duplicate.status_code == 400 and "本轮该小区已有同名采样台" in duplicate.content.decode()
    table = SamplingTable.objects.get(label="2号台")
    client.post(reverse("testing:table_remove", args=[table.pk]))
    assert not SamplingTable.objects.filter(label="2号台").exists()
    assert client.post(reverse("testing:point_remove", args=[point.pk])).status_code == 302
    assert not scheduled.points.filter(name="2号采样点").exists()
    # A volunteer cannot.
    response = as_role(Role.VOLUNTEER).post(
        reverse("testing:point_add", args=[scheduled.pk]),
        {"compound": world.compound_a.pk, "name": "3号采样点"},
    )
    assert response.status_code == 302 and not scheduled.points.filter(name="3号采样点").exists()


def test_edit_round_and_stale_form(as_role, scheduled):
    client = as_role(Role.PLATFORM_ADMIN)
    url = reverse("testing:round_edit", args=[scheduled.pk])
    form = client.get(url).content.decode()
    assert 'value="全员核酸"' in form and 'name="version" value="1"' in form
    data = {"version": "1", "name": "全员核酸（二）", "day": tomorrow().isoformat(), "starts_at": "07:00",
            "pool_size": "10", "sealed_household_tubes": "on", "isolated_single_tubes": "on", "note": ""}  # fmt: skip
    assert client.post(url, data).status_code == 302
    scheduled.refresh_from_db()
    assert (scheduled.name, scheduled.version) == ("全员核酸（二）", 2)
    first = ScheduleSlot.objects.filter(round=scheduled).order_by("starts_at").first()
    assert timezone.localtime(first.starts_at).strftime("%H:%M") == "07:00"
    stale = client.post(url, {**data, "name": "旧页面"})
    assert stale.status_code == 400 and "记录已被他人修改，请刷新后重试" in stale.content.decode()


def test_round_edit_needs_the_whole_round_and_an_open_round(as_role, world, scheduled):
    both = actions.round_create(
        actor=None, name="两小区", day=tomorrow(), compounds=[world.compound_a, world.compound_b]
    )
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.get(reverse("testing:round_edit", args=[both.pk])).status_code == 403
    assert "修改轮次" not in client.get(reverse("testing:round", args=[both.pk])).content.decode()
    TestRound.objects.filter(pk=scheduled.pk).update(state="closed")
    response = client.get(reverse("testing:round_edit", args=[scheduled.pk]))
    assert response.status_code == 302
    html = client.get(response["Location"]).content.decode()
    assert "本轮检测已结束或已过去，不能修改" in html and "添加采样点" not in html


def test_state_buttons(as_role, scheduled):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("testing:round_state", args=[scheduled.pk])
    client.post(url, {"version": "1", "state": "sampling"})
    scheduled.refresh_from_db()
    assert scheduled.state == "sampling"
    html = client.get(reverse("testing:round", args=[scheduled.pk])).content.decode()
    assert "状态已改为：采样中" in html and "结束本轮检测" in html
    client.post(url, {"version": "1", "state": "closed"})
    html = client.get(reverse("testing:round", args=[scheduled.pk])).content.decode()
    assert "记录已被他人修改，请刷新后重试" in html
    scheduled.refresh_from_db()
    assert scheduled.state == "sampling"


def test_schedule_page_and_build(as_role, scheduled, world):
    ScheduleSlot.objects.filter(round=scheduled).delete()
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(reverse("testing:schedule", args=[scheduled.pk])).content.decode()
    assert "尚未生成排班" in html and "生成排班" in html
    response = client.post(reverse("testing:schedule_build", args=[scheduled.pk]))
    assert response.status_code == 302
    html = client.get(reverse("testing:schedule", args=[scheduled.pk])).content.decode()
    assert "已生成排班：4个单元" in html
    assert re.findall(r'<td class="mono">([^<]+)</td><td>([^<]+)</td><td>(\d+)</td>', html) == [
        ("06:00-06:20", "1号楼1单元", "25"),
        ("06:20-06:30", "1号楼2单元", "10"),
        ("06:30-06:40", "2号楼1单元", "5"),
        ("06:40-06:50", "3号楼1单元", "7"),
    ]
    assert "上门采样 · 一户一管" in html
    # Someone who cannot come down is shown with their unit, for a door-to-door team.
    Resident.objects.filter(pk=world.elder.pk).update(limited_mobility=True)
    html = client.get(reverse("testing:schedule", args=[scheduled.pk])).content.decode()
    assert '1号楼1单元<br><span class="tag vulnerable">行动不便 1 人，需上门</span>' in html
    assert "下楼单元中行动不便 1 人需上门采样" in html
    grid = as_role(Role.GRID_WORKER).get(reverse("testing:schedule", args=[scheduled.pk])).content.decode()
    assert "1号楼1单元" in grid and "2号楼1单元" not in grid and "重新生成排班" not in grid
    # A grid worker may not build.
    as_role(Role.GRID_WORKER).post(reverse("testing:schedule_build", args=[scheduled.pk]))
    assert ScheduleSlot.objects.filter(round=scheduled).count() == 4


def test_notices_print_page_and_text(as_role, scheduled):
    client = as_role(Role.VOLUNTEER)
    html = client.get(reverse("testing:notices", args=[scheduled.pk])).content.decode()
    assert html.count('<article class="notice') == 4
    assert "1号楼1单元 06:00-06:20 下楼检测，带好出入证" in html
    assert "3号楼1单元 06:40-06:50 上门采样，请在家等候" in html
    assert "采样点：1号采样点（东门）" in html and "testing/print.css" in html
    text = client.get(reverse("testing:notices_text", args=[scheduled.pk]))
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert text.content.decode() == (
        "甲小区\n"
        "1号楼1单元 06:00-06:20 下楼检测，带好出入证\n"
        "1号楼2单元 06:20-06:30 下楼检测，带好出入证\n"
        "2号楼1单元 06:30-06:40 下楼检测，带好出入证\n"
        "3号楼1单元 06:40-06:50 上门采样，请在家等候\n"
    )


def test_staffing_page(as_role, scheduled):
    html = as_role(Role.GRID_WORKER).get(reverse("testing:staffing", args=[scheduled.pk])).content.decode()
    figures = re.findall(r"<dt>([^<]+)</dt><dd>([^<]+)</dd>", html)
    assert figures == [
        ("应检人数", "47"),
        ("采样台", "1"),
        ("采样点", "1"),
        ("采样人员", "1"),
        ("秩序维护", "2"),
        ("预计完成", "06:50"),
    ]
    assert "已设 1" in html and "按已设 2" in html and tomorrow().strftime("%m-%d") in html
    assert "每个采样台一人" in html and "每个采样点再加一人" in html


@pytest.mark.parametrize(
    ("name", "limit"),
    [
        ("testing:round", 10),
        ("testing:schedule", 8),
        ("testing:notices", 6),
        ("testing:staffing", 11),
    ],
)
def test_round_pages_query_counts_do_not_grow(as_role, scheduled, world, name, limit):
    from tongxin.registry import actions as registry_actions
    from tongxin.testing.tests.test_planning_schedule import living

    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse(name, args=[scheduled.pk])
    with CaptureQueriesContext(connection) as small:
        assert client.get(url).status_code == 200
    for number in range(5, 10):
        building = registry_actions.building_ensure(compound=world.compound_a, number=str(number))
        unit = registry_actions.unit_ensure(building=building, number="1")
        living(registry_actions.household_ensure(unit=unit, room="101"), 2)
    point = actions.point_add(actor=None, round=scheduled, compound=world.compound_a, name="2号采样点")
    actions.table_add(actor=None, point=point, label="2号台")
    actions.table_add(actor=None, point=point, label="3号台")
    assert ScheduleSlot.objects.filter(round=scheduled).count() == 9
    with CaptureQueriesContext(connection) as large:
        assert client.get(url).status_code == 200
    assert len(large.captured_queries) == len(small.captured_queries) <= limit
