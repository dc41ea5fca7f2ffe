"""Every write to the registry: keyword-only, one transaction, an audit row where personal data moves."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import crypto
from tongxin.core.audit import audit
from tongxin.core.documents import (
    ID_TYPE_MAINLAND,
    DocumentError,
    parse_mainland_id,
    parse_mobile,
    parse_other_document,
)
from tongxin.core.masking import mask_id_number, mask_phone
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit


@dataclass(frozen=True)
class Document:
    """A checked document: its normalised number and what the number itself tells."""

    document_type: str
    number: str
    birth_date: datetime.date | None = None
    sex: str = ""


def document_check(document_type: str, number: object) -> Document:
    """Raise DocumentError with the reason when the number is not acceptable for its type."""
    if document_type not in Resident.DocumentType.values:
        raise DocumentError(_("未知的证件类型：%(t)s") % {"t": document_type})
    if document_type == ID_TYPE_MAINLAND:
        parsed = parse_mainland_id(number)
        return Document(document_type, parsed.number, parsed.birth_date, parsed.sex)
    return Document(document_type, parse_other_document(number))


def document_lookup_hash(document_type: str, number: str) -> str:
    return crypto.lookup_hash(f"doc:{document_type}", number)


def phone_lookup_hash(phone: str) -> str:
    return crypto.lookup_hash("phone", phone)


def protected_document_fields(document: Document) -> dict:
    return {
        "document_type": document.document_type,
        "document_cipher": crypto.encrypt(document.number),
        "document_hash": document_lookup_hash(document.document_type, document.number),
        "document_masked": mask_id_number(document.number),
    }


def protected_phone_fields(phone: str) -> dict:
    return {
        "phone_cipher": crypto.encrypt(phone),
        "phone_hash": phone_lookup_hash(phone),
        "phone_masked": mask_phone(phone),
    }


def _require_manager(
    actor, compound_id: int, *, household: Household | None = None, resident: Resident | None = None
) -> None:
    """The actor manages the registry of this compound and, when given, sees this household or resident.

    The compound alone is not enough: a grid worker manages only the buildings assigned to them.
    """
    if actor is None:  # management commands and the demo loader act as the system
        return
    if (
        not actor.manages_registry
        or not Compound.objects.filter(scope_q(actor, "compound"), pk=compound_id).exists()
        or (
            household is not None
            and not Household.objects.filter(scope_q(actor, "household"), pk=household.pk).exists()
        )
        or (
            resident is not None
            and not Resident.objects.filter(scope_q(actor, "resident"), pk=resident.pk).exists()
        )
    ):
        raise PermissionDenied(_("无权修改该小区的登记信息"))


@transaction.atomic
def area_ensure(*, level: str, code: str, name: str, parent: Area | None = None) -> Area:
    area, created = Area.objects.get_or_create(
        code=code, defaults={"level": level, "name": name, "parent": parent}
    )
    if not created and (area.name, area.level, area.parent_id) != (
        name,
        level,
        parent.pk if parent else None,
    ):
        area.name, area.level, area.parent = name, level, parent
        area.save()
    return area


@transaction.atomic
def compound_ensure(*, code: str, name: str, community: Area, address: str = "") -> Compound:
    compound, created = Compound.objects.get_or_create(
        code=code, defaults={"name": name, "community": community, "address": address}
    )
    if not created and (compound.name, compound.community_id) != (name, community.pk):
        compound.name, compound.community = name, community
        compound.save()
    return compound


@transaction.atomic
def building_ensure(*, compound: Compound, number: str, floors: int | None = None) -> Building:
    building, _created = Building.objects.get_or_create(
        compound=compound, number=str(number), defaults={"floors": floors}
    )
    return building


@transaction.atomic
def unit_ensure(*, building: Building, number: str) -> Unit:
    unit, _created = Unit.objects.get_or_create(
        building=building, number=str(number), defaults={"compound_id": building.compound_id}
    )
    return unit


@transaction.atomic
def household_ensure(*, unit: Unit, room: str) -> Household:
    household, _created = Household.objects.get_or_create(
        unit=unit, room=str(room), defaults={"building_id": unit.building_id, "compound_id": unit.compound_id}
    )
    return household


RESIDENT_PLAIN_FIELDS = (
    "name",
    "relation",
    *Resident.TAG_FIELDS,
    "presence",
    "mobility",
    "arrived_on",
    "arrived_from",
    "registered_address",
    "note",
)


@transaction.atomic
def resident_register(
    *,
    actor,
    household: Household,
    name: str,
    document_type: str = ID_TYPE_MAINLAND,
    document_number: str,
    phone: str = "",
    **fields,
) -> Resident:
    """Register a resident in a household. The document and phone are checked, then protected."""
    _require_manager(actor, household.compound_id, household=household)
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("姓名为必填项")})
    try:
        document = document_check(document_type, document_number)
    except DocumentError as error:
        raise ValidationError({"document_number": str(error)}) from None
    try:
        phone = parse_mobile(phone)
    except DocumentError as error:
        raise ValidationError({"phone": str(error)}) from None
    unknown = set(fields) - set(RESIDENT_PLAIN_FIELDS)
    if unknown:
        raise TypeError(f"unknown resident fields: {sorted(unknown)}")
    doc_hash = document_lookup_hash(document.document_type, document.number)
    other = (
        Resident.objects.filter(document_type=document.document_type, document_hash=doc_hash)
        .select_related("compound", "household__unit__building")
        .first()
    )
    if other is not None:
        visible = actor is None or Resident.objects.filter(scope_q(actor, "resident"), pk=other.pk).exists()
        if not visible:  # where someone lives outside the actor's area is not theirs to learn
            raise ValidationError({"document_number": _("该证件号码已在其他小区登记")})
        raise ValidationError(
            {
                "document_number": _("该证件号码已登记：%(where)s")
                % {"where": f"{other.compound}{other.household}"}
            }
        )
    resident = Resident(
        household=household,
        unit_id=household.unit_id,
        building_id=household.building_id,
        compound_id=household.compound_id,
        name=name,
        birth_date=document.birth_date,
        sex=document.sex,
        **protected_document_fields(document),
        **protected_phone_fields(phone),
        **fields,
    )
    resident.full_clean(
        exclude=["document_cipher", "document_hash", "document_masked", "unit", "building", "compound"]
    )
    resident.save()
    audit(actor=actor, action="create", obj=resident, fields="resident")
    return resident


def _check_plain_changes(changes: dict) -> None:
    """What full_clean lets through: null in a text column (blank=True skips it) and a future arrival."""
    errors: dict[str, list[str]] = {}
    for field, value in changes.items():
        if value is None and not Resident._meta.get_field(field).null:
            errors[field] = [_("不能为空值（null）；清空请发送空字符串")]
    arrived_on = changes.get("arrived_on")
    if arrived_on is not None and arrived_on > timezone.localdate():
        errors["arrived_on"] = [_("抵达日期不能晚于今天")]
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def resident_update(*, actor, resident: Resident, phone: str | None = None, **changes) -> Resident:
    """Change a resident's plain fields and, when given, the phone. The document is not changed here."""
    _require_manager(actor, resident.compound_id, resident=resident)
    unknown = set(changes) - set(RESIDENT_PLAIN_FIELDS)
    if unknown:
        raise TypeError(f"unknown resident fields: {sorted(unknown)}")
    _check_plain_changes(changes)
    changed = [field for field, value in changes.items() if getattr(resident, field) != value]
    moved_out = Resident.Presence.MOVED_OUT
    leaves = "presence" in changed and changes["presence"] == moved_out
    for field in changed:
        setattr(resident, field, changes[field])
    if phone is not None:
        try:
            phone = parse_mobile(phone)
        except DocumentError as error:
            raise ValidationError({"phone": str(error)}) from None
        if phone_lookup_hash(phone) != resident.phone_hash and (phone or resident.phone_hash):
            for field, value in protected_phone_fields(phone).items():
                setattr(resident, field, value)
            changed.append("phone")
    if changed:
        resident.full_clean(
            exclude=["document_cipher", "document_hash", "document_masked", "unit", "building", "compound"]
        )
        resident.save()
        audit(actor=actor, action="update", obj=resident, fields=",".join(changed))
    if leaves:  # as resident_set_presence: what is kept per home (the entry pass) follows
        residents_moved([resident.pk])
    return resident


