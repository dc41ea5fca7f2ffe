"""Care visits: a cadre or grid worker logs a visit to a vulnerable resident (what was brought,
notes, when the next one is due); the overdue list exported for the phone calls and doors."""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core import spreadsheets
from tongxin.core.audit import audit
from tongxin.core.sync import CLOCK_SKEW
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Compound, Resident
from tongxin.supplies.models import CareVisit
from tongxin.supplies.selectors.care import care_overdue, may_see_care, visit_days

BROUGHT_MAX = CareVisit._meta.get_field("brought").max_length
NOTES_MAX = CareVisit._meta.get_field("notes").max_length
# A phone's clock a little ahead of the server's is not a visit in the future.
OLDEST = datetime.timedelta(days=365)
NEXT_DUE_MAX_DAYS = 366
# The same visit sent twice (a double tap, a resend after a dropped answer) is told, not stored twice.
DUPLICATE_WINDOW = datetime.timedelta(minutes=10)


def _visible_resident(actor, resident_id: int) -> Resident:
    """The resident as the actor may see them (404 outside their scope), for staff only (403)."""
    if not registry_selectors.residents_visible(actor).filter(pk=resident_id).exists():
        raise Http404
    if not may_see_care(actor):
        raise PermissionDenied(_("当前角色不能记录探访"))
    # Locked so that two entries of the same visit at once are told apart (one stored, one told).
    return Resident.objects.select_for_update().get(pk=resident_id)


def care_visit_log(
    *,
    actor,
    resident: Resident,
    visited_at: datetime.datetime | None = None,
    brought: str = "",
    notes: str = "",
    next_due: datetime.date | None = None,
) -> CareVisit:
    """Log a visit to `resident` by `actor`. `visited_at` defaults to now and may be up to a year
    back (a visit written down on paper first), never ahead; `next_due` defaults to the visit's
    day plus the compound's interval and must come after the visit."""
    now = timezone.now()
    visited_at = visited_at or now
    if timezone.is_naive(visited_at):
        raise ValidationError(_("探访时间缺少时区"), code="naive_time")
    if visited_at > now + CLOCK_SKEW:
        raise ValidationError(_("探访时间不能晚于现在"), code="future")
    if visited_at < now - OLDEST:
        raise ValidationError(_("探访时间不能早于一年前"), code="too_old")
    brought = (brought or "").strip()
    notes = (notes or "").strip()
    if len(brought) > BROUGHT_MAX:
        raise ValidationError(_("带去物品最多 %(max)s 个字") % {"max": BROUGHT_MAX}, code="brought_too_long")
    if len(notes) > NOTES_MAX:
        raise ValidationError(_("情况记录最多 %(max)s 个字") % {"max": NOTES_MAX}, code="notes_too_long")
    visit_day = timezone.localdate(visited_at)
    with transaction.atomic():
        locked = _visible_resident(actor, resident.pk)
        if locked.presence == Resident.Presence.MOVED_OUT:
            raise ValidationError(
                _("%(name)s已搬离本小区，不能记录探访") % {"name": locked.name}, code="moved_out"
            )
        if next_due is None:
            next_due = visit_day + datetime.timedelta(days=visit_days(locked.compound_id))
        if next_due <= visit_day:
            raise ValidationError(_("下次探访日期必须晚于本次探访"), code="next_due_not_after_visit")
        if next_due > visit_day + datetime.timedelta(days=NEXT_DUE_MAX_DAYS):
            raise ValidationError(_("下次探访日期不能超过本次探访后一年"), code="next_due_too_far")
        same = (
            CareVisit.objects.filter(
                resident_id=locked.pk,
                visited_by=actor,
                visited_at__gte=visited_at - DUPLICATE_WINDOW,
                visited_at__lte=visited_at + DUPLICATE_WINDOW,
            )
            .order_by("-visited_at")
            .first()
        )
        if same is not None:
            raise ValidationError(
                _("%(time)s已记录过这次探访，未重复记录")
                % {"time": timezone.localtime(same.visited_at).strftime("%m-%d %H:%M")},
                code="duplicate",
            )
        visit = CareVisit.objects.create(
            compound_id=locked.compound_id,
            resident=locked,
            visited_at=visited_at,
            visited_by=actor,
            brought=brought,
            notes=notes,
            next_due=next_due,
        )
        audit(
            actor=actor,
            action="create",
            obj=visit,
            label=_("探访 %(name)s") % {"name": locked.name},
            detail={
                "resident": locked.pk,
                "visited_at": visited_at.isoformat(),
                "next_due": next_due.isoformat(),
            },
        )
    return visit


# -- the overdue list as .xlsx -------------------------------------------------------------------

TEXT_COLUMNS = ("building", "unit", "room", "phone")


def _cell(sheet, key: str, value, *, bold: bool = False):
    return spreadsheets.cell(sheet, value, bold=bold, text=key in TEXT_COLUMNS)


def _tags(resident: Resident) -> str:
    return "、".join(resident.tags())


def care_overdue_export(
    *,
    actor,
    compound: Compound,
    group: str = "",
    building_id: int | None = None,
    unit_id: int | None = None,
    ip: str | None = None,
) -> tuple[bytes, str]:
    """The overdue list as .xlsx (its bytes and a file name), rows as on the page, phones masked.
    Audited with the count and the filter."""
    from openpyxl import Workbook

    today = timezone.localdate()
    rows = list(care_overdue(actor, compound, group, building_id=building_id, unit_id=unit_id, today=today))
    cols = [
        ("name", _("姓名")),
        ("building", _("楼栋")),
        ("unit", _("单元")),
        ("room", _("房号")),
        ("phone", _("手机号")),
        ("age", _("年龄")),
        ("tags", _("重点人群")),
        ("last_visited", _("上次探访")),
        ("last_by", _("探访人")),
        ("last_brought", _("带去物品")),
        ("next_due", _("应探访日期")),
        ("note", _("备注")),
    ]
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("逾期未探访名单"))
    sheet.append([_cell(sheet, key, header, bold=True) for key, header in cols])
    for person in rows:
        household = person.household
        values = {
            "name": person.name,
            "building": household.unit.building.number,
            "unit": household.unit.number,
            "room": household.room,
            "phone": person.phone_masked,
            "age": person.age(today),
            "tags": _tags(person),
            "last_visited": (
                timezone.localtime(person.last_visited_at).strftime("%Y-%m-%d %H:%M")
                if person.last_visited_at
                else str(_("从未探访"))
            ),
            "last_by": person.last_visited_by or "",
            "last_brought": person.last_brought or "",
            "next_due": person.next_due.isoformat() if person.next_due else "",
            "note": "",
        }
        sheet.append([_cell(sheet, key, values[key]) for key, _header in cols])
    content = spreadsheets.workbook_bytes(workbook)
    with transaction.atomic():
        audit(
            actor=actor,
            action="export",
            obj=compound,
            fields="care_overdue",
            detail={
                "group": group,
                "building": building_id,
                "unit": unit_id,
                "count": len(rows),
                "phones": "masked",
            },
            ip=ip,
        )
    return content, f"{compound.name}{today:%Y%m%d}逾期未探访名单.xlsx"
