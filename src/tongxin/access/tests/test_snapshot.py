"""The gate's snapshot: exactly what a device keeps, scoped, in a fixed number of queries."""

import datetime
import uuid

import pytest
from django.utils import timezone

from tongxin.access import signing
from tongxin.access.models import AccessEvent, AccessPolicy, Outing
from tongxin.access.selectors.gates import gate_snapshot
from tongxin.access.tests.gate_helpers import hold, make_gate, make_pass, set_status
from tongxin.accounts.models import Role, User
from tongxin.outbreak.models import ResidentStatus
from tongxin.registry import actions as registry_actions
from tongxin.registry.tests.factories import make_resident

pytestmark = pytest.mark.django_db


def _outing(world, resident, *, out_at, due_at=None, back_at=None, emergency=False, gate=None):
    gate = gate or make_gate(world, name=f"门{out_at.timestamp()}")
    event = AccessEvent.objects.create(
        scan_id=uuid.uuid4(),
        gate=gate,
        compound=gate.compound,
        at=out_at,
        direction="out",
        method="pass",
        resident=resident,
        household=resident.household,
        allowed=True,
        reason="ok",
    )
    return Outing.objects.create(
        resident=resident,
        household=resident.household,
        compound=resident.compound,
        out_at=out_at,
        due_at=due_at,
        back_at=back_at,
        emergency=emergency,
        out_event=event,
    )


def test_snapshot_holds_exactly_what_the_device_needs(world):
    gate = make_gate(world)
    AccessPolicy.objects.create(
        compound=world.compound_a, exits_per_household=1, exit_period_days=2, exit_max_minutes=120
    )
    now = timezone.now()
    sampled = now - datetime.timedelta(hours=3)
    set_status(world.elder, last_sampled_at=sampled)
    set_status(
        world.child, holds=[hold("red", "central", days_left=4)], last_sampled_at=sampled, risk_level="high"
    )
    set_status(world.neighbour, sampled=False)
    elder_pass, _code = make_pass(world.elder)
    household_pass, _code = make_pass(world.home_a2)
    revoked, _code = make_pass(world.child, revoked=True)
    make_pass(world.child, expires_at=now - datetime.timedelta(days=1), number="OLD")  # expired: nowhere
    make_pass(world.stranger)  # compound B: nowhere
    recent = _outing(
        world,
        world.elder,
        out_at=now - datetime.timedelta(hours=5),
        back_at=now - datetime.timedelta(hours=4),
    )
    _outing(
        world, world.elder, out_at=now - datetime.timedelta(days=3), back_at=now - datetime.timedelta(days=3)
    )
    _outing(world, world.neighbour, out_at=now - datetime.timedelta(hours=1), emergency=True)
    still_out = _outing(
        world, world.child, out_at=now - datetime.timedelta(hours=3), due_at=now - datetime.timedelta(hours=1)
    )

    data = gate_snapshot(world.users[Role.VOLUNTEER], gate)

    assert data["gate"] == {
        "id": gate.pk,
        "name": "南门",
        "compound": world.compound_a.pk,
        "compound_name": "甲小区",
    }
    assert data["key"] == {"id": signing.key_id(), "public_key": signing.public_key_b64()}
    assert data["policy"] == {
        "exits_per_household": 1,
        "exit_period_days": 2,
        "exit_max_minutes": 120,
        "sealed_no_exit": True,
        "exit_needs_test": True,
        "test_validity_hours": 48,
    }
    assert data["revoked"] == [revoked.number]
    assert data["passes"] == sorted(
        [
            [elder_pass.number, world.elder.pk, world.home_a1.pk],
            [household_pass.number, None, world.home_a2.pk],
        ]
    )
    child_until = int(
        datetime.datetime.fromisoformat(hold("red", "central", days_left=4)["until"]).timestamp()
    )
    rows = {row[0]: row for row in data["residents"]}
    assert rows[world.elder.pk] == [
        world.elder.pk,
        world.home_a1.pk,
        "王秀兰",
        "1-1-101",
        "green",
        "",
        None,
        int(sampled.timestamp()),
        0,
    ]
    child = rows[world.child.pk]
    assert child[:6] == [world.child.pk, world.home_a1.pk, "王小明", "1-1-101", "red", "isolation"]
    assert abs(child[6] - child_until) <= 1
    assert child[7:] == [int(sampled.timestamp()), 1]
    assert rows[world.neighbour.pk] == [
        world.neighbour.pk,
        world.home_a2.pk,
        "李建国",
        "2-1-201",
        "green",
        "",
        None,
        None,
        0,
    ]
    assert set(rows) == {world.elder.pk, world.child.pk, world.neighbour.pk}
    assert data["households"] == {
        str(world.home_a1.pk): {
            "room": "1-1-101",
            "exits": [int(recent.out_at.timestamp()), int(still_out.out_at.timestamp())],
            "out": [[world.child.pk, int(still_out.out_at.timestamp()), int(still_out.due_at.timestamp())]],
        },
        str(world.home_a2.pk): {
            "room": "2-1-201",
            "exits": [],
            "out": [[world.neighbour.pk, int((now - datetime.timedelta(hours=1)).timestamp()), None]],
        },
    }
    assert data["generated_at"] == data["server_time"]


