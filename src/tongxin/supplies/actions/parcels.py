"""Parcels: logged at the gate, disinfected, held for the compound's hold time, then delivered or
refused.

Every state change is a conditional UPDATE on the state read (`WHERE state = ...`): of two
volunteers marking the same parcel at once, one wins and the other is told who did it and when,
and nothing of theirs is written. Volunteers do all of it (`HANDS_OUT`), on the households they
see (`selectors.parcels.parcels_visible`).
"""

import datetime
import math
import uuid
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.sync import CLOCK_SKEW
from tongxin.core.uploads import IMAGES, file_kind
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Compound, Household
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.selectors.parcels import households_for_intake, parcels_visible, room_label, who
from tongxin.supplies.selectors.scope import HANDS_OUT, require_compound
from tongxin.supplies.selectors.settings import settings_of

MAX_PIECES = 99
MAX_BATCH = 200
MAX_ID = 2**63 - 1
PHOTO_KINDS = {"jpg": "image/jpeg", "png": "image/png", "webp": "image/webp"}


# -- checks ---------------------------------------------------------------------------------------


def photo_kind(head: bytes) -> str | None:
    """ "jpg", "png" or "webp" from the file's first bytes, None otherwise (a PDF is no photo)."""
    kind = file_kind(head)
    return kind if kind in IMAGES else None


def checked_photo(photo) -> ContentFile | None:
    """The uploaded photo as a file with a fresh random name, after checking its size and kind
    by its bytes (a name or a content type says nothing): JPEG, PNG or WebP within
    TONGXIN_PHOTO_MAX_BYTES. None when there is no photo."""
    if photo is None:
        return None
    limit = settings.TONGXIN_PHOTO_MAX_BYTES
    size = getattr(photo, "size", None)
    if size is not None and size > limit:
        raise _photo_too_large(limit)
    if hasattr(photo, "seek"):
        photo.seek(0)
    data = photo.read(limit + 1) if hasattr(photo, "read") else bytes(photo)
    if len(data) > limit:
        raise _photo_too_large(limit)
    if not data:
        raise ValidationError({"photo": ValidationError(_("照片是空文件"), code="photo_empty")})
    kind = photo_kind(data[:16])
    if kind is None:
        raise ValidationError(
            {"photo": ValidationError(_("照片只能是JPEG、PNG或WebP图片"), code="photo_type")}
        )
    return ContentFile(data, name=f"{uuid.uuid4().hex}.{kind}")


def _photo_too_large(limit: int) -> ValidationError:
    return ValidationError(
        {
            "photo": ValidationError(
                _("照片不能超过%(mb)sMB") % {"mb": f"{limit / 1024 / 1024:g}"}, code="photo_size"
            )
        }
    )


def _pieces(value) -> int:
    try:
        pieces = int(value)
    except (TypeError, ValueError):
        pieces = 0
    if isinstance(value, bool) or not 1 <= pieces <= MAX_PIECES:
        raise ValidationError(
            {"pieces": ValidationError(_("件数应为1到%(max)s的整数") % {"max": MAX_PIECES}, code="pieces")}
        )
    return pieces


def _text(value, *, name: str, limit: int, label: str) -> str:
    text = " ".join(str(value or "").split())
    if len(text) > limit:
        raise ValidationError(
            {
                name: ValidationError(
                    _("%(label)s不能超过%(n)s个字") % {"label": label, "n": limit}, code="too_long"
                )
            }
        )
    return text


def _moment(at: datetime.datetime | None) -> datetime.datetime:
    now = timezone.now()
    if at is None:
        return now
    if timezone.is_naive(at):
        raise ValidationError(_("时间须带时区"), code="naive_time")
    if at > now + CLOCK_SKEW:
        raise ValidationError(_("时间不能晚于现在"), code="future_time")
    return at


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%m-%d %H:%M")


