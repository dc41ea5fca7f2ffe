"""Gates and the checks made at them.

`gate_check` is the server's verdict path: a volunteer's device asks it while the server answers
(the gate page decides from its snapshot otherwise and sends its events later through
`gate_events_sync`). It reads the pass, the person, their stored status, their household's
outings and the compound's policy, asks `verdict.decide`, records the AccessEvent and opens or
closes the outing, all in a handful of indexed statements:

- the pass: its signature (`signing.read_pass`: "malformed", "forged"), its compound
  ("other_compound"), its expiry at the time of the check ("expired"), then its row, by number
  ("revoked"; no row at all: nobody, "unknown");
- the person: the pass's resident; for a household pass the household, whose checks apply going
  out (`verdict.household_person`: the worst colour of the members living there, overdue when any
  member is, sealed when any member's home is), and the member named with it (`resident_id`),
  if any, as the one who goes out; else a resident picked by room or name (`resident_id`) or
  found by ID number (`document`). Only residents living in the gate's compound (not moved out)
  within the acting user's area are found, as in the gate's snapshot;
- their status: the stored status row (`outbreak.models.ResidentStatus`), read as
  `outbreak.status.status_read` reads it (computed and stored first for a resident who has none);
  sealed when its risk level is the strictest level of the outbreak rules;
- the household's outings: its non-emergency exits within the policy's period and its open
  outings (who is out, due back when).

The AccessEvent is the record of the check (gate, time, person, direction, verdict, reason, who
was on duty): no audit row besides it. An event's id is made on the device: a resend of an id
already stored answers the stored verdict and writes nothing.
"""

import contextlib
import datetime
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.access import signing, verdict
from tongxin.access.models import AccessEvent, AccessPolicy, Gate, Outing, Pass
from tongxin.access.selectors.gates import (
    Found,
    GateStatus,
    HouseholdOutings,
    Member,
    gate_status,
    household_exits_locked,
    household_for_check,
    pass_for_check,
    resident_for_check,
    works_gates,
)
from tongxin.access.selectors.policy import policy_for, to_verdict_policy
from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.db import prepared_cursor
from tongxin.core.scoping import scope_q
from tongxin.core.sync import CLOCK_SKEW, SyncResult, event_id, event_time
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.status import status_recompute
from tongxin.registry.models import Compound, Household, Resident
from tongxin.registry.selectors import resident_ids_by_documents

GATE_MANAGERS = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER})
OLDEST_EVENT = datetime.timedelta(days=31)  # a device clock this far behind is not believed
LONGEST_OUTING = datetime.timedelta(days=1)  # the longest exit_max_minutes a policy allows
DIRECTIONS = ("in", "out")
MOVED_OUT = Resident.Presence.MOVED_OUT
DOCUMENT_MAX = 40
NAME_MAX = 40


# -- gates ------------------------------------------------------------------------------------------


@transaction.atomic
def gate_create(*, actor, compound: Compound, name: str) -> Gate:
    """A gate of a compound (compound managers, officials, platform admins in their area)."""
    if actor is not None:
        if getattr(actor, "role", None) not in GATE_MANAGERS or not actor.is_active:
            raise PermissionDenied(_("当前角色不能设置卡口"))
        if not Compound.objects.filter(scope_q(actor, "compound"), pk=compound.pk).exists():
            raise PermissionDenied(_("无权为该小区设置卡口"))
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写卡口名称")})
    if len(name) > NAME_MAX:
        raise ValidationError({"name": _("卡口名称最多%(n)d个字") % {"n": NAME_MAX}})
    if Gate.objects.filter(compound=compound, name=name).exists():
        raise ValidationError({"name": _("本小区已有名为“%(name)s”的卡口") % {"name": name}})
    try:
        with transaction.atomic():
            gate = Gate.objects.create(compound=compound, name=name)
    except IntegrityError:
        raise ValidationError({"name": _("本小区已有名为“%(name)s”的卡口") % {"name": name}}) from None
    audit(actor=actor, action="create", obj=gate, label=f"{compound} {name}")
    return gate


def may_manage_gates(user) -> bool:
    """Adds, disables and enables the gates of the compounds in their area."""
    return bool(user and user.is_authenticated and user.is_active and user.role in GATE_MANAGERS)


