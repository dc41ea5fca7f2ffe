"""Visitors and returning residents at the gate, and the exit policy's edits."""

import datetime
import uuid

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.utils import timezone

from tongxin.access.actions.policy import policy_set
from tongxin.access.actions.visitors import visitor_register
from tongxin.access.models import AccessEvent, AccessPolicy, Visitor
from tongxin.access.selectors.policy import policy_for
from tongxin.access.tests.gate_helpers import make_gate, set_status
from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.outbreak.errors import StaleEdit
from tongxin.outbreak.models import StatusFlag
from tongxin.outbreak.status import status_read
from tongxin.registry import actions as registry_actions
from tongxin.registry.tests.factories import make_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(world):
    for resident in (world.elder, world.child, world.neighbour, world.stranger):
        set_status(resident)
    return make_gate(world)


def register(world, gate, user=None, **fields):
    fields.setdefault("scan_id", uuid.uuid4())
    fields.setdefault("kind", "visitor")
    fields.setdefault("code_color", "green")
    return visitor_register(actor=user or world.users[Role.VOLUNTEER], gate=gate, **fields)


def test_a_visitor_on_a_green_code_comes_in(world, gate):
    scan = uuid.uuid4()
    visitor, decided = register(
        world,
        gate,
        scan_id=scan,
        name=" 刘师傅 ",
        phone="+86 138 0013 8000",
        reason="维修水管",
        visiting=world.home_a2.pk,
        came_from="新城区",
    )
    assert (decided.allowed, decided.reason) == (True, "ok")
    visitor.refresh_from_db()
    assert (visitor.name, visitor.kind, visitor.reason, visitor.came_from, visitor.code_color) == (
        "刘师傅",
        "visitor",
        "维修水管",
        "新城区",
        "green",
    )
    assert (visitor.compound_id, visitor.gate_id, visitor.visiting_id, visitor.resident_id) == (
        world.compound_a.pk,
        gate.pk,
        world.home_a2.pk,
        None,
    )
    assert visitor.admitted is True
    assert visitor.phone_masked == "138****8000"
    assert crypto.decrypt(visitor.phone_cipher) == "13800138000"
    assert "13800138000" not in visitor.phone_cipher
    event = AccessEvent.objects.get()
    assert (event.scan_id, event.method, event.direction, event.allowed, event.reason) == (
        scan,
        "visitor",
        "in",
        True,
        "ok",
    )
    assert (event.visitor_id, event.household_id, event.resident_id, event.offline) == (
        visitor.pk,
        world.home_a2.pk,
        None,
        False,
    )
    assert event.on_duty == world.users[Role.VOLUNTEER]
    assert AuditLog.objects.filter(action="visitor_register", object_id=str(visitor.pk)).count() == 1


@pytest.mark.parametrize(
    ("color", "reason", "text"),
    [("yellow", "code_yellow", "黄码，不得进入"), ("red", "code_red", "红码，不得进入")],
)
def test_not_on_a_green_code_stays_outside(world, gate, color, reason, text):
    visitor, decided = register(world, gate, name="王五", phone="13800138000", code_color=color)
    assert (decided.allowed, decided.reason, decided.text()) == (False, reason, text)
    assert Visitor.objects.get().admitted is False
    assert AccessEvent.objects.get().allowed is False


def test_a_returning_resident_gets_the_arrival_rule(world, gate):
    visitor, decided = register(
        world, gate, kind="returning", resident=world.neighbour.pk, came_from="北京市"
    )
    assert decided.allowed
    assert (visitor.name, visitor.resident_id, visitor.phone_masked) == ("李建国", world.neighbour.pk, "")
    flag = StatusFlag.objects.get(resident=world.neighbour)
    assert (flag.kind, flag.created_by_id, flag.cleared_at) == ("arrival", None, None)
    assert "北京市" in flag.reason
    status = status_read(world.neighbour.pk)
    assert status.color == "yellow"
    event = AccessEvent.objects.get()
    assert (event.resident_id, event.household_id) == (world.neighbour.pk, world.home_a2.pk)