def _household(actor, compound: Compound, household: Household | int | None, lookup: str) -> Household:
    """The household named by id (checked within the compound and the actor's scope) or by the
    lookup text; a phone naming several households asks which (code "several_households")."""
    if household is not None:
        household_id = household.pk if isinstance(household, Household) else household
        try:
            found = registry_selectors.household_get(actor, int(household_id))
        except (Http404, TypeError, ValueError, OverflowError):
            raise ValidationError(
                {"household": ValidationError(_("找不到该房号"), code="unknown_room")}
            ) from None
        if found.compound_id != compound.pk:
            raise ValidationError(
                {"household": ValidationError(_("住户不属于该小区"), code="other_compound")}
            )
        return found
    try:
        found = households_for_intake(actor, compound, lookup)
    except ValidationError as error:
        raise ValidationError({"lookup": error.error_list}) from None
    if len(found) > 1:
        raise ValidationError(
            {
                "lookup": ValidationError(
                    _("该手机号对应%(n)s户：%(rooms)s，请选择一户")
                    % {"n": len(found), "rooms": "、".join(room_label(h) for h in found)},
                    code="several_households",
                    params={"households": [h.pk for h in found]},
                )
            }
        )
    return found[0]


# -- intake ---------------------------------------------------------------------------------------


def parcel_intake(
    *,
    actor,
    compound: Compound,
    household: Household | int | None = None,
    lookup: str = "",
    courier: str = "",
    tracking_number: str = "",
    pieces: int = 1,
    note: str = "",
    photo=None,
    at: datetime.datetime | None = None,
) -> Parcel:
    """Log one parcel at the gate for a household named by room, phone or id."""
    require_compound(actor, compound.pk, roles=HANDS_OUT)
    home = _household(actor, compound, household, lookup)
    fields = {
        "courier": _text(courier, name="courier", limit=50, label=_("快递公司")),
        "tracking_number": _text(tracking_number, name="tracking_number", limit=50, label=_("运单号")),
        "pieces": _pieces(pieces),
        "note": _text(note, name="note", limit=200, label=_("备注")),
    }
    received_at = _moment(at)
    picture = checked_photo(photo)
    with transaction.atomic():
        parcel = Parcel.objects.create(
            compound=compound,
            household=home,
            received_at=received_at,
            received_by=actor,
            photo=picture or "",
            **fields,
        )
        _audit_intake(actor, parcel, home)
    return parcel


def _audit_intake(actor, parcel: Parcel, home: Household) -> None:
    audit(
        actor=actor,
        action="create",
        obj=parcel,
        label=f"{room_label(home)} {parcel}",
        detail={"household": home.pk, "pieces": parcel.pieces, "photo": bool(parcel.photo)},
    )


@dataclass(frozen=True)
class BatchLine:
    """One parcel of a courier's batch: for whom (room or phone, or a household id), and what."""

    lookup: str = ""
    household: int | None = None
    tracking_number: str = ""
    pieces: int = 1
    note: str = ""


def parse_batch(text: str) -> list[BatchLine]:
    """A courier's batch typed one parcel a line: "room-or-phone [tracking number] [pieces]",
    e.g. "3-2-301 SF1234567 2" or "13812345678". Blank lines are skipped."""
    lines = []
    for raw in (text or "").splitlines():
        words = raw.split()
        if not words:
            continue
        lookup, rest = words[0], words[1:]
        pieces: int | str = 1
        if rest and rest[-1].isascii() and rest[-1].isdigit() and len(rest[-1]) <= 3:
            pieces = int(rest.pop())
        tracking = rest[0] if rest else ""
        note = " ".join(rest[1:])
        lines.append(BatchLine(lookup=lookup, tracking_number=tracking, pieces=pieces, note=note))
    return lines


