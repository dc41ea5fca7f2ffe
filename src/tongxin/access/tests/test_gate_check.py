"""The server's check at the gate: the pass, the person, their status, the household's outings and
the policy give one verdict; the check is recorded once, and outings open and close with it."""

import base64
import datetime
import json
import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.utils import timezone

from tongxin.access.actions.gates import gate_check, gate_create
from tongxin.access.models import AccessEvent, AccessPolicy, Gate, Outing
from tongxin.access.tests.gate_helpers import hold, make_gate, make_pass, set_status
from tongxin.accounts.models import Role
from tongxin.registry import actions as registry_actions
from tongxin.registry.models import Resident

pytestmark = pytest.mark.django_db


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def check(world, gate, direction="out", user=None, **fields):
    fields.setdefault("scan_id", uuid.uuid4())
    return gate_check(actor=user or world.users[Role.VOLUNTEER], gate=gate, direction=direction, **fields)


@pytest.fixture
def gate(world):
    for resident in (world.elder, world.child, world.neighbour, world.stranger):
        set_status(resident)
    return make_gate(world)


def policy(world, **fields):
    return AccessPolicy.objects.create(compound=world.compound_a, **fields)


# -- the pass ---------------------------------------------------------------------------------------


def test_a_genuine_pass_lets_its_resident_out_and_records_the_check(world, gate):
    policy(world, exit_max_minutes=120)
    pass_, code = make_pass(world.elder)
    scan = uuid.uuid4()
    before = timezone.now()
    event, decided, name, room = check(world, gate, code=code, scan_id=scan)
    assert (decided.allowed, decided.reason, name, room) == (True, "ok", "王秀兰", "1-1-101")
    assert (
        before + datetime.timedelta(minutes=120)
        <= decided.due_at
        <= timezone.now() + datetime.timedelta(minutes=120)
    )
    stored = AccessEvent.objects.get()
    assert (stored.scan_id, stored.gate_id, stored.compound_id, stored.direction, stored.method) == (
        scan,
        gate.pk,
        world.compound_a.pk,
        "out",
        "pass",
    )
    assert (stored.resident_id, stored.household_id, stored.pass_number) == (
        world.elder.pk,
        world.home_a1.pk,
        pass_.number,
    )
    assert (stored.allowed, stored.reason, stored.emergency, stored.offline) == (True, "ok", False, False)
    assert stored.on_duty == world.users[Role.VOLUNTEER]
    assert stored.pk == event.pk
    outing = Outing.objects.get()
    assert (outing.resident_id, outing.household_id, outing.out_at, outing.due_at, outing.back_at) == (
        world.elder.pk,
        world.home_a1.pk,
        stored.at,
        decided.due_at,
        None,
    )
    assert outing.out_event_id == stored.pk


def _forged_code(world) -> str:
    payload = json.dumps(
        {"n": "FAKE000001", "c": world.compound_a.pk, "r": "1-1-101", "e": 4102444800, "k": "d43ba186"},
        separators=(",", ":"),
    ).encode()
    signature = Ed25519PrivateKey.generate().sign(payload)
    return f"TX1.{_b64(payload)}.{_b64(signature)}"


def _altered(code: str) -> str:
    """One character of the payload changed (in the middle: every bit of it counts)."""
    prefix, payload, signature = code.split(".")
    middle = len(payload) // 2
    swapped = "A" if payload[middle] != "A" else "B"
    return f"{prefix}.{payload[:middle]}{swapped}{payload[middle + 1 :]}.{signature}"