def test_a_returning_resident_on_a_red_code_gets_no_flag(world, gate):
    _visitor, decided = register(world, gate, kind="returning", resident=world.neighbour.pk, code_color="red")
    assert (decided.allowed, decided.reason) == (False, "code_red")
    assert not StatusFlag.objects.exists()


def test_a_returning_resident_must_live_in_the_compound_and_area(world, gate):
    with pytest.raises(ValidationError) as error:
        register(world, gate, kind="returning", resident=world.stranger.pk)
    assert "resident" in error.value.message_dict
    with pytest.raises(ValidationError):
        register(world, gate, kind="returning")
    with pytest.raises(ValidationError):  # building 2 is not the grid worker's
        register(
            world, gate, kind="returning", resident=world.neighbour.pk, user=world.users[Role.GRID_WORKER]
        )
    registry_actions.resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    with pytest.raises(ValidationError):
        register(world, gate, kind="returning", resident=world.child.pk)
    assert (
        not Visitor.objects.exists() and not AccessEvent.objects.exists() and not StatusFlag.objects.exists()
    )


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": "", "phone": "13800138000"}, "name"),
        ({"name": "某" * 51, "phone": "13800138000"}, "name"),
        ({"name": "王五"}, "phone"),
        ({"name": "王五", "phone": "23800138000"}, "phone"),
        ({"name": "王五", "phone": "1380013800"}, "phone"),
        ({"name": "王五", "phone": "13800138000", "code_color": "blue"}, "code_color"),
        ({"name": "王五", "phone": "13800138000", "kind": "courier"}, "kind"),
        ({"name": "王五", "phone": "13800138000", "visiting": "abc"}, "visiting"),
        ({"name": "王五", "phone": "13800138000", "reason": "x" * 201}, "reason"),
        ({"name": "王五", "phone": "13800138000", "resident": 1}, "resident"),
    ],
)
def test_registration_fields_are_checked(world, gate, fields, field):
    with pytest.raises(ValidationError) as error:
        register(world, gate, **fields)
    assert field in error.value.message_dict
    assert not Visitor.objects.exists() and not AccessEvent.objects.exists()


def test_the_household_visited_is_of_the_gates_compound(world, gate):
    with pytest.raises(ValidationError) as error:
        register(world, gate, name="王五", phone="13800138000", visiting=world.home_b.pk)
    assert error.value.message_dict["visiting"] == ["被访住户不在本小区"]


def test_a_resend_returns_the_stored_registration(world, gate):
    scan = uuid.uuid4()
    first, _decided = register(world, gate, scan_id=scan, kind="returning", resident=world.neighbour.pk)
    again, decided = register(world, gate, scan_id=str(scan), kind="returning", resident=world.neighbour.pk)
    assert (again.pk, decided.allowed) == (first.pk, True)
    assert Visitor.objects.count() == AccessEvent.objects.count() == StatusFlag.objects.count() == 1


def test_who_registers_visitors(world, gate):
    with pytest.raises(PermissionDenied):
        register(world, gate, name="王五", phone="13800138000", user=world.users[Role.RESIDENT])
    with pytest.raises(PermissionDenied):
        register(
            world,
            gate,
            name="王五",
            phone="13800138000",
            user=make_user(Role.VOLUNTEER, compound=world.compound_b),
        )
    _visitor, decided = register(
        world, gate, name="王五", phone="13800138000", user=world.users[Role.OFFICIAL]
    )
    assert decided.allowed


