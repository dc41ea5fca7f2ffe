"""Logging a care visit: who may, for whom, which dates, what is kept, and nothing half-written."""

import datetime
import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.http import Http404
from django.utils import timezone

from tongxin.core.models import AuditLog
from tongxin.registry.models import Resident
from tongxin.supplies.actions.care import care_visit_log
from tongxin.supplies.models import CareVisit, SupplySettings
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER, user


def local(day: datetime.date, hour: int = 10) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour)))


def refused(call, code: str, **kwargs) -> ValidationError:
    with pytest.raises(ValidationError) as error:
        call(**kwargs)
    assert error.value.code == code
    assert CareVisit.objects.count() == 0
    assert not AuditLog.objects.filter(object_type="supplies.carevisit").exists()
    return error.value


def test_a_visit_is_kept_with_its_goods_notes_next_due_and_an_audit_row(world, settings):
    settings.TONGXIN_CARE_VISIT_DAYS = 7
    manager = user(world, MANAGER)
    visited_at = timezone.now() - datetime.timedelta(hours=2)
    visit = care_visit_log(
        actor=manager,
        resident=world.elder,
        visited_at=visited_at,
        brought="  大米、面粉、食用油 ",
        notes="独居，精神状态良好",
    )
    visit.refresh_from_db()
    assert (visit.compound_id, visit.resident_id, visit.visited_by, visit.visited_at) == (
        world.compound_a.pk,
        world.elder.pk,
        manager,
        visited_at,
    )
    assert (visit.brought, visit.notes) == ("大米、面粉、食用油", "独居，精神状态良好")
    assert visit.next_due == timezone.localdate(visited_at) + datetime.timedelta(days=7)
    row = AuditLog.objects.get(object_type="supplies.carevisit", object_id=str(visit.pk))
    assert (row.action, row.actor, row.object_label) == ("create", manager, "探访 王秀兰")
    assert row.detail["resident"] == world.elder.pk


def test_without_a_time_the_visit_is_now(world):
    before = timezone.now()
    visit = care_visit_log(actor=user(world, MANAGER), resident=world.elder)
    assert before <= visit.visited_at <= timezone.now()


def test_the_compounds_own_interval_sets_the_next_visit(world, settings):
    settings.TONGXIN_CARE_VISIT_DAYS = 7
    SupplySettings.objects.create(compound=world.compound_a, care_visit_days=14)
    day = timezone.localdate() - datetime.timedelta(days=3)
    visit = care_visit_log(actor=user(world, MANAGER), resident=world.elder, visited_at=local(day))
    assert visit.next_due == day + datetime.timedelta(days=14)
    # Another compound's setting does not apply.
    SupplySettings.objects.create(compound=world.compound_b, care_visit_days=2)
    other = care_visit_log(actor=user(world, MANAGER), resident=world.neighbour, visited_at=local(day))
    assert other.next_due == day + datetime.timedelta(days=14)


def test_the_default_interval_comes_from_the_setting(world, settings):
    settings.TONGXIN_CARE_VISIT_DAYS = 10
    day = timezone.localdate() - datetime.timedelta(days=1)
    visit = care_visit_log(actor=user(world, MANAGER), resident=world.elder, visited_at=local(day))
    assert visit.next_due == day + datetime.timedelta(days=10)


def test_a_chosen_next_visit_is_kept(world):
    day = timezone.localdate() - datetime.timedelta(days=1)
    due = day + datetime.timedelta(days=3)
    visit = care_visit_log(
        actor=user(world, MANAGER), resident=world.elder, visited_at=local(day), next_due=due
    )
    assert visit.next_due == due


@pytest.mark.parametrize(
    ("days_after", "code"),
    [(0, "next_due_not_after_visit"), (-2, "next_due_not_after_visit"), (367, "next_due_too_far")],
)
def test_a_next_visit_not_after_the_visit_or_too_far_is_refused(world, days_after, code):
    day = timezone.localdate() - datetime.timedelta(days=1)
    refused(
        care_visit_log,
        code,
        actor=user(world, MANAGER),
        resident=world.elder,
        visited_at=local(day),
        next_due=day + datetime.timedelta(days=days_after),
    )


def test_a_visit_in_the_future_is_refused_but_a_phones_clock_a_little_ahead_is_not(world):
    error = refused(
        care_visit_log,
        "future",
        actor=user(world, MANAGER),
        resident=world.elder,
        visited_at=timezone.now() + datetime.timedelta(hours=1),
    )
    assert error.messages == ["探访时间不能晚于现在"]
    visit = care_visit_log(
        actor=user(world, MANAGER),
        resident=world.elder,
        visited_at=timezone.now() + datetime.timedelta(minutes=3),
    )
    assert visit.pk


