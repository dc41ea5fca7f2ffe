"""The sampling tables' sync: tubes opened, people sampled, tubes closed, bags sealed.

A sampling table (a phone or a laptop with a barcode scanner) keeps its scans in the browser and
sends them in batches whenever the server answers. Every event carries an id made on the device;
the answer names each event either stored (a resend of something already stored is stored) or
refused with a code and a sentence. Nothing is silently dropped.

Events, in the order the device made them:
- `{"id", "type": "tube_open", "at", "tube", "pool_size"?, "kind"?}`: pool size from the event,
  else from the code's prefix (TONGXIN_TUBE_POOL_PREFIXES), else the table's setting.
- `{"id", "type": "sample", "at", "tube", "person": {"resident": id} | {"document": number} |
  {"code": pass QR}}`: one person swabbed into an open tube.
- `{"id", "type": "tube_close", "at", "tube"}`
- `{"id", "type": "bag_seal", "at", "bag", "tubes": [codes]}`: up to TONGXIN_BAG_SIZE closed tubes.

A batch is one transaction and a fixed number of queries whatever its size: the events are handled
by kind (opens, samples, closes, seals), which keeps the device's order for any one tube.
"""

import datetime
import functools
import json
from collections import Counter, defaultdict
from typing import NamedTuple

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.db.models import BooleanField, ExpressionWrapper, Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.db import server_bound_cursor
from tongxin.core.scoping import scope_q
from tongxin.core.sync import CLOCK_SKEW, SyncResult, event_time
from tongxin.core.sync import event_id as sync_event_id
from tongxin.outbreak.actions import statuses_sampled
from tongxin.registry.models import Compound, Resident
from tongxin.registry.selectors import resident_ids_by_codes, resident_ids_by_documents
from tongxin.testing.models import (
    POOL_SIZES,
    Bag,
    Retest,
    RoundCompound,
    Sample,
    SamplingTable,
    TestRound,
    Tube,
)

SAMPLING_ROLES = {Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER}
EVENT_TYPES = ("tube_open", "sample", "tube_close", "bag_seal")
CODE_MAX = 40  # Tube.code and Bag.code
TUBE_KINDS = frozenset(Tube.Kind.values)


def any_of(values, sql_type: str):
    """The right-hand side of an `__in` filter for a long list: on PostgreSQL one parameter (a JSON
    array read back in SQL) instead of a placeholder per value, which is what makes a batch of
    thousands cheap to send and plan; elsewhere the list itself."""
    values = list(values)
    if connection.vendor == "postgresql":
        # One JSON text rather than an array: psycopg quotes an array value by value in Python.
        sql = f"SELECT value::{sql_type} FROM json_array_elements_text(%s::json)"  # noqa: S608
        return RawSQL(sql, [json.dumps(values)])  # noqa: S611
    return values


def pool_size_from_code(code: str) -> int | None:
    """The pool size a tube code announces by its prefix, or None."""
    code = code.upper()
    for prefix, size in _pool_prefixes(settings.TONGXIN_TUBE_POOL_PREFIXES):
        if code.startswith(prefix):
            return size
    return None


@functools.lru_cache(maxsize=4)
def _pool_prefixes(setting: str) -> tuple[tuple[str, int], ...]:
    """TONGXIN_TUBE_POOL_PREFIXES ("S:1,F:5,...") read once per value of the setting."""
    pairs = []
    for part in setting.split(","):
        prefix, _sep, size = part.strip().partition(":")
        if prefix and size.isdigit():
            pairs.append((prefix.upper(), int(size)))
    return tuple(pairs)


def require_sampler(actor, table: SamplingTable) -> None:
    if getattr(actor, "role", None) not in SAMPLING_ROLES:
        raise PermissionDenied(_("当前角色不能采样"))
    if not Compound.objects.filter(scope_q(actor, "compound"), pk=table.compound_id).exists():
        raise PermissionDenied(_("无权在该采样台采样"))