@pytest.mark.parametrize("direction", ["out", "in"])
def test_a_pass_that_is_not_good_is_refused_with_its_reason_both_ways(world, gate, direction):
    _pass, good = make_pass(world.elder)
    _pass, expired = make_pass(world.child, expires_at=timezone.now() - datetime.timedelta(minutes=1))
    _pass, revoked = make_pass(world.neighbour, revoked=True)
    _pass, elsewhere = make_pass(world.stranger)
    cases = {
        "forged": _forged_code(world),
        "malformed": "https://example.com/not-a-pass",
        "expired": expired,
        "revoked": revoked,
        "other_compound": elsewhere,
    }
    for reason, code in cases.items():
        _event, decided, _name, _room = check(world, gate, direction, code=code)
        assert (decided.allowed, decided.reason) == (False, reason), reason
    _event, decided, _name, _room = check(world, gate, direction, code=_altered(good))
    assert (decided.allowed, decided.reason) == (False, "forged")
    assert AccessEvent.objects.filter(allowed=False).count() == 6
    assert not Outing.objects.exists()
    # Whose pass it was is on record for a revoked one; nothing of a forged one.
    assert AccessEvent.objects.get(reason="revoked").resident_id == world.neighbour.pk
    assert set(AccessEvent.objects.filter(reason="forged").values_list("resident_id", "pass_number")) == {
        (None, "")
    }


def test_a_genuine_code_without_a_row_finds_nobody(world, gate):
    pass_, code = make_pass(world.elder)
    pass_.delete()
    _event, decided, name, _room = check(world, gate, code=code)
    assert (decided.allowed, decided.reason, name) == (False, "unknown", "")


def test_the_texts_are_the_few_words_of_the_gate(world, gate):
    _pass, revoked = make_pass(world.neighbour, revoked=True)
    assert check(world, gate, code=revoked).text == "出入证已注销"
    set_status(world.elder, last_sampled_at=timezone.now() - datetime.timedelta(days=3))
    assert check(world, gate, resident_id=world.elder.pk).text == "48小时内无核酸"


# -- the person's status and the household --------------------------------------------------------


@pytest.mark.parametrize(
    ("holds", "reason"),
    [
        ([hold("red", "case", days_left=None)], "case"),
        ([hold("red", "positive", days_left=None)], "case"),
        ([hold("red", "home")], "isolation"),
        ([hold("red", "contact")], "isolation"),
        ([hold("yellow", "flag_overlap")], "yellow"),
        ([hold("yellow", "flag_overlap", days_ago=5, days_left=-1)], "ok"),  # ended: green again
    ],
)
def test_the_status_stops_who_may_not_go_out(world, gate, holds, reason):
    set_status(world.elder, holds=holds)
    _pass, code = make_pass(world.elder)
    _event, decided, _name, _room = check(world, gate, code=code)
    assert (decided.allowed, decided.reason) == (reason == "ok", reason)
    # Coming in, a resident always passes.
    _event, decided, _name, _room = check(world, gate, "in", code=code)
    assert (decided.allowed, decided.reason) == (True, "ok")


def test_a_sealed_household_and_an_overdue_test_stop_going_out(world, gate):
    set_status(world.elder, risk_level="high")
    set_status(world.neighbour, last_sampled_at=timezone.now() - datetime.timedelta(hours=49))
    assert check(world, gate, resident_id=world.elder.pk).verdict.reason == "sealed"
    assert check(world, gate, resident_id=world.neighbour.pk).verdict.reason == "no_test"
    AccessPolicy.objects.filter(compound=world.compound_a).delete()
    policy(world, sealed_no_exit=False, exit_needs_test=False)
    assert check(world, gate, resident_id=world.elder.pk).verdict.reason == "ok"
    assert check(world, gate, resident_id=world.neighbour.pk).verdict.reason == "ok"


def test_a_resident_never_sampled_is_overdue(world, gate):
    set_status(world.elder, sampled=False)
    assert check(world, gate, resident_id=world.elder.pk).verdict.reason == "no_test"


def test_the_household_quota_counts_its_exits_in_the_period(world, gate):
    policy(world, exits_per_household=1, exit_period_days=2)
    earlier = timezone.now() - datetime.timedelta(hours=3)
    assert check(world, gate, resident_id=world.elder.pk, at=earlier).verdict.reason == "ok"
    assert check(world, gate, "in", resident_id=world.elder.pk, at=earlier + datetime.timedelta(hours=1))
    assert check(world, gate, resident_id=world.child.pk).verdict.reason == "quota"
    assert check(world, gate, resident_id=world.neighbour.pk).verdict.reason == "ok"  # another household


