"""Writes of cases, contacts, transfers, isolations, check-ins and the follow-up list's samples:
keyword-only, one transaction, audited, and followed by a recompute of the status of every
resident the write concerns (`status.status_recompute`)."""

import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.audit import audit
from tongxin.core.documents import DocumentError, parse_mobile
from tongxin.core.masking import mask_phone
from tongxin.outbreak.actions.areas import area_restart_for_case
from tongxin.outbreak.actions.status import test_fact_record
from tongxin.outbreak.errors import StaleEdit
from tongxin.outbreak.models import TestFact
from tongxin.outbreak.status import status_recompute

# -- cases, contacts, transfers, isolations, check-ins -------------------------------------------

TEMPERATURE_MIN = Decimal("34.0")
TEMPERATURE_MAX = Decimal("43.0")
# Stored in Chinese whatever the page language; labels are translated where shown.
SYMPTOMS = {
    "fever": gettext_noop("发热"),
    "cough": gettext_noop("咳嗽"),
    "sore_throat": gettext_noop("咽痛"),
    "fatigue": gettext_noop("乏力"),
    "runny_nose": gettext_noop("流涕"),
    "aches": gettext_noop("肌肉酸痛"),
    "diarrhoea": gettext_noop("腹泻"),
    "smell_taste": gettext_noop("嗅觉/味觉减退"),
}


def _recompute(resident_ids) -> None:
    """Recompute the stored status of the residents a write concerns."""
    ids = sorted({pk for pk in resident_ids if pk})
    if ids:
        status_recompute(ids)


def _in_health_scope(actor, model, pk) -> bool:
    from tongxin.outbreak.selectors import health_scope_q

    return model.objects.filter(health_scope_q(actor, model), pk=pk).exists()


def _require_health_compound(actor, compound) -> None:
    """The actor works with health data and sees this compound (system actions pass actor=None)."""
    from tongxin.core.scoping import scope_q
    from tongxin.registry.models import Compound

    if actor is None:
        return
    if (
        not actor.sees_health_data
        or not Compound.objects.filter(scope_q(actor, "compound"), pk=compound.pk).exists()
    ):
        raise PermissionDenied(_("无权处理该小区的病例和密接信息"))


def _require_place(actor, *, building_id) -> None:
    """A grid worker registers people only in the buildings assigned to them."""
    from tongxin.core.scoping import building_ids

    if actor is not None and actor.role == Role.GRID_WORKER and building_id not in building_ids(actor):
        raise PermissionDenied(_("无权登记负责楼栋以外的人员"))


def _require_record(actor, record) -> None:
    if actor is None:
        return
    if not actor.sees_health_data or not _in_health_scope(actor, type(record), record.pk):
        raise PermissionDenied(_("无权处理该记录"))


def _person_fields(
    *, compound, resident=None, name="", phone="", building=None, unit=None, household=None
) -> dict:
    """Who the record is about: a registered resident, or a person described by name and place."""
    if resident is not None:
        if resident.compound_id != compound.pk:
            raise ValidationError({"resident": _("该居民不属于本小区")})
        return {
            "resident": resident,
            "name": resident.name,
            "phone_cipher": resident.phone_cipher,
            "phone_masked": resident.phone_masked,
            "building_id": resident.building_id,
            "unit_id": resident.unit_id,
            "household_id": resident.household_id,
        }
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("请填写姓名或选择居民")})
    try:
        phone = parse_mobile(phone) if phone else ""
    except DocumentError as error:
        raise ValidationError({"phone": str(error)}) from None
    if household is not None:
        unit = unit or household.unit
        if household.unit_id != unit.pk:
            raise ValidationError({"household": _("户与单元不一致")})
    if unit is not None:
        building = building or unit.building
        if unit.building_id != building.pk:
            raise ValidationError({"unit": _("单元与楼栋不一致")})
    if building is not None and building.compound_id != compound.pk:
        raise ValidationError({"building": _("楼栋不属于本小区")})
    return {
        "resident": None,
        "name": name[:50],
        "phone_cipher": crypto.encrypt(phone),
        "phone_masked": mask_phone(phone),
        "building_id": building.pk if building else None,
        "unit_id": unit.pk if unit else None,
        "household_id": household.pk if household else None,
    }