def _clean_events(events, result: SyncResult, round_: TestRound) -> list[dict]:
    """Drop (and refuse) events whose shape or time cannot be right. The events kept have their id
    in canonical form, their time parsed and their tube code (if any) trimmed and upper-cased."""
    latest = timezone.now() + CLOCK_SKEW
    earliest = datetime.datetime.combine(
        round_.day - datetime.timedelta(days=1), datetime.time.min, tzinfo=timezone.get_default_timezone()
    )
    seen: set[str] = set()
    clean = []
    for event in events:
        if not isinstance(event, dict):
            continue  # not an event at all: nothing to answer it by
        event_id = sync_event_id(event.get("id"))
        if event_id is None:
            result.refuse(str(event.get("id"))[:64], "bad_event", _("记录编号无效"))
            continue
        if event_id in seen:
            continue  # the same event twice in one batch is answered once
        seen.add(event_id)
        kind, at = event.get("type"), event_time(event.get("at"))
        person, tube, bag = event.get("person"), event.get("tube") or "", event.get("bag") or ""
        tube = tube if isinstance(tube, str) else str(tube)
        bag = bag if isinstance(bag, str) else str(bag)
        if kind not in EVENT_TYPES:
            result.refuse(event_id, "bad_event", _("未知的记录类型"))
        elif at is None:
            result.refuse(event_id, "bad_time", _("时间须带时区"))
        elif at > latest:
            result.refuse(event_id, "bad_time", _("时间晚于现在，请检查设备时间"))
        elif at < earliest:
            result.refuse(event_id, "bad_time", _("时间早于本轮检测日期"))
        elif kind != "bag_seal" and not tube.strip():
            result.refuse(event_id, "bad_event", _("缺少管码"))
        elif kind == "bag_seal" and not bag.strip():
            result.refuse(event_id, "bad_event", _("缺少袋码"))
        elif len(tube) > CODE_MAX or len(bag) > CODE_MAX:
            result.refuse(event_id, "bad_event", _("管码或袋码过长"))
        elif kind == "sample" and not isinstance(person, dict):
            result.refuse(event_id, "unknown_person", _("查无此人，或不在本轮检测范围内"))
        elif kind == "bag_seal" and not isinstance(event.get("tubes"), list):
            result.refuse(event_id, "bad_bag", _("每袋1至%(n)d管") % {"n": settings.TONGXIN_BAG_SIZE})
        else:
            if isinstance(person, dict):
                person = {k: v for k, v in person.items() if v is not None and v != ""}
            clean.append({**event, "id": event_id, "at": at, "person": person, "tube": tube.strip().upper()})
    return clean


@transaction.atomic
def sampling_sync(*, actor, table: SamplingTable, events: list[dict]) -> SyncResult:
    """Store a sampling table's batch of events; see the module's docstring."""
    require_sampler(actor, table)
    if len(events) > settings.TONGXIN_SYNC_MAX_BATCH:
        raise ValidationError(_("一次最多上传%(n)d条记录") % {"n": settings.TONGXIN_SYNC_MAX_BATCH})
    round_ = TestRound.objects.get(pk=table.round_id)
    result = SyncResult()
    events = _clean_events(events, result, round_)
    if round_.state == TestRound.State.CLOSED:
        # A resend of what was stored before the round closed is still answered stored.
        stored = _stored_scan_ids([e["id"] for e in events])
        closes = {e["tube"] for e in events if e["type"] == "tube_close"}
        closed = (
            set(
                Tube.objects.filter(round_id=round_.pk, code__in=closes, closed_at__isnull=False).values_list(
                    "code", flat=True
                )
            )
            if closes
            else set()
        )
        for event in events:
            if event["id"] in stored or (event["type"] == "tube_close" and event["tube"] in closed):
                result.stored.append(event["id"])
            else:
                result.refuse(event["id"], "round_closed", _("本轮检测已结束"))
        return result
    by_type: dict[str, list[dict]] = defaultdict(list)
    for event in events:
        by_type[event["type"]].append(event)

    codes = {e["tube"] for e in events if e["type"] != "bag_seal"}
    codes |= {str(c).strip().upper() for e in by_type["bag_seal"] for c in (e.get("tubes") or [])}
    tubes = {t.code: t for t in Tube.objects.select_for_update().filter(code__in=codes)} if codes else {}

    _open_tubes(actor, table, round_, by_type["tube_open"], tubes, result)
    closing = _closing_times(by_type["tube_close"])
    filled: Counter = Counter()
    sampled = _store_samples(actor, table, round_, by_type["sample"], tubes, closing, result, filled)
    closed = _close_tubes(round_, by_type["tube_close"], tubes, result)
    # The tubes' new head counts and closing times in one statement.
    changed = [
        (tubes[code].pk, filled.get(code, 0), closed.get(code)) for code in sorted(set(filled) | set(closed))
    ]
    _update_many(Tube, "people = people + v.n, closed_at = COALESCE(v.at, closed_at)", ["n", "at"], changed)
    _seal_bags(actor, table, round_, by_type["bag_seal"], tubes, result)

    if sampled:
        statuses_sampled(sampled)
    if round_.state == TestRound.State.PLANNED and result.stored:
        TestRound.objects.filter(pk=round_.pk, state=TestRound.State.PLANNED).update(
            state=TestRound.State.SAMPLING
        )
    audit(
        actor=actor,
        action="sampling_sync",
        obj=table,
        detail={
            "events": len(events),
            "stored": len(result.stored),
            "refused": len(result.refused),
            "samples": len(sampled),
        },
    )
    return result