def test_the_visitors_api(world, gate):
    client = Client()
    client.force_login(world.users[Role.VOLUNTEER])
    scan = str(uuid.uuid4())
    body = {
        "id": scan,
        "kind": "visitor",
        "name": "快递员",
        "phone": "13900002222",
        "reason": "送快递",
        "visiting": world.home_a1.pk,
        "code_color": "yellow",
        "came_from": "玉泉区",
    }
    answer = client.post(f"/api/v1/access/gates/{gate.pk}/visitors", body, content_type="application/json")
    assert answer.status_code == 200
    assert answer.json() == {"id": scan, "allowed": False, "reason": "code_yellow", "text": "黄码，不得进入"}
    bad = client.post(
        f"/api/v1/access/gates/{gate.pk}/visitors",
        {**body, "id": str(uuid.uuid4()), "phone": "123"},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "phone" in bad.json()["errors"]
    other = Client()
    other.force_login(make_user(Role.VOLUNTEER, compound=world.compound_b))
    assert (
        other.post(
            f"/api/v1/access/gates/{gate.pk}/visitors", body, content_type="application/json"
        ).status_code
        == 404
    )
    assert Visitor.objects.count() == 1


# -- the exit policy --------------------------------------------------------------------------------


def test_policy_set_with_the_version_read(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    read = policy_for(world.compound_a.pk)
    assert (read.pk, read.version, read.exits_per_household, read.sealed_no_exit) == (None, 1, None, True)
    saved = policy_set(
        actor=manager,
        compound=world.compound_a,
        expected_version=read.version,
        exits_per_household=1,
        exit_period_days=2,
        exit_max_minutes=120,
    )
    assert (saved.version, saved.exits_per_household, saved.exit_max_minutes, saved.updated_by) == (
        2,
        1,
        120,
        manager,
    )
    # Someone else saves meanwhile: an edit made from the version read before is refused.
    policy_set(actor=manager, compound=world.compound_a, expected_version=2, sealed_no_exit=False)
    with pytest.raises(StaleEdit):
        policy_set(actor=manager, compound=world.compound_a, expected_version=2, exit_max_minutes=60)
    stored = AccessPolicy.objects.get(compound=world.compound_a)
    assert (stored.version, stored.exit_max_minutes, stored.sealed_no_exit) == (3, 120, False)
    assert AuditLog.objects.filter(action="policy_update").count() == 2


def test_policy_set_checks_who_and_what(world):
    with pytest.raises(PermissionDenied):
        policy_set(
            actor=world.users[Role.VOLUNTEER],
            compound=world.compound_a,
            expected_version=1,
            exit_period_days=3,
        )
    with pytest.raises(PermissionDenied):
        policy_set(
            actor=world.users[Role.GRID_WORKER],
            compound=world.compound_a,
            expected_version=1,
            exit_period_days=3,
        )
    with pytest.raises(PermissionDenied):
        policy_set(
            actor=world.users[Role.COMPOUND_MANAGER],
            compound=world.compound_b,
            expected_version=1,
            exit_period_days=3,
        )
    official = world.users[Role.OFFICIAL]
    for fields in (
        {"exit_period_days": 0},
        {"exit_period_days": "2"},
        {"exits_per_household": 0},
        {"exit_max_minutes": 5},
        {"sealed_no_exit": "yes"},
        {"pass_per": "building"},
        {"version": 7},
    ):
        with pytest.raises(ValidationError):
            policy_set(actor=official, compound=world.compound_a, expected_version=1, **fields)
    assert not AccessPolicy.objects.exists()
    saved = policy_set(
        actor=official, compound=world.compound_a, expected_version=1, exits_per_household=None
    )
    assert saved.version == 2


def test_the_policy_reaches_the_gate_at_once(world, gate):
    from tongxin.access.actions.gates import gate_check

    manager = world.users[Role.COMPOUND_MANAGER]
    policy_set(actor=manager, compound=world.compound_a, expected_version=1, exits_per_household=1)
    volunteer = world.users[Role.VOLUNTEER]
    earlier = timezone.now() - datetime.timedelta(hours=1)
    gate_check(
        actor=volunteer,
        gate=gate,
        scan_id=uuid.uuid4(),
        at=earlier,
        direction="out",
        resident_id=world.elder.pk,
    )
    refused = gate_check(
        actor=volunteer, gate=gate, scan_id=uuid.uuid4(), direction="out", resident_id=world.child.pk
    )
    assert refused.verdict.reason == "quota"
    policy_set(actor=manager, compound=world.compound_a, expected_version=2, exits_per_household=2)
    allowed = gate_check(
        actor=volunteer, gate=gate, scan_id=uuid.uuid4(), direction="out", resident_id=world.child.pk
    )
    assert allowed.verdict.reason == "ok"