# Modules that keep something per resident that depends on where they live (the outbreak module's
# status carries the risk level of the home) register here from their AppConfig.ready(), so the
# registry tells them about moves without importing them.
RESIDENTS_MOVED_LISTENERS: list = []


def register_residents_moved_listener(listener) -> None:
    """`listener(resident_ids)` runs inside the transaction that moved those residents."""
    if listener not in RESIDENTS_MOVED_LISTENERS:
        RESIDENTS_MOVED_LISTENERS.append(listener)


def residents_moved(resident_ids) -> None:
    ids = sorted(set(resident_ids))
    if ids:
        for listener in RESIDENTS_MOVED_LISTENERS:
            listener(ids)


@transaction.atomic
def resident_move(*, actor, resident: Resident, household: Household) -> Resident:
    """Move a resident to the household where they now live (compound, building and unit follow)."""
    _require_manager(actor, resident.compound_id, resident=resident)
    _require_manager(actor, household.compound_id, household=household)
    if household.pk == resident.household_id:
        return resident
    before = str(resident.household)
    resident.household = household
    resident.unit_id, resident.building_id, resident.compound_id = (
        household.unit_id,
        household.building_id,
        household.compound_id,
    )
    resident.save()
    audit(
        actor=actor,
        action="update",
        obj=resident,
        fields="household",
        detail={"from": before, "to": str(household)},
    )
    residents_moved([resident.pk])
    return resident