def test_a_visit_more_than_a_year_back_is_refused(world):
    refused(
        care_visit_log,
        "too_old",
        actor=user(world, MANAGER),
        resident=world.elder,
        visited_at=timezone.now() - datetime.timedelta(days=366),
    )
    visit = care_visit_log(
        actor=user(world, MANAGER),
        resident=world.elder,
        visited_at=timezone.now() - datetime.timedelta(days=360),
    )
    assert visit.pk


def test_a_time_without_a_zone_is_refused(world):
    refused(
        care_visit_log,
        "naive_time",
        actor=user(world, MANAGER),
        resident=world.elder,
        visited_at=datetime.datetime(2026, 1, 1, 10, 0),  # noqa: DTZ001
    )


@pytest.mark.parametrize(
    ("field", "length", "code"), [("brought", 201, "brought_too_long"), ("notes", 1001, "notes_too_long")]
)
def test_too_long_goods_or_notes_are_refused(world, field, length, code):
    refused(care_visit_log, code, actor=user(world, MANAGER), resident=world.elder, **{field: "米" * length})


def test_the_longest_goods_and_notes_are_kept(world):
    visit = care_visit_log(
        actor=user(world, MANAGER), resident=world.elder, brought="米" * 200, notes="好" * 1000
    )
    visit.refresh_from_db()
    assert (len(visit.brought), len(visit.notes)) == (200, 1000)


def test_a_resident_who_moved_out_is_not_visited(world):
    Resident.objects.filter(pk=world.elder.pk).update(presence="moved_out")
    error = refused(care_visit_log, "moved_out", actor=user(world, MANAGER), resident=world.elder)
    assert error.messages == ["王秀兰已搬离本小区，不能记录探访"]


def test_the_same_visit_sent_twice_is_stored_once_and_the_second_is_told(world):
    """Two entries of one visit made from the same stale page: the first wins, the second is told."""
    manager = user(world, MANAGER)
    at = timezone.now() - datetime.timedelta(minutes=30)
    stale_a, stale_b = Resident.objects.get(pk=world.elder.pk), Resident.objects.get(pk=world.elder.pk)
    care_visit_log(actor=manager, resident=stale_a, visited_at=at, brought="大米")
    with pytest.raises(ValidationError) as error:
        care_visit_log(
            actor=manager, resident=stale_b, visited_at=at + datetime.timedelta(minutes=2), brought="大米"
        )
    assert error.value.code == "duplicate"
    assert "已记录过这次探访" in error.value.messages[0]
    assert CareVisit.objects.count() == 1
    # Another colleague's visit, or the same cadre's next visit a day later, is another visit.
    care_visit_log(actor=user(world, GRID), resident=world.elder, visited_at=at)
    care_visit_log(actor=manager, resident=world.elder, visited_at=at - datetime.timedelta(days=1))
    assert CareVisit.objects.count() == 3


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks whole tables across threads",
)
@pytest.mark.django_db(transaction=True)
def test_the_same_visit_sent_twice_at_once_is_stored_once(world):
    """A double tap: two requests at once, each with its own read of the resident; the
    resident's row lock lets one store the visit and tells the other."""
    manager = user(world, MANAGER)
    at = timezone.now() - datetime.timedelta(minutes=5)
    barrier = threading.Barrier(2)
    results = []

    def log():
        try:
            stale = Resident.objects.get(pk=world.elder.pk)
            barrier.wait(timeout=5)
            care_visit_log(actor=manager, resident=stale, visited_at=at, brought="大米")
            results.append("ok")
        except ValidationError as error:
            results.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=log) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == ["duplicate", "ok"]
    assert CareVisit.objects.count() == 1


@pytest.mark.parametrize("role", [MANAGER, GRID, OFFICIAL, ADMIN])
def test_staff_of_the_compound_log_visits(world, role):
    visit = care_visit_log(actor=user(world, role), resident=world.elder)
    assert visit.visited_by == user(world, role)


@pytest.mark.parametrize("role", [VOLUNTEER, RESIDENT])
def test_volunteers_and_residents_are_refused(world, role):
    """The resident's own account sees their household, and still may not log visits."""
    with pytest.raises(PermissionDenied):
        care_visit_log(actor=user(world, role), resident=world.elder)
    assert CareVisit.objects.count() == 0


def test_a_resident_outside_the_actors_scope_is_not_found(world):
    with pytest.raises(Http404):  # compound B
        care_visit_log(actor=user(world, MANAGER), resident=world.stranger)
    with pytest.raises(Http404):  # building 2: not the grid worker's
        care_visit_log(actor=user(world, GRID), resident=world.neighbour)
    with pytest.raises(Http404):  # another household
        care_visit_log(actor=user(world, RESIDENT), resident=world.neighbour)
    with pytest.raises(Http404):  # an official of community A
        care_visit_log(actor=user(world, OFFICIAL), resident=world.stranger)
    assert CareVisit.objects.count() == 0
