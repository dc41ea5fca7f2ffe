"""Writes of a compound's exit policy: compound managers, officials and platform admins in their
scope; `actor=None` is the system (demo loader). Edited with the version the editor saw, so that
two people changing it at once do not overwrite each other silently."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.access.models import AccessPolicy
from tongxin.access.selectors.policy import POLICY_FIELDS
from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.outbreak.errors import StaleEdit
from tongxin.registry.models import Compound

POLICY_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER})


def may_edit_policy(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in POLICY_ROLES)


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _clean(fields: dict) -> dict:
    unknown = set(fields) - set(POLICY_FIELDS)
    if unknown:
        raise ValidationError(_("不能修改的字段：%(f)s") % {"f": "、".join(sorted(unknown))})
    errors = {}
    if "pass_per" in fields and fields["pass_per"] not in AccessPolicy.PassPer.values:
        errors["pass_per"] = _("请选择发证方式")
    if "pass_valid_days" in fields and not (
        _is_int(fields["pass_valid_days"]) and 1 <= fields["pass_valid_days"] <= 366
    ):
        errors["pass_valid_days"] = _("出入证有效天数应在1到366之间")
    if "exit_period_days" in fields and not (
        _is_int(fields["exit_period_days"]) and 1 <= fields["exit_period_days"] <= 30
    ):
        errors["exit_period_days"] = _("外出周期应在1到30天之间")
    people = fields.get("exits_per_household")
    if people is not None and not (_is_int(people) and 1 <= people <= 20):
        errors["exits_per_household"] = _("每户外出人次应在1到20之间，不限请留空")
    minutes = fields.get("exit_max_minutes")
    if minutes is not None and not (_is_int(minutes) and 10 <= minutes <= 24 * 60):
        errors["exit_max_minutes"] = _("每次外出时限应在10到1440分钟之间，不限请留空")
    for flag in ("sealed_no_exit", "exit_needs_test"):
        if flag in fields and not isinstance(fields[flag], bool):
            errors[flag] = _("请选择是或否")
    if errors:
        raise ValidationError(errors)
    return fields


@transaction.atomic
def policy_set(*, actor, compound: Compound, expected_version: int, **fields) -> AccessPolicy:
    """Set the compound's policy if it is still at `expected_version`, the version the editor read
    (`selectors.policy.policy_for`: the defaults, never saved, are version 1 and the first save
    makes it 2, like every later one); otherwise StaleEdit (HTTP 409) and nothing is written.
    Compound managers, officials and platform admins in their area; `actor=None` is the system."""
    version = expected_version
    if actor is not None and (
        not may_edit_policy(actor)
        or not Compound.objects.filter(scope_q(actor, "compound"), pk=compound.pk).exists()
    ):
        raise PermissionDenied(_("当前角色不能修改出入政策"))
    fields = _clean(fields)
    current = AccessPolicy.objects.filter(compound=compound).first()
    if (current.version if current else 1) != version:
        raise StaleEdit()
    if current is None:
        policy = AccessPolicy(compound=compound, updated_by=actor, version=2, **fields)
        try:
            with transaction.atomic():
                policy.save()
        except IntegrityError:
            raise StaleEdit() from None
        changed = sorted(fields)
    else:
        changed = sorted(k for k, v in fields.items() if getattr(current, k) != v)
        written = AccessPolicy.objects.filter(pk=current.pk, version=version).update(
            version=F("version") + 1, updated_by=actor, updated_at=timezone.now(), **fields
        )
        if not written:
            raise StaleEdit()
        policy = AccessPolicy.objects.get(pk=current.pk)
    audit(
        actor=actor,
        action="policy_update",
        obj=policy,
        fields=",".join(changed),
        detail={k: fields[k] for k in changed},
    )
    return policy


def policy_update(*, actor, compound: Compound, version: int, **fields) -> AccessPolicy:
    """`policy_set` under the name the policy page calls it by."""
    return policy_set(actor=actor, compound=compound, expected_version=version, **fields)
