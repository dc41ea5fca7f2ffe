"""Gates and what a gate device keeps to decide offline, scoped to the acting user.

Who works a gate: platform admins, officials, compound managers, grid workers and volunteers of the
gate's compound. Residents do not (403); a gate outside the user's area is not found (404).
"""

import datetime
import json
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import DataError, connection
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.access import signing, verdict
from tongxin.access.models import AccessPolicy, Gate, Outing, Pass
from tongxin.access.selectors.policy import policy_for, strictest_rank, to_verdict_policy
from tongxin.accounts.models import Role
from tongxin.core.db import prepared_cursor
from tongxin.core.scoping import scope_q
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.status import SEVERITY, status_from_row, status_recompute
from tongxin.registry.models import Building, Compound, Household, Resident, Unit

GATE_ROLES = frozenset(
    {Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER}
)
MOVED_OUT = Resident.Presence.MOVED_OUT


def works_gates(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in GATE_ROLES)


def gates_visible(user):
    """The gates of the compounds the user sees, for the roles that work gates (none otherwise)."""
    if not works_gates(user):
        return Gate.objects.none()
    return Gate.objects.filter(compound__in=Compound.objects.filter(scope_q(user, "compound")))


def gate_get(user, gate_id: int) -> Gate:
    """The gate a user works at, with its compound: 403 for a role that does not work gates, 404
    for a gate outside the user's area (or none at all)."""
    if not works_gates(user):
        raise PermissionDenied(_("当前角色不能值守卡口"))
    try:
        gate = gates_visible(user).filter(pk=gate_id).select_related("compound").first()
    except (ValueError, TypeError, OverflowError):
        gate = None
    if gate is None:
        raise Http404
    return gate


# -- a resident's status as the gate reads it ------------------------------------------------------


@dataclass(frozen=True)
class GateStatus:
    """A stored status row read for the gate at one moment."""

    color: str
    reason: str  # verdict.status_reason: "case", "isolation", "yellow" or ""
    overdue: bool
    sealed: bool
    until: datetime.datetime | None  # when `color` stops (None: open-ended, or green)
    last_sampled_at: datetime.datetime | None


def _parse(value):
    return datetime.datetime.fromisoformat(value) if value else None


def gate_status(holds: list[dict], last_sampled_at, risk_level: str, at: datetime.datetime) -> GateStatus:
    """The colour, gate reason, overdue flag and sealed flag of a stored status row at `at`, with
    the same rules as `outbreak.status.status_from_row` (which gives the colour's end); no query.

    Sealed: the row's risk level is the strictest level of the outbreak rules (封控/高风险)."""
    rules = active_rules()
    codes = []
    color = "green"
    for hold in holds:
        since, until = _parse(hold["since"]), _parse(hold["until"])
        if since <= at and (until is None or until > at):
            codes.append(hold["code"])
            if SEVERITY[hold["color"]] > SEVERITY[color]:
                color = hold["color"]
    until = status_from_row(holds, last_sampled_at, risk_level, at).until if color != "green" else None
    validity = datetime.timedelta(hours=rules.test_validity_hours)
    overdue = last_sampled_at is None or (last_sampled_at <= at and at - last_sampled_at > validity)
    level = rules.level(risk_level) if risk_level else None
    sealed = bool(level and level.rank > 0 and level.rank >= strictest_rank())
    return GateStatus(
        color=color,
        reason=verdict.status_reason(color, codes),
        overdue=overdue,
        sealed=sealed,
        until=until,
        last_sampled_at=last_sampled_at,
    )


def _epoch(moment: datetime.datetime | None) -> int | None:
    return int(moment.timestamp()) if moment is not None else None


def _statuses(compound_id: int, resident_ids: list[int]) -> dict[int, tuple]:
    """The stored status rows of these residents of the compound: one query; residents who never had
    one (registered since, no fact about them yet) get it computed and stored first, as
    `status_read` would on their first check."""
    rows = {
        row[0]: row[1:]
        for row in ResidentStatus.objects.filter(compound_id=compound_id)
        .order_by()
        .values_list("resident_id", "holds", "last_sampled_at", "risk_level")
    }
    missing = [pk for pk in resident_ids if pk not in rows]
    if missing:
        status_recompute(missing)
        rows.update(
            (row[0], row[1:])
            for row in ResidentStatus.objects.filter(resident_id__in=missing)
            .order_by()
            .values_list("resident_id", "holds", "last_sampled_at", "risk_level")
        )
    return rows