@transaction.atomic
def gate_set_active(*, actor, gate: Gate, active: bool) -> Gate:
    """Disable a gate (its page refuses checks; its records stay) or enable it again (compound
    managers, officials, platform admins in their area). Nothing is written when it is already so."""
    if actor is not None:
        if not may_manage_gates(actor):
            raise PermissionDenied(_("当前角色不能设置卡口"))
        if not Compound.objects.filter(scope_q(actor, "compound"), pk=gate.compound_id).exists():
            raise PermissionDenied(_("无权为该小区设置卡口"))
    active = bool(active)
    if not Gate.objects.filter(pk=gate.pk).exclude(active=active).update(active=active):
        gate.active = active
        return gate
    gate.active = active
    audit(
        actor=actor,
        action="update",
        obj=gate,
        label=f"{gate.compound} {gate.name}",
        fields="active",
        detail={"active": active},
    )
    return gate


def require_gate_worker(actor, gate: Gate) -> None:
    """The actor keeps gates and the gate is in their area; PermissionDenied otherwise. No query
    for the roles of one compound (the role and compound are on the user row)."""
    if not works_gates(actor):
        raise PermissionDenied(_("当前角色不能值守卡口"))
    if actor.role == Role.PLATFORM_ADMIN:
        return
    if actor.role == Role.OFFICIAL:
        if Compound.objects.filter(scope_q(actor, "compound"), pk=gate.compound_id).exists():
            return
    elif actor.compound_id == gate.compound_id:
        return
    raise PermissionDenied(_("无权在该卡口值守"))


# -- reading what a check needs -------------------------------------------------------------------


@dataclass(frozen=True)
class PassRead:
    state: str  # verdict.PASS_STATES
    number: str = ""
    found: Found | None = None  # a genuine code of this compound: its row, holder, outings
    room: str = ""  # the room the pass names


def read_pass_at(actor, code: str, compound_id: int, at: datetime.datetime, period_days: int) -> PassRead:
    """A scanned code as the gate judges it at `at`, with its holder and their household's outings:
    one statement for a genuine code of this compound (its row by number)."""
    try:
        claims = signing.read_pass(code)
    except signing.PassCodeError as error:
        return PassRead(state=error.reason)
    if claims.compound_id != compound_id:
        return PassRead(state="other_compound", number=claims.number)
    found = pass_for_check(actor, compound_id, claims.number, claims.room, at=at, period_days=period_days)
    row = found.pass_row
    if row is not None and row.compound_id != compound_id:
        return PassRead(state="other_compound", number=claims.number)
    if claims.expires_at <= at:
        state = "expired"
    elif row is not None and row.revoked_at is not None:
        state = "revoked"
    else:
        state = "ok"  # no row at all: a genuine code that names nobody ("unknown")
    return PassRead(state, claims.number, found, claims.room)


def status_rows(resident_ids: list[int]) -> dict[int, tuple]:
    """{resident id: (holds, last_sampled_at, risk_level)}: the stored status rows of residents
    who had none, computed and stored first (as `status_read` does on a first read)."""
    status_recompute(resident_ids)
    fields = ("resident_id", "holds", "last_sampled_at", "risk_level")
    return {
        r[0]: r[1:]
        for r in ResidentStatus.objects.filter(pk__in=resident_ids).order_by().values_list(*fields)
    }


def _statuses(members: list[Member], at: datetime.datetime) -> list[GateStatus]:
    missing = [m.pk for m in members if m.status is None]
    computed = status_rows(missing) if missing else {}
    return [
        gate_status(*(m.status or computed.get(m.pk, ([], None, ""))), at)  # type: ignore[arg-type]
        for m in members
    ]


def person_of(status: GateStatus, outings: HouseholdOutings, out_due_at) -> verdict.Person:
    return verdict.Person(
        color=status.color,
        status_reason=status.reason,
        overdue=status.overdue,
        sealed=status.sealed,
        household_out_over_time=outings.over_time,
        household_exits=outings.exits,
        out_due_at=out_due_at,
    )


# -- the check ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checked:
    """What a check decided, with the person to compare with the face."""

    event: AccessEvent
    verdict: verdict.Verdict
    name: str
    room: str
    text: str  # the verdict's few words

    def __iter__(self):  # (event, verdict, name, room)
        return iter((self.event, self.verdict, self.name, self.room))


