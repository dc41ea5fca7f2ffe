"""The care pages: the list and the overdue list (filters, last and next, a 记录探访 link per
row), a resident's visits with the log form, the overdue list's Excel, the resident page's panel;
who may see them and in how many queries."""

import datetime
import io

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook

from tongxin.core.models import AuditLog
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.forms.care import CareVisitForm
from tongxin.supplies.models import CareVisit
from tongxin.supplies.tests.care_helpers import days_ago, more_residents, visit
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER, user


@pytest.fixture
def as_role(world):
    def login(role):
        client = Client()
        client.force_login(user(world, role))
        return client

    return login


def care_url(world, name="supplies:care", compound=None, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"compound": (compound or world.compound_a).pk, **params}.items())
    return f"{reverse(name)}?{query}"


def resident_url(resident) -> str:
    return reverse("supplies:care_resident", args=[resident.pk])


def test_the_list_shows_last_and_next_visits_and_a_log_button_per_row(world, as_role):
    manager = user(world, MANAGER)
    visit(world.elder, by=manager, day=days_ago(2), next_due=days_ago(-5), brought="大米、面粉、食用油")
    answer = as_role(MANAGER).get(care_url(world))
    assert answer.status_code == 200
    assert answer["Cache-Control"].startswith("max-age=0")
    page = answer.content.decode()
    assert "王秀兰" in page and "李建国" in page and "赵四" not in page and "王小明" not in page
    assert "带去大米、面粉、食用油" in page and days_ago(-5).isoformat() in page
    assert "从未探访" in page  # 李建国
    assert page.count(">记录探访</a>") == 2
    assert f'href="{resident_url(world.elder)}?next=' in page
    assert "138****5678" in page and "13812345678" not in page
    assert "supplies/care.css" in page


def test_the_group_and_building_filters(world, as_role):
    page = as_role(MANAGER).get(care_url(world, group="veteran")).content.decode()
    assert "李建国" in page and "王秀兰" not in page
    page = as_role(MANAGER).get(care_url(world, building=world.a1.pk)).content.decode()
    assert "王秀兰" in page and "李建国" not in page


def test_the_overdue_page_lists_the_never_visited_and_the_late_only(world, as_role):
    manager = user(world, MANAGER)
    visit(world.elder, by=manager, day=days_ago(2), next_due=days_ago(-5))
    late = make_resident(world.home_a2, name="孙重病", phone="", serious_illness=True)
    visit(late, by=manager, day=days_ago(12), next_due=days_ago(5))
    answer = as_role(MANAGER).get(care_url(world, "supplies:care_overdue"))
    page = answer.content.decode()
    assert answer.status_code == 200
    assert "王秀兰" not in page
    assert page.index("李建国") < page.index("孙重病")  # never visited first
    assert "已逾期" in page and "导出 Excel" in page


def test_a_grid_worker_sees_his_buildings_only(world, as_role):
    page = as_role(GRID).get(care_url(world, "supplies:care_overdue")).content.decode()
    assert "王秀兰" in page and "李建国" not in page
    assert as_role(GRID).get(resident_url(world.neighbour)).status_code == 404


@pytest.mark.parametrize("name", ["supplies:care", "supplies:care_overdue", "supplies:care_overdue_export"])
def test_volunteers_and_residents_are_refused_and_another_compound_is_not_found(world, as_role, name):
    assert as_role(VOLUNTEER).get(care_url(world, name)).status_code == 403
    assert as_role(RESIDENT).get(care_url(world, name)).status_code == 403
    assert as_role(MANAGER).get(care_url(world, name, compound=world.compound_b)).status_code == 404
    assert as_role(OFFICIAL).get(care_url(world, name, compound=world.compound_b)).status_code == 404
    assert as_role(MANAGER).get(f"{reverse(name)}?compound=abc").status_code == 404
    assert Client().get(care_url(world, name)).status_code == 302  # to the login page


def test_an_admin_of_several_compounds_chooses_one_first(world, as_role):
    answer = as_role(ADMIN).get(reverse("supplies:care"))
    assert answer.status_code == 200
    assert answer.templates[0].name == "supplies/choose.html"
    assert "甲小区" in answer.content.decode() and "乙小区" in answer.content.decode()