def _check_confirmed_on(confirmed_on, resident=None, sampled_at=None) -> None:
    """Not in the future, not before the person was born, sampled no later than confirmed.

    A case may be confirmed before the resident was entered in the registry (registries were built
    during the outbreak), so the registration date is not a bound; the birth date is.
    """
    today = timezone.localdate()
    if confirmed_on > today:
        raise ValidationError({"confirmed_on": _("确诊日期不能晚于今天")})
    if resident is not None and resident.birth_date and confirmed_on < resident.birth_date:
        raise ValidationError({"confirmed_on": _("确诊日期不能早于出生日期")})
    if sampled_at is not None:
        if sampled_at > timezone.now():
            raise ValidationError({"sampled_at": _("采样时间不能晚于现在")})
        if timezone.localdate(sampled_at) > confirmed_on:
            raise ValidationError({"sampled_at": _("采样时间不能晚于确诊日期")})


def _case_create(*, actor, compound, confirmed_on, source, sampled_at=None, note="", **person):
    from tongxin.outbreak.models import Case

    if source not in Case.Source.values:
        raise ValidationError({"source": _("请选择阳性来源")})
    fields = _person_fields(compound=compound, **person)
    _require_place(actor, building_id=fields["building_id"])
    _check_confirmed_on(confirmed_on, fields["resident"], sampled_at)
    if (
        fields["resident"] is not None
        and Case.objects.filter(resident=fields["resident"], outcome=Case.Outcome.ACTIVE).exists()
    ):
        raise ValidationError({"resident": _("该居民已登记为阳性病例")})
    case = Case.objects.create(
        compound=compound,
        confirmed_on=confirmed_on,
        source=source,
        sampled_at=sampled_at,
        note=(note or "")[:500],
        created_by=actor if getattr(actor, "pk", None) else None,
        **fields,
    )
    audit(
        actor=actor, action="create", obj=case, detail={"confirmed_on": str(confirmed_on), "source": source}
    )
    area_restart_for_case(actor=actor, case=case)
    return case


@transaction.atomic
def case_register(
    *,
    actor,
    compound,
    confirmed_on: datetime.date,
    source: str,
    resident=None,
    name: str = "",
    phone: str = "",
    building=None,
    unit=None,
    household=None,
    sampled_at: datetime.datetime | None = None,
    note: str = "",
):
    """Register a positive case, resident or not. Restarts the risk-area clocks where it lives."""
    _require_health_compound(actor, compound)
    case = _case_create(
        actor=actor,
        compound=compound,
        confirmed_on=confirmed_on,
        source=source,
        sampled_at=sampled_at,
        note=note,
        resident=resident,
        name=name,
        phone=phone,
        building=building,
        unit=unit,
        household=household,
    )
    _recompute([case.resident_id])
    return case


def _versioned_update(model, record, version: int, fields: dict):
    """UPDATE ... WHERE version = expected: of two writers holding the same version one wins, the
    other is refused with StaleEdit and writes nothing."""
    updated = model.objects.filter(pk=record.pk, version=version).update(version=F("version") + 1, **fields)
    if not updated:
        raise StaleEdit()
    record.refresh_from_db()
    return record


CASE_EDITABLE = ("confirmed_on", "sampled_at", "source", "note", "name", "phone")


@transaction.atomic
def case_update(*, actor, case, version: int, **changes):
    """Change a case's date, sampling time, source, note (and a non-resident's name or phone)."""
    from tongxin.outbreak.models import Case

    _require_record(actor, case)
    unknown = set(changes) - set(CASE_EDITABLE)
    if unknown:
        raise ValidationError(_("不能修改的字段：%(f)s") % {"f": "、".join(sorted(unknown))})
    fields = {}
    if "source" in changes:
        if changes["source"] not in Case.Source.values:
            raise ValidationError({"source": _("请选择阳性来源")})
        fields["source"] = changes["source"]
    if "note" in changes:
        fields["note"] = (changes["note"] or "")[:500]
    if case.resident_id is None:
        if "name" in changes:
            if not (changes["name"] or "").strip():
                raise ValidationError({"name": _("请填写姓名或选择居民")})
            fields["name"] = changes["name"].strip()[:50]
        if "phone" in changes:
            try:
                phone = parse_mobile(changes["phone"]) if changes["phone"] else ""
            except DocumentError as error:
                raise ValidationError({"phone": str(error)}) from None
            fields.update(phone_cipher=crypto.encrypt(phone), phone_masked=mask_phone(phone))
    confirmed_on = changes.get("confirmed_on", case.confirmed_on)
    sampled_at = changes.get("sampled_at", case.sampled_at)
    _check_confirmed_on(confirmed_on, case.resident, sampled_at)
    fields.update(confirmed_on=confirmed_on, sampled_at=sampled_at)
    moved = confirmed_on != case.confirmed_on
    case = _versioned_update(Case, case, version, fields)
    audit(actor=actor, action="update", obj=case, fields=",".join(sorted(changes)))
    if moved:  # a later date moves the clocks; never backwards
        area_restart_for_case(actor=actor, case=case)
    _recompute([case.resident_id])
    return case


