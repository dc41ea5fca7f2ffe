"""Writes of entry passes: issue one, issue the missing ones of a compound (or a building, a unit),
reissue (the old pass revoked, a new number), revoke.

Who: compound managers, grid workers, officials and platform admins, in their scope (a grid worker
their buildings); `actor=None` is the system (demo loader, the moved-out listener).

A pass is the resident's, or the household's when the compound's policy issues one per household
(`AccessPolicy.pass_per`). A live pass is one not revoked and not expired: a holder has at most one
(the database refuses a second unrevoked one), so a pass found expired is revoked as reissued when
its holder gets a new one. Numbers are random, unique, from an alphabet without the characters a
volunteer would misread (0/O, 1/I).
"""

import datetime
import secrets

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.access.models import Pass
from tongxin.access.selectors.passes import room_label
from tongxin.access.selectors.policy import policy_of
from tongxin.access.signing import sign_pass
from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Building, Compound, Household, Resident, Unit

ALPHABET = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
NUMBER_LENGTH = 10
PASS_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER})
REISSUE_REASONS = (Pass.Revoked.LOST, Pass.Revoked.REISSUED)
REVOKE_REASONS = (Pass.Revoked.LOST, Pass.Revoked.MOVED_OUT, Pass.Revoked.OTHER)
MOVED_OUT = Resident.Presence.MOVED_OUT


def may_manage_passes(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in PASS_ROLES)


def new_number() -> str:
    return "".join(secrets.choice(ALPHABET) for _index in range(NUMBER_LENGTH))


def _unused_numbers(count: int) -> list[str]:
    """`count` fresh numbers none of which is taken (one query; a clash is drawn again)."""
    numbers: set[str] = set()
    while len(numbers) < count:
        wanted = {new_number() for _index in range(count - len(numbers))} - numbers
        taken = set(Pass.objects.filter(number__in=wanted).values_list("number", flat=True))
        numbers |= wanted - taken
    return list(numbers)


def live_q(now: datetime.datetime | None = None) -> Q:
    return Q(revoked_at__isnull=True, expires_at__gt=now or timezone.now())


def pass_code(pass_: Pass) -> str:
    """The signed text the pass's QR code carries (select the household with its building and
    unit to spare the two reads)."""
    return sign_pass(
        number=pass_.number,
        compound_id=pass_.compound_id,
        room=room_label(pass_.household),
        expires_at=pass_.expires_at,
    )


def _require(actor, *, compound_id: int, household_id: int | None = None, resident_id: int | None = None):
    if actor is None:
        return
    if not may_manage_passes(actor):
        raise PermissionDenied(_("当前角色不能管理出入证"))
    visible = Compound.objects.filter(scope_q(actor, "compound"), pk=compound_id).exists()
    if visible and household_id is not None:
        visible = Household.objects.filter(scope_q(actor, "household"), pk=household_id).exists()
    if visible and resident_id is not None:
        visible = Resident.objects.filter(scope_q(actor, "resident"), pk=resident_id).exists()
    if not visible:
        raise PermissionDenied(_("无权管理该住户的出入证"))


def _revoke_expired(holder: Q, now: datetime.datetime, actor) -> int:
    """Revoke the unrevoked but expired passes of these holders (as reissued), so that the new
    pass is the only unrevoked one."""
    return Pass.objects.filter(holder, revoked_at__isnull=True, expires_at__lte=now).update(
        revoked_at=now, revoked_reason=Pass.Revoked.REISSUED, revoked_by=actor if actor else None
    )


def _create(*, actor, household: Household, resident: Resident | None, valid_days: int) -> Pass:
    now = timezone.now()
    holder = Q(resident=resident) if resident is not None else Q(household=household, resident__isnull=True)
    _revoke_expired(holder, now, actor)
    current = Pass.objects.filter(holder, revoked_at__isnull=True).first()
    if current is not None:
        raise ValidationError(
            _("%(holder)s已有有效出入证（证号%(number)s），如需换证请补发")
            % {"holder": resident.name if resident else str(household), "number": current.number},
            code="live_pass",
        )
    pass_ = Pass(
        number=_unused_numbers(1)[0],
        compound_id=household.compound_id,
        household=household,
        resident=resident,
        issued_at=now,
        expires_at=now + datetime.timedelta(days=valid_days),
        issued_by=actor,
    )
    try:
        with transaction.atomic():
            pass_.save()
    except IntegrityError:  # another manager issued it a moment ago
        raise ValidationError(
            _("%(holder)s已有有效出入证，请刷新后查看")
            % {"holder": resident.name if resident else str(household)},
            code="live_pass",
        ) from None
    return pass_


