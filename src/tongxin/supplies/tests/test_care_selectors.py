"""The vulnerable and overdue lists, the last visit and next due, the overview's counts and the
resident page's panel: scoped, and in a constant number of queries."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone

from tongxin.registry.models import Resident
from tongxin.registry.selectors import resident_panels
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.models import SupplySettings
from tongxin.supplies.panels import resident_care_panel
from tongxin.supplies.selectors.care import (
    care_overdue,
    care_resident_get,
    care_residents,
    care_summary,
    care_visits_of,
    visit_days,
)
from tongxin.supplies.tests.care_helpers import days_ago, more_residents, visit
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER, user


def names(rows) -> list[str]:
    return [r.name for r in rows]


def test_the_list_is_the_visited_groups_in_building_order_without_those_who_moved_out(world):
    manager = user(world, MANAGER)
    make_resident(world.home_a2, name="孙重病", phone="", serious_illness=True)
    pregnant = make_resident(world.home_a2, name="周孕妇", phone="", pregnant=True)
    gone = make_resident(world.home_a1, name="钱搬离", phone="", veteran=True)
    Resident.objects.filter(pk=gone.pk).update(presence="moved_out")
    rows = names(care_residents(manager, world.compound_a))
    # 王小明 (a child) and 周孕妇 (pregnant: not a visited group) are not on it; 赵四 is compound B.
    assert rows == ["王秀兰", "李建国", "孙重病"]
    assert pregnant.name not in rows


def test_a_group_narrows_the_list(world):
    manager = user(world, MANAGER)
    assert names(care_residents(manager, world.compound_a, "veteran")) == ["李建国"]
    assert names(care_residents(manager, world.compound_a, "elderly_alone")) == ["王秀兰"]
    assert names(care_residents(manager, world.compound_a, "serious_illness")) == []
    # An unknown group is the whole list, not an error.
    assert names(care_residents(manager, world.compound_a, "nonsense")) == ["王秀兰", "李建国"]


def test_a_building_or_unit_narrows_the_list(world):
    manager = user(world, MANAGER)
    assert names(care_residents(manager, world.compound_a, building_id=world.a2.pk)) == ["李建国"]
    assert names(care_residents(manager, world.compound_a, unit_id=world.a1u1.pk)) == ["王秀兰"]


def test_each_resident_carries_the_latest_visit_by_time_not_by_entry(world):
    manager, grid = user(world, MANAGER), user(world, GRID)
    grid.full_name = "王网格"
    grid.save()
    visit(world.elder, by=grid, day=days_ago(3), next_due=days_ago(-4), brought="大米、面粉")
    # Entered later, but a visit of last month: not the last one.
    visit(world.elder, by=manager, day=days_ago(30), next_due=days_ago(23), brought="食用油")
    rows = {r.name: r for r in care_residents(manager, world.compound_a)}
    elder, veteran = rows["王秀兰"], rows["李建国"]
    assert timezone.localdate(elder.last_visited_at) == days_ago(3)
    assert (elder.last_visited_by, elder.last_brought, elder.next_due) == (
        "王网格",
        "大米、面粉",
        days_ago(-4),
    )
    assert (veteran.last_visited_at, veteran.last_visited_by, veteran.next_due) == (None, None, None)


def test_a_visitor_without_a_full_name_is_shown_by_login(world):
    manager = user(world, MANAGER)
    manager.full_name = ""
    manager.save()
    visit(world.elder, by=manager, day=days_ago(1), next_due=days_ago(-6))
    assert care_residents(manager, world.compound_a).get(pk=world.elder.pk).last_visited_by == "manager"


def test_the_overdue_list_is_never_visited_first_then_the_longest_overdue(world):
    manager = user(world, MANAGER)
    late = make_resident(world.home_a2, name="很久没去", phone="", disabled=True)
    later = make_resident(world.home_a1, name="昨天到期", phone="", veteran=True)
    due_today = make_resident(world.home_a1, name="今天到期", phone="", veteran=True)
    fine = make_resident(world.home_a1, name="刚去过", phone="", veteran=True)
    visit(late, by=manager, day=days_ago(20), next_due=days_ago(13))
    visit(later, by=manager, day=days_ago(8), next_due=days_ago(1))
    visit(due_today, by=manager, day=days_ago(7), next_due=days_ago(0))
    visit(fine, by=manager, day=days_ago(2), next_due=days_ago(-5))
    # A newer visit clears an old overdue one.
    visit(world.neighbour, by=manager, day=days_ago(40), next_due=days_ago(33))
    visit(world.neighbour, by=manager, day=days_ago(1), next_due=days_ago(-6))
    assert names(care_overdue(manager, world.compound_a)) == ["王秀兰", "很久没去", "昨天到期"]


def test_the_overdue_list_of_a_day(world):
    manager = user(world, MANAGER)
    visit(world.elder, by=manager, day=days_ago(3), next_due=days_ago(-2))
    visit(world.neighbour, by=manager, day=days_ago(3), next_due=days_ago(-4))
    in_three_days = timezone.localdate() + datetime.timedelta(days=3)
    assert names(care_overdue(manager, world.compound_a, today=in_three_days)) == ["王秀兰"]


def test_a_grid_worker_sees_his_buildings_only(world):
    grid = user(world, GRID)  # building 1
    assert names(care_residents(grid, world.compound_a)) == ["王秀兰"]
    assert names(care_overdue(grid, world.compound_a)) == ["王秀兰"]
    assert care_summary(grid, world.compound_a)["vulnerable"] == 1


@pytest.mark.parametrize("role", [MANAGER, GRID, OFFICIAL, ADMIN])
def test_another_compound_is_not_found(world, role):
    if role == ADMIN:
        assert names(care_residents(user(world, role), world.compound_b)) == []  # 赵四 has no tag
        return
    with pytest.raises(Http404):
        care_residents(user(world, role), world.compound_b)
    with pytest.raises(Http404):
        care_overdue(user(world, role), world.compound_b)
    with pytest.raises(Http404):
        care_summary(user(world, role), world.compound_b)


def test_volunteers_are_refused_and_residents_do_not_find_the_compound(world):
    with pytest.raises(PermissionDenied):
        care_residents(user(world, VOLUNTEER), world.compound_a)
    with pytest.raises(Http404):
        care_residents(user(world, RESIDENT), world.compound_a)
    with pytest.raises(PermissionDenied):
        care_resident_get(user(world, VOLUNTEER), world.elder.pk)
    with pytest.raises(PermissionDenied):
        care_resident_get(user(world, RESIDENT), world.elder.pk)  # their own household's member
    with pytest.raises(Http404):
        care_resident_get(user(world, GRID), world.neighbour.pk)
    with pytest.raises(PermissionDenied):
        care_visits_of(user(world, VOLUNTEER), world.elder)
    with pytest.raises(Http404):
        care_visits_of(user(world, GRID), world.neighbour)


def test_the_summary_counts_visited_this_week_and_overdue(world):
    manager = user(world, MANAGER)
    today = timezone.localdate()
    monday = today - datetime.timedelta(days=today.weekday())
    visit(world.elder, by=manager, day=monday, hour=0, next_due=today + datetime.timedelta(days=7))
    before_monday = monday - datetime.timedelta(days=1)
    visit(
        world.neighbour,
        by=manager,
        day=before_monday,
        hour=23,
        next_due=before_monday + datetime.timedelta(days=7),
    )
    extra = make_resident(world.home_a2, name="孙重病", phone="", serious_illness=True)
    visit(extra, by=manager, day=days_ago(20), next_due=days_ago(13))
    summary = care_summary(manager, world.compound_a)
    assert summary == {"vulnerable": 3, "visited_this_week": 1, "overdue": 1, "visit_days": 7}


def test_the_summary_is_empty_for_volunteers_and_not_found_for_another_compound(world):
    assert care_summary(user(world, VOLUNTEER), world.compound_a) == {}
    with pytest.raises(Http404):
        care_summary(user(world, VOLUNTEER), world.compound_b)
    with pytest.raises(Http404):
        care_summary(user(world, RESIDENT), world.compound_a)


def test_visit_days_reads_the_compounds_row_or_the_default(world, settings):
    settings.TONGXIN_CARE_VISIT_DAYS = 9
    assert visit_days(world.compound_a.pk) == 9
    SupplySettings.objects.create(compound=world.compound_a, care_visit_days=3)
    assert (visit_days(world.compound_a.pk), visit_days(world.compound_b.pk)) == (3, 9)


def test_the_history_is_latest_first(world):
    manager = user(world, MANAGER)
    old = visit(world.elder, by=manager, day=days_ago(9), next_due=days_ago(2))
    new = visit(world.elder, by=manager, day=days_ago(1), next_due=days_ago(-6))
    visit(world.neighbour, by=manager, day=days_ago(1), next_due=days_ago(-6))
    assert list(care_visits_of(manager, world.elder)) == [new, old]


def test_the_lists_take_one_query_whatever_their_length(world, django_assert_num_queries):
    manager = user(world, MANAGER)
    people = more_residents(world.home_a2, 12)
    for person in people:
        visit(person, by=manager, day=days_ago(9), next_due=days_ago(2), brought="大米")
        visit(person, by=manager, day=days_ago(2), next_due=days_ago(-5), brought="面粉")
    manager = type(manager).objects.get(pk=manager.pk)
    care_residents(manager, world.compound_a).count()  # the scope's reads, once per user
    with django_assert_num_queries(2):  # the compound's scope check, then the rows
        rows = list(care_residents(manager, world.compound_a))
        assert [(r.last_brought, r.household.unit.building.number) for r in rows][-1] == ("面粉", "2")
    with django_assert_num_queries(2):
        assert len(list(care_overdue(manager, world.compound_a))) == 2


def test_the_panel_shows_the_last_visits_and_next_due_to_staff_only(world):
    manager = user(world, MANAGER)
    for n in range(5):
        visit(
            world.elder,
            by=manager,
            day=days_ago(30 - n * 5),
            next_due=days_ago(23 - n * 5),
            brought=f"物品{n}",
        )
    panel = resident_care_panel(manager, world.elder)
    assert panel["template"] == "supplies/care/_resident_panel.html"
    care = panel["care"]
    assert [v.brought for v in care["visits"]] == ["物品4", "物品3", "物品2"]
    assert (care["more"], care["next_due"], care["overdue"], care["may_log"]) == (
        True,
        days_ago(3),
        True,
        True,
    )
    assert panel in resident_panels(manager, world.elder)  # registered in SuppliesConfig.ready
    for role in (VOLUNTEER, RESIDENT):
        assert resident_care_panel(user(world, role), world.elder) is None


def test_the_panel_is_left_out_for_a_resident_neither_vulnerable_nor_visited(world):
    manager = user(world, MANAGER)
    assert resident_care_panel(manager, world.child) is None
    never = resident_care_panel(manager, world.neighbour)  # a veteran never visited
    assert (never["care"]["visits"], never["care"]["next_due"], never["care"]["overdue"]) == ([], None, True)
    visit(world.child, by=manager, day=days_ago(1), next_due=days_ago(-6))
    assert resident_care_panel(manager, world.child)["care"]["overdue"] is False
