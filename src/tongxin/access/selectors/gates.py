"""Gates and what a gate device keeps to decide offline, scoped to the acting user.

Who works a gate: platform admins, officials, compound managers, grid workers and volunteers of the
gate's compound. Residents do not (403); a gate outside the user's area is not found (404).
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.access import signing, verdict
from tongxin.access.models import Gate, Outing, Pass
from tongxin.access.selectors.policy import policy_for, strictest_rank, to_verdict_policy
from tongxin.accounts.models import Role
from tongxin.core.scoping import scope_q
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.status import SEVERITY, status_from_row, status_recompute
from tongxin.registry.models import Compound, Household, Resident

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
        for pk, building, unit, room in Household.objects.filter(
            scope_q(user, "household"), compound_id=compound_id
        )
        .order_by()
        .values_list("pk", "building__number", "unit__number", "room")
    }
    residents = list(
        Resident.objects.filter(scope_q(user, "resident"), compound_id=compound_id)
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