@transaction.atomic
def case_transfer(*, actor, case, version: int, taken_to: str, place: str, taken_at: datetime.datetime):
    """Where the case was taken (hospital, shelter, home) and when."""
    from tongxin.outbreak.models import Case

    _require_record(actor, case)
    if taken_to not in Case.TakenTo.values or not taken_to:
        raise ValidationError({"taken_to": _("请选择转运去向")})
    if taken_at > timezone.now():
        raise ValidationError({"taken_at": _("转运时间不能晚于现在")})
    if timezone.localdate(taken_at) < case.confirmed_on - datetime.timedelta(days=1):
        raise ValidationError({"taken_at": _("转运时间不能早于确诊日期")})
    case = _versioned_update(
        Case,
        case,
        version,
        {"taken_to": taken_to, "taken_to_place": (place or "").strip()[:100], "taken_at": taken_at},
    )
    audit(
        actor=actor, action="transfer", obj=case, detail={"taken_to": taken_to, "place": case.taken_to_place}
    )
    _recompute([case.resident_id])
    return case


@transaction.atomic
def case_set_outcome(*, actor, case, version: int, outcome: str, on: datetime.date | None = None):
    from tongxin.outbreak.models import Case

    _require_record(actor, case)
    if outcome not in Case.Outcome.values:
        raise ValidationError({"outcome": _("请选择转归")})
    on = on or timezone.localdate()
    if outcome == Case.Outcome.ACTIVE:
        on = None
    elif on < case.confirmed_on or on > timezone.localdate():
        raise ValidationError({"outcome_on": _("转归日期应在确诊日期与今天之间")})
    case = _versioned_update(Case, case, version, {"outcome": outcome, "outcome_on": on})
    audit(actor=actor, action="outcome", obj=case, detail={"outcome": outcome, "on": str(on) if on else None})
    _recompute([case.resident_id])
    return case


def _same_person(contact_fields: dict, case) -> bool:
    if contact_fields["resident"] is not None or case.resident_id is not None:
        return contact_fields["resident"] is not None and contact_fields["resident"].pk == case.resident_id
    if contact_fields["name"] != case.name:
        return False
    return crypto.decrypt(contact_fields["phone_cipher"]) == crypto.decrypt(case.phone_cipher)


@transaction.atomic
def contact_register(
    *,
    actor,
    cases,
    identified_on: datetime.date,
    resident=None,
    name: str = "",
    phone: str = "",
    building=None,
    unit=None,
    household=None,
    kind: str = "close",
    last_exposure_on: datetime.date | None = None,
    note: str = "",
):
    """A close (or secondary) contact exposed to one or more cases of the same compound."""
    from tongxin.outbreak.models import Contact

    cases = list(cases)
    if not cases:
        raise ValidationError({"cases": _("请选择暴露的病例")})
    compound = cases[0].compound
    if any(case.compound_id != compound.pk for case in cases):
        raise ValidationError({"cases": _("所选病例须属于同一小区")})
    _require_health_compound(actor, compound)
    if kind not in Contact.Kind.values:
        raise ValidationError({"kind": _("请选择类别")})
    fields = _person_fields(
        compound=compound,
        resident=resident,
        name=name,
        phone=phone,
        building=building,
        unit=unit,
        household=household,
    )
    _require_place(actor, building_id=fields["building_id"])
    if any(_same_person(fields, case) for case in cases):
        raise ValidationError({"resident": _("密接不能是病例本人")})
    today = timezone.localdate()
    if identified_on > today:
        raise ValidationError({"identified_on": _("判定日期不能晚于今天")})
    if last_exposure_on is not None and last_exposure_on > identified_on:
        raise ValidationError({"last_exposure_on": _("末次暴露日期不能晚于判定日期")})
    if (
        fields["resident"] is not None
        and Contact.objects.filter(resident=fields["resident"], cases__in=[c.pk for c in cases]).exists()
    ):
        raise ValidationError({"resident": _("该居民已登记为所选病例的密接")})
    contact = Contact.objects.create(
        compound=compound,
        kind=kind,
        identified_on=identified_on,
        last_exposure_on=last_exposure_on,
        note=(note or "")[:500],
        created_by=actor if getattr(actor, "pk", None) else None,
        **fields,
    )
    contact.cases.set(cases)
    audit(actor=actor, action="create", obj=contact, detail={"cases": [c.pk for c in cases]})
    _recompute([contact.resident_id])
    return contact