def test_an_exit_of_three_days_ago_and_an_emergency_do_not_count(world, gate):
    policy(world, exits_per_household=1, exit_period_days=2)
    long_ago = timezone.now() - datetime.timedelta(days=3)
    set_status(world.elder, last_sampled_at=long_ago - datetime.timedelta(hours=1))
    assert check(world, gate, resident_id=world.elder.pk, at=long_ago).verdict.reason == "ok"
    assert check(world, gate, "in", resident_id=world.elder.pk, at=long_ago + datetime.timedelta(hours=1))
    assert check(world, gate, resident_id=world.child.pk, emergency=True).verdict.reason == "emergency"
    assert check(world, gate, "in", resident_id=world.child.pk).verdict.allowed
    assert check(world, gate, resident_id=world.child.pk).verdict.reason == "ok"


def test_someone_of_the_household_out_past_their_time_stops_the_others(world, gate):
    policy(world, exit_max_minutes=60)
    two_hours_ago = timezone.now() - datetime.timedelta(hours=2)
    assert check(world, gate, resident_id=world.elder.pk, at=two_hours_ago).verdict.allowed
    assert check(world, gate, resident_id=world.child.pk).verdict.reason == "over_time"
    assert check(world, gate, resident_id=world.neighbour.pk).verdict.reason == "ok"


def test_back_after_the_limit_passes_with_the_minutes_late_and_closes_the_outing(world, gate):
    policy(world, exit_max_minutes=60)
    out_at = timezone.now() - datetime.timedelta(minutes=100)
    _pass, code = make_pass(world.elder)
    assert check(world, gate, code=code, at=out_at).verdict.due_at == out_at + datetime.timedelta(minutes=60)
    back_at = out_at + datetime.timedelta(minutes=95)
    _event, decided, _name, _room = check(world, gate, "in", code=code, at=back_at)
    assert (decided.allowed, decided.reason, decided.late_minutes) == (True, "over_time", 35)
    outing = Outing.objects.get()
    assert outing.back_at == back_at
    # Back in: the household's next exit is no longer held up.
    assert check(world, gate, resident_id=world.child.pk).verdict.reason == "ok"


def test_back_in_time_is_ok_and_closes_the_outing(world, gate):
    policy(world, exit_max_minutes=60)
    out_at = timezone.now() - datetime.timedelta(minutes=30)
    assert check(world, gate, resident_id=world.elder.pk, at=out_at).verdict.allowed
    _event, decided, _name, _room = check(world, gate, "in", resident_id=world.elder.pk)
    assert (decided.reason, decided.late_minutes) == ("ok", 0)
    assert Outing.objects.get().back_at is not None


def test_an_emergency_always_passes_and_is_logged(world, gate):
    set_status(world.elder, holds=[hold("red", "case", days_left=None)], risk_level="high")
    _event, decided, name, _room = check(world, gate, resident_id=world.elder.pk, emergency=True)
    assert (decided.allowed, decided.reason, name) == (True, "emergency", "王秀兰")
    _event, decided, _name, _room = check(world, gate, code=_forged_code(world), emergency=True)
    assert (decided.allowed, decided.reason) == (True, "emergency")
    _event, decided, name, _room = check(world, gate, emergency=True)  # nobody named
    assert (decided.allowed, decided.reason, name) == (True, "emergency", "")
    assert list(AccessEvent.objects.order_by("pk").values_list("emergency", "allowed", "resident_id")) == [
        (True, True, world.elder.pk),
        (True, True, None),
        (True, True, None),
    ]
    outing = Outing.objects.get()
    assert (outing.resident_id, outing.emergency, outing.due_at) == (world.elder.pk, True, None)


# -- finding the person -----------------------------------------------------------------------------


