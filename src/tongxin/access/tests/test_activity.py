"""The day at the gates: counts per gate, stops by reason, checks by hour, who is out, who is over
their time, the visitors of the day; scoped, and in a fixed number of queries."""

import datetime

import pytest
from django.http import Http404
from django.utils import timezone

from tongxin.access.models import Gate
from tongxin.access.selectors import activity
from tongxin.access.tests.activity_helpers import check, local, outing, visitor
from tongxin.accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def gates(world):
    south = Gate.objects.create(compound=world.compound_a, name="南门")
    north = Gate.objects.create(compound=world.compound_a, name="北门")
    other = Gate.objects.create(compound=world.compound_b, name="东门")
    return south, north, other


def test_day_counts_per_gate(world, gates):
    south, north, other = gates
    manager = world.users[Role.COMPOUND_MANAGER]
    today = timezone.localdate()
    check(south, local(today, 8), "out", resident=world.elder)
    check(south, local(today, 9), "out", allowed=False, reason="sealed", resident=world.child)
    check(south, local(today, 10), "in", resident=world.elder)
    check(south, local(today, 11), "out", emergency=True, reason="emergency")
    check(north, local(today, 0, 10), "in", allowed=False, reason="revoked")
    check(north, local(today - datetime.timedelta(days=1), 23, 50), "in")  # yesterday, local time
    check(other, local(today, 9), "in")  # another compound
    visitor(south, local(today, 12))
    visitor(south, local(today, 13), admitted=False, code_color="red")
    counts = activity.day_counts(manager, world.compound_a, today)
    rows = {row.gate.name: row for row in counts.gates}
    assert [row.gate.name for row in counts.gates] == ["北门", "南门"]
    s, n = rows["南门"], rows["北门"]
    assert (s.in_allowed, s.in_stopped, s.out_allowed, s.out_stopped) == (1, 0, 2, 1)
    assert (s.emergencies, s.visitors, s.checks, s.stopped) == (1, 2, 4, 1)
    assert (n.in_allowed, n.in_stopped, n.out_allowed, n.out_stopped, n.visitors) == (0, 1, 0, 0, 0)
    assert (counts.total.checks, counts.total.stopped, counts.total.visitors) == (5, 2, 2)
    assert counts.peak == 4
    yesterday = activity.day_counts(manager, world.compound_a, today - datetime.timedelta(days=1))
    assert yesterday.total.checks == 1 and yesterday.total.in_allowed == 1


def test_an_inactive_gate_shows_only_on_days_it_was_used(world, gates):
    south, north, _other = gates
    Gate.objects.filter(pk=north.pk).update(active=False)
    today = timezone.localdate()
    manager = world.users[Role.COMPOUND_MANAGER]
    assert [r.gate for r in activity.day_counts(manager, world.compound_a, today).gates] == [south]
    check(north, local(today, 7), "in")
    assert {r.gate for r in activity.day_counts(manager, world.compound_a, today).gates} == {south, north}


def test_day_counts_read_three_queries_whatever_the_traffic(world, gates, django_assert_num_queries):
    south, north, _other = gates
    today = timezone.localdate()
    for minute in range(30):
        check(south if minute % 2 else north, local(today, 8, minute), "out" if minute % 3 else "in")
        visitor(south, local(today, 9, minute))
    manager = world.users[Role.COMPOUND_MANAGER]
    with django_assert_num_queries(3):
        counts = activity.day_counts(manager, world.compound_a, today)
    assert counts.total.checks == 30 and counts.total.visitors == 30


def test_a_compound_without_gates_costs_one_query(world, django_assert_num_queries):
    with django_assert_num_queries(1):
        counts = activity.day_counts(world.users[Role.VOLUNTEER], world.compound_a, timezone.localdate())
    assert counts.gates == [] and counts.total.checks == 0


def test_stop_reasons_and_hours(world, gates):
    south, _north, _other = gates
    today = timezone.localdate()
    for hour, reason in ((7, "sealed"), (7, "no_test"), (8, "sealed"), (18, "revoked")):
        check(south, local(today, hour, 5), "out", allowed=False, reason=reason)
    check(south, local(today, 18, 30), "in")
    manager = world.users[Role.COMPOUND_MANAGER]
    assert activity.stop_reasons(manager, world.compound_a, today) == [
        ("sealed", 2),
        ("no_test", 1),
        ("revoked", 1),
    ]
    hours = activity.hourly_checks(manager, world.compound_a, today)
    assert len(hours) == 24 and [h["hour"] for h in hours] == list(range(24))
    assert hours[7] == {"hour": 7, "allowed": 0, "stopped": 2}
    assert hours[18] == {"hour": 18, "allowed": 1, "stopped": 1}
    assert sum(h["allowed"] + h["stopped"] for h in hours) == 5