@transaction.atomic
def resident_set_presence(
    *, actor, resident: Resident, presence: str, on: datetime.date | None = None
) -> Resident:
    """Record that someone verified whether the resident lives here (door visit, call, distribution)."""
    if presence not in Resident.Presence.values:
        raise ValidationError(_("未知的居住状态：%(p)s") % {"p": presence})
    if actor is not None and (
        actor.role == "resident"
        or not Resident.objects.filter(scope_q(actor, "resident"), pk=resident.pk).exists()
    ):
        raise PermissionDenied(_("无权核实该居民"))
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError(_("核实日期不能晚于今天"))
    moved_out = Resident.Presence.MOVED_OUT
    leaves = presence == moved_out and resident.presence != moved_out
    resident.presence = presence
    resident.presence_verified_on = on
    resident.presence_verified_by = actor
    resident.save(update_fields=["presence", "presence_verified_on", "presence_verified_by", "updated_at"])
    audit(actor=actor, action="update", obj=resident, fields="presence", detail={"presence": presence})
    if leaves:  # no longer lives here: what is kept per home (the entry pass) follows
        residents_moved([resident.pk])
    return resident


REVEALABLE = {"document": "document_cipher", "phone": "phone_cipher"}


@transaction.atomic
def resident_reveal(*, actor, resident: Resident, field: str, reason: str, ip: str | None = None) -> str:
    """Decrypt one protected field for a role that may see it; every reveal is audited with its reason."""
    own_household = actor.role == "resident" and actor.household_id == resident.household_id
    if not (actor.may_see_full_data or own_household):
        raise PermissionDenied(_("当前角色不能查看完整证件号码和手机号"))
    if not Resident.objects.filter(scope_q(actor, "resident"), pk=resident.pk).exists():
        raise PermissionDenied(_("无权查看该居民"))
    if field not in REVEALABLE:
        raise ValidationError(_("不能查看该字段"))
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError(_("请填写查看原因"))
    value = crypto.decrypt(getattr(resident, REVEALABLE[field]))
    audit(actor=actor, action="reveal", obj=resident, fields=field, reason=reason, ip=ip)
    return value


# Import and export: the rows are read and checked in registry/importing.py, written there in bulk;
# the files are written in registry/exporting.py. These actions check the actor and write the audit.


def residents_import(
    *, actor, compound: Compound, file_name: str, content: bytes, dry_run: bool, valid_only: bool = False
):
    """Import residents into `compound` from an .xlsx or .csv. Returns an ImportReport.

    A dry run writes nothing. Otherwise the rows are written in one transaction, and not at all when
    any row is invalid, unless `valid_only`. One audit row (counts only) per import that was applied.
    """
    from tongxin.registry.importing import run_import

    _require_manager(actor, compound.pk)
    with transaction.atomic():
        if not dry_run:
            # One writing import per compound at a time: a second confirm of the same file waits,
            # then finds the rows already there (PostgreSQL; SQLite's immediate transactions do the same).
            list(Compound.objects.select_for_update().filter(pk=compound.pk).values_list("pk"))
        report = run_import(
            actor=actor,
            compound=compound,
            file_name=file_name,
            content=content,
            dry_run=dry_run,
            valid_only=valid_only,
        )
        if report.applied:
            audit(
                actor=actor,
                action="import",
                obj=compound,
                fields="resident",
                detail={
                    "file_name": file_name[:100],
                    "rows": report.rows,
                    "valid": report.valid,
                    "invalid_rows": report.invalid_rows,
                    "created": report.created,
                    "updated": report.updated,
                    "unchanged": report.unchanged,
                    "valid_only": valid_only,
                },
            )
    return report