def _stored_scan_ids(ids: list[str]) -> set[str]:
    """Which of these device ids are stored already, as a sample, a tube or a bag."""
    if not ids:
        return set()
    found = set()
    for model in (Sample, Tube, Bag):
        found |= {
            str(v)
            for v in model.objects.filter(scan_id__in=any_of(ids, "uuid")).values_list("scan_id", flat=True)
        }
    return found


def _open_tubes(actor, table, round_, opens, tubes, result) -> None:
    new = []
    for event in opens:
        code = event["tube"]
        tube = tubes.get(code)
        if tube is not None:
            if tube.round_id == round_.pk:
                result.stored.append(event["id"])  # a resend, or the same tube opened again
            else:
                result.refuse(
                    event["id"], "tube_used", _("该试管已在其他轮次使用：%(code)s") % {"code": code}
                )
            continue
        size = event.get("pool_size") or pool_size_from_code(code) or table.pool_size
        if size not in POOL_SIZES:
            result.refuse(event["id"], "bad_pool_size", _("混采人数须为1、5、10或20"))
            continue
        kind = event.get("kind") or (Tube.Kind.SINGLE if size == 1 else Tube.Kind.POOL)
        if kind not in TUBE_KINDS:
            result.refuse(event["id"], "bad_event", _("未知的试管类型"))
            continue
        tube = Tube(
            code=code,
            round_id=round_.pk,
            table_id=table.pk,
            compound_id=table.compound_id,
            kind=kind,
            pool_size=size,
            opened_at=event["at"],
            scan_id=event["id"],
            opened_by=actor if getattr(actor, "pk", None) else None,
        )
        tubes[code] = tube
        new.append(tube)
        result.stored.append(event["id"])
    if new:
        _insert_tubes(new, round_, table, actor)