def parcels_intake(
    *,
    actor,
    compound: Compound,
    courier: str = "",
    lines: list[BatchLine],
    at: datetime.datetime | None = None,
) -> list[Parcel]:
    """Log a courier's batch at once: every line is checked first, and one bad line (an unknown
    room, a phone of several households) writes nothing, the error naming its line."""
    require_compound(actor, compound.pk, roles=HANDS_OUT)
    if not lines:
        raise ValidationError({"lines": ValidationError(_("请至少填写一件快递"), code="batch_empty")})
    if len(lines) > MAX_BATCH:
        raise ValidationError(
            {"lines": ValidationError(_("一批最多%(max)s件") % {"max": MAX_BATCH}, code="batch_too_large")}
        )
    courier = _text(courier, name="courier", limit=50, label=_("快递公司"))
    received_at = _moment(at)
    checked = []
    for number, line in enumerate(lines, start=1):
        try:
            home = _household(actor, compound, line.household, line.lookup)
            fields = {
                "tracking_number": _text(
                    line.tracking_number, name="tracking_number", limit=50, label=_("运单号")
                ),
                "pieces": _pieces(line.pieces),
                "note": _text(line.note, name="note", limit=200, label=_("备注")),
            }
        except ValidationError as error:
            message = "；".join(m for messages in error.message_dict.values() for m in messages)
            code = next(iter(error.error_dict.values()))[0].code
            raise ValidationError(
                {
                    "lines": ValidationError(
                        _("第%(n)s行（%(text)s）：%(error)s")
                        % {"n": number, "text": line.lookup or line.household, "error": message},
                        code=code,
                    )
                }
            ) from None
        checked.append((home, fields))
    with transaction.atomic():
        parcels = Parcel.objects.bulk_create(
            [
                Parcel(
                    compound=compound,
                    household=home,
                    courier=courier,
                    received_at=received_at,
                    received_by=actor,
                    **fields,
                )
                for home, fields in checked
            ]
        )
        if any(p.pk is None for p in parcels):  # a backend that does not return ids on bulk insert
            parcels = list(
                Parcel.objects.filter(compound=compound, received_by=actor, received_at=received_at).order_by(
                    "pk"
                )
            )
        audit(
            actor=actor,
            action="create",
            object_type="supplies.parcel",
            object_id=",".join(str(p.pk) for p in parcels)[:200],
            label=_("%(courier)s 一批%(n)s件") % {"courier": courier or _("快递"), "n": len(parcels)},
            detail={"parcels": [p.pk for p in parcels], "households": [h.pk for h, _f in checked]},
        )
    return parcels


# -- state changes ----------------------------------------------------------------------------------


def _already(parcel: Parcel) -> ValidationError:
    """What to tell the second of two people marking the same parcel: who did what, when."""
    if parcel.state == ParcelState.DISINFECTED:
        by, at = parcel.disinfected_by, parcel.disinfected_at
    elif parcel.state in (ParcelState.DELIVERED, ParcelState.REFUSED):
        by, at = parcel.handed_by, parcel.handed_at
    else:
        by, at = parcel.received_by, parcel.received_at
    return ValidationError(
        _("该快递（%(room)s）已由%(who)s于%(at)s标记为“%(state)s”")
        % {
            "room": room_label(parcel.household),
            "who": who(by),
            "at": _local(at),
            "state": parcel.get_state_display(),
        },
        code="already_" + parcel.state,
    )


def _reload(parcel_id: int) -> Parcel:
    return Parcel.objects.select_related(
        "household__unit", "household__building", "disinfected_by", "handed_by", "received_by"
    ).get(pk=parcel_id)


def _visible(actor, parcel_ids) -> list[Parcel]:
    try:
        ids = sorted({int(pk) for pk in parcel_ids})
    except (TypeError, ValueError):
        raise Http404 from None
    if any(not 0 < pk <= MAX_ID for pk in ids):  # no such parcel, and too large for the database
        raise Http404
    if not ids:
        raise ValidationError(_("请选择要消杀的快递"), code="nothing_selected")
    if len(ids) > MAX_BATCH:
        raise ValidationError(_("一次最多%(max)s件") % {"max": MAX_BATCH}, code="too_many")
    found = list(
        parcels_visible(actor)
        .filter(pk__in=ids)
        .select_related("compound", "household__unit", "household__building", "disinfected_by", "handed_by")
    )
    if len(found) != len(ids):
        raise Http404
    return found


