"""The demo's mass testing (run by `tongxin demo` after the registry's and the outbreak's parts).

丁香苑小区, the day before yesterday: a round planned by building and unit at two sampling points
(two tables and a door-to-door team for the unit at risk), sampled unit after unit from 06:00 in
10-in-1 tubes through the same sync the sampling page uses, bagged 20 tubes a bag; that evening's
lab file with one positive pool in 9号楼 (the person who became yesterday's case); the pool's
people retested in single tubes yesterday morning and the retest file at noon (the case positive,
the others negative); the few not sampled exempted with their reason, so coverage accounts for
everyone expected. Tomorrow's round is planned, its notices ready to print.

Everything goes through the module's actions, as a sampling table and a lab would; it runs once
(a second `tongxin demo` finds the rounds and changes nothing).
"""

import csv
import datetime
import io
import random
import uuid
from collections import defaultdict

from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.outbreak.models import Case
from tongxin.outbreak.selectors import residents_tested_elsewhere
from tongxin.registry.models import Compound, Resident
from tongxin.testing.actions.coverage import exemption_set
from tongxin.testing.actions.lab import lab_file_apply
from tongxin.testing.actions.planning import (
    point_add,
    round_create,
    round_set_state,
    schedule_build,
    table_add,
)
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import (
    Exemption,
    Retest,
    RoundCompound,
    SamplingTable,
    ScheduleSlot,
    TestRound,
    Tube,
)

SHOW_UP = 0.97  # share of the expected people who come down (or open the door) on the day
BATCH = 2000  # events per sync call, as a table sends them


def _at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, minute), tzinfo=timezone.get_default_timezone())


def _event(event_type: str, at: datetime.datetime, **fields) -> dict:
    return {"id": str(uuid.uuid4()), "type": event_type, "at": at, **fields}


class _Codes:
    """Tube and bag codes as printed on the demo's tubes: T… 10-in-1, F… 5-in-1, S… single."""

    def __init__(self, day: datetime.date):
        self.stamp, self.counts = day.strftime("%m%d"), defaultdict(int)

    def next(self, prefix: str) -> str:
        self.counts[prefix] += 1
        return f"{prefix}{self.stamp}{self.counts[prefix]:05d}"


def _send(actor, table: SamplingTable, events: list[dict]) -> int:
    stored = 0
    for start in range(0, len(events), BATCH):
        answer = sampling_sync(actor=actor, table=table, events=events[start : start + BATCH])
        if answer.refused:
            raise RuntimeError(f"demo sampling refused: {answer.refused[:3]}")
        stored += len(answer.stored)
    return stored


def _sample_unit(slot, people, table, codes, events, bags) -> None:
    """One unit's people through its slot: 10 to a tube (one tube per household at the door)."""
    if not people:
        return
    span = (slot.ends_at - slot.starts_at) / (len(people) + 1)
    if slot.mode == ScheduleSlot.Mode.DOOR_TO_DOOR:
        by_home = defaultdict(list)
        for person in people:
            by_home[person.household_id].append(person)
        groups = [(members, "household") for members in by_home.values()]
    else:
        groups = [(people[i : i + 10], "pool") for i in range(0, len(people), 10)]
    moment = slot.starts_at
    for members, kind in groups:
        size = 10 if kind == "pool" or len(members) > 5 else 5
        code = codes.next("T" if size == 10 else "F")
        events.append(_event("tube_open", moment, tube=code, pool_size=size, kind=kind))
        for person in members:
            moment += span
            events.append(_event("sample", moment, tube=code, person={"resident": person.pk}))
        events.append(_event("tube_close", moment + datetime.timedelta(seconds=20), tube=code))
        bags[table.pk].append((code, moment + datetime.timedelta(seconds=30)))


def _seal_bags(table, bags, codes, events) -> None:
    tubes = bags.get(table.pk, [])
    for start in range(0, len(tubes), 20):
        chunk = tubes[start : start + 20]
        events.append(_event("bag_seal", chunk[-1][1], bag=codes.next("BAG"), tubes=[c for c, _at in chunk]))