def check_input(scan_id, at, direction) -> tuple[str, datetime.datetime]:
    """A check's id (canonical text), time (now when None; aware, at most CLOCK_SKEW ahead and
    OLDEST_EVENT behind, as the sync takes them) and direction, or ValidationError by field. A check
    dated days back would count no exit of the household's period (its quota) and record an
    outing long over time."""
    scan = event_id(scan_id)
    if scan is None:
        raise ValidationError({"id": _("记录编号无效")})
    if direction not in DIRECTIONS:
        raise ValidationError({"direction": _("方向须为进或出")})
    now = timezone.now()
    if at is None:
        return scan, now
    when = event_time(at)
    if when is None:
        raise ValidationError({"at": _("时间须带时区")})
    if when > now + CLOCK_SKEW:
        raise ValidationError({"at": _("时间晚于现在，请检查设备时间")})
    if when < now - OLDEST_EVENT:
        raise ValidationError({"at": _("时间早于一个月前，请检查设备时间")})
    return scan, when


def gate_check(
    *,
    actor,
    gate: Gate,
    scan_id,
    at: datetime.datetime | None = None,
    direction: str,
    code: str | None = None,
    resident_id: int | None = None,
    document: str | None = None,
    emergency: bool = False,
    policy: AccessPolicy | None = None,
) -> Checked:
    """Check someone at a gate and record it (see the module's docstring); returns (event,
    verdict, name, room) and the verdict's text. A resend of a stored scan id returns what was
    decided then. `policy`: the compound's, when the caller read it with the gate
    (`selectors.gates.gate_for_check`); read here otherwise."""
    require_gate_worker(actor, gate)
    scan, at = check_input(scan_id, at, direction)
    if not gate.active:
        raise ValidationError(_("该卡口已停用"))
    code = (code or "").strip()
    document = (document or "").strip()
    if not (code or document or resident_id is not None or emergency):
        raise ValidationError(_("请扫出入证，或输入房号、姓名或身份证号"))
    if len(document) > DOCUMENT_MAX:
        raise ValidationError({"document": _("证件号码过长")})
    compound_id = gate.compound_id
    rules = to_verdict_policy(policy if policy is not None else policy_for(compound_id))

    read = None
    household_pass = False
    found = Found([])
    period = rules.exit_period_days
    if code:
        method, read = AccessEvent.Method.PASS, read_pass_at(actor, code, compound_id, at, period)
        state = read.state
        found = read.found or found
        if found.pass_row is not None and found.pass_row.resident_id is None:
            household_pass = True
            members = household_for_check(actor, compound_id, found.pass_row.household_id, read.room)
            found = Found(members, found.outings, found.pass_row)
    else:
        state = "none"
        if document:
            method = AccessEvent.Method.DOCUMENT
            holder = resident_ids_by_documents([document]).get(document)
            if holder:
                found = resident_for_check(actor, compound_id, holder, at=at, period_days=period)
        else:  # picked by room or name; or an emergency with nobody named
            method = AccessEvent.Method.ROOM
            if resident_id is not None:
                found = resident_for_check(actor, compound_id, resident_id, at=at, period_days=period)
    members = found.members

    who: Member | None = None  # the one going through, when known
    if household_pass:
        who = next((m for m in members if resident_id is not None and str(m.pk) == str(resident_id)), None)
    elif members:
        who = members[0]
    person = outings = None
    if members and (emergency or state in ("ok", "none")):
        outings = found.outings
        own_due = outings.due_of(who.pk if who is not None else None)
        if direction == "in":  # coming in reads nothing of the status: only when they were due back
            person = verdict.Person("green", "", False, False, False, 0, out_due_at=own_due)
        elif not emergency:
            people = [person_of(status, outings, own_due) for status in _statuses(members, at)]
            person = verdict.household_person(people, out_due_at=own_due) if household_pass else people[0]

    decided = verdict.decide(
        direction=direction, emergency=emergency, pass_state=state, person=person, policy=rules, now=at
    )
    # Another gate may be letting the same household out right now: under a quota, an exit is
    # counted again under the household's lock, held until this check's event is written.
    recount = (
        decided.allowed
        and decided.reason == "ok"
        and direction == "out"
        and rules.exits_per_household is not None
        and household_id_of(members) is not None
    )
    with transaction.atomic() if recount else contextlib.nullcontext():
        if recount and (
            household_exits_locked(household_id_of(members), at, rules.exit_period_days)
            >= rules.exits_per_household
        ):
            decided = verdict.Verdict(False, "quota")
        return _record(
            actor, gate, scan, at, direction, method, who, members, read, decided, emergency, outings, rules
        )


