"""A gate device's offline events: stored as decided, once, with their people and outings; what
cannot be right is refused with a code and a sentence, the rest of the batch stored."""

import datetime
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from tongxin.access.actions.gates import gate_check, gate_events_sync
from tongxin.access.models import AccessEvent, AccessPolicy, Outing, Visitor
from tongxin.access.tests.gate_helpers import make_gate, make_pass, set_status
from tongxin.accounts.models import Role

pytestmark = pytest.mark.django_db


@pytest.fixture
def gate(world):
    for resident in (world.elder, world.child, world.neighbour, world.stranger):
        set_status(resident)
    AccessPolicy.objects.create(compound=world.compound_a, exit_max_minutes=60)
    return make_gate(world)


def ago(minutes: float) -> datetime.datetime:
    return timezone.now() - datetime.timedelta(minutes=minutes)


def check_event(at, direction="out", *, allowed=True, reason="ok", **fields) -> dict:
    event = {
        "id": str(uuid.uuid4()),
        "type": "check",
        "at": at.isoformat(),
        "direction": direction,
        "method": "pass" if "code" in fields else "room",
        "allowed": allowed,
        "reason": reason,
        "emergency": False,
    }
    event.update(fields)
    return event


def sync(world, gate, events, user=None):
    return gate_events_sync(actor=user or world.users[Role.VOLUNTEER], gate=gate, events=events)


def test_offline_checks_are_stored_as_decided_with_their_people(world, gate):
    pass_, code = make_pass(world.elder)
    by_pass = check_event(ago(30), code=code)
    by_room = check_event(ago(20), "in", resident=world.neighbour.pk)
    refused = check_event(ago(10), allowed=False, reason="revoked", code=code)
    result = sync(world, gate, [by_pass, by_room, refused])
    assert result.refused == []
    assert result.stored == [by_pass["id"], by_room["id"], refused["id"]]
    rows = {str(e.scan_id): e for e in AccessEvent.objects.all()}
    assert len(rows) == 3
    first = rows[by_pass["id"]]
    assert (first.method, first.resident_id, first.household_id, first.pass_number) == (
        "pass",
        world.elder.pk,
        world.home_a1.pk,
        pass_.number,
    )
    assert (first.allowed, first.reason, first.offline, first.on_duty_id, first.gate_id) == (
        True,
        "ok",
        True,
        world.users[Role.VOLUNTEER].pk,
        gate.pk,
    )
    assert first.at == datetime.datetime.fromisoformat(by_pass["at"])
    second = rows[by_room["id"]]
    assert (second.method, second.direction, second.resident_id) == ("room", "in", world.neighbour.pk)
    third = rows[refused["id"]]
    assert (third.allowed, third.reason) == (False, "revoked")


def test_outings_follow_the_events_in_time_order(world, gate):
    _pass, code = make_pass(world.elder)
    out = check_event(ago(90), code=code)
    back = check_event(ago(20), "in", code=code, reason="over_time")
    child_out = check_event(ago(15), resident=world.child.pk)
    result = sync(world, gate, [back, child_out, out])  # sent in any order
    assert len(result.stored) == 3
    elder = Outing.objects.get(resident=world.elder)
    assert elder.out_at == datetime.datetime.fromisoformat(out["at"])
    assert elder.back_at == datetime.datetime.fromisoformat(back["at"])
    assert elder.due_at == elder.out_at + datetime.timedelta(minutes=60)  # from the policy
    assert elder.out_event.scan_id == uuid.UUID(out["id"])
    child = Outing.objects.get(resident=world.child)
    assert child.back_at is None


def test_an_exit_sent_late_is_closed_by_the_return_stored_meanwhile(world, gate):
    volunteer = world.users[Role.VOLUNTEER]
    north = make_gate(world, name="北门")
    # Back through the north gate (online): no outing open there to close.
    returned = gate_check(
        actor=volunteer,
        gate=north,
        scan_id=uuid.uuid4(),
        at=ago(10),
        direction="in",
        resident_id=world.elder.pk,
    )
    assert returned.verdict.allowed
    # The south gate's device was offline when it let them out, and sends it now.
    out = check_event(
        ago(70), resident=world.elder.pk, due_at=(ago(70) + datetime.timedelta(minutes=45)).isoformat()
    )
    sync(world, gate, [out])
    outing = Outing.objects.get()
    assert outing.back_at == returned.event.at
    assert outing.due_at == datetime.datetime.fromisoformat(out["due_at"])