@transaction.atomic
def contact_became_case(
    *,
    actor,
    contact,
    confirmed_on: datetime.date,
    source: str,
    sampled_at: datetime.datetime | None = None,
    note: str = "",
):
    """The contact tested positive: register the new case for the same person and link it."""
    from tongxin.outbreak.models import Contact

    _require_record(actor, contact)
    if contact.became_case_id:
        raise ValidationError(_("该密接已转为阳性病例"))
    case = _case_create(
        actor=actor,
        compound=contact.compound,
        confirmed_on=confirmed_on,
        source=source,
        sampled_at=sampled_at,
        note=note,
        resident=contact.resident,
        name=contact.name,
        phone=crypto.decrypt(contact.phone_cipher) if contact.resident_id is None else "",
        building=contact.building,
        unit=contact.unit,
        household=contact.household,
    )
    if not Contact.objects.filter(pk=contact.pk, became_case__isnull=True).update(
        became_case=case, version=F("version") + 1
    ):
        raise StaleEdit()
    contact.refresh_from_db()
    audit(actor=actor, action="became_case", obj=contact, detail={"case": case.pk})
    _recompute([contact.resident_id])
    return case


def _plan_isolations(rules, start: datetime.date) -> list[dict]:
    """A close contact's central isolation from `start` (day 1) and the home isolation after it."""
    from tongxin.outbreak.models import Isolation

    plan = rules.close_contact
    periods = []
    if plan.central_days:
        end = start + datetime.timedelta(days=plan.central_days - 1)
        periods.append(
            {
                "kind": Isolation.Kind.CENTRAL,
                "starts_on": start,
                "planned_end_on": end,
                "test_days": list(plan.central_test_days),
            }
        )
        start = end + datetime.timedelta(days=1)
    if plan.home_days:
        periods.append(
            {
                "kind": Isolation.Kind.HOME,
                "starts_on": start,
                "planned_end_on": start + datetime.timedelta(days=plan.home_days - 1),
                "test_days": list(plan.home_test_days),
            }
        )
    return periods