def test_out_now_and_over_time(world, gates):
    south, _north, _other = gates
    now = timezone.now()
    manager = world.users[Role.COMPOUND_MANAGER]
    late = outing(
        south, world.elder, now - datetime.timedelta(hours=3), due_at=now - datetime.timedelta(minutes=61)
    )
    fine = outing(
        south, world.neighbour, now - datetime.timedelta(minutes=30), due_at=now + datetime.timedelta(hours=1)
    )
    outing(south, world.child, now - datetime.timedelta(hours=5), back_at=now - datetime.timedelta(hours=4))
    no_limit = outing(south, world.child, now - datetime.timedelta(minutes=90), emergency=True)
    outing(
        gates[2], world.stranger, now - datetime.timedelta(hours=9), due_at=now - datetime.timedelta(hours=7)
    )
    rows = activity.out_now(manager, world.compound_a, now=now)
    assert [r.outing for r in rows] == [late, no_limit, fine]
    assert [r.minutes_out for r in rows] == [180, 90, 30]
    assert (rows[0].hours_out, rows[0].minutes_past_hour) == (3, 0)
    assert [r.minutes_late for r in rows] == [61, 0, 0]
    assert rows[0].room == "1-1-101" and rows[0].resident == world.elder
    assert activity.out_now_count(manager, world.compound_a) == 3
    over = activity.over_time(manager, world.compound_a, now=now)
    assert [(r.resident, r.minutes_late) for r in over] == [(world.elder, 61)]


def test_people_lists_follow_the_users_buildings(world, gates):
    south, _north, _other = gates
    now = timezone.now()
    due = now - datetime.timedelta(minutes=5)
    outing(south, world.elder, now - datetime.timedelta(hours=3), due_at=due)  # building 1
    outing(south, world.neighbour, now - datetime.timedelta(hours=3), due_at=due)  # building 2
    grid = world.users[Role.GRID_WORKER]  # building 1 only
    assert [r.resident for r in activity.out_now(grid, world.compound_a)] == [world.elder]
    assert [r.resident for r in activity.over_time(grid, world.compound_a)] == [world.elder]
    assert activity.out_now_count(grid, world.compound_a) == 1
    assert activity.out_now_count(world.users[Role.VOLUNTEER], world.compound_a) == 2


def test_visitors_of_the_day(world, gates):
    south, north, other = gates
    today = timezone.localdate()
    first = visitor(south, local(today, 9), name="张访客", visiting=world.home_a1)
    second = visitor(north, local(today, 15), name="王返回", kind="returning", resident=world.neighbour)
    visitor(south, local(today - datetime.timedelta(days=1), 20), name="昨天的")
    visitor(other, local(today, 10), name="别处的")
    rows = list(activity.visitors_of_day(world.users[Role.VOLUNTEER], world.compound_a, today))
    assert rows == [second, first]
    assert rows[1].phone_masked == "139****2222"


@pytest.mark.parametrize(
    "read",
    [
        lambda u, c: activity.day_counts(u, c, timezone.localdate()),
        lambda u, c: activity.out_now(u, c),
        lambda u, c: activity.over_time(u, c),
        lambda u, c: activity.visitors_of_day(u, c, timezone.localdate()),
        lambda u, c: activity.stop_reasons(u, c, timezone.localdate()),
    ],
)
def test_residents_read_nothing_of_the_gates(world, read):
    with pytest.raises(Http404):
        read(world.users[Role.RESIDENT], world.compound_a)


def test_an_outing_by_a_household_pass_is_listed_by_its_room(world, gates):
    from tongxin.access.models import Outing

    south, _north, _other = gates
    now = timezone.now()
    event = check(south, now - datetime.timedelta(hours=1), "out")
    Outing.objects.create(
        resident=None,
        household=world.home_a2,
        compound=world.compound_a,
        out_at=now - datetime.timedelta(hours=1),
        due_at=now - datetime.timedelta(minutes=10),
        out_event=event,
    )
    rows = activity.over_time(world.users[Role.COMPOUND_MANAGER], world.compound_a, now=now)
    assert [(r.resident, r.room, r.minutes_late) for r in rows] == [(None, "2-1-201", 10)]
    assert activity.out_now(world.users[Role.GRID_WORKER], world.compound_a) == []  # building 2


def test_the_visitors_of_the_day_follow_the_users_scope(world, gates):
    """A grid worker sees the visitors of their buildings' households (whom they may register) and
    those who named no household; not who visits or returns to another building."""
    south = gates[0]
    now = timezone.now()
    visitor(south, now, name="访一号楼", visiting=world.home_a1)
    visitor(south, now, name="访二号楼", visiting=world.home_a2)
    visitor(south, now, name="李建国", kind="returning", resident=world.neighbour, visiting=world.home_a2)
    visitor(south, now, name="无住户")
    names = {
        role: sorted(
            v.name
            for v in activity.visitors_of_day(world.users[role], world.compound_a, timezone.localdate())
        )
        for role in (Role.GRID_WORKER, Role.COMPOUND_MANAGER, Role.PLATFORM_ADMIN, Role.OFFICIAL)
    }
    assert names[Role.GRID_WORKER] == ["无住户", "访一号楼"]
    everyone = ["无住户", "李建国", "访一号楼", "访二号楼"]
    assert names[Role.COMPOUND_MANAGER] == names[Role.PLATFORM_ADMIN] == names[Role.OFFICIAL] == everyone