def gate_snapshot(user, gate: Gate) -> dict:
    """What a gate device keeps to decide offline (the JSON is described in api/gates.py): the public
    key, the compound's revoked passes, the live passes, the residents living in the compound
    within the user's area with their status now, and each household's exits in the policy's
    period and open outings.

    Seven queries whatever the compound's size (once every resident has a stored status: those
    who never had one get it computed first, a few queries per 2,000 of them)."""
    now = timezone.now()
    compound_id = gate.compound_id
    policy = to_verdict_policy(policy_for(compound_id))

    households = {
        pk: f"{building}-{unit}-{room}"
        for pk, building, unit, room in Household.objects.filter(compound_id=compound_id)
        .order_by()
        .values_list("pk", "building__number", "unit__number", "room")
    }
    residents = list(
        Resident.objects.filter(compound_id=compound_id)  # a gate serves its whole compound
        .exclude(presence=MOVED_OUT)
        .order_by("household_id", "pk")
        .values_list("pk", "household_id", "name")
    )
    statuses = _statuses(compound_id, [row[0] for row in residents])
    resident_rows = []
    for pk, household_id, name in residents:
        holds, last_sampled_at, risk_level = statuses.get(pk, ([], None, ""))
        status = gate_status(holds, last_sampled_at, risk_level, now)
        resident_rows.append(
            [
                pk,
                household_id,
                name,
                households.get(household_id, ""),
                status.color,
                status.reason,
                _epoch(status.until),
                _epoch(last_sampled_at),
                int(status.sealed),
            ]
        )

    revoked, passes = [], []
    for number, resident_id, household_id, revoked_at in (
        Pass.objects.filter(compound_id=compound_id, expires_at__gt=now)
        .order_by()
        .values_list("number", "resident_id", "household_id", "revoked_at")
    ):
        if revoked_at is not None:
            revoked.append(number)  # every revoked pass of the compound: a device must refuse it
        elif household_id in households:
            passes.append([number, resident_id, household_id])
    revoked.sort()
    passes.sort()

    since = now - datetime.timedelta(days=policy.exit_period_days)
    exits: dict[int, list[int]] = defaultdict(list)
    out: dict[int, list[list]] = defaultdict(list)
    for household_id, resident_id, out_at, due_at, back_at, emergency in (
        Outing.objects.filter(
            Q(compound_id=compound_id, back_at__isnull=True)
            | Q(household_id__in=list(households), out_at__gte=since, emergency=False)
        )
        .order_by("out_at")
        .values_list("household_id", "resident_id", "out_at", "due_at", "back_at", "emergency")
    ):
        if household_id not in households:
            continue
        if not emergency and out_at >= since:
            exits[household_id].append(_epoch(out_at))
        if back_at is None:
            out[household_id].append([resident_id, _epoch(out_at), _epoch(due_at)])

    stamp = now.isoformat()
    return {
        "gate": {
            "id": gate.pk,
            "name": gate.name,
            "compound": compound_id,
            "compound_name": gate.compound.name,
        },
        "generated_at": stamp,
        "server_time": stamp,
        "key": {"id": signing.key_id(), "public_key": signing.public_key_b64()},
        "policy": {
            "exits_per_household": policy.exits_per_household,
            "exit_period_days": policy.exit_period_days,
            "exit_max_minutes": policy.exit_max_minutes,
            "sealed_no_exit": policy.sealed_no_exit,
            "exit_needs_test": policy.exit_needs_test,
            "test_validity_hours": policy.test_validity_hours,
        },
        "revoked": revoked,
        "passes": passes,
        "residents": resident_rows,
        "households": {
            str(pk): {"room": room, "exits": exits.get(pk, []), "out": out.get(pk, [])}
            for pk, room in households.items()
        },
    }