def test_an_offline_return_closes_the_outing_opened_online(world, gate):
    volunteer = world.users[Role.VOLUNTEER]
    gate_check(
        actor=volunteer,
        gate=gate,
        scan_id=uuid.uuid4(),
        at=ago(50),
        direction="out",
        resident_id=world.elder.pk,
    )
    early = check_event(ago(60), "in", resident=world.elder.pk)  # before it went out: closes nothing
    sync(world, gate, [early])
    assert Outing.objects.get().back_at is None
    back = check_event(ago(5), "in", resident=world.elder.pk)
    sync(world, gate, [back])
    assert Outing.objects.get().back_at == datetime.datetime.fromisoformat(back["at"])


def test_emergencies_and_household_passes_open_their_outings(world, gate):
    _pass, household_code = make_pass(world.home_a1)
    emergency = check_event(ago(30), resident=world.neighbour.pk, reason="emergency", emergency=True)
    unnamed = check_event(ago(20), code=household_code)
    named = check_event(ago(10), code=household_code, resident=world.child.pk)
    sync(world, gate, [emergency, unnamed, named])
    outings = {(o.resident_id, o.household_id): o for o in Outing.objects.all()}
    assert set(outings) == {
        (world.neighbour.pk, world.home_a2.pk),
        (None, world.home_a1.pk),
        (world.child.pk, world.home_a1.pk),
    }
    assert (
        outings[(world.neighbour.pk, world.home_a2.pk)].emergency,
        outings[(world.neighbour.pk, world.home_a2.pk)].due_at,
    ) == (True, None)
    assert AccessEvent.objects.get(scan_id=emergency["id"]).emergency is True


def test_a_resend_is_stored_once(world, gate):
    _pass, code = make_pass(world.elder)
    batch = [check_event(ago(30), code=code), check_event(ago(20), "in", code=code)]
    first = sync(world, gate, batch)
    again = sync(world, gate, batch)
    assert again.stored == first.stored == [e["id"] for e in batch]
    assert again.refused == []
    assert AccessEvent.objects.count() == 2
    assert Outing.objects.count() == 1
    # The same event twice in one batch is answered once.
    twice = check_event(ago(5), resident=world.neighbour.pk)
    assert sync(world, gate, [twice, twice]).stored == [twice["id"]]
    assert AccessEvent.objects.count() == 3


def test_what_cannot_be_right_is_refused_and_the_rest_stored(world, gate):
    gate_b = make_gate(world, compound=world.compound_b, name="乙门")
    good = check_event(ago(1), resident=world.elder.pk)
    skewed = check_event(
        timezone.now() + datetime.timedelta(minutes=5), resident=world.child.pk
    )  # within skew
    bad = {
        "no-id": {**check_event(ago(1)), "id": "not-a-uuid"},
        "type": {**check_event(ago(1)), "type": "dance"},
        "naive": {**check_event(ago(1)), "at": "2026-01-01T08:00:00"},
        "garbage time": {**check_event(ago(1)), "at": "yesterday"},
        "future": check_event(timezone.now() + datetime.timedelta(minutes=11)),
        "old": check_event(timezone.now() - datetime.timedelta(days=40)),
        "direction": check_event(ago(1), "sideways"),
        "method": {**check_event(ago(1)), "method": "document"},
        "allowed": check_event(ago(1), allowed="yes"),
        "reason": check_event(ago(1), reason="because"),
        "reason not text": check_event(ago(1), reason={"code": "ok"}),  # no dict key: was a 500
        "emergency": check_event(ago(1), emergency="no"),
        "gate": check_event(ago(1), gate=gate_b.pk),
        "no gate": check_event(ago(1), gate=987654),
    }
    result = sync(world, gate, [good, "not an event", 42, skewed, *bad.values()])
    assert result.stored == [good["id"], skewed["id"]]
    codes = {r["id"]: r["code"] for r in result.refused}
    assert codes == {
        "not-a-uuid": "bad_event",
        bad["type"]["id"]: "bad_event",
        bad["naive"]["id"]: "bad_time",
        bad["garbage time"]["id"]: "bad_time",
        bad["future"]["id"]: "bad_time",
        bad["old"]["id"]: "bad_time",
        bad["direction"]["id"]: "bad_event",
        bad["method"]["id"]: "bad_event",
        bad["allowed"]["id"]: "bad_event",
        bad["reason"]["id"]: "bad_event",
        bad["reason not text"]["id"]: "bad_event",
        bad["emergency"]["id"]: "bad_event",
        bad["gate"]["id"]: "unknown_gate",
        bad["no gate"]["id"]: "unknown_gate",
    }
    assert all(r["message"] for r in result.refused)
    assert (
        next(r for r in result.refused if r["id"] == bad["future"]["id"])["message"]
        == "时间晚于现在，请检查设备时间"
    )
    assert AccessEvent.objects.count() == 2


def test_an_event_may_name_another_gate_of_the_users_area(world, gate):
    north = make_gate(world, name="北门")
    event = check_event(ago(3), resident=world.elder.pk, gate=north.pk)
    assert sync(world, gate, [event]).stored == [event["id"]]
    assert AccessEvent.objects.get().gate_id == north.pk


