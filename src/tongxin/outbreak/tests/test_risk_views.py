"""Risk area pages: the compound's outbreak overview, the area page, the forms, the map measure."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak import actions
from tongxin.outbreak.models import CompoundStatusChange, RiskArea, RiskAreaEvent
from tongxin.outbreak.tests.risk_helpers import d, manager, raise_building
from tongxin.registry.tests.factories import make_user


@pytest.fixture(autouse=True)
def _rules(settings):
    settings.TONGXIN_RULE_SET = "2022-11"
    settings.TONGXIN_RULES = "{}"


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role] if isinstance(role, str) else role)
        return client

    return login


def overview_url(world):
    return reverse("outbreak:overview", args=[world.compound_a.pk])


def days_ago(n):
    return timezone.localdate() - datetime.timedelta(days=n)


def test_overview_shows_status_areas_proposals_and_forms(as_role, world):
    actions.compound_status_set(
        actor=None, compound=world.compound_a, status="quiet", on=d(10, 2), reason="全市静默"
    )
    actions.compound_status_set(
        actor=None, compound=world.compound_a, status="sealed", on=d(11, 14), reason="首例阳性"
    )
    old = raise_building(world, d(11, 14), reason="首例阳性所在楼栋")
    recent = raise_building(world, days_ago(2), building=world.a2)
    html = as_role(Role.COMPOUND_MANAGER).get(overview_url(world)).content.decode()
    assert "防控概况" in html and "封控" in html and "静默" in html
    assert "2022-10-02 – 2022-11-14" in html and "43天" in html
    assert "全市静默" in html
    assert "还需3天无新增阳性" in html
    assert reverse("outbreak:area", args=[recent.pk]) in html
    # One proposal: the old area, lifted, with its version in the form.
    assert html.count('name="version"') == 1
    assert reverse("outbreak:area_lower", args=[old.pk]) in html
    assert "自 2022-11-19 起满足条件" in html
    assert 'action="{}"'.format(reverse("outbreak:area_raise", args=[world.compound_a.pk])) in html
    assert 'action="{}"'.format(reverse("outbreak:compound_status", args=[world.compound_a.pk])) in html
    assert " style=" not in html and not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_volunteers_see_levels_not_reasons_nor_forms(as_role, world):
    actions.compound_status_set(
        actor=None, compound=world.compound_a, status="sealed", on=d(11, 14), reason="首例阳性"
    )
    area = raise_building(world, d(11, 14), reason="王秀兰家阳性")
    client = as_role(Role.VOLUNTEER)
    html = client.get(overview_url(world)).content.decode()
    assert "高风险区" in html and "1号楼" in html and "封控" in html
    assert "首例阳性" not in html and "王秀兰" not in html
    assert '<form method="post" action="/outbreak' not in html
    area_html = client.get(reverse("outbreak:area", args=[area.pk])).content.decode()
    assert "划定/升级" in area_html and "王秀兰家阳性" not in area_html
    assert "manager" not in area_html.split("<main")[1]
    # Volunteers have no "防控" link: it is for those who see health data.
    assert 'href="{}"'.format(reverse("outbreak:index")) not in html


def test_residents_and_other_compounds_get_404(as_role, world):
    area = raise_building(world, d(11, 14))
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager_b", compound=world.compound_b)
    client = as_role(manager_b)
    assert client.get(reverse("outbreak:area", args=[area.pk])).status_code == 404
    assert client.get(overview_url(world)).status_code == 404
    response = client.post(reverse("outbreak:area_lower", args=[area.pk]), {"version": area.version})
    assert response.status_code == 404
    client = as_role(Role.RESIDENT)
    assert client.get(overview_url(world)).status_code == 404
    assert client.get(reverse("outbreak:area", args=[area.pk])).status_code == 404


def test_raise_form_and_messages(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:area_raise", args=[world.compound_a.pk])
    response = client.post(
        url,
        {"scope": "unit", "unit": world.a1u1.pk, "level": "high", "on": "2022-11-14", "reason": "单元内阳性"},
    )
    assert response.status_code == 302
    area = RiskArea.objects.get()
    assert (area.scope, area.unit, area.level, area.clock_from) == ("unit", world.a1u1, "high", d(11, 14))
    response = client.post(
        url,
        {"scope": "household", "unit": world.a1u1.pk, "room": "101", "on": "2022-11-14", "reason": "户"},
        follow=True,
    )
    assert RiskArea.objects.filter(scope="household", household=world.home_a1).exists()
    # Without a reason: nothing written, the message says why.
    response = client.post(
        url, {"scope": "building", "building": world.a2.pk, "on": "2022-11-14"}, follow=True
    )
    assert "这个字段是必填项" in response.content.decode() or "必填" in response.content.decode()
    assert RiskArea.objects.count() == 2


def test_volunteer_posts_are_refused(as_role, world):
    client = as_role(Role.VOLUNTEER)
    response = client.post(
        reverse("outbreak:area_raise", args=[world.compound_a.pk]),
        {"scope": "building", "building": world.a1.pk, "on": "2022-11-14", "reason": "r"},
        follow=True,
    )
    assert "无权管理该小区的风险区" in response.content.decode()
    assert RiskArea.objects.count() == 0


def test_confirming_a_proposal_and_a_stale_confirmation(as_role, world):
    area = raise_building(world, d(11, 14))
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:area_lower", args=[area.pk])
    response = client.post(url, {"version": 1, "next": "overview"}, follow=True)
    assert response.redirect_chain[-1][0] == overview_url(world)
    assert "已确认降级" in response.content.decode()
    area.refresh_from_db()
    assert area.lifted_on == timezone.localdate()
    response = client.post(url, {"version": 1}, follow=True)
    assert "记录已被他人修改，请刷新后重试" in response.content.decode()
    assert RiskAreaEvent.objects.filter(area=area, kind="lift").count() == 1


def test_area_page_timeline_and_screening_form(as_role, world, settings):
    settings.TONGXIN_RULE_SET = "2022-06"
    area = raise_building(world, days_ago(9), reason="楼内阳性")
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:area", args=[area.pk])
    html = client.get(url).content.decode()
    assert "等待" in html and "全员阴性筛查" in html
    assert "楼内阳性" in html and "manager" in html
    assert 'name="version"' in html  # the lift form only
    response = client.post(
        reverse("outbreak:area_screening", args=[area.pk]),
        {"on": days_ago(3).isoformat(), "all_negative": "1", "note": "第7天筛查"},
        follow=True,
    )
    html = response.content.decode()
    assert "已记录筛查" in html and "第7天筛查" in html and "全员阴性" in html
    assert "确认降级为：中风险区" in html
    response = client.post(
        reverse("outbreak:area_lift", args=[area.pk]),
        {"version": area.version, "on": days_ago(1).isoformat(), "reason": "上级通知"},
        follow=True,
    )
    area.refresh_from_db()
    assert area.lifted_on == days_ago(1)


def test_compound_status_form(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:compound_status", args=[world.compound_a.pk])
    client.post(url, {"status": "sealed", "on": "2022-11-14", "reason": "首例阳性"})
    response = client.post(url, {"status": "unsealed", "on": "2022-11-10"}, follow=True)
    assert "日期不能早于上一次状态变更（2022-11-14）" in response.content.decode()
    assert list(CompoundStatusChange.objects.values_list("status", flat=True)) == ["sealed"]


def test_nav_link_for_health_roles(as_role, world):
    html = as_role(Role.GRID_WORKER).get(reverse("registry:home"), follow=True).content.decode()
    assert reverse("outbreak:index") in html and "防控" in html
    response = as_role(Role.COMPOUND_MANAGER).get(reverse("outbreak:index"))
    assert response.status_code == 302 and response["Location"] == overview_url(world)
    html = as_role(Role.PLATFORM_ADMIN).get(reverse("outbreak:index")).content.decode()
    assert overview_url(world) in html


@pytest.mark.parametrize("areas", [1, 6])
def test_overview_query_count_does_not_grow(as_role, world, areas, django_assert_max_num_queries):
    from tongxin.registry import actions as registry_actions

    for index in range(areas):
        building = registry_actions.building_ensure(compound=world.compound_a, number=str(10 + index))
        unit = registry_actions.unit_ensure(building=building, number="1")
        area = raise_building(world, days_ago(6), building=building)
        actions.area_record_screening(actor=None, area=area, on=days_ago(1), all_negative=True)
        actions.area_raise(
            actor=None, compound=world.compound_a, scope="unit", unit=unit, reason="r", on=days_ago(2)
        )
    actions.compound_status_set(actor=None, compound=world.compound_a, status="sealed", on=days_ago(6))
    client = as_role(Role.COMPOUND_MANAGER)
    with django_assert_max_num_queries(8):
        html = client.get(overview_url(world)).content.decode()
    assert html.count('name="version"') == areas


# -- the map -------------------------------------------------------------------------------------------


@pytest.fixture
def map_today(monkeypatch):
    from tongxin.registry.selectors import MAP_MEASURES

    def pin(day):
        monkeypatch.setattr(MAP_MEASURES["risk"], "today", day)

    return pin


def test_risk_measure_cells_and_labels(world, map_today, settings, django_assert_num_queries):
    from tongxin.registry.selectors import compound_map

    settings.TONGXIN_RULE_SET = "2022-06"
    raise_building(world, d(11, 14))
    map_today(d(11, 18))
    user = manager(world)
    with django_assert_num_queries(4):
        shown = compound_map(user, world.compound_a, "risk")
    cells = {cell["unit"].pk: cell for entry in shown["buildings"] for cell in entry["units"]}
    assert (cells[world.a1u1.pk]["band"], cells[world.a1u1.pk]["label"]) == ("b4", "高 3天")
    assert (cells[world.a2u1.pk]["band"], cells[world.a2u1.pk]["label"]) == ("b0", "无风险")
    assert shown["legend"] == [("b4", "高风险区"), ("b3", "中风险区"), ("b0", "无风险")]
    assert shown["palette"] == "risk"
    map_today(d(11, 25))
    shown = compound_map(user, world.compound_a, "risk")
    assert shown["buildings"][0]["units"][0]["label"] == "高 待筛查"


def test_risk_measure_for_health_roles_and_volunteers_only(as_role, world):
    from tongxin.registry.selectors import map_measures_for

    assert "risk" in map_measures_for(world.users[Role.VOLUNTEER])
    assert "risk" in map_measures_for(world.users[Role.GRID_WORKER])
    assert "risk" not in map_measures_for(world.users[Role.RESIDENT])
    raise_building(world, days_ago(1))
    html = (
        as_role(Role.VOLUNTEER)
        .get(reverse("registry:compound", args=[world.compound_a.pk]), {"measure": "risk"})
        .content.decode()
    )
    assert "palette-risk" in html and "<strong>高 4天</strong>" in html


def test_shanghai_legend_order(world, settings):
    settings.TONGXIN_RULE_SET = "shanghai-2022"
    from tongxin.registry.selectors import MAP_MEASURES

    assert MAP_MEASURES["risk"].legend(0) == [
        ("b4", "封控区"),
        ("b3", "管控区"),
        ("b1", "防范区"),
        ("b0", "无风险"),
    ]