# -- the check's reads: the gate's hot path ----------------------------------------------------------
#
# A check reads its gate with the compound's policy, then the pass with its holder, their stored
# status and their household's outings: two statements (three with the write), written as SQL
# once per database so that no ORM query is built per check (a gate device asks thousands of times a second at city
# scale; status_read reads its row the same way). Scoping: the actor's compound is checked on the
# gate (one query for an official, none for the others), and the residents are every resident of
# the gate's compound living there. A gate serves every building: a grid worker or volunteer whose
# own lists are limited to some buildings checks everyone at the gate they keep, or a gate that
# could not find a resident would leave them outside their home.

_SQL: dict[tuple[str, str], str] = {}


def _sql(name: str) -> str:
    key = (connection.vendor, name)
    if key not in _SQL:
        _SQL[key] = _build_sql(name)
    return _SQL[key]


def _build_sql(name: str) -> str:
    """The statements, from the models' own table names (no outside text goes into the SQL)."""
    t = {
        model.__name__: connection.ops.quote_name(model._meta.db_table)
        for model in (Gate, AccessPolicy, Pass, Resident, Household, Building, Unit, ResidentStatus, Outing)
    }
    if name == "gate":
        return (
            "SELECT g.id, g.compound_id, g.name, g.active, p.id, p.pass_per, p.pass_valid_days, "  # noqa: S608
            "p.exits_per_household, p.exit_period_days, p.exit_max_minutes, p.sealed_no_exit, "
            f"p.exit_needs_test, p.version FROM {t['Gate']} g "
            f"LEFT JOIN {t['AccessPolicy']} p ON p.compound_id = g.compound_id WHERE g.id = %s"
        )
    # A pass names its room (signed): the holder's row needs no join for it. A pick by room or
    # ID number reads the room through the household, building and unit.
    members = "r.id, r.name, r.household_id, s.resident_id, s.holds, s.last_sampled_at, s.risk_level"
    status = f"LEFT JOIN {t['ResidentStatus']} s ON s.resident_id = r.id"
    rooms = (
        f"JOIN {t['Household']} h ON h.id = r.household_id JOIN {t['Building']} b ON b.id = r.building_id "
        f"JOIN {t['Unit']} u ON u.id = r.unit_id"
    )
    living = "r.compound_id = %s AND r.presence <> %s"
    scopes = {"all": ""}  # see _scope_part
    # The household's outings ride along as one JSON column: exits within the policy's period and
    # the open ones (json_agg on PostgreSQL, json_group_array on SQLite).
    if connection.vendor == "postgresql":
        aggregate, row_of = "json_agg", "json_build_array"
    else:
        aggregate, row_of = "json_group_array", "json_array"

    def outings_of(household: str) -> str:
        return (
            f"(SELECT {aggregate}({row_of}(o.id, o.resident_id, o.out_at, o.due_at, o.back_at, o.emergency)) "  # noqa: S608
            f"FROM {t['Outing']} o WHERE o.household_id = {household} "
            "AND (o.back_at IS NULL OR (o.out_at >= %s AND o.emergency = %s)))"
        )

    kind, _sep, scope = name.partition(":")
    if kind == "pass":
        return (
            f"SELECT p.compound_id, p.resident_id, p.household_id, p.revoked_at, {outings_of('p.household_id')}, "  # noqa: S608
            f"{members} FROM {t['Pass']} p LEFT JOIN {t['Resident']} r ON r.id = p.resident_id AND {living}"
            f"{scopes[scope]} {status} WHERE p.number = %s"
        )
    if kind == "household":  # a household pass's members: its room and outings came with the pass
        return (
            f"SELECT {members} FROM {t['Resident']} r {status} "  # noqa: S608
            f"WHERE r.household_id = %s AND {living}{scopes[scope]} ORDER BY r.id"
        )
    if kind == "resident":
        return (
            f"SELECT {outings_of('r.household_id')}, {members}, b.number, u.number, h.room "  # noqa: S608
            f"FROM {t['Resident']} r {rooms} {status} WHERE r.id = %s AND {living}{scopes[scope]}"
        )
    raise ValueError(name)