@transaction.atomic
def transfer_batch_create(
    *,
    actor,
    compound,
    vehicle: str,
    departed_at: datetime.datetime,
    destination: str,
    escort: str = "",
    contacts,
):
    """One trip to central isolation: each contact gets the central and home isolations of the
    close-contact plan of the active rule set, central starting on the departure date (day 1).
    No contact can leave before the day they were identified."""
    from tongxin.outbreak.models import Contact, Isolation, TransferBatch
    from tongxin.outbreak.rules import active_rules

    _require_health_compound(actor, compound)
    contacts = list(contacts)
    if not contacts:
        raise ValidationError({"contacts": _("请选择转运的密接")})
    if not (vehicle or "").strip():
        raise ValidationError({"vehicle": _("请填写车辆")})
    if not (destination or "").strip():
        raise ValidationError({"destination": _("请填写隔离点")})
    if departed_at > timezone.now() + datetime.timedelta(days=1):
        raise ValidationError({"departed_at": _("出发时间不能晚于明天")})
    if any(c.compound_id != compound.pk for c in contacts):
        raise ValidationError({"contacts": _("所选密接须属于本小区")})
    if actor is not None:
        from tongxin.outbreak.selectors import health_scope_q

        visible = set(
            Contact.objects.filter(
                health_scope_q(actor, Contact), pk__in=[c.pk for c in contacts]
            ).values_list("pk", flat=True)
        )
        if len(visible) != len({c.pk for c in contacts}):
            raise PermissionDenied(_("无权处理该记录"))
    departed_on = timezone.localdate(departed_at)
    unidentified = sorted({c.name for c in contacts if c.identified_on > departed_on})
    if unidentified:
        raise ValidationError(
            {"departed_at": _("出发时间早于密接判定日期：%(names)s") % {"names": "、".join(unidentified)}}
        )
    placed = sorted(
        Isolation.objects.filter(contact__in=contacts)
        .order_by("contact__name")
        .values_list("contact__name", flat=True)
        .distinct()
    )
    if placed:
        raise ValidationError({"contacts": _("已安排隔离：%(names)s") % {"names": "、".join(placed)}})
    batch = TransferBatch.objects.create(
        compound=compound,
        vehicle=vehicle.strip()[:50],
        departed_at=departed_at,
        destination=destination.strip()[:100],
        escort=(escort or "").strip()[:100],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    periods = _plan_isolations(active_rules(), departed_on)
    created_by = actor if getattr(actor, "pk", None) else None
    Isolation.objects.bulk_create(
        [
            Isolation(
                compound=compound,
                resident_id=contact.resident_id,
                contact=contact,
                name=contact.name,
                rule=Isolation.Rule.CLOSE_CONTACT,
                batch=batch if period["kind"] == Isolation.Kind.CENTRAL else None,
                created_by=created_by,
                **period,
            )
            for contact in contacts
            for period in periods
        ]
    )
    audit(actor=actor, action="create", obj=batch, detail={"contacts": [c.pk for c in contacts]})
    _recompute([c.resident_id for c in contacts])
    return batch


@transaction.atomic
def isolation_create(
    *,
    actor,
    compound,
    rule: str,
    starts_on: datetime.date,
    kind: str = "",
    resident=None,
    name: str = "",
    days: int | None = None,
    test_days: list[int] | None = None,
):
    """Home isolation of someone leaving a high-risk area (days and tests from the rule set), or
    health monitoring / other with explicit days."""
    from tongxin.outbreak.models import Isolation
    from tongxin.outbreak.rules import active_rules

    _require_health_compound(actor, compound)
    if rule == Isolation.Rule.HIGH_RISK_LEAVER:
        plan = active_rules().high_risk_leaver
        kind = Isolation.Kind.HOME
        days = plan.home_days
        test_days = list(plan.home_test_days)
    elif rule in (Isolation.Rule.ARRIVAL, Isolation.Rule.OTHER):
        if kind not in Isolation.Kind.values:
            raise ValidationError({"kind": _("请选择隔离方式")})
        if not days or days < 1:
            raise ValidationError({"days": _("请填写天数")})
        test_days = sorted({int(d) for d in (test_days or [])})
        if any(d < 1 or d > days for d in test_days):
            raise ValidationError({"test_days": _("检测日须在第1天到第%(n)s天之间") % {"n": days}})
    else:
        raise ValidationError({"rule": _("密接的隔离请通过转运批次安排")})
    fields = _person_fields(compound=compound, resident=resident, name=name)
    _require_place(actor, building_id=fields["building_id"])
    today = timezone.localdate()
    if starts_on > today + datetime.timedelta(days=1):
        raise ValidationError({"starts_on": _("开始日期不能晚于明天")})
    end = starts_on + datetime.timedelta(days=days - 1)
    if resident is not None and (
        Isolation.objects.filter(
            resident=resident, released_on__isnull=True, starts_on__lte=end, planned_end_on__gte=starts_on
        ).exists()
    ):
        raise ValidationError({"resident": _("该居民已有未解除的隔离或监测")})
    isolation = Isolation.objects.create(
        compound=compound,
        resident=fields["resident"],
        name=fields["name"],
        kind=kind,
        rule=rule,
        starts_on=starts_on,
        planned_end_on=end,
        test_days=test_days,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit(actor=actor, action="create", obj=isolation, detail={"rule": rule, "days": days})
    _recompute([isolation.resident_id])
    return isolation


@transaction.atomic
def isolation_release(*, actor, isolation, version: int, released_on: datetime.date, reason: str = ""):
    """Release on the planned end day; earlier or later needs a reason. Never before the start."""
    from tongxin.outbreak.models import Isolation

    _require_record(actor, isolation)
    reason = (reason or "").strip()
    if isolation.released_on is not None:
        raise ValidationError(_("该隔离已解除"))
    if released_on < isolation.starts_on:
        raise ValidationError({"released_on": _("解除日期不能早于开始日期")})
    if released_on > timezone.localdate():
        raise ValidationError({"released_on": _("解除日期不能晚于今天")})
    if released_on != isolation.planned_end_on and not reason:
        if released_on < isolation.planned_end_on:
            raise ValidationError({"reason": _("提前解除须填写原因")})
        raise ValidationError({"reason": _("延后解除须填写原因")})
    isolation = _versioned_update(
        Isolation,
        isolation,
        version,
        {
            "released_on": released_on,
            "release_reason": reason[:200],
            "released_by": actor if getattr(actor, "pk", None) else None,
        },
    )
    audit(actor=actor, action="release", obj=isolation, reason=reason, detail={"on": str(released_on)})
    _recompute([isolation.resident_id])
    return isolation


def parse_temperature(value) -> Decimal:
    try:
        temperature = Decimal(str(value).strip()).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    except (InvalidOperation, ValueError, TypeError):
        raise ValidationError({"temperature": _("请填写体温，例如36.5")}) from None
    if not temperature.is_finite() or not (TEMPERATURE_MIN <= temperature <= TEMPERATURE_MAX):
        raise ValidationError(
            {
                "temperature": _("体温应在%(low)s℃到%(high)s℃之间")
                % {"low": TEMPERATURE_MIN, "high": TEMPERATURE_MAX}
            }
        )
    return temperature


@transaction.atomic
def checkin_record(
    *,
    actor,
    temperature,
    isolation=None,
    resident=None,
    symptoms: list[str] | tuple = (),
    symptoms_text: str = "",
    at: datetime.datetime | None = None,
):
    """A daily health check-in, by staff (health roles in scope) or by a resident for their own
    household's isolation or record."""
    from tongxin.outbreak.models import HealthCheckin

    if isolation is None and resident is None:
        raise ValidationError(_("请选择打卡对象"))
    temperature = parse_temperature(temperature)
    unknown = [s for s in symptoms if s not in SYMPTOMS]
    if unknown:
        raise ValidationError({"symptoms": _("未知的症状：%(s)s") % {"s": "、".join(unknown)}})
    words = [SYMPTOMS[s] for s in SYMPTOMS if s in symptoms]
    if (symptoms_text or "").strip():
        words.append(symptoms_text.strip())
    text = "、".join(words)
    if len(text) > 200:
        raise ValidationError({"symptoms": _("症状描述过长")})
    now = timezone.now()
    at = at or now
    if at > now + datetime.timedelta(minutes=5):
        raise ValidationError({"at": _("打卡时间不能晚于现在")})
    if isolation is not None:
        if resident is not None and isolation.resident_id != resident.pk:
            raise ValidationError(_("居民与隔离记录不一致"))
        resident = isolation.resident
        if isolation.released_on is not None:
            raise ValidationError(_("该隔离已解除"))
        if timezone.localdate(at) < isolation.starts_on:
            raise ValidationError({"at": _("隔离尚未开始")})
    compound_id = isolation.compound_id if isolation is not None else resident.compound_id
    by = HealthCheckin.By.STAFF
    if actor is not None and actor.role == Role.RESIDENT:
        if resident is None or not actor.household_id or resident.household_id != actor.household_id:
            raise PermissionDenied(_("居民只能为本户成员打卡"))
        by = HealthCheckin.By.SELF
    elif actor is not None:
        if isolation is not None:
            _require_record(actor, isolation)
        else:
            from tongxin.core.scoping import scope_q
            from tongxin.registry.models import Resident

            if (
                not actor.sees_health_data
                or not Resident.objects.filter(scope_q(actor, "resident"), pk=resident.pk).exists()
            ):
                raise PermissionDenied(_("无权处理该记录"))
    checkin = HealthCheckin.objects.create(
        compound_id=compound_id,
        isolation=isolation,
        resident=resident,
        at=at,
        temperature=temperature,
        symptoms=text,
        by=by,
        recorded_by=actor if getattr(actor, "pk", None) else None,
    )
    audit(
        actor=actor,
        action="checkin",
        obj=checkin,
        object_type="outbreak.healthcheckin",
        label=isolation.name if isolation is not None else resident.name,
    )
    _recompute([resident.pk if resident is not None else None])
    return checkin


@transaction.atomic
def followup_sampled_record(*, actor, isolation, sampled_at: datetime.datetime | None = None):
    """Mark an isolated resident as sampled (result pending) from the follow-up list."""
    _require_record(actor, isolation)
    if isolation.resident_id is None:
        raise ValidationError(_("非本小区登记居民，请由隔离点记录采样"))
    return test_fact_record(
        actor=actor,
        resident=isolation.resident,
        sampled_at=sampled_at or timezone.now(),
        method=TestFact.Method.SINGLE,
        source="follow_up",
    )