def test_people_of_other_compounds_are_not_attached_and_a_gate_serves_every_building(world, gate):
    _pass, code_b = make_pass(world.stranger)
    by_room = check_event(ago(3), resident=world.stranger.pk, allowed=False, reason="unknown")
    by_pass = check_event(ago(2), code=code_b, allowed=False, reason="other_compound")
    other_building = check_event(ago(1), resident=world.neighbour.pk)  # not in the grid worker's list
    result = sync(world, gate, [by_room, by_pass], user=world.users[Role.VOLUNTEER])
    assert len(result.stored) == 2
    sync(world, gate, [other_building], user=world.users[Role.GRID_WORKER])
    assert set(AccessEvent.objects.values_list("resident_id", "household_id")) == {
        (None, None),
        (world.neighbour.pk, world.home_a2.pk),
    }
    assert list(Outing.objects.values_list("resident_id", flat=True)) == [world.neighbour.pk]


def test_visitors_in_a_batch(world, gate):
    green = {
        "id": str(uuid.uuid4()),
        "type": "visitor",
        "at": ago(5).isoformat(),
        "kind": "visitor",
        "name": "送菜师傅",
        "phone": "13600001111",
        "reason": "送菜",
        "visiting": world.home_a2.pk,
        "code_color": "green",
        "came_from": "赛罕区",
    }
    bad_phone = {**green, "id": str(uuid.uuid4()), "phone": "12345"}
    result = sync(world, gate, [green, bad_phone])
    assert result.stored == [green["id"]]
    assert [(r["id"], r["code"]) for r in result.refused] == [(bad_phone["id"], "bad_visitor")]
    assert "手机号" in result.refused[0]["message"]
    visitor = Visitor.objects.get()
    assert (visitor.name, visitor.admitted, visitor.visiting_id) == ("送菜师傅", True, world.home_a2.pk)
    event = AccessEvent.objects.get()
    assert (event.method, event.direction, event.offline, event.visitor_id) == (
        "visitor",
        "in",
        True,
        visitor.pk,
    )
    assert sync(world, gate, [green]).stored == [green["id"]]  # a resend
    assert Visitor.objects.count() == 1


def test_the_batch_limit(world, gate, settings):
    settings.TONGXIN_GATE_SYNC_MAX_BATCH = 3
    with pytest.raises(ValidationError):
        sync(world, gate, [check_event(ago(1), resident=world.elder.pk) for _n in range(4)])
    assert not AccessEvent.objects.exists()
    assert (
        len(sync(world, gate, [check_event(ago(1), resident=world.elder.pk) for _n in range(3)]).stored) == 3
    )


def test_a_batch_takes_the_same_statements_whatever_its_size(world, gate, django_assert_num_queries):
    from tongxin.accounts.models import User

    _pass, code = make_pass(world.elder)

    def batch(size):
        events = []
        for n in range(size):
            events.append(check_event(ago(100 - n), code=code))
            events.append(check_event(ago(99.5 - n), "in", resident=world.elder.pk))
        return events

    small, large = batch(2), batch(20)
    # Stored ids, passes, residents, open outings, stored returns, the policy, the events, the
    # outings, the audit row; in the batch's transaction (a savepoint here). A fresh user, as each
    # request has.
    for events in (small, large):
        volunteer = User.objects.get(username="volunteer")
        with django_assert_num_queries(11):
            gate_events_sync(actor=volunteer, gate=gate, events=events)
    assert Outing.objects.filter(back_at__isnull=False).count() == 22


@pytest.mark.parametrize("picked", ["²", "9" * 5000, "١٢", 1.5, True, [1], {"id": 1}, -1, 10**30])
def test_a_picked_resident_that_is_not_an_id_attaches_nobody(world, gate, picked):
    """What a device sends as the resident picked is read as an id or not at all: never a 500
    ("²" is a digit to str.isdigit, not to int; int() refuses more than 4,300 digits)."""
    event = check_event(ago(1), resident=picked)
    assert sync(world, gate, [event]).stored == [event["id"]]
    assert AccessEvent.objects.get().resident_id is None


@pytest.mark.parametrize(
    "due_at", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "2001-01-01T08:00:00+08:00"]
)
def test_a_due_time_no_policy_gives_is_taken_from_the_policy(world, gate, due_at):
    """An exit's due time from the device beyond any policy's limit (or before the exit) gives way
    to the compound's policy: the event is stored, not the whole batch refused."""
    event = check_event(ago(10), resident=world.elder.pk, due_at=due_at)
    assert sync(world, gate, [event]).stored == [event["id"]]
    outing = Outing.objects.get()
    assert outing.due_at == outing.out_at + datetime.timedelta(minutes=60)