def test_snapshot_holds_the_gates_compound_living_there_for_whoever_keeps_the_gate(world):
    """A gate serves every building: a grid worker whose lists hold building 1 only keeps the
    whole compound's names at the gate; those moved out and other compounds' are left out."""
    gate = make_gate(world)
    registry_actions.resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    for role in (Role.VOLUNTEER, Role.GRID_WORKER):
        data = gate_snapshot(world.users[role], gate)
        assert [row[0] for row in data["residents"]] == [world.elder.pk, world.neighbour.pk]
        assert world.stranger.pk not in {row[0] for row in data["residents"]}
        assert set(data["households"]) == {str(world.home_a1.pk), str(world.home_a2.pk)}


def test_a_resident_without_a_stored_status_gets_one(world):
    gate = make_gate(world)
    assert not ResidentStatus.objects.filter(resident=world.elder).exists()
    data = gate_snapshot(world.users[Role.VOLUNTEER], gate)
    assert ResidentStatus.objects.filter(resident=world.elder).exists()
    assert {row[0]: row[4] for row in data["residents"]}[world.elder.pk] == "green"


def _many(world, count):
    for n in range(count):
        household = registry_actions.household_ensure(unit=world.a1u1, room=str(500 + n))
        resident = make_resident(household, name=f"居民{n}")
        set_status(resident)
        make_pass(resident)
        _outing(
            world,
            resident,
            out_at=timezone.now() - datetime.timedelta(hours=2),
            gate=make_gate(world, name=f"G{n}"),
        )


def test_snapshot_queries_do_not_grow_with_the_compound(world, django_assert_num_queries):
    gate = make_gate(world)
    for resident in (world.elder, world.child, world.neighbour):
        set_status(resident)
    volunteer = world.users[Role.VOLUNTEER]
    # Policy, households, residents, statuses, passes, outings (a fresh user object, as each
    # request has).
    user = User.objects.get(pk=volunteer.pk)
    with django_assert_num_queries(6):
        small = gate_snapshot(user, gate)
    _many(world, 25)
    user = User.objects.get(pk=volunteer.pk)
    with django_assert_num_queries(6):
        large = gate_snapshot(user, gate)
    assert len(large["residents"]) == len(small["residents"]) + 25
    assert len(large["passes"]) == 25


def test_snapshot_through_the_api_and_its_scope(world, client):
    gate = make_gate(world)
    gate_b = make_gate(world, compound=world.compound_b, name="北门")
    client.force_login(world.users[Role.VOLUNTEER])
    answer = client.get(f"/api/v1/access/gates/{gate.pk}/snapshot")
    assert answer.status_code == 200
    assert answer.json()["gate"]["id"] == gate.pk
    assert answer["Cache-Control"] == "no-store"  # names and health statuses: no disk cache keeps them
    assert client.get(f"/api/v1/access/gates/{gate_b.pk}/snapshot").status_code == 404
    client.force_login(world.users[Role.RESIDENT])
    assert client.get(f"/api/v1/access/gates/{gate.pk}/snapshot").status_code == 403
