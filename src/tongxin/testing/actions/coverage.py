"""Coverage writes: exempting a person from a round (and taking it back), and the missed list's
Excel export (a read, but one that hands personal data out of the system, so audited here)."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Resident
from tongxin.testing.models import Exemption, Sample, TestRound
from tongxin.testing.selectors.coverage import round_covers

NOTE_MAX = 200


def may_exempt(user) -> bool:
    """Grid workers, compound managers, officials and admins decide who is exempt; volunteers and
    residents do not."""
    return bool(getattr(user, "manages_registry", False))


def _check_person(actor, round_: TestRound, resident: Resident) -> Resident:
    """The resident as stored now, inside the actor's scope and the round's cover."""
    if not may_exempt(actor):
        raise PermissionDenied(_("当前角色不能设置免检"))
    fresh = Resident.objects.filter(scope_q(actor, "resident"), pk=resident.pk).first()
    if fresh is None:
        raise PermissionDenied(_("无权为该居民设置免检"))
    buildings = round_covers(round_, [fresh.compound_id]).get(fresh.compound_id)
    if buildings is None or (buildings and fresh.building_id not in buildings):
        raise ValidationError(_("%(name)s不在本轮检测范围内") % {"name": fresh.name})
    return fresh


def exemption_set(*, actor, round: TestRound, resident: Resident, reason: str, note: str = "") -> Exemption:
    """Exempt a person from a round with a reason (or change the reason of their exemption).

    Refused for someone outside the actor's area or the round's cover, for someone already sampled
    in the round, and for "other" without a note. Audited.
    """
    round_ = round
    if reason not in Exemption.Reason.values:
        raise ValidationError({"reason": _("请选择免检原因")})
    note = (note or "").strip()
    if len(note) > NOTE_MAX:
        raise ValidationError({"note": _("说明最多%(n)d个字") % {"n": NOTE_MAX}})
    if reason == Exemption.Reason.OTHER and not note:
        raise ValidationError({"note": _("原因为“其他”时请填写说明")})
    for attempt in range(2):
        try:
            with transaction.atomic():
                return _exemption_write(actor, round_, resident, reason, note)
        except IntegrityError:
            if attempt:  # the same person exempted by someone else at the same moment, twice
                raise
    raise AssertionError("unreachable")


def _exemption_write(actor, round_, resident, reason, note) -> Exemption:
    person = _check_person(actor, round_, resident)
    # Lock the person's row: a sample stored by a sampling table meanwhile waits or is seen.
    list(Resident.objects.select_for_update().filter(pk=person.pk).values_list("pk"))
    if Sample.objects.filter(round_id=round_.pk, resident_id=person.pk).exists():
        raise ValidationError(_("%(name)s本轮已采样，不能免检") % {"name": person.name})
    exemption = (
        Exemption.objects.select_for_update().filter(round_id=round_.pk, resident_id=person.pk).first()
    )
    created = exemption is None
    before = None if created else {"reason": exemption.reason, "note": exemption.note}
    if created:
        exemption = Exemption(round_id=round_.pk, resident_id=person.pk)
    elif (exemption.reason, exemption.note, exemption.compound_id) == (reason, note, person.compound_id):
        return exemption
    exemption.compound_id = person.compound_id
    exemption.reason = reason
    exemption.note = note
    exemption.created_by = actor if getattr(actor, "pk", None) else None
    exemption.save()
    audit(
        actor=actor,
        action="exemption_set",
        obj=exemption,
        label=f"{round_} {person.name}",
        reason=note,
        detail={"round": round_.pk, "resident": person.pk, "reason": reason, "before": before},
    )
    return exemption


@transaction.atomic
def exemption_clear(*, actor, round: TestRound, resident: Resident) -> bool:
    """Take a person's exemption from a round back: they are expected again. False when there
    was none (nothing written)."""
    round_ = round
    person = _check_person(actor, round_, resident)
    exemption = (
        Exemption.objects.select_for_update().filter(round_id=round_.pk, resident_id=person.pk).first()
    )
    if exemption is None:
        return False
    detail = {"round": round_.pk, "resident": person.pk, "reason": exemption.reason}
    audit(
        actor=actor, action="exemption_clear", obj=exemption, label=f"{round_} {person.name}", detail=detail
    )
    exemption.delete()
    return True


def missed_export(
    *, actor, round: TestRound, compound_id, building_id=None, unit_id=None, ip: str | None = None
) -> tuple[bytes, str]:
    """The missed list as .xlsx (the workbook's bytes and a file name), for the roles that manage
    residents: with full phones, like the page they see. Audited with the count and the filter."""
    from tongxin.testing import exporting
    from tongxin.testing.selectors.coverage import (
        covered_compound,
        index_reads,
        missed_list,
        missed_people,
        phone_mode,
    )

    if not may_exempt(actor):
        raise PermissionDenied(_("当前角色不能导出未检名单"))
    round_ = round
    compound = covered_compound(actor, round_, compound_id)
    with index_reads():
        residents = missed_list(actor, round_, compound.pk, building_id=building_id, unit_id=unit_id)
        rows = missed_people(actor, round_, residents, audit_action="")
    mode = phone_mode(actor)
    content = exporting.write_missed(rows, round_=round_, compound=compound, phones=mode != "none")
    audit(
        actor=actor,
        action="export",
        obj=round_,
        fields="missed_list,phone" if mode == "full" else "missed_list",
        detail={
            "compound": compound.pk,
            "building": building_id,
            "unit": unit_id,
            "count": len(rows),
            "phones": mode,
        },
        ip=ip,
    )
    return content, exporting.file_name(round_, compound)