def _aware(value):
    """A datetime as the database driver gives it (SQLite: naive UTC, or text) made aware."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.datetime.fromisoformat(value)
    if value.tzinfo is None:
        value = value.replace(tzinfo=datetime.UTC)
    return value


def _scope_part(user) -> tuple[str, list]:
    """The residents' restriction within the gate's compound: none (see the comment above
    `_SQL`); the statements keep the slot so that a deployment could narrow it again."""
    return "all", []


def _gate_in_scope(user, compound_id: int) -> bool:
    role = user.role
    if role == Role.PLATFORM_ADMIN:
        return True
    if role == Role.OFFICIAL:
        return Compound.objects.filter(scope_q(user, "compound"), pk=compound_id).exists()
    return user.compound_id == compound_id


def gate_for_check(user, gate_id: int) -> tuple[Gate, AccessPolicy]:
    """`gate_get` and `policy_for` in one statement, for the check: the gate (its compound not
    loaded) and the compound's policy (as `policy_for` gives it). 403 for a
    role that does not work gates, 404 for a gate outside the user's area."""
    if not works_gates(user):
        raise PermissionDenied(_("当前角色不能值守卡口"))
    try:
        with prepared_cursor() as cursor:
            cursor.execute(_sql("gate"), [int(gate_id)])
            row = cursor.fetchone()
    except (ValueError, TypeError, OverflowError, DataError):
        row = None
    if row is None or not _gate_in_scope(user, row[1]):
        raise Http404
    gate = Gate(id=row[0], compound_id=row[1], name=row[2], active=bool(row[3]))
    gate._state.adding = False
    if row[4] is None:
        policy = AccessPolicy(compound_id=row[1])
    else:
        policy = AccessPolicy(
            id=row[4],
            compound_id=row[1],
            pass_per=row[5],
            pass_valid_days=row[6],
            exits_per_household=row[7],
            exit_period_days=row[8],
            exit_max_minutes=row[9],
            sealed_no_exit=bool(row[10]),
            exit_needs_test=bool(row[11]),
            version=row[12],
        )
        policy._state.adding = False
    return gate, policy


@dataclass(frozen=True)
class Member:
    """A resident as the check reads them, with their stored status row (None: never stored)."""

    pk: int
    name: str
    household_id: int
    room: str
    status: tuple | None  # (holds, last_sampled_at, risk_level)


@dataclass(frozen=True)
class PassRow:
    compound_id: int
    resident_id: int | None
    household_id: int
    revoked_at: datetime.datetime | None


def _member(row, room: str | None) -> Member | None:
    """A member row: (id, name, household, status of, holds, last sampled, risk level) and, when
    `room` is None, (building, unit, room) read with it."""
    pk, name, household_id, status_of, holds, last_sampled_at, risk_level = row[:7]
    if pk is None:
        return None
    status = None
    if status_of is not None:
        if isinstance(holds, str | bytes):
            holds = json.loads(holds)
        status = (holds, _aware(last_sampled_at), risk_level)
    if room is None:
        room = "{}-{}-{}".format(*row[7:10])
    return Member(pk, name, household_id, room, status)


@dataclass(frozen=True)
class HouseholdOutings:
    exits: int  # non-emergency exits within the policy's period
    over_time: bool  # someone of the household is out past their time
    open: list[tuple]  # (id, resident id or None, out_at, due_at) of the open outings

    def open_of(self, resident_id: int | None) -> list[tuple]:
        return [o for o in self.open if o[1] == resident_id]

    def due_of(self, resident_id: int | None) -> datetime.datetime | None:
        """When the person's latest open outing was due back (None: not out, or no limit)."""
        mine = self.open_of(resident_id)
        return max(mine, key=lambda o: o[2])[3] if mine else None


@dataclass(frozen=True)
class Found:
    """Who a check is about, as its statement read them."""

    members: list[Member]  # the resident, or a household pass's residents (see household_for_check)
    outings: HouseholdOutings | None = None  # their household's, when a household was found
    pass_row: PassRow | None = None  # by pass: its row (None: no pass with that number)


def _window(at: datetime.datetime, period_days: int) -> tuple[datetime.datetime, list]:
    since = at - datetime.timedelta(days=period_days)
    return since, [connection.ops.adapt_datetimefield_value(since), False]


