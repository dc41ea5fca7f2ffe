"""A small round over compound A with someone in every coverage column (no tests here: the
coverage test modules build it through `coverage_world`).

Building 1, unit 1 (the grid worker's):
  王秀兰 (elderly, lives alone, phone)   living, not sampled            -> missed
  王小明 (no phone)                       living, not sampled            -> missed
  阴性甲                                  pool tube negative             -> sampled, negative
  待出乙                                  pool tube awaiting             -> sampled, awaiting
  复核丙                                  pool positive, retest open     -> sampled, under review
  复核丁                                  pool positive, retest negative -> sampled, negative
Building 2, unit 1:
  李建国                                  single tube positive           -> sampled, positive
  复核戊                                  pool positive, retest positive -> sampled, positive
  外出己 (presence away)                  pool tube awaiting             -> sampled, awaiting
  免检庚                                  exempted "away"                -> exempted
  免检辛                                  exempted "other", then sampled -> sampled, negative
  隔离壬                                  central isolation              -> tested elsewhere
  住院癸                                  active case taken to hospital  -> tested elsewhere
  外出子 (away), 搬离丑 (moved out), 未核实寅 (unverified): not sampled -> not counted
Compound A: expected 10, sampled 8 (awaiting 2, negative 3, under review 1, positive 2), missed 2,
exempted 1, tested elsewhere 2. Compound B's 赵四 is outside the round.
"""

import datetime
from types import SimpleNamespace

from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.outbreak import actions as outbreak_actions
from tongxin.registry import actions as registry_actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import make_resident
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Exemption, Retest, Sample, Tube
from tongxin.testing.tests.round_helpers import event, make_round, sample


def sample_into(round_, table, actor, tube_code: str, people, *, pool_size: int = 10, result=None):
    """Open a tube, sample these people into it, close it; set its result (as the lab would)."""
    events = [event("tube_open", tube=tube_code, pool_size=pool_size)]
    events += [sample(tube_code, person) for person in people]
    events.append(event("tube_close", tube=tube_code))
    outcome = sampling_sync(actor=actor, table=table, events=events)
    assert not outcome.refused, outcome.refused
    tube = Tube.objects.get(code=tube_code)
    if result is not None:
        Tube.objects.filter(pk=tube.pk).update(result=result, result_at=timezone.now())
        tube.refresh_from_db()
    return tube


def retest(round_, tube, person, state):
    return Retest.objects.create(
        round=round_,
        resident=person,
        household=person.household,
        compound=person.compound,
        pool_tube=tube,
        pool_sampled_at=Sample.objects.get(round=round_, resident=person, is_retest=False).sampled_at,
        state=state,
    )


def coverage_world(world) -> SimpleNamespace:
    manager = world.users[Role.COMPOUND_MANAGER]
    living = Resident.Presence.LIVING
    Resident.objects.filter(pk__in=[world.elder.pk, world.child.pk, world.neighbour.pk]).update(
        presence=living
    )
    for person in (world.elder, world.child, world.neighbour):
        person.refresh_from_db()
    home_a1b = registry_actions.household_ensure(unit=world.a1u1, room="102")
    home_a1c = registry_actions.household_ensure(unit=world.a1u1, room="103")
    home_a2b = registry_actions.household_ensure(unit=world.a2u1, room="202")
    home_a2c = registry_actions.household_ensure(unit=world.a2u1, room="203")

    def person(home, name, presence=living, **fields):
        return make_resident(home, name=name, presence=presence, **fields)

    w = SimpleNamespace(world=world, manager=manager)
    w.negative = person(home_a1b, "阴性甲")
    w.pending = person(home_a1b, "待出乙")
    w.review = person(home_a1c, "复核丙")
    w.cleared = person(home_a1c, "复核丁")
    w.retest_positive = person(home_a2b, "复核戊")
    w.away_sampled = person(home_a2b, "外出己", presence=Resident.Presence.AWAY)
    w.exempt = person(home_a2b, "免检庚")
    w.exempt_sampled = person(home_a2b, "免检辛")
    w.isolated = person(home_a2c, "隔离壬")
    w.in_hospital = person(home_a2c, "住院癸")
    w.away = person(home_a2c, "外出子", presence=Resident.Presence.AWAY)
    w.moved = person(home_a2c, "搬离丑", presence=Resident.Presence.MOVED_OUT)
    w.unverified = person(home_a2c, "未核实寅", presence=Resident.Presence.UNVERIFIED)

    round_ = make_round(world)
    w.round = round_
    table = round_.table1
    negative, pending, positive = Tube.Result.NEGATIVE, Tube.Result.PENDING, Tube.Result.POSITIVE
    sample_into(round_, table, manager, "T-NEG", [w.negative], result=negative)
    sample_into(round_, table, manager, "T-WAIT", [w.pending, w.away_sampled], result=pending)
    pool = sample_into(
        round_, table, manager, "T-POS", [w.review, w.cleared, w.retest_positive], result=positive
    )
    sample_into(round_, table, manager, "S-ONE", [world.neighbour], pool_size=1, result=positive)
    retest(round_, pool, w.review, Retest.State.OPEN)
    retest(round_, pool, w.cleared, Retest.State.NEGATIVE)
    retest(round_, pool, w.retest_positive, Retest.State.POSITIVE)

    Exemption.objects.create(round=round_, resident=w.exempt, compound=w.exempt.compound, reason="away")
    Exemption.objects.create(
        round=round_,
        resident=w.exempt_sampled,
        compound=w.exempt_sampled.compound,
        reason="other",
        note="出差",
    )
    sample_into(round_, table, manager, "T-LATE", [w.exempt_sampled], result=negative)

    today = timezone.localdate()
    outbreak_actions.isolation_create(
        actor=manager,
        compound=world.compound_a,
        rule="other",
        kind="central",
        starts_on=today - datetime.timedelta(days=1),
        resident=w.isolated,
        days=7,
    )
    case = outbreak_actions.case_register(
        actor=manager,
        compound=world.compound_a,
        confirmed_on=today - datetime.timedelta(days=1),
        source="single_test",
        resident=w.in_hospital,
    )
    outbreak_actions.case_transfer(
        actor=manager,
        case=case,
        version=case.version,
        taken_to="hospital",
        place="定点医院",
        taken_at=timezone.now(),
    )
    return w


EXPECTED_A = {
    "expected": 10,
    "sampled": 8,
    "missed": 2,
    "exempted": 1,
    "percent": 80,
    "awaiting": 2,
    "negative": 3,
    "under_review": 1,
    "positive": 2,
    "elsewhere": 2,
    "exempted_by_reason": {"away": 1},
}
EXPECTED_A1 = {
    "expected": 6,
    "sampled": 4,
    "missed": 2,
    "exempted": 0,
    "percent": 66,
    "awaiting": 1,
    "negative": 2,
    "under_review": 1,
    "positive": 0,
    "elsewhere": 0,
    "exempted_by_reason": {},
}
EXPECTED_A2 = {
    "expected": 4,
    "sampled": 4,
    "missed": 0,
    "exempted": 1,
    "percent": 100,
    "awaiting": 1,
    "negative": 1,
    "under_review": 0,
    "positive": 2,
    "elsewhere": 2,
    "exempted_by_reason": {"away": 1},
}
