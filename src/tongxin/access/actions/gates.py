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

import datetime
import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from tongxin.access import signing, verdict
from tongxin.access.models import AccessEvent, AccessPolicy, Gate, Outing
from tongxin.access.selectors.gates import (
    GateStatus,
    HouseholdOutings,
    Member,
    PassRow,
    gate_status,
    members_for_check,
    outings_for_check,
    pass_for_check,
    works_gates,
)
from tongxin.access.selectors.policy import policy_for, to_verdict_policy
from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.status import status_recompute
from tongxin.registry.models import Compound, Resident
from tongxin.registry.selectors import resident_ids_by_documents

GATE_MANAGERS = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER})
CLOCK_SKEW = datetime.timedelta(minutes=10)  # a device clock this far ahead is still believed
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


def moment(value) -> datetime.datetime | None:
    """An event's time as the device sent it (ISO 8601 text, or a datetime from Python callers);
    None when it is not a time with its zone."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)
        except ValueError:
            try:
                value = parse_datetime(value)
            except ValueError:
                return None
    if not isinstance(value, datetime.datetime) or value.utcoffset() is None:
        return None
    return value


def event_id(value) -> str | None:
    """A device-made event id in canonical text form, or None if it is not a UUID."""
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


@dataclass(frozen=True)
class PassRead:
    state: str  # verdict.PASS_STATES
    number: str = ""
    row: PassRow | None = None  # the pass's row, for a genuine code of this compound
    members: tuple[Member, ...] = ()  # a resident's pass: its holder, if found


def read_pass_at(actor, code: str, compound_id: int, at: datetime.datetime) -> PassRead:
    """A scanned code as the gate judges it at `at`, with its holder: one statement for a genuine
    code of this compound (its row by number, with the resident's room and status)."""
    try:
        claims = signing.read_pass(code)
    except signing.PassCodeError as error:
        return PassRead(state=error.reason)
    if claims.compound_id != compound_id:
        return PassRead(state="other_compound", number=claims.number)
    row, members = pass_for_check(actor, compound_id, claims.number)
    if row is not None and row.compound_id != compound_id:
        return PassRead(state="other_compound", number=claims.number)
    if claims.expires_at <= at:
        state = "expired"
    elif row is not None and row.revoked_at is not None:
        state = "revoked"
    else:
        state = "ok"  # no row at all: a genuine code that names nobody ("unknown")
    return PassRead(state, claims.number, row, tuple(members))


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


def _check_input(scan_id, at, direction) -> tuple[str, datetime.datetime]:
    scan = event_id(scan_id)
    if scan is None:
        raise ValidationError({"id": _("记录编号无效")})
    if direction not in DIRECTIONS:
        raise ValidationError({"direction": _("方向须为进或出")})
    now = timezone.now()
    if at is None:
        return scan, now
    when = moment(at)
    if when is None:
        raise ValidationError({"at": _("时间须带时区")})
    if when > now + CLOCK_SKEW:
        raise ValidationError({"at": _("时间晚于现在，请检查设备时间")})
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
    scan, at = _check_input(scan_id, at, direction)
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
    members: list[Member] = []
    if code:
        method, read = AccessEvent.Method.PASS, read_pass_at(actor, code, compound_id, at)
        state = read.state
        members = list(read.members)
        if read.row is not None and read.row.resident_id is None:
            household_pass = True
            members = members_for_check(actor, compound_id, household_id=read.row.household_id)
    else:
        state = "none"
        if document:
            method = AccessEvent.Method.DOCUMENT
            found = resident_ids_by_documents([document]).get(document)
            members = members_for_check(actor, compound_id, resident_id=found) if found else []
        else:  # picked by room or name; or an emergency with nobody named
            method = AccessEvent.Method.ROOM
            if resident_id is not None:
                members = members_for_check(actor, compound_id, resident_id=resident_id)

    who: Member | None = None  # the one going through, when known
    if household_pass:
        who = next((m for m in members if resident_id is not None and str(m.pk) == str(resident_id)), None)
    elif members:
        who = members[0]
    household_id = members[0].household_id if members else None
    person = outings = None
    if members and (emergency or state in ("ok", "none")):
        outings = outings_for_check(household_id, at, rules.exit_period_days)
        own_due = outings.due_of(who.pk if who is not None else None)
        if direction == "in":  # coming in reads nothing of the status: only when they were due back
            person = verdict.Person("green", "", False, False, False, 0, out_due_at=own_due)
        elif not emergency:
            people = [person_of(status, outings, own_due) for status in _statuses(members, at)]
            person = verdict.household_person(people, out_due_at=own_due) if household_pass else people[0]

    decided = verdict.decide(
        direction=direction, emergency=emergency, pass_state=state, person=person, policy=rules, now=at
    )
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
    if not opening and not closing:
        if not insert_row(event, conflict="scan_id"):
            return stored_check(gate, scan, rules)
    else:
        with transaction.atomic():
            if not insert_row(event, conflict="scan_id"):
                return stored_check(gate, scan, rules)
            if opening:
                outing = Outing(
                    resident_id=event.resident_id,
                    household_id=household_id,
                    compound_id=compound_id,
                    out_at=at,
                    due_at=decided.due_at,
                    emergency=bool(emergency),
                    out_event_id=event.pk,
                )
                insert_row(outing)
            else:
                outings_close(closing, at)
    return Checked(event, decided, name, room, decided.text(rules))


_INSERT_SQL: dict[tuple, tuple[str, list]] = {}


def insert_row(obj, *, conflict: str | None = None) -> bool:
    """INSERT a new row of an access model in one statement, without the ORM's per-save work
    (the check's hot path); with `conflict`, nothing when a row with the same value of that unique
    column exists. Sets the pk and returns True when the row went in."""
    model = type(obj)
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
    sql, fields = _INSERT_SQL[key]
    params = [f.get_db_prep_save(f.pre_save(obj, True), connection) for f in fields]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        return False
    obj.pk = row[0]
    obj._state.adding = False
    return True


def outings_close(outing_ids: list[int], back_at: datetime.datetime) -> int:
    """Close these outings (those still open) at `back_at`: one UPDATE."""
    if not outing_ids:
        return 0
    return Outing.objects.filter(pk__in=outing_ids, back_at__isnull=True).update(back_at=back_at)


def stored_check(gate: Gate, scan: str, policy: verdict.Policy) -> Checked:
    """The answer a check with this scan id got when it was stored (a resend)."""
    event = AccessEvent.objects.filter(scan_id=scan).first()
    if event is None or event.gate_id != gate.pk:
        raise ValidationError({"id": _("记录编号已被其他卡口使用")})
    due_at, late = None, 0
    if event.allowed and event.direction == "out":
        due_at = Outing.objects.filter(out_event_id=event.pk).values_list("due_at", flat=True).first()
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
            Resident.objects.filter(pk=event.resident_id)
            .values_list("name", "building__number", "unit__number", "household__room")
            .first()
        )
        if row:
            name, room = row[0], f"{row[1]}-{row[2]}-{row[3]}"
    elif event.household_id is not None:
        rows = list(
            Resident.objects.filter(household_id=event.household_id)
            .exclude(presence=MOVED_OUT)
            .order_by("pk")
            .values_list("name", "building__number", "unit__number", "household__room")
        )
        if rows:
            name, room = "、".join(r[0] for r in rows), f"{rows[0][1]}-{rows[0][2]}-{rows[0][3]}"
    decided = verdict.Verdict(event.allowed, event.reason, due_at=due_at, late_minutes=late)
    return Checked(event, decided, name, room, decided.text(policy))