@transaction.atomic
def pass_issue(*, actor, resident: Resident | None = None, household: Household | None = None) -> Pass:
    """Issue a pass to a resident, or to a household where the compound issues one per household."""
    if (resident is None) == (household is None):
        raise ValidationError(_("请选择一位居民或一户"))
    compound_id = resident.compound_id if resident is not None else household.compound_id
    _require(
        actor,
        compound_id=compound_id,
        household_id=household.pk if household is not None else None,
        resident_id=resident.pk if resident is not None else None,
    )
    policy = policy_of(Compound.objects.get(pk=compound_id))
    if policy.pass_per == policy.PassPer.RESIDENT and resident is None:
        raise ValidationError(_("本小区每人一证，请为居民发证"))
    if policy.pass_per == policy.PassPer.HOUSEHOLD and household is None:
        raise ValidationError(_("本小区每户一证，请为住户发证"))
    if resident is not None:
        resident = Resident.objects.select_related("household").get(pk=resident.pk)
        if resident.presence == MOVED_OUT:
            raise ValidationError(_("%(name)s已搬离，不能发证") % {"name": resident.name})
        household = resident.household
    elif not Resident.objects.filter(household=household).exclude(presence=MOVED_OUT).exists():
        raise ValidationError(_("%(household)s没有在住居民，不能发证") % {"household": household})
    pass_ = _create(actor=actor, household=household, resident=resident, valid_days=policy.pass_valid_days)
    audit(actor=actor, action="pass_issue", obj=pass_, label=f"{pass_.number} {resident or household}")
    return pass_