def _record(actor, gate, scan, at, direction, method, who, members, read, decided, emergency, outings, rules):
    """gate_check's second half: the answer's name and room, the event and its outing."""
    compound_id, household_id = gate.compound_id, household_id_of(members)
    if who is not None:
        name, room = who.name, who.room
    elif members:
        name, room = "、".join(m.name for m in members), members[0].room
    else:
        name, room = "", ""

    event = AccessEvent(
        scan_id=scan,
        gate_id=gate.pk,
        compound_id=compound_id,
        at=at,
        direction=direction,
        method=method,
        resident_id=who.pk if who is not None else None,
        household_id=household_id,
        pass_number=read.number if read else "",
        allowed=decided.allowed,
        reason=decided.reason,
        emergency=bool(emergency),
        offline=False,
        on_duty_id=actor.pk,
    )
    opening = decided.allowed and direction == "out" and household_id is not None
    closing = []
    if decided.allowed and direction == "in" and outings is not None:
        closing = [o[0] for o in outings.open_of(event.resident_id)]
    outing = None
    if opening:
        outing = Outing(
            resident_id=event.resident_id,
            household_id=household_id,
            compound_id=compound_id,
            out_at=at,
            due_at=decided.due_at,
            emergency=bool(emergency),
        )
    if not record_check(event, outing=outing, closing=closing):
        return stored_check(actor, gate, scan, rules)
    return Checked(event, decided, name, room, decided.text(rules))


_INSERT_SQL: dict[tuple, tuple[str, list]] = {}


def _insert_sql(model, conflict: str | None) -> tuple[str, list]:
    key = (connection.vendor, model, conflict)
    if key not in _INSERT_SQL:
        meta = model._meta
        fields = [f for f in meta.concrete_fields if not f.primary_key]
        quote = connection.ops.quote_name
        on_conflict = f" ON CONFLICT ({quote(conflict)}) DO NOTHING" if conflict else ""
        _INSERT_SQL[key] = (
            f"INSERT INTO {quote(meta.db_table)} ({', '.join(quote(f.column) for f in fields)}) "  # noqa: S608
            f"VALUES ({', '.join(['%s'] * len(fields))}){on_conflict} RETURNING {quote(meta.pk.column)}",
            fields,
        )
    return _INSERT_SQL[key]


def _values(obj, fields) -> list:
    return [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]


def insert_row(obj, *, conflict: str | None = None) -> bool:
    """INSERT a new row of an access model in one statement, without the ORM's per-save work
    (the check's hot path); with `conflict`, nothing when a row with the same value of that unique
    column exists. Sets the pk and returns True when the row went in."""
    sql, fields = _insert_sql(type(obj), conflict)
    with prepared_cursor() as cursor:
        cursor.execute(sql, _values(obj, fields))
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    return True


def household_id_of(members: list[Member]) -> int | None:
    return members[0].household_id if members else None


def record_check(event: AccessEvent, *, outing: Outing | None = None, closing=()) -> bool:
    """Write a check's event with the outing it opens (its `out_event` set here) or the open
    outings it closes (at the event's time), all or nothing; nothing at all when the event's scan
    id is stored already (returns False). PostgreSQL: one statement (the writes as data-modifying
    WITH queries: no BEGIN and COMMIT round trips on the hot path); elsewhere one transaction."""
    if outing is None and not closing:
        return insert_row(event, conflict="scan_id")
    if connection.vendor != "postgresql":
        with transaction.atomic():
            if not insert_row(event, conflict="scan_id"):
                return False
            if outing is not None:
                outing.out_event_id = event.pk
                insert_row(outing)
            else:
                outings_close(list(closing), event.at)
        return True
    event_sql, event_fields = _insert_sql(AccessEvent, "scan_id")
    params = _values(event, event_fields)
    quote = connection.ops.quote_name
    table = quote(Outing._meta.db_table)
    if outing is not None:
        fields = [f for f in Outing._meta.concrete_fields if not f.primary_key and f.name != "out_event"]
        columns = ", ".join(quote(f.column) for f in fields)
        sql = (
            f"WITH e AS ({event_sql}), o AS (INSERT INTO {table} ({columns}, out_event_id) "  # noqa: S608
            f"SELECT {', '.join(['%s'] * len(fields))}, e.id FROM e RETURNING id) "
            "SELECT e.id, (SELECT id FROM o) FROM e"
        )
        params += _values(outing, fields)
    else:
        sql = (
            f"WITH e AS ({event_sql}), c AS (UPDATE {table} SET back_at = %s "  # noqa: S608
            "WHERE id = ANY(%s) AND back_at IS NULL AND EXISTS (SELECT 1 FROM e) RETURNING id) "
            "SELECT e.id, NULL FROM e"
        )
        params += [connection.ops.adapt_datetimefield_value(event.at), [int(pk) for pk in closing]]
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    event.pk, event._state.adding = row[0], False
    if outing is not None:
        outing.pk, outing.out_event_id, outing._state.adding = row[1], row[0], False
    return True