def test_the_list_page_takes_the_same_queries_for_3_or_30_residents(
    world, as_role, django_assert_max_num_queries
):
    client = as_role(GRID)
    client.get(care_url(world))
    with django_assert_max_num_queries(12) as few:
        assert client.get(care_url(world)).status_code == 200
    manager = user(world, MANAGER)
    for person in more_residents(world.home_a1, 30):
        visit(person, by=manager, day=days_ago(9), next_due=days_ago(2), brought="大米")
        visit(person, by=manager, day=days_ago(3), next_due=days_ago(-4), brought="面粉")
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(care_url(world)).content.decode()
    assert page.count(">记录探访</a>") == 31


def test_the_resident_page_shows_the_history_and_the_form(world, as_role):
    manager = user(world, MANAGER)
    visit(world.elder, by=manager, day=days_ago(9), next_due=days_ago(2), brought="食用油")
    visit(world.elder, by=manager, day=days_ago(1), next_due=days_ago(-6), brought="大米")
    page = as_role(GRID).get(resident_url(world.elder)).content.decode()
    assert page.index("带去：大米") < page.index("带去：食用油")
    assert 'id="log"' in page and 'name="goods"' in page and "保存探访记录" in page


def test_logging_a_visit_from_the_form(world, as_role):
    answer = as_role(GRID).post(
        resident_url(world.elder),
        {
            "goods": ["大米", "面粉", "食用油"],
            "brought": "鸡蛋",
            "notes": "精神不错",
            "next": care_url(world, "supplies:care_overdue"),
        },
    )
    assert answer.status_code == 302 and answer["Location"] == care_url(world, "supplies:care_overdue")
    visit_ = CareVisit.objects.get()
    assert (visit_.resident, visit_.visited_by, visit_.brought, visit_.notes) == (
        world.elder,
        user(world, GRID),
        "大米、面粉、食用油、鸡蛋",
        "精神不错",
    )
    assert visit_.next_due == timezone.localdate() + datetime.timedelta(days=7)
    followed = as_role(GRID).get(care_url(world, "supplies:care_overdue")).content.decode()
    assert "王秀兰" not in followed


def test_a_chosen_time_and_next_visit_from_the_form(world, as_role):
    day = days_ago(2)
    answer = as_role(MANAGER).post(
        resident_url(world.neighbour),
        {"visited_at": f"{day.isoformat()}T15:30", "next_due": days_ago(-10).isoformat()},
    )
    assert answer.status_code == 302 and answer["Location"] == resident_url(world.neighbour)
    visit_ = CareVisit.objects.get()
    assert timezone.localtime(visit_.visited_at).replace(tzinfo=None) == datetime.datetime.combine(
        day, datetime.time(15, 30)
    )
    assert visit_.next_due == days_ago(-10)


def test_a_bad_visit_is_shown_again_with_the_reason_and_nothing_written(world, as_role):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    answer = as_role(MANAGER).post(resident_url(world.elder), {"visited_at": f"{tomorrow.isoformat()}T10:00"})
    assert answer.status_code == 400
    assert "探访时间不能晚于现在" in answer.content.decode()
    answer = as_role(MANAGER).post(resident_url(world.elder), {"visited_at": "not a time"})
    assert answer.status_code == 400
    answer = as_role(MANAGER).post(
        resident_url(world.elder), {"next_due": days_ago(3).isoformat(), "visited_at": f"{days_ago(1)}T09:00"}
    )
    assert "下次探访日期必须晚于本次探访" in answer.content.decode()
    assert CareVisit.objects.count() == 0


def test_a_next_address_elsewhere_is_not_followed(world, as_role):
    answer = as_role(MANAGER).post(resident_url(world.elder), {"next": "https://example.com/x"})
    assert answer.status_code == 302 and answer["Location"] == resident_url(world.elder)