def parcels_disinfect(*, actor, parcels: list[int], at: datetime.datetime | None = None) -> list[Parcel]:
    """Mark parcels disinfected (one or a whole batch): ready at `at` + their compound's hold time.
    A parcel no longer waiting for disinfection (marked meanwhile by someone else, or delivered)
    refuses the whole batch, naming who did it; nothing is written."""
    found = _visible(actor, parcels)
    for compound_id in {p.compound_id for p in found}:
        require_compound(actor, compound_id, roles=HANDS_OUT)
    at = _moment(at)
    for parcel in found:
        if parcel.state != ParcelState.RECEIVED:
            raise _already(parcel)
        if at < parcel.received_at:
            raise ValidationError(
                _("消杀时间不能早于登记时间（%(at)s）") % {"at": _local(parcel.received_at)},
                code="before_intake",
            )
    holds = {p.compound_id: settings_of(p.compound).parcel_hold_minutes for p in found}
    with transaction.atomic():
        for compound_id, hold in holds.items():
            ids = [p.pk for p in found if p.compound_id == compound_id]
            changed = Parcel.objects.filter(pk__in=ids, state=ParcelState.RECEIVED).update(
                state=ParcelState.DISINFECTED,
                disinfected_at=at,
                disinfected_by=actor,
                ready_at=at + datetime.timedelta(minutes=hold),
            )
            if changed != len(ids):
                taken = (
                    Parcel.objects.filter(pk__in=ids)
                    .exclude(state=ParcelState.RECEIVED)
                    .order_by("pk")
                    .first()
                )
                raise _already(_reload(taken.pk))
        audit(
            actor=actor,
            action="update",
            object_type="supplies.parcel",
            object_id=",".join(str(p.pk) for p in found)[:200],
            label=_("消杀%(n)s件快递") % {"n": len(found)},
            fields="state,disinfected_at,ready_at",
            detail={
                "parcels": [p.pk for p in found],
                "state": ParcelState.DISINFECTED,
                "hold_minutes": holds,
            },
        )
    return list(
        Parcel.objects.filter(pk__in=[p.pk for p in found])
        .select_related("household__unit", "household__building")
        .order_by("pk")
    )


def _hand(actor, parcel_id, *, state: str, at, reason: str = "") -> Parcel:
    parcel = _visible(actor, [getattr(parcel_id, "pk", parcel_id)])[0]
    require_compound(actor, parcel.compound_id, roles=HANDS_OUT)
    at = _moment(at)
    expected = parcel.state
    if expected in (ParcelState.DELIVERED, ParcelState.REFUSED):
        raise _already(parcel)
    conditions = {"pk": parcel.pk, "state": expected}
    if expected != ParcelState.DISINFECTED:
        # A parcel reaches a household, or is turned down by it, only once disinfected.
        message = (
            _("该快递尚未消杀，不能配送") if state == ParcelState.DELIVERED else _("该快递尚未消杀，请先消杀")
        )
        raise ValidationError(message, code="not_disinfected")
    if state == ParcelState.DELIVERED:
        if at < parcel.ready_at:
            left = math.ceil((parcel.ready_at - at).total_seconds() / 60)
            raise ValidationError(
                _("还需静置%(n)s分钟（%(at)s后可配送）") % {"n": left, "at": _local(parcel.ready_at)},
                code="still_holding",
            )
        conditions["ready_at__lte"] = at
    elif at < parcel.disinfected_at:
        raise ValidationError(_("时间不能早于消杀时间"), code="before_disinfection")
    with transaction.atomic():
        changed = Parcel.objects.filter(**conditions).update(
            state=state, handed_at=at, handed_by=actor, refusal_reason=reason
        )
        if not changed:
            raise _already(_reload(parcel.pk))
        parcel = _reload(parcel.pk)
        audit(
            actor=actor,
            action="update",
            obj=parcel,
            label=f"{room_label(parcel.household)} {parcel}",
            fields="state,handed_at",
            reason=reason,
            detail={"from": expected, "to": state},
        )
    return parcel


def parcel_deliver(*, actor, parcel: Parcel | int, at: datetime.datetime | None = None) -> Parcel:
    """Hand a ready parcel over (at the door or at the pick-up point). Refused for a parcel not yet
    disinfected, or still held ("还需静置N分钟")."""
    return _hand(actor, parcel, state=ParcelState.DELIVERED, at=at)


def parcel_refuse(*, actor, parcel: Parcel | int, reason: str, at: datetime.datetime | None = None) -> Parcel:
    """The household turns the disinfected parcel down (at the door or the pick-up point, held or
    not); a reason is required."""
    reason = _text(reason, name="reason", limit=200, label=_("拒收原因"))
    if not reason:
        raise ValidationError({"reason": ValidationError(_("请填写拒收原因"), code="reason_required")})
    return _hand(actor, parcel, state=ParcelState.REFUSED, at=at, reason=reason)