def _insert_tubes(new: list[Tube], round_, table, actor) -> None:
    """Insert the batch's new tubes and set their ids. PostgreSQL: one INSERT from a JSON text
    (the ORM's bulk insert prepares thirteen values a tube in Python); elsewhere bulk_create."""
    if connection.vendor != "postgresql":
        Tube.objects.bulk_create(new)  # SQLite >= 3.35 gives the new ids back
        if any(tube.pk is None for tube in new):
            by_code = {t.code: t for t in new}
            for pk, code in Tube.objects.filter(code__in=list(by_code)).values_list("pk", "code"):
                by_code[code].pk = pk
        return
    payload = json.dumps(
        [
            {"c": t.code, "k": t.kind, "p": t.pool_size, "o": t.opened_at.isoformat(), "s": t.scan_id}
            for t in new
        ]
    )
    sql = (
        f"INSERT INTO {Tube._meta.db_table} (code, round_id, table_id, compound_id, kind, pool_size, "  # noqa: S608
        "people, opened_at, result, scan_id, opened_by_id) "
        "SELECT r.c, %s::bigint, %s::bigint, %s::bigint, r.k, r.p, 0, r.o, %s, r.s, %s::bigint "
        "FROM json_to_recordset(%s::json) AS r(c text, k text, p smallint, o timestamptz, s uuid) "
        "RETURNING id, code"
    )
    params = [
        round_.pk,
        table.pk,
        table.compound_id,
        Tube.Result.PENDING.value,
        getattr(actor, "pk", None),
        payload,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        ids = dict((code, pk) for pk, code in cursor.fetchall())
    for tube in new:
        tube.pk = ids[tube.code]
        tube._state.adding = False


class Person(NamedTuple):
    pk: int
    name: str
    compound_id: int
    building_id: int
    unit_id: int
    created_at: datetime.datetime | None  # None: registered before the batch's earliest sample


def _resolve_people(samples, round_, actor) -> dict[str, Person]:
    """Each sample event's person, among the residents the round covers and the actor may see
    (events whose person is not found are left out)."""
    by_resident, by_document, by_code = {}, {}, {}
    for event in samples:
        person = event.get("person") or {}
        if person.get("resident"):
            by_resident[event["id"]] = person["resident"]
        elif person.get("document"):
            by_document[event["id"]] = str(person["document"])
        elif person.get("code"):
            by_code[event["id"]] = str(person["code"])
    if by_document:
        found = resident_ids_by_documents(list(set(by_document.values())))
        by_resident |= {eid: found[number] for eid, number in by_document.items() if number in found}
    if by_code:
        found = resident_ids_by_codes(list(set(by_code.values())))
        by_resident |= {eid: found[code] for eid, code in by_code.items() if code in found}
    ids = set()
    for value in by_resident.values():
        try:
            ids.add(int(value))
        except (TypeError, ValueError):
            continue
    residents = {}
    if ids:
        # Registration times matter only for people registered after the batch's first sample
        # (today's newcomers): the others come back as a flag, not a timestamp to parse.
        earliest = min(event["at"] for event in samples)
        rows = list(
            Resident.objects.filter(scope_q(actor, "resident"), pk__in=any_of(ids, "bigint"))
            .order_by()  # the default ordering joins four tables to sort: a lookup needs none
            .annotate(late=ExpressionWrapper(Q(created_at__gt=earliest), output_field=BooleanField()))
            .values_list("pk", "name", "compound_id", "building_id", "unit_id", "late")
        )
        people = [Person(*row[:5], created_at=None) for row in rows]
        late = [row[0] for row in rows if row[5]]
        if late:
            registered = dict(Resident.objects.filter(pk__in=late).order_by().values_list("pk", "created_at"))
            people = [p._replace(created_at=registered.get(p.pk)) for p in people]
        # The round's cover of the compounds these people live in only: a city round covers
        # thousands of compounds, a batch from one table a handful.
        allowed: dict[int, set[int]] = {
            compound_id: set()
            for compound_id in RoundCompound.objects.filter(
                round_id=round_.pk, compound_id__in={p.compound_id for p in people}
            )
            .order_by()
            .values_list("compound_id", flat=True)
        }
        through = RoundCompound.buildings.through
        for compound_id, building_id in through.objects.filter(
            roundcompound__round_id=round_.pk, roundcompound__compound_id__in=list(allowed)
        ).values_list("roundcompound__compound_id", "building_id"):
            allowed[compound_id].add(building_id)
        for person in people:
            buildings = allowed.get(person.compound_id)
            if buildings is None or (buildings and person.building_id not in buildings):
                continue
            residents[person.pk] = person
    found = {}
    for event in samples:
        value = by_resident.get(event["id"])
        try:
            person = residents.get(int(value)) if value is not None else None
        except (TypeError, ValueError):
            person = None
        if person is not None:
            found[event["id"]] = person
    return found


def _closing_times(closes) -> dict[str, datetime.datetime]:
    """When this batch closes each tube. Samples are handled before closes, so a sample the device
    made after closing its tube is refused by this time, not only by a close stored earlier."""
    times: dict[str, datetime.datetime] = {}
    for event in closes:
        if event["tube"] not in times or event["at"] < times[event["tube"]]:
            times[event["tube"]] = event["at"]
    return times


def _store_samples(
    actor, table, round_, samples, tubes, closing, result, filled: Counter
) -> list[tuple[int, datetime.datetime]]:
    """Store the batch's samples; `filled` gets the number stored into each tube (by code)."""
    if not samples:
        return []
    # A resend of a scan already stored must be answered stored whatever the checks below would
    # now say of it (the person sampled, the tube full or closed): the refusals are held here
    # and their scan ids looked up once at the end, so the usual batch of new scans pays nothing.
    doubtful: list[tuple[str, str, str, dict]] = []
    people = _resolve_people(samples, round_, actor)
    fresh = []
    for event in samples:
        if event["id"] in people:
            fresh.append(event)
        else:
            doubtful.append((event["id"], "unknown_person", _("查无此人，或不在本轮检测范围内"), {}))
    resident_ids = {p.pk for p in people.values()}
    where = {}
    for resident_id, code, label, at in Sample.objects.filter(
        round_id=round_.pk, resident_id__in=any_of(resident_ids, "bigint"), is_retest=False
    ).values_list("resident_id", "tube__code", "table__label", "sampled_at"):
        where[resident_id] = (code, label, at)
    open_retests = {
        resident_id: pk
        for pk, resident_id in Retest.objects.filter(
            resident_id__in=any_of(resident_ids, "bigint"), state=Retest.State.OPEN
        )
        .order_by()
        .values_list("pk", "resident_id")
    }
    filling = Counter()
    rows, retests_sampled = [], {}
    for event in fresh:
        person, tube = people[event["id"]], tubes.get(event["tube"])
        if tube is None or tube.pk is None:
            doubtful.append(
                (event["id"], "unknown_tube", _("试管未开管：%(code)s") % {"code": event["tube"]}, {})
            )
            continue
        if tube.round_id != round_.pk:
            message = _("该试管已在其他轮次使用：%(code)s") % {"code": tube.code}
            doubtful.append((event["id"], "tube_used", message, {}))
            continue
        closed_at = tube.closed_at or closing.get(tube.code)
        if closed_at is not None and tube.opened_at <= closed_at <= event["at"]:
            doubtful.append((event["id"], "tube_closed", _("试管已封管：%(code)s") % {"code": tube.code}, {}))
            continue
        if event["at"] < tube.opened_at:
            doubtful.append((event["id"], "bad_time", _("采样时间早于开管时间"), {}))
            continue
        if person.created_at is not None and event["at"] < person.created_at:
            doubtful.append((event["id"], "bad_time", _("采样时间早于该居民登记的时间"), {}))
            continue
        retest = tube.pool_size == 1 and person.pk in open_retests and person.pk not in retests_sampled
        if not retest and person.pk in where:
            code, label, at = where[person.pk]
            message = _("%(name)s本轮已采样：%(table)s，%(time)s，管码%(code)s") % {
                "name": person.name,
                "table": label or "",
                "time": timezone.localtime(at).strftime("%H:%M"),
                "code": code,
            }
            place = {"tube": code, "table": label or "", "at": timezone.localtime(at).isoformat()}
            doubtful.append((event["id"], "duplicate", message, {"where": place}))
            continue
        if tube.people + filling[tube.code] >= tube.pool_size:
            message = _("试管已满（%(n)d人）：%(code)s") % {"n": tube.pool_size, "code": tube.code}
            doubtful.append((event["id"], "tube_full", message, {}))
            continue
        filling[tube.code] += 1
        if retest:
            retests_sampled[person.pk] = event["id"]
        else:
            where[person.pk] = (tube.code, table.label, event["at"])
        rows.append(
            SampleRow(
                event["id"],
                tube.pk,
                person.pk,
                person.compound_id,
                person.building_id,
                person.unit_id,
                event["at"],
                retest,
            )
        )
    if doubtful:
        stored = set(
            str(scan)
            for scan in Sample.objects.filter(
                scan_id__in=any_of([scan for scan, *_rest in doubtful], "uuid")
            ).values_list("scan_id", flat=True)
        )
        for scan, code, message, extra in doubtful:
            if scan in stored:
                result.stored.append(scan)
            else:
                result.refuse(scan, code, message, **extra)
    if not rows:
        return []
    rows = _insert_samples(rows, round_, table, actor, result)
    for code, count in _count_by_tube(rows, tubes).items():
        tubes[code].people += count
        filled[code] = count
    inserted = {row.scan_id for row in rows}
    retest_scans = {scan: resident for resident, scan in retests_sampled.items() if scan in inserted}
    if retest_scans:
        samples_by_scan = {
            str(scan): pk
            for scan, pk in Sample.objects.filter(scan_id__in=any_of(list(retest_scans), "uuid")).values_list(
                "scan_id", "pk"
            )
        }
        Retest.objects.bulk_update(
            [
                Retest(pk=open_retests[resident], state=Retest.State.SAMPLED, sample_id=samples_by_scan[scan])
                for scan, resident in retest_scans.items()
            ],
            ["state", "sample_id"],
            batch_size=500,
        )
    result.stored.extend(row.scan_id for row in rows)
    return [(row.resident_id, row.sampled_at) for row in rows]


def _update_many(model, assignment: str, columns: list[str], rows: list[tuple]) -> None:
    """One UPDATE for many rows: `rows` are (pk, value...) tuples, `assignment` reads them as
    v.<column> (e.g. "people = people + v.n"). Portable: a VALUES list in a CTE (PostgreSQL, and
    SQLite from 3.33)."""
    if not rows:
        return
    table = model._meta.db_table
    names = ", ".join(["id", *columns])
    values = ", ".join(["(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"] * len(rows))
    params = []
    for row in rows:
        pk, *rest = row
        params.append(pk)
        params.extend(
            connection.ops.adapt_datetimefield_value(v) if isinstance(v, datetime.datetime) else v
            for v in rest
        )
    if connection.vendor == "postgresql":
        casts = {"n": "integer", "at": "timestamptz", "bag": "bigint"}
        select = ", ".join(["id::bigint", *(f"{c}::{casts.get(c, 'text')}" for c in columns)])
        sql = (
            f"WITH raw({names}) AS (VALUES {values}), v AS (SELECT {select} FROM raw) "  # noqa: S608
            f"UPDATE {table} SET {assignment} FROM v WHERE {table}.id = v.id"
        )
    else:
        sql = f"WITH v({names}) AS (VALUES {values}) UPDATE {table} SET {assignment} FROM v WHERE {table}.id = v.id"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _count_by_tube(rows: list, tubes: dict[str, Tube]) -> Counter:
    code_of = {tube.pk: code for code, tube in tubes.items()}
    return Counter(code_of[row.tube_id] for row in rows)


class SampleRow(NamedTuple):
    scan_id: str
    tube_id: int
    resident_id: int
    compound_id: int
    building_id: int
    unit_id: int
    sampled_at: datetime.datetime
    is_retest: bool


_SAMPLE_COLUMNS = (
    "scan_id",
    "round_id",
    "tube_id",
    "resident_id",
    "compound_id",
    "building_id",
    "unit_id",
    "sampled_at",
    "is_retest",
    "table_id",
    "recorded_by_id",
)


def _insert_samples(rows: list[SampleRow], round_, table, actor, result: SyncResult) -> list[SampleRow]:
    """Insert the batch; a row another table stored at the same moment (the same person in this
    round, or this very scan) is answered instead of failing the batch. PostgreSQL: one INSERT
    from a JSON text with ON CONFLICT DO NOTHING RETURNING; elsewhere a bulk insert, then row by row
    if a unique constraint refused it."""
    actor_id = getattr(actor, "pk", None)
    if connection.vendor == "postgresql":
        # The rows travel as one JSON text read back by json_to_recordset: encoding it is one C
        # call, where eleven arrays of a thousand values each cost psycopg more than the INSERT,
        # and typed columns cost PostgreSQL a fifth less than picking a JSON array apart.
        payload = json.dumps(
            [
                {
                    "s": r.scan_id,
                    "t": r.tube_id,
                    "r": r.resident_id,
                    "c": r.compound_id,
                    "b": r.building_id,
                    "u": r.unit_id,
                    "a": r.sampled_at.isoformat(),
                    "x": r.is_retest,
                }
                for r in rows
            ]
        )
        sql = (
            f"INSERT INTO {Sample._meta.db_table} ({', '.join(_SAMPLE_COLUMNS)}) "  # noqa: S608
            "SELECT r.s, %s::bigint, r.t, r.r, r.c, r.b, r.u, r.a, r.x, %s::bigint, %s::bigint "
            "FROM json_to_recordset(%s::json) AS r(s uuid, t bigint, r bigint, c bigint, b bigint, "
            "u bigint, a timestamptz, x boolean) ON CONFLICT DO NOTHING RETURNING scan_id"
        )
        with server_bound_cursor() as cursor:
            cursor.execute(sql, [round_.pk, table.pk, actor_id, payload])
            inserted = {str(value) for (value,) in cursor.fetchall()}
        if len(inserted) == len(rows):
            return rows
        kept = [r for r in rows if r.scan_id in inserted]
        lost = [r for r in rows if r.scan_id not in inserted]
        stored = {
            str(v)
            for v in Sample.objects.filter(scan_id__in=[r.scan_id for r in lost]).values_list(
                "scan_id", flat=True
            )
        }
        for row in lost:
            if row.scan_id in stored:
                result.stored.append(row.scan_id)
            else:
                result.refuse(row.scan_id, "duplicate", _("本轮已采样（另一采样台刚刚上传）"))
        return kept
    objects = [
        Sample(
            scan_id=r.scan_id,
            round_id=round_.pk,
            tube_id=r.tube_id,
            resident_id=r.resident_id,
            compound_id=r.compound_id,
            building_id=r.building_id,
            unit_id=r.unit_id,
            sampled_at=r.sampled_at,
            is_retest=r.is_retest,
            table_id=table.pk,
            recorded_by_id=actor_id,
        )
        for r in rows
    ]
    try:
        with transaction.atomic():
            Sample.objects.bulk_create(objects, batch_size=1000)
        return rows
    except IntegrityError:
        pass
    kept = []
    for row, obj in zip(rows, objects, strict=True):
        obj.pk = None
        try:
            with transaction.atomic():
                obj.save(force_insert=True)
        except IntegrityError:
            if Sample.objects.filter(scan_id=row.scan_id).exists():
                result.stored.append(row.scan_id)
            else:
                result.refuse(row.scan_id, "duplicate", _("本轮已采样（另一采样台刚刚上传）"))
            continue
        kept.append(row)
    return kept


def _close_tubes(round_, closes, tubes, result) -> dict[str, datetime.datetime]:
    """The tubes this batch closes, by code (written by the caller with the head counts)."""
    closing = {}
    for event in closes:
        tube = tubes.get(event["tube"])
        if tube is None or tube.pk is None or tube.round_id != round_.pk:
            result.refuse(
                event["id"], "unknown_tube", _("本轮没有该试管：%(code)s") % {"code": event["tube"]}
            )
            continue
        if tube.closed_at is not None:
            result.stored.append(event["id"])
            continue
        if event["at"] < tube.opened_at:
            result.refuse(event["id"], "bad_time", _("封管时间早于开管时间"))
            continue
        tube.closed_at = event["at"]
        closing[tube.code] = event["at"]
        result.stored.append(event["id"])
    return closing


def _seal_bags(actor, table, round_, seals, tubes, result) -> None:
    """Three statements whatever the number of bags: the bag codes already used, the new bags,
    their tubes."""
    if not seals:
        return
    bag_codes = {str(event["bag"]).strip().upper() for event in seals}
    used = {
        code: str(scan)
        for code, scan in Bag.objects.filter(code__in=bag_codes).values_list("code", "scan_id")
    }
    bags, bagged = [], {}
    for event in seals:
        code = str(event["bag"]).strip().upper()
        if code in used:
            if used[code] == event["id"]:
                result.stored.append(event["id"])
            else:
                result.refuse(event["id"], "bag_used", _("该袋码已使用：%(code)s") % {"code": code})
            continue
        codes = list(dict.fromkeys(str(c).strip().upper() for c in (event.get("tubes") or [])))
        if not codes or len(codes) > settings.TONGXIN_BAG_SIZE:
            result.refuse(event["id"], "bad_bag", _("每袋1至%(n)d管") % {"n": settings.TONGXIN_BAG_SIZE})
            continue
        problems = [
            c
            for c in codes
            if c not in tubes
            or tubes[c].pk is None
            or tubes[c].round_id != round_.pk
            or tubes[c].closed_at is None
            or tubes[c].bag_id is not None
            or c in bagged
        ]
        if problems:
            result.refuse(
                event["id"],
                "bad_bag",
                _("这些试管未封管、不在本轮或已装袋：%(codes)s") % {"codes": "、".join(problems[:5])},
            )
            continue
        used[code] = event["id"]
        bag = Bag(
            code=code,
            round_id=round_.pk,
            table_id=table.pk,
            compound_id=table.compound_id,
            sealed_at=event["at"],
            scan_id=event["id"],
            sealed_by=actor if getattr(actor, "pk", None) else None,
        )
        bags.append(bag)
        bagged.update(dict.fromkeys(codes, bag))
        result.stored.append(event["id"])
    if bags:
        Bag.objects.bulk_create(bags)  # PostgreSQL and SQLite >= 3.35 give the new ids back
        for c, bag in bagged.items():
            tubes[c].bag_id = bag.pk
        _update_many(Tube, "bag_id = v.bag", ["bag"], [(tubes[c].pk, bag.pk) for c, bag in bagged.items()])