def test_a_resident_who_moved_out_gets_no_form(world, as_role):
    Resident.objects.filter(pk=world.elder.pk).update(presence="moved_out")
    page = as_role(MANAGER).get(resident_url(world.elder)).content.decode()
    assert "该居民已搬离" in page and "保存探访记录" not in page
    answer = as_role(MANAGER).post(resident_url(world.elder), {"notes": "x"})
    assert answer.status_code == 400 and CareVisit.objects.count() == 0


def test_the_resident_form_is_refused_outside_the_scope_or_role(world, as_role):
    assert as_role(MANAGER).get(resident_url(world.stranger)).status_code == 404
    assert as_role(MANAGER).post(resident_url(world.stranger), {"notes": "x"}).status_code == 404
    assert as_role(VOLUNTEER).get(resident_url(world.elder)).status_code == 403
    assert as_role(VOLUNTEER).post(resident_url(world.elder), {"notes": "x"}).status_code == 403
    assert as_role(RESIDENT).post(resident_url(world.elder), {"notes": "x"}).status_code == 403
    assert as_role(RESIDENT).get(resident_url(world.neighbour)).status_code == 404
    assert CareVisit.objects.count() == 0


def test_the_overdue_export_is_masked_formula_safe_and_audited(world, as_role):
    sly = make_resident(world.home_a1, name="=HYPERLINK(1)", phone="13911112222", disabled=True)
    visit(sly, by=user(world, MANAGER), day=days_ago(20), next_due=days_ago(13), brought="-1+大米")
    answer = as_role(MANAGER).get(care_url(world, "supplies:care_overdue_export"))
    assert answer.status_code == 200
    assert answer["Content-Type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in answer["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(answer.content)).active
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0][:5] == ["姓名", "楼栋", "单元", "房号", "手机号"]
    by_name = {row[0]: row for row in rows[1:]}
    assert set(by_name) == {"王秀兰", "李建国", "'=HYPERLINK(1)"}
    assert by_name["王秀兰"][4] == "138****5678" and by_name["王秀兰"][7] == "从未探访"
    assert by_name["'=HYPERLINK(1)"][9] == "'-1+大米"
    assert not any(isinstance(v, str) and v.startswith(("=", "+", "-", "@")) for row in rows for v in row)
    logged = AuditLog.objects.get(action="export", fields="care_overdue")
    assert (logged.actor, logged.object_id, logged.detail["count"], logged.detail["phones"]) == (
        user(world, MANAGER),
        str(world.compound_a.pk),
        3,
        "masked",
    )


def test_the_grid_workers_export_holds_his_buildings_only(world, as_role):
    answer = as_role(GRID).get(care_url(world, "supplies:care_overdue_export"))
    sheet = load_workbook(io.BytesIO(answer.content)).active
    assert [row[0].value for row in sheet.iter_rows(min_row=2)] == ["王秀兰"]


def test_the_resident_page_shows_the_care_panel_to_staff_only(world, as_role):
    visit(world.elder, by=user(world, MANAGER), day=days_ago(2), next_due=days_ago(-5), brought="大米、面粉")
    url = reverse("registry:resident", args=[world.elder.pk])
    page = as_role(GRID).get(url).content.decode()
    assert "探访记录" in page and "带去：大米、面粉" in page and days_ago(-5).isoformat() in page
    assert resident_url(world.elder) in page
    for role in (VOLUNTEER, RESIDENT):
        answer = as_role(role).get(url)
        assert answer.status_code == 200 and "care-panel" not in answer.content.decode()


@settings(max_examples=60, deadline=None)
@given(
    goods=st.lists(st.text(max_size=8), max_size=8),
    brought=st.text(max_size=260),
    visited_at=st.text(max_size=30),
    next_due=st.text(max_size=20),
)
def test_the_form_parses_anything_typed_into_at_most_the_fields_lengths(goods, brought, visited_at, next_due):
    form = CareVisitForm(
        {"goods": goods, "brought": brought, "visited_at": visited_at, "next_due": next_due, "notes": brought}
    )
    if form.is_valid():
        data = form.cleaned_data
        assert len(data["brought_text"]) <= 200
        assert set(data["goods"]) <= {"大米", "面粉", "食用油", "蔬菜", "牛奶", "药品"}
        assert data["visited_at"] is None or timezone.is_aware(data["visited_at"])