def test_found_by_id_number_or_picked_by_room(world, gate):
    from tongxin.registry.tests.factories import id_number, make_resident

    number = id_number(datetime.date(1975, 2, 3))
    other = registry_actions.household_ensure(unit=world.a1u1, room="102")

    resident = make_resident(other, name="周六", document_number=number)
    set_status(resident)
    event, decided, name, room = check(world, gate, document=number)
    assert (decided.reason, name, room, event.method, event.resident_id) == (
        "ok",
        "周六",
        "1-1-102",
        "document",
        resident.pk,
    )
    event, decided, name, _room = check(world, gate, resident_id=world.neighbour.pk)
    assert (decided.reason, name, event.method) == ("ok", "李建国", "room")
    assert check(world, gate, document=id_number(datetime.date(1990, 1, 1))).verdict.reason == "unknown"


def test_nobody_outside_the_compound_or_moved_out_is_found_and_everyone_else_is(world, gate):
    assert check(world, gate, resident_id=world.stranger.pk).verdict.reason == "unknown"
    assert check(world, gate, resident_id=987654321).verdict.reason == "unknown"
    registry_actions.resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    assert check(world, gate, resident_id=world.child.pk).verdict.reason == "unknown"
    grid = world.users[Role.GRID_WORKER]  # building 1 in their lists; the gate serves building 2 too
    assert check(world, gate, "in", resident_id=world.neighbour.pk, user=grid).verdict.reason == "ok"
    assert check(world, gate, resident_id=world.elder.pk, user=grid).verdict.reason == "ok"


# -- household passes -------------------------------------------------------------------------------


def test_a_household_pass_applies_the_worst_of_the_household(world, gate):
    _pass, code = make_pass(world.home_a1)
    set_status(world.child, holds=[hold("yellow", "flag_overlap")])
    _event, decided, name, room = check(world, gate, code=code)
    assert (decided.reason, name, room) == ("yellow", "王秀兰、王小明", "1-1-101")
    # Naming the member going out does not lift the household's checks.
    assert check(world, gate, code=code, resident_id=world.elder.pk).verdict.reason == "yellow"
    set_status(world.child)
    set_status(world.elder, last_sampled_at=timezone.now() - datetime.timedelta(days=3))
    assert check(world, gate, code=code).verdict.reason == "no_test"
    # Coming in it passes.
    assert check(world, gate, "in", code=code).verdict.reason == "ok"


def test_a_household_pass_opens_and_closes_its_outing(world, gate):
    policy(world, exit_max_minutes=60)
    _pass, code = make_pass(world.home_a1)
    event, decided, name, _room = check(world, gate, code=code, resident_id=world.child.pk)
    assert (decided.reason, name, event.resident_id) == ("ok", "王小明", world.child.pk)
    assert Outing.objects.get().resident_id == world.child.pk
    assert check(world, gate, "in", code=code, resident_id=world.child.pk).verdict.reason == "ok"
    assert Outing.objects.get().back_at is not None
    # Nobody named: the outing names nobody, and the pass coming back closes it.
    check(world, gate, code=code)
    unnamed = Outing.objects.get(back_at=None)
    assert (unnamed.resident_id, unnamed.household_id) == (None, world.home_a1.pk)
    check(world, gate, "in", code=code)
    assert not Outing.objects.filter(back_at=None).exists()


# -- resend, time, who ------------------------------------------------------------------------------


def test_a_resend_answers_the_stored_verdict_and_writes_nothing(world, gate):
    policy(world, exit_max_minutes=60)
    _pass, code = make_pass(world.elder)
    scan = uuid.uuid4()
    first = check(world, gate, code=code, scan_id=scan, at=timezone.now() - datetime.timedelta(minutes=90))
    # Meanwhile the resident turned red: the resend still answers what was decided.
    set_status(world.elder, holds=[hold("red", "home")])
    again = check(world, gate, code=code, scan_id=str(scan))
    assert (again.verdict.allowed, again.verdict.reason, again.verdict.due_at) == (
        True,
        "ok",
        first.verdict.due_at,
    )
    assert (again.name, again.room, again.event.pk) == ("王秀兰", "1-1-101", first.event.pk)
    assert AccessEvent.objects.count() == 1
    assert Outing.objects.count() == 1
    late = check(world, gate, "in", code=code, at=first.event.at + datetime.timedelta(minutes=75))
    resent = check(world, gate, "in", code=code, scan_id=late.event.scan_id)
    assert (resent.verdict.reason, resent.verdict.late_minutes) == ("over_time", 15)
    assert AccessEvent.objects.count() == 2