def pass_for_check(user, compound_id: int, number: str, room: str, *, at, period_days: int) -> Found:
    """The pass with this number, its household's outings (`household_outings`) and, for a
    resident's pass, its holder if they live in the compound within the user's area, with the room
    the pass names (a household pass: no member; see `household_for_check`). One statement."""
    scope, scope_params = _scope_part(user)
    since, window = _window(at, period_days)
    with prepared_cursor() as cursor:
        cursor.execute(_sql(f"pass:{scope}"), [*window, compound_id, MOVED_OUT, *scope_params, number])
        row = cursor.fetchone()
    if row is None:
        return Found([])
    member = _member(row[5:], room)
    return Found(
        [member] if member else [],
        household_outings(row[4], at, since),
        PassRow(row[0], row[1], row[2], _aware(row[3])),
    )


def household_for_check(user, compound_id: int, household_id: int, room: str) -> list[Member]:
    """A household pass's members living in the compound within the user's area, with the room
    the pass names (the household's outings came with the pass)."""
    scope, scope_params = _scope_part(user)
    with prepared_cursor() as cursor:
        cursor.execute(_sql(f"household:{scope}"), [household_id, compound_id, MOVED_OUT, *scope_params])
        rows = cursor.fetchall()
    return [m for m in (_member(row, room) for row in rows) if m is not None]


def resident_for_check(user, compound_id: int, resident_id, *, at, period_days: int) -> Found:
    """The resident picked by room or name (or found by ID number) if they live in the compound
    within the user's area, with their room and their household's outings. One statement."""
    try:
        value = int(resident_id)
    except (TypeError, ValueError):
        return Found([])
    if not -(2**63) <= value < 2**63:
        return Found([])
    scope, scope_params = _scope_part(user)
    since, window = _window(at, period_days)
    with prepared_cursor() as cursor:
        cursor.execute(_sql(f"resident:{scope}"), [*window, value, compound_id, MOVED_OUT, *scope_params])
        row = cursor.fetchone()
    if row is None:
        return Found([])
    return Found([_member(row[1:], None)], household_outings(row[0], at, since))


def household_outings(rows, at: datetime.datetime, since: datetime.datetime) -> HouseholdOutings:
    """The household's exits within the period before `at` (emergencies not counted) and its
    outings open at `at`, from the statement's JSON rows `[id, resident, out, due, back, emergency]`."""
    if isinstance(rows, str | bytes):
        rows = json.loads(rows)
    exits, over_time, open_ = 0, False, []
    for pk, resident_id, out_at, due_at, back_at, emergency in rows or ():
        out_at, due_at = _aware(out_at), _aware(due_at)
        if not emergency and since <= out_at <= at:
            exits += 1
        if back_at is None and out_at <= at:
            open_.append((pk, resident_id, out_at, due_at))
            if due_at is not None and due_at < at:
                over_time = True
    return HouseholdOutings(exits, over_time, open_)


# Advisory-lock class of a household's exits (pg_advisory_xact_lock's first key).
_EXITS_LOCK = 7201


def household_exits_locked(household_id: int, at: datetime.datetime, period_days: int) -> int:
    """The household's non-emergency exits since the period before `at` began (one stamped a moment
    after `at` by another gate counts too), counted under a lock held until the caller's
    transaction ends, so that two gates letting the same household out at the same moment count
    each other. PostgreSQL: an advisory lock, then the count in its own statement, which sees what
    a transaction that held the lock committed. SQLite: the caller's transaction is IMMEDIATE (the
    settings' transaction mode): it holds the database's write lock from its start."""
    since = at - datetime.timedelta(days=period_days)
    with prepared_cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [_EXITS_LOCK, int(household_id) % 2**31])
            cursor.fetchone()
        cursor.execute(
            f"SELECT count(*) FROM {Outing._meta.db_table} "  # noqa: S608
            "WHERE household_id = %s AND out_at >= %s AND emergency = %s",
            [int(household_id), connection.ops.adapt_datetimefield_value(since), False],
        )
        return cursor.fetchone()[0]