def _lab_csv(rows: list[tuple[str, str, datetime.datetime]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["管码", "结果", "检测时间"])
    for code, result, moment in rows:
        writer.writerow([code, result, timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")])
    return out.getvalue().encode("utf-8-sig")


def _plan(compound: Compound, day: datetime.date, actor=None) -> TestRound:
    round_ = round_create(actor=actor, name="全员核酸", day=day, compounds=[compound], pool_size=10)
    east = point_add(actor=actor, round=round_, compound=compound, name="东门采样点", location="东门广场")
    west = point_add(actor=actor, round=round_, compound=compound, name="西门采样点", location="西门停车场")
    table_add(actor=actor, point=east, label="1号台")
    table_add(actor=actor, point=west, label="2号台")
    table_add(actor=actor, point=east, label="上门采样组", mode=SamplingTable.Mode.DOOR_TO_DOOR)
    schedule_build(actor=actor, round=round_)
    return round_


def _expected(compound: Compound, day: datetime.date) -> dict[int, list[Resident]]:
    elsewhere = residents_tested_elsewhere([compound.pk], day)
    by_unit: dict[int, list[Resident]] = defaultdict(list)
    for person in Resident.objects.filter(compound=compound, presence=Resident.Presence.LIVING).order_by(
        "household__room", "household_id", "id"
    ):
        if person.pk not in elsewhere:
            by_unit[person.unit_id].append(person)
    return by_unit


def _replay_round(compound: Compound, day: datetime.date, users: dict, rng: random.Random) -> dict:
    round_ = _plan(compound, day)
    round_set_state(actor=None, round=round_, state=TestRound.State.SAMPLING)
    tables = {
        t.point_id: t for t in SamplingTable.objects.filter(round=round_, mode=SamplingTable.Mode.STATION)
    }
    door = SamplingTable.objects.get(round=round_, mode=SamplingTable.Mode.DOOR_TO_DOOR)
    expected = _expected(compound, day)
    case = (
        Case.objects.filter(compound=compound, resident__isnull=False, outcome=Case.Outcome.ACTIVE)
        .order_by("-confirmed_on", "-id")
        .first()
    )
    codes, bags = _Codes(day), defaultdict(list)
    events: dict[int, list[dict]] = defaultdict(list)
    missed: list[Resident] = []
    for slot in ScheduleSlot.objects.filter(round=round_).order_by("starts_at", "id"):
        if case is not None and slot.unit_id == case.unit_id:
            # The case's unit was raised to high risk only after this round: that morning it still
            # came down and was sampled 10 to a tube, like every other unit.
            slot.mode = ScheduleSlot.Mode.COME_DOWN
        at_door = slot.mode == ScheduleSlot.Mode.DOOR_TO_DOOR
        table = door if at_door else tables.get(slot.point_id) or next(iter(tables.values()))
        came = []
        for person in expected.get(slot.unit_id, []):
            if (case and person.pk == case.resident_id) or rng.random() < SHOW_UP:
                came.append(person)
            else:
                missed.append(person)
        _sample_unit(slot, came, table, codes, events[table.pk], bags)
    actors = {door.pk: users["manager"]}
    for table in (*tables.values(), door):
        _seal_bags(table, bags, codes, events[table.pk])
        _send(actors.get(table.pk, users["volunteer"]), table, events[table.pk])

    # The evening's lab file: every tube negative but the one holding yesterday's case.
    evening = _at(day, 20, 30)
    tubes = list(Tube.objects.filter(round=round_).order_by("code").values_list("pk", "code"))
    positive = None
    if case is not None:
        positive = Tube.objects.filter(round=round_, samples__resident_id=case.resident_id).first()
    first = lab_file_apply(
        actor=None,
        file_name=f"检测机构结果_{day:%m%d}.csv",
        content=_lab_csv(
            [(code, "阳性" if positive and pk == positive.pk else "阴性", evening) for pk, code in tubes]
        ),
        round=round_,
    )

    # Yesterday morning the pool's people were swabbed again at their doors, one tube each.
    retests = list(Retest.objects.filter(round=round_).select_related("resident").order_by("id"))
    next_day = day + datetime.timedelta(days=1)
    moment, retest_events, retest_rows = _at(next_day, 7, 0), [], []
    for retest in retests:
        code = codes.next("S")
        retest_events += [
            _event("tube_open", moment, tube=code),
            _event(
                "sample",
                moment + datetime.timedelta(minutes=1),
                tube=code,
                person={"resident": retest.resident_id},
            ),
            _event("tube_close", moment + datetime.timedelta(minutes=2), tube=code),
        ]
        result = "阳性" if case and retest.resident_id == case.resident_id else "阴性"
        retest_rows.append((code, result, _at(next_day, 12, 30)))
        moment += datetime.timedelta(minutes=6)
    second = None
    if retest_events:
        _send(users["manager"], door, retest_events)
        second = lab_file_apply(
            actor=None,
            file_name=f"单管复核结果_{next_day:%m%d}.csv",
            content=_lab_csv(retest_rows),
            round=round_,
        )

    # Those who did not come: the grid worker found out why, so nobody is left unaccounted for.
    reasons = [
        (Exemption.Reason.AWAY, "外出未归，已电话确认"),
        (Exemption.Reason.ELSEWHERE, "在单位采样点已采样"),
        (Exemption.Reason.HOSPITAL, "住院治疗中"),
        (Exemption.Reason.OTHER, "卧床，次日上门补采"),
    ]
    for index, person in enumerate(missed):
        reason, note = reasons[index % len(reasons)]
        exemption_set(actor=users["manager"], round=round_, resident=person, reason=reason, note=note)
    round_set_state(actor=None, round=round_, state=TestRound.State.CLOSED)
    return {
        "round": round_.pk,
        "tubes": len(tubes),
        "samples": sum(len(people) for people in expected.values()) - len(missed),
        "exempted": len(missed),
        "lab": first.to_dict() | {"errors": len(first.errors)},
        "retests": len(retests),
        "retest_lab": (second.to_dict() | {"errors": len(second.errors)}) if second else None,
    }


@transaction.atomic
def load_demo(*, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    today = timezone.localdate(now)
    compound = Compound.objects.filter(code="DXY").first()
    if compound is None:
        return {"skipped": "the registry demo is not loaded"}
    if RoundCompound.objects.filter(compound=compound).exists():
        return {"skipped": "already loaded"}
    users = {u.username: u for u in User.objects.filter(username__in=["manager", "volunteer"])}
    if len(users) < 2:
        return {"skipped": "the demo accounts are missing"}
    rng = random.Random(20221127)
    replay = _replay_round(compound, today - datetime.timedelta(days=2), users, rng)
    tomorrow = _plan(compound, today + datetime.timedelta(days=1))
    return {"past_round": replay, "planned_round": tomorrow.pk}