def test_a_resend_answers_what_was_decided_and_whom_for_anyone_keeping_the_gate(world, gate):
    """A grid worker resending an id someone else used at the same gate gets the stored verdict
    and the person (a gate serves every building, whatever buildings their own lists hold)."""
    manager, grid = world.users[Role.COMPOUND_MANAGER], world.users[Role.GRID_WORKER]
    first = check(world, gate, "in", user=manager, resident_id=world.neighbour.pk)  # building 2
    _pass, code = make_pass(world.home_a2)
    household = check(world, gate, "in", user=manager, code=code)
    assert (first.name, household.name) == ("李建国", "李建国")
    for stored in (first, household):
        again = check(world, gate, "in", user=grid, scan_id=stored.event.scan_id, resident_id=world.elder.pk)
        assert (again.event.pk, again.verdict.allowed, again.name, again.room) == (
            stored.event.pk,
            True,
            "李建国",
            stored.room,
        )
    own = check(world, gate, "in", user=manager, resident_id=world.elder.pk)
    assert check(world, gate, "in", user=grid, scan_id=own.event.scan_id, resident_id=1).name == "王秀兰"
    assert AccessEvent.objects.count() == 3


def test_a_scan_id_of_another_gate_is_refused(world, gate):
    other = make_gate(world, name="北门")
    scan = uuid.uuid4()
    check(world, gate, resident_id=world.elder.pk, scan_id=scan)
    with pytest.raises(ValidationError):
        check(world, other, resident_id=world.elder.pk, scan_id=scan)


def test_bad_input_is_refused_and_nothing_written(world, gate):
    for fields in (
        {"scan_id": "not-a-uuid", "resident_id": world.elder.pk},
        {"resident_id": world.elder.pk, "at": timezone.now() + datetime.timedelta(minutes=11)},
        {"resident_id": world.elder.pk, "at": datetime.datetime(2022, 11, 20, 8, 0)},  # noqa: DTZ001
        {},
    ):
        with pytest.raises(ValidationError):
            check(world, gate, **fields)
    with pytest.raises(ValidationError):
        check(world, gate, "sideways", resident_id=world.elder.pk)
    Gate.objects.filter(pk=gate.pk).update(active=False)
    gate.refresh_from_db()
    with pytest.raises(ValidationError):
        check(world, gate, resident_id=world.elder.pk)
    assert not AccessEvent.objects.exists()


def test_who_may_check_at_a_gate(world, gate):
    from tongxin.registry.tests.factories import make_user

    for role in (Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER):
        assert check(world, gate, resident_id=world.elder.pk, user=world.users[role]).verdict.allowed
    with pytest.raises(PermissionDenied):
        check(world, gate, resident_id=world.elder.pk, user=world.users[Role.RESIDENT])
    other = make_user(Role.VOLUNTEER, compound=world.compound_b)
    with pytest.raises(PermissionDenied):
        check(world, gate, resident_id=world.elder.pk, user=other)
    assert AccessEvent.objects.count() == 4