def outings_close(outing_ids: list[int], back_at: datetime.datetime) -> int:
    """Close these outings (those still open) at `back_at`: one UPDATE."""
    if not outing_ids:
        return 0
    return Outing.objects.filter(pk__in=outing_ids, back_at__isnull=True).update(back_at=back_at)


def stored_check(actor, gate: Gate, scan: str, policy: verdict.Policy) -> Checked:
    """The answer a check with this scan id got when it was stored (a resend), naming the person
    only if the actor sees them (a grid worker resending an id another made at the same gate)."""
    event = AccessEvent.objects.filter(scan_id=scan).first()
    if event is None or event.gate_id != gate.pk:
        raise ValidationError({"id": _("记录编号已被其他卡口使用")})
    due_at, late = None, 0
    if event.allowed and event.direction == "out":
        due_at = (  # by the household's index: out_event has none
            Outing.objects.filter(household_id=event.household_id, out_at=event.at, out_event_id=event.pk)
            .values_list("due_at", flat=True)
            .first()
        )
    elif event.reason == "over_time" and event.direction == "in" and event.household_id is not None:
        due = (
            Outing.objects.filter(
                household_id=event.household_id, resident_id=event.resident_id, back_at=event.at
            )
            .exclude(due_at=None)
            .order_by("-out_at")
            .values_list("due_at", flat=True)
            .first()
        )
        if due is not None and event.at > due:
            late = int((event.at - due).total_seconds() // 60)
    name, room = "", ""
    if event.resident_id is not None:
        row = (
            Resident.objects.filter(compound_id=gate.compound_id, pk=event.resident_id)
            .order_by("pk")
            .values_list("name", "building__number", "unit__number", "household__room")
            .first()
        )
        if row:
            name, room = row[0], f"{row[1]}-{row[2]}-{row[3]}"
    elif event.household_id is not None:
        rows = list(
            Resident.objects.filter(compound_id=gate.compound_id, household_id=event.household_id)
            .exclude(presence=MOVED_OUT)
            .order_by("pk")
            .values_list("name", "building__number", "unit__number", "household__room")
        )
        if rows:
            name, room = "、".join(r[0] for r in rows), f"{rows[0][1]}-{rows[0][2]}-{rows[0][3]}"
    decided = verdict.Verdict(event.allowed, event.reason, due_at=due_at, late_minutes=late)
    return Checked(event, decided, name, room, decided.text(policy))


# -- the gate devices' sync -----------------------------------------------------------------------

SYNC_EVENT_TYPES = ("check", "visitor")
SYNC_METHODS = (AccessEvent.Method.PASS, AccessEvent.Method.ROOM)


def _clean_sync_events(actor, gate: Gate, events: list, result: SyncResult) -> list[dict]:
    """The events whose shape and time can be right, each with its id in canonical form, its time
    parsed and its gate (the URL's, or the one it names among the actor's gates); the others are
    refused with a code and a sentence."""
    from tongxin.access.selectors.gates import gates_visible

    now = timezone.now()
    latest, earliest = now + CLOCK_SKEW, now - OLDEST_EVENT
    named = set()
    for event in events:
        if isinstance(event, dict) and event.get("gate") not in (None, gate.pk):
            try:
                named.add(int(event["gate"]))
            except (TypeError, ValueError):
                pass
    gates = {gate.pk: gate}
    if named:
        gates |= {g.pk: g for g in gates_visible(actor).filter(pk__in=[n for n in named if 0 < n < 2**63])}
    seen: set[str] = set()
    clean = []
    for event in events:
        if not isinstance(event, dict):
            continue  # not an event at all: nothing to answer it by
        scan = event_id(event.get("id"))
        if scan is None:
            result.refuse(str(event.get("id"))[:64], "bad_event", _("记录编号无效"))
            continue
        if scan in seen:
            continue  # the same event twice in one batch is answered once
        seen.add(scan)
        kind, at = event.get("type"), event_time(event.get("at"))
        try:
            event_gate = gates.get(int(event.get("gate") or gate.pk))
        except (TypeError, ValueError):
            event_gate = None
        if kind not in SYNC_EVENT_TYPES:
            result.refuse(scan, "bad_event", _("未知的记录类型"))
        elif at is None:
            result.refuse(scan, "bad_time", _("时间须带时区"))
        elif at > latest:
            result.refuse(scan, "bad_time", _("时间晚于现在，请检查设备时间"))
        elif at < earliest:
            result.refuse(scan, "bad_time", _("时间早于一个月前，请检查设备时间"))
        elif event_gate is None:
            result.refuse(scan, "unknown_gate", _("未知的卡口，或不在您的负责范围内"))
        elif kind == "check" and event.get("direction") not in DIRECTIONS:
            result.refuse(scan, "bad_event", _("方向须为进或出"))
        elif kind == "check" and event.get("method") not in SYNC_METHODS:
            result.refuse(scan, "bad_event", _("核验方式须为出入证或房号"))
        elif kind == "check" and not isinstance(event.get("allowed"), bool):
            result.refuse(scan, "bad_event", _("缺少放行结果"))
        elif kind == "check" and not (
            isinstance(event.get("reason"), str) and event["reason"] in verdict.REASONS
        ):
            result.refuse(scan, "bad_event", _("未知的原因"))
        elif kind == "check" and not isinstance(event.get("emergency", False), bool):
            result.refuse(scan, "bad_event", _("紧急就医须为是或否"))
        elif kind == "check" and not isinstance(event.get("code") or "", str):
            result.refuse(scan, "bad_event", _("出入证码格式不对"))
        else:
            clean.append({**event, "id": scan, "at": at, "gate": event_gate})
    return clean


@transaction.atomic
def gate_events_sync(*, actor, gate: Gate, events: list) -> SyncResult:
    """Store a batch of events a gate device decided offline (or queued while the server did not
    answer in time), each answered stored or refused with a code and a sentence:

    - checks `{"id", "type": "check", "at", "direction", "method": "pass"|"room", "code"?,
      "resident"?, "allowed", "reason", "emergency"?, "gate"?, "due_at"?}` are stored as the device
      decided them (offline), with the person their pass or pick names when the actor sees them;
      outings are opened and closed in the order of the events' times, with the returns other
      gates recorded meanwhile (an exit sent late is closed by the return already stored);
    - visitors `{"id", "type": "visitor", "at", "kind", "name", "phone", "reason", "visiting"?,
      "resident"?, "code_color", "came_from"?, "gate"?}` are registered as `visitor_register` does
      online (the server applies `verdict.decide_visitor` itself; a field it refuses refuses that
      event only).

    A resend of a stored event is answered stored; nothing is stored twice. At most
    TONGXIN_GATE_SYNC_MAX_BATCH events a request."""
    from tongxin.access.actions.visitors import visitor_register

    require_gate_worker(actor, gate)
    if not isinstance(events, list):
        raise ValidationError(_("记录须为列表"))
    if len(events) > settings.TONGXIN_GATE_SYNC_MAX_BATCH:
        raise ValidationError(_("一次最多上传%(n)d条记录") % {"n": settings.TONGXIN_GATE_SYNC_MAX_BATCH})
    result = SyncResult()
    events = _clean_sync_events(actor, gate, events, result)
    stored_before = {}
    if events:
        stored_before = {
            str(scan): compound_id
            for scan, compound_id in AccessEvent.objects.filter(scan_id__in=[e["id"] for e in events])
            .order_by()
            .values_list("scan_id", "compound_id")
        }
    fresh = []
    for event in events:
        if event["id"] not in stored_before:
            fresh.append(event)
        elif stored_before[event["id"]] == event["gate"].compound_id:
            result.stored.append(event["id"])  # a resend
        else:
            result.refuse(event["id"], "bad_event", _("记录编号已被其他小区的卡口使用"))
    checks = [e for e in fresh if e["type"] == "check"]
    if checks:
        _store_checks(actor, checks, result)
    visitors = 0
    for event in fresh:
        if event["type"] != "visitor":
            continue
        try:
            with transaction.atomic():
                visitor_register(
                    actor=actor,
                    gate=event["gate"],
                    scan_id=event["id"],
                    at=event["at"],
                    kind=event.get("kind"),
                    name=event.get("name") or "",
                    phone=event.get("phone") or "",
                    reason=event.get("reason") or "",
                    visiting=event.get("visiting"),
                    resident=event.get("resident"),
                    code_color=event.get("code_color"),
                    came_from=event.get("came_from") or "",
                    offline=True,
                )
        except ValidationError as error:
            result.refuse(event["id"], "bad_visitor", "；".join(error.messages))
        else:
            visitors += 1
            result.stored.append(event["id"])
    audit(
        actor=actor,
        action="gate_sync",
        obj=gate,
        detail={
            "events": len(events),
            "stored": len(result.stored),
            "refused": len(result.refused),
            "checks": len(checks),
            "visitors": visitors,
        },
    )
    return result


def _store_checks(actor, checks: list[dict], result: SyncResult) -> None:
    """Store offline-decided checks as decided, with their people and outings: a fixed number of
    statements whatever the batch's size."""
    numbers: dict[str, str] = {}  # scan id -> pass number, for genuine codes
    for event in checks:
        code = (event.get("code") or "").strip()
        if code and signing.looks_like_pass(code):
            try:
                numbers[event["id"]] = signing.read_pass(code).number
            except signing.PassCodeError:
                pass
    passes = {}
    if numbers:
        passes = {
            row[0]: row[1:]
            for row in Pass.objects.filter(number__in=set(numbers.values()))
            .order_by()
            .values_list("number", "compound_id", "resident_id", "household_id")
        }
    wanted: set[int] = set()
    for event in checks:
        row = passes.get(numbers.get(event["id"]))
        if row and row[1] is not None:
            wanted.add(row[1])
        picked = _int(event.get("resident"))
        if picked is not None:
            wanted.add(picked)
    residents = {}
    if wanted:
        residents = {
            pk: (household_id, compound_id)
            # A gate serves its whole compound (see selectors.gates): its gates' compounds only.
            for pk, household_id, compound_id in Resident.objects.filter(
                compound_id__in={e["gate"].compound_id for e in checks}, pk__in=wanted
            )
            .order_by()
            .values_list("pk", "household_id", "compound_id")
        }
    household_passes = {row[2] for row in passes.values() if row[1] is None}
    households = set()
    if household_passes:
        households = set(
            Household.objects.filter(
                compound_id__in={e["gate"].compound_id for e in checks}, pk__in=household_passes
            )
            .order_by()
            .values_list("pk", flat=True)
        )

    new_events = []
    for event in checks:
        compound_id = event["gate"].compound_id
        resident_id = household_id = None
        row = passes.get(numbers.get(event["id"]))
        if event["method"] == AccessEvent.Method.PASS and row and row[0] == compound_id:
            if row[1] is not None:
                if residents.get(row[1], (None, None))[1] == compound_id:
                    resident_id, household_id = row[1], residents[row[1]][0]
            elif row[2] in households:
                household_id = row[2]
                picked = _int(event.get("resident"))
                if residents.get(picked, (None, None))[0] == household_id:
                    resident_id = picked
        elif event["method"] == AccessEvent.Method.ROOM:
            picked = _int(event.get("resident"))
            if residents.get(picked, (None, None))[1] == compound_id:
                resident_id, household_id = picked, residents[picked][0]
        new_events.append(
            AccessEvent(
                scan_id=event["id"],
                gate_id=event["gate"].pk,
                compound_id=compound_id,
                at=event["at"],
                direction=event["direction"],
                method=event["method"],
                resident_id=resident_id,
                household_id=household_id,
                pass_number=numbers.get(event["id"], "")[:16],
                allowed=event["allowed"],
                reason=event["reason"],
                emergency=bool(event.get("emergency", False)),
                offline=True,
                on_duty_id=actor.pk,
            )
        )
    AccessEvent.objects.bulk_create(new_events, batch_size=500)
    if any(e.pk is None for e in new_events):  # a database that gives no ids back from a bulk insert
        ids = dict(
            AccessEvent.objects.filter(scan_id__in=[e.scan_id for e in new_events]).values_list(
                "scan_id", "pk"
            )
        )
        for e in new_events:
            e.pk = ids[uuid.UUID(str(e.scan_id))]
    _update_outings(checks, new_events)
    result.stored.extend(e["id"] for e in checks)


def _int(value) -> int | None:
    """A record id the device sent (a number, or its digits as text); None for anything else: a
    bool, a float, "²" (a digit to str.isdigit, not to int), more digits than int() reads."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        return None
    if isinstance(value, str) and not (value.isascii() and value.isdigit() and len(value) <= 19):
        return None
    number = int(value)
    return number if 0 < number < 2**63 else None


def _update_outings(checks: list[dict], new_events: list[AccessEvent]) -> None:
    """Open and close outings for the batch's allowed exits and returns, in time order, with the
    households' open outings and the returns already stored since the batch's first exit."""
    moves = [
        (event, raw)
        for event, raw in zip(new_events, checks, strict=True)
        if event.allowed and event.household_id is not None
    ]
    if not moves:
        return
    households = {e.household_id for e, _raw in moves}
    open_outings: dict[tuple, list[dict]] = {}
    for pk, household_id, resident_id, out_at in (
        Outing.objects.filter(household_id__in=households, back_at__isnull=True)
        .order_by("out_at")
        .values_list("pk", "household_id", "resident_id", "out_at")
    ):
        open_outings.setdefault((household_id, resident_id), []).append(
            {"pk": pk, "out_at": out_at, "back_at": None}
        )
    timeline = [(e.at, 0 if e.direction == "out" else 1, e, raw) for e, raw in moves]
    exits = [e for e, _raw in moves if e.direction == "out"]
    if exits:
        first = min(e.at for e in exits)
        batch = {e.scan_id for e in new_events}
        for household_id, resident_id, at, scan in (
            AccessEvent.objects.filter(  # on the (compound, at) index
                compound_id__in={e.compound_id for e in exits},
                household_id__in={e.household_id for e in exits},
                direction=AccessEvent.Direction.IN,
                allowed=True,
                at__gte=first,
            )
            .order_by()
            .values_list("household_id", "resident_id", "at", "scan_id")
        ):
            if str(scan) not in batch:
                stored = AccessEvent(
                    household_id=household_id, resident_id=resident_id, at=at, direction="in"
                )
                timeline.append((at, 1, stored, None))
    timeline.sort(key=lambda item: (item[0], item[1]))
    policies: dict[int, verdict.Policy] = {}
    new_outings: list[tuple[Outing, dict]] = []
    closed: list[Outing] = []
    for at, _order, event, raw in timeline:
        key = (event.household_id, event.resident_id)
        if event.direction == "out":
            if event.compound_id not in policies:
                policies[event.compound_id] = to_verdict_policy(policy_for(event.compound_id))
            rules = policies[event.compound_id]
            due = event_time((raw or {}).get("due_at")) if (raw or {}).get("due_at") else None
            if due is not None and not at < due <= at + LONGEST_OUTING:
                due = None  # not a time limit any policy gives (and maybe not one the database keeps)
            if due is None and rules.exit_max_minutes and not event.emergency:
                due = at + datetime.timedelta(minutes=rules.exit_max_minutes)
            record = {"pk": None, "out_at": at, "back_at": None}
            outing = Outing(
                resident_id=event.resident_id,
                household_id=event.household_id,
                compound_id=event.compound_id,
                out_at=at,
                due_at=None if event.emergency else due,
                emergency=event.emergency,
                out_event_id=event.pk,
            )
            new_outings.append((outing, record))
            open_outings.setdefault(key, []).append(record)
            continue
        candidates = [
            r for r in open_outings.get(key, []) if r["out_at"] <= at and (raw is not None or r["pk"] is None)
        ]
        if candidates:
            latest = max(candidates, key=lambda r: r["out_at"])
            latest["back_at"] = at
            open_outings[key].remove(latest)
            if latest["pk"] is not None:
                closed.append(Outing(pk=latest["pk"], back_at=at))
    for outing, record in new_outings:
        outing.back_at = record["back_at"]
    if new_outings:
        Outing.objects.bulk_create([outing for outing, _record in new_outings], batch_size=500)
    if closed:
        Outing.objects.bulk_update(closed, ["back_at"], batch_size=500)