@transaction.atomic
def passes_issue_missing(
    *, actor, compound: Compound, building: Building | None = None, unit: Unit | None = None
) -> int:
    """Issue a pass to every resident living there (not moved out), or every household with a
    resident living there, who has no live pass; returns how many were issued."""
    _require(actor, compound_id=compound.pk)
    if building is not None and building.compound_id != compound.pk:
        raise ValidationError(_("楼栋不属于该小区"))
    if unit is not None and (
        unit.compound_id != compound.pk or (building and unit.building_id != building.pk)
    ):
        raise ValidationError(_("单元不属于该小区"))
    policy = policy_of(compound)
    now = timezone.now()
    place = Q(compound=compound)
    if building is not None:
        place &= Q(building=building)
    if unit is not None:
        place &= Q(unit=unit)
    live = Pass.objects.filter(revoked_at__isnull=True, expires_at__gt=now)
    if policy.pass_per == policy.PassPer.RESIDENT:
        scope = scope_q(actor, "resident") if actor is not None else Q()
        holders = list(
            Resident.objects.filter(scope, place)
            .exclude(presence=MOVED_OUT)
            .exclude(Exists(live.filter(resident=OuterRef("pk"))))
            .order_by("pk")
            .values_list("pk", "household_id")
        )
        _revoke_expired(Q(resident_id__in=[pk for pk, _household in holders]), now, actor)
        rows = [(household_id, resident_id) for resident_id, household_id in holders]
    else:
        scope = scope_q(actor, "household") if actor is not None else Q()
        living = Resident.objects.filter(household=OuterRef("pk")).exclude(presence=MOVED_OUT)
        household_ids = list(
            Household.objects.filter(scope, place, Exists(living))
            .exclude(Exists(live.filter(household=OuterRef("pk"), resident__isnull=True)))
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        _revoke_expired(Q(household_id__in=household_ids, resident__isnull=True), now, actor)
        rows = [(household_id, None) for household_id in household_ids]
    if not rows:
        return 0
    expires_at = now + datetime.timedelta(days=policy.pass_valid_days)
    numbers = _unused_numbers(len(rows))
    passes = [
        Pass(
            number=number,
            compound_id=compound.pk,
            household_id=household_id,
            resident_id=resident_id,
            issued_at=now,
            expires_at=expires_at,
            issued_by=actor,
        )
        for number, (household_id, resident_id) in zip(numbers, rows, strict=True)
    ]
    try:
        with transaction.atomic():
            Pass.objects.bulk_create(passes, batch_size=500)
    except IntegrityError:
        raise ValidationError(_("其他人正在为这些住户发证，请刷新后重试"), code="live_pass") from None
    audit(
        actor=actor,
        action="pass_issue",
        obj=compound,
        label=f"{compound} {unit or building or ''}".strip(),
        detail={
            "issued": len(passes),
            "per": policy.pass_per,
            "building": building.pk if building else None,
            "unit": unit.pk if unit else None,
        },
    )
    return len(passes)


def _revoke(*, actor, pass_: Pass, reason: str, now: datetime.datetime) -> Pass:
    written = Pass.objects.filter(pk=pass_.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason, revoked_by=actor
    )
    if not written:
        raise ValidationError(_("出入证%(number)s已注销") % {"number": pass_.number}, code="revoked")
    pass_.revoked_at, pass_.revoked_reason, pass_.revoked_by = now, reason, actor
    return pass_


@transaction.atomic
def pass_revoke(*, actor, pass_: Pass, reason: str) -> Pass:
    """Revoke a pass (lost, moved out, other): gates refuse it from their next snapshot on."""
    if reason not in REVOKE_REASONS:
        raise ValidationError(_("请选择注销原因"))
    _require(
        actor, compound_id=pass_.compound_id, household_id=pass_.household_id, resident_id=pass_.resident_id
    )
    _revoke(actor=actor, pass_=pass_, reason=reason, now=timezone.now())
    audit(actor=actor, action="pass_revoke", obj=pass_, reason=reason)
    return pass_


@transaction.atomic
def pass_reissue(*, actor, pass_: Pass, reason: str) -> Pass:
    """Revoke the pass (lost, or replaced) and issue its holder a new one; returns the new pass."""
    if reason not in REISSUE_REASONS:
        raise ValidationError(_("请选择补发原因"))
    _require(
        actor, compound_id=pass_.compound_id, household_id=pass_.household_id, resident_id=pass_.resident_id
    )
    if pass_.resident_id is not None:
        resident = Resident.objects.select_related("household").get(pk=pass_.resident_id)
        if resident.presence == MOVED_OUT or resident.household_id != pass_.household_id:
            raise ValidationError(_("%(name)s已搬离，不能补发，请注销") % {"name": resident.name})
    else:
        resident = None
    household = resident.household if resident else Household.objects.get(pk=pass_.household_id)
    if (
        resident is None
        and not Resident.objects.filter(household=household).exclude(presence=MOVED_OUT).exists()
    ):
        raise ValidationError(_("%(household)s没有在住居民，不能补发，请注销") % {"household": household})
    _revoke(actor=actor, pass_=pass_, reason=reason, now=timezone.now())
    policy = policy_of(Compound.objects.get(pk=pass_.compound_id))
    new = _create(actor=actor, household=household, resident=resident, valid_days=policy.pass_valid_days)
    audit(
        actor=actor,
        action="pass_reissue",
        obj=new,
        label=f"{new.number} {resident or household}",
        reason=reason,
        detail={"old": pass_.number},
    )
    return new


@transaction.atomic
def passes_printed(
    *,
    actor,
    compound: Compound,
    cards: int,
    building: Building | None = None,
    unit: Unit | None = None,
    pass_id: int | None = None,
    ip: str | None = None,
) -> None:
    """Record a print of pass cards (names, rooms and QR codes, up to hundreds of them): how
    many, and of which building, unit or single pass. The page checked the actor and chose the
    cards; this writes the audit row."""
    label = f"{compound} {building or ''}{f'{unit.number}单元' if unit else ''}".strip()
    audit(
        actor=actor,
        action="export",
        obj=compound,
        label=label,
        fields="pass_card",
        detail={
            "cards": cards,
            "building": building.pk if building else None,
            "unit": unit.pk if unit else None,
            "pass": pass_id,
        },
        ip=ip,
    )


def revoke_passes_of_moved(resident_ids: list[int]) -> int:
    """The registry's moved listener (inside its transaction): revoke the live passes of residents
    who moved out or to another household, and the household passes of their households where
    no one lives any more."""
    now = timezone.now()
    moved = Q(resident__presence=MOVED_OUT) | ~Q(resident__household_id=F("household_id"))
    personal = list(
        Pass.objects.filter(moved, resident_id__in=resident_ids, revoked_at__isnull=True).values_list(
            "pk", flat=True
        )
    )
    # Household passes stay live while someone lives in the household. The registry names the
    # residents, not the households they left, so every live household pass of their compounds is
    # looked at (one indexed query; a move is one person's event).
    compound_ids = set(Resident.objects.filter(pk__in=resident_ids).values_list("compound_id", flat=True))
    living = Resident.objects.filter(household_id=OuterRef("household_id")).exclude(presence=MOVED_OUT)
    empty = list(
        Pass.objects.filter(compound_id__in=compound_ids, resident__isnull=True, revoked_at__isnull=True)
        .exclude(Exists(living))
        .values_list("pk", flat=True)
    )
    ids = personal + empty
    if not ids:
        return 0
    revoked = Pass.objects.filter(pk__in=ids, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=Pass.Revoked.MOVED_OUT, revoked_by=None
    )
    audit(
        actor=None,
        action="pass_revoke",
        object_type="access.pass",
        label=_("居民搬离，出入证注销"),
        reason=Pass.Revoked.MOVED_OUT,
        detail={"passes": ids, "residents": list(resident_ids)},
    )
    return revoked