@transaction.atomic
def residents_export(*, actor, compound: Compound, reveal_reason: str = "", ip: str | None = None) -> bytes:
    """The compound's residents (those the actor may see) as .xlsx; masked unless revealed with a reason."""
    from tongxin.registry.exporting import write_residents

    reveal_reason = (reveal_reason or "").strip()
    if actor is not None and not actor.manages_registry:
        raise PermissionDenied(_("当前角色不能导出居民信息"))
    _require_manager(actor, compound.pk)
    revealed = bool(reveal_reason)
    if revealed and actor is not None and not actor.may_see_full_data:
        raise PermissionDenied(_("当前角色不能导出完整证件号码和手机号"))
    if revealed and len(reveal_reason) < 2:
        raise ValidationError(_("请填写导出完整信息的原因"))
    residents = Resident.objects.filter(compound=compound)
    if actor is not None:
        residents = residents.filter(scope_q(actor, "resident"))
    residents = residents.select_related("household__unit__building").order_by(
        "building__sort_key", "building__number", "unit__sort_key", "unit__number", "household__room", "id"
    )
    content, count = write_residents(residents, revealed=revealed)
    audit(
        actor=actor,
        action="export",
        obj=compound,
        fields="resident,document,phone" if revealed else "resident",
        reason=reveal_reason,
        detail={"count": count, "masked": not revealed},
        ip=ip,
    )
    return content


@transaction.atomic
def import_upload_create(*, actor, compound: Compound, file_name: str, content: bytes):
    """Keep an upload (encrypted) for the wizard's preview and confirm; drop expired uploads on the way."""
    from django.conf import settings

    from tongxin.registry.models import ImportUpload

    _require_manager(actor, compound.pk)
    cutoff = timezone.now() - datetime.timedelta(hours=settings.TONGXIN_IMPORT_UPLOAD_HOURS)
    ImportUpload.objects.filter(created_at__lt=cutoff).delete()
    upload = ImportUpload(uploader=actor, compound=compound, file_name=file_name[:200])
    upload.content = content
    upload.save()
    return upload


@transaction.atomic
def import_upload_confirm(*, actor, upload, valid_only: bool):
    """Import a wizard upload for real; once applied the upload is deleted. Only its uploader may."""
    if upload.uploader_id != getattr(actor, "pk", None):
        raise PermissionDenied(_("只有上传人可以确认导入"))
    report = residents_import(
        actor=actor,
        compound=upload.compound,
        file_name=upload.file_name,
        content=upload.content,
        dry_run=False,
        valid_only=valid_only,
    )
    if report.applied:
        upload.delete()
    return report


@transaction.atomic
def household_verify_occupancy(
    *, actor, household: Household, occupancy: str, on: datetime.date | None = None
) -> Household:
    """Record what was found at the door (a distribution, a visit): someone lives here, or the flat
    is empty. Vacant: residents not moved out are taken as away (not moved out: the flat may be
    theirs still). Occupied says someone lives here, not who: each resident's presence is left to
    be verified on their own (`resident_set_presence`), so that a door answered does not make every
    registered name "living" and expected at the next test round."""
    if occupancy not in Household.Occupancy.values or occupancy == Household.Occupancy.UNKNOWN:
        raise ValidationError(_("未知的入住情况：%(o)s") % {"o": occupancy}, code="invalid_occupancy")
    if actor is not None and (
        actor.role == "resident"
        or not Household.objects.filter(scope_q(actor, "household"), pk=household.pk).exists()
    ):
        raise PermissionDenied(_("无权核实该住户"))
    on = on or timezone.localdate()
    if on > timezone.localdate():
        raise ValidationError(_("核实日期不能晚于今天"), code="future_date")
    before = Household.objects.filter(pk=household.pk).values_list("occupancy", flat=True).get()
    presence = ""
    changed: list[int] = []
    if occupancy == Household.Occupancy.VACANT:
        presence = Resident.Presence.AWAY
        residents = Resident.objects.filter(household=household).exclude(
            presence__in=[Resident.Presence.MOVED_OUT, Resident.Presence.AWAY]
        )
        changed = sorted(residents.values_list("pk", flat=True))
    elif before == Household.Occupancy.VACANT:
        # A flat found empty, now found lived in (a correction, or people came back): its residents
        # taken as away by the empty flat are no longer known to be away; verify them again.
        presence = Resident.Presence.UNVERIFIED
        residents = Resident.objects.filter(household=household, presence=Resident.Presence.AWAY)
        changed = sorted(residents.values_list("pk", flat=True))
    if changed:
        verified = presence != Resident.Presence.UNVERIFIED
        Resident.objects.filter(pk__in=changed).update(
            presence=presence,
            presence_verified_on=on if verified else None,
            presence_verified_by=actor if verified and getattr(actor, "pk", None) else None,
            updated_at=timezone.now(),
        )
    household.occupancy = occupancy
    household.occupancy_verified_on = on
    Household.objects.filter(pk=household.pk).update(occupancy=occupancy, occupancy_verified_on=on)
    audit(
        actor=actor,
        action="update",
        obj=household,
        fields="occupancy",
        detail={"occupancy": occupancy, "from": before, "residents": changed, "presence": presence},
    )
    return household