def test_gate_create(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    gate = gate_create(actor=manager, compound=world.compound_a, name=" 东门 ")
    assert (gate.name, gate.compound_id, gate.active) == ("东门", world.compound_a.pk, True)
    with pytest.raises(ValidationError):
        gate_create(actor=manager, compound=world.compound_a, name="东门")
    with pytest.raises(ValidationError):
        gate_create(actor=manager, compound=world.compound_a, name="  ")
    with pytest.raises(PermissionDenied):
        gate_create(actor=manager, compound=world.compound_b, name="西门")
    with pytest.raises(PermissionDenied):
        gate_create(actor=world.users[Role.VOLUNTEER], compound=world.compound_a, name="西门")
    assert Gate.objects.count() == 1
    assert Resident.objects.count() == 4


@pytest.mark.parametrize(
    "role", [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]
)
def test_the_check_finds_exactly_the_residents_living_in_the_gates_compound(world, gate, role):
    """The check's own statements (by pass, by household pass, by pick) find every resident of the
    gate's compound living there, for every role that keeps gates, a volunteer or grid worker
    limited to some buildings included: a gate serves every building."""
    from tongxin.access.selectors.gates import household_for_check, pass_for_check, resident_for_check
    from tongxin.registry.models import Household
    from tongxin.registry.tests.factories import make_user

    user = world.users[role]
    people = [user]
    if role == Role.VOLUNTEER:  # a volunteer given buildings is restricted to them
        people.append(make_user(Role.VOLUNTEER, compound=world.compound_a, buildings=[world.a2]))
    registry_actions.resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    numbers = {r.pk: make_pass(r)[0].number for r in Resident.objects.all()}
    compound = world.compound_a.pk
    for someone in people:
        expected = set(
            Resident.objects.filter(compound=world.compound_a)
            .exclude(presence="moved_out")
            .values_list("pk", flat=True)
        )
        assert expected  # every role here sees someone
        now = timezone.now()
        picked = set()
        for pk in numbers:
            found = resident_for_check(someone, compound, pk, at=now, period_days=2).members
            picked |= {m.pk for m in found if m.pk == pk}
        by_pass = {
            m.pk
            for number in numbers.values()
            for m in pass_for_check(someone, compound, number, "", at=now, period_days=2).members
        }
        by_household = {
            m.pk for h in Household.objects.all() for m in household_for_check(someone, compound, h.pk, "")
        }
        assert picked == by_pass == by_household == expected


def test_a_check_dated_before_what_the_sync_takes_is_refused(world, gate):
    """An online check dated weeks back would count none of the household's exits of the period
    (so no quota) and open an outing over time at once: refused as the sync refuses it."""
    policy(world, exits_per_household=1)
    check(world, gate, resident_id=world.neighbour.pk)  # the household's exit of the period
    for at in (
        timezone.now() - datetime.timedelta(days=32),
        datetime.datetime.fromisoformat("0001-01-01T00:00:00+14:00"),
    ):
        with pytest.raises(ValidationError) as refused:
            check(world, gate, resident_id=world.neighbour.pk, at=at)
        assert refused.value.message_dict == {"at": ["时间早于一个月前，请检查设备时间"]}
    assert AccessEvent.objects.count() == 1
    assert Outing.objects.count() == 1


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="SQLite's in-memory test database locks whole tables across threads (and a check's "
    "IMMEDIATE transaction serialises writers from their first read there)",
)
@pytest.mark.django_db(transaction=True)
def test_two_gates_letting_one_household_out_at_once_count_each_other(world):
    """One exit per household: two members at two gates at the same moment, one goes out."""
    import threading

    for resident in (world.elder, world.child):
        set_status(resident)
    policy(world, exits_per_household=1, exit_period_days=2)
    south, north = make_gate(world), make_gate(world, name="北门")
    codes = {world.elder.pk: make_pass(world.elder)[1], world.child.pk: make_pass(world.child)[1]}
    barrier = threading.Barrier(2, timeout=10)
    reasons = []

    def go_out(gate, resident_id):
        try:
            barrier.wait()
            _event, decided, _name, _room = check(world, gate, code=codes[resident_id])
            reasons.append(decided.reason)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=go_out, args=(south, world.elder.pk)),
        threading.Thread(target=go_out, args=(north, world.child.pk)),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(reasons) == ["ok", "quota"]
    assert Outing.objects.filter(household=world.home_a1).count() == 1
