"""The day's delivery list (配送清单) as .xlsx: one row per request in building, unit and room
order, what to bring, a masked phone to call, an empty column to sign; then what stock it takes.

Cells that would start with = + - @ are kept as text ("'" first): a detail typed as
"=HYPERLINK(…)" must never run when the sheet is opened.
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook

from tongxin.core.spreadsheets import cell as safe_cell
from tongxin.core.spreadsheets import workbook_bytes


def write_day_list(day, *, compound) -> bytes:
    from tongxin.supplies.selectors.requests import contact_phone, line_label

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("配送清单"))
    headers = [
        _("楼栋"),
        _("单元"),
        _("房号"),
        _("类别"),
        _("物品"),
        _("说明"),
        _("优先"),
        _("状态"),
        _("电话"),
        _("签收"),
    ]
    sheet.append([safe_cell(sheet, header, bold=True) for header in headers])
    for building in day.buildings:
        for group in building.units:
            for request in group.requests:
                household = request.household
                values = [
                    household.unit.building.number,
                    household.unit.number,
                    household.room,
                    request.get_kind_display(),
                    "；".join(line_label(line) for line in request.lines.all()),
                    request.detail,
                    _("优先") if request.urgent else "",
                    request.get_state_display(),
                    contact_phone(request),
                    "",
                ]
                sheet.append(
                    [
                        safe_cell(sheet, value, text=index in (0, 1, 2, 8))
                        for index, value in enumerate(values)
                    ]
                )
    sheet.append([])
    sheet.append(
        [safe_cell(sheet, header, bold=True) for header in (_("物资"), _("需要"), _("库存"), _("单位"), "")]
    )
    for need in day.needs:
        sheet.append(
            [
                safe_cell(sheet, need.item),
                safe_cell(sheet, float(need.need)),
                safe_cell(sheet, float(need.stock)),
                safe_cell(sheet, need.unit_label),
                safe_cell(sheet, _("库存不足") if need.short else ""),
            ]
        )
    return workbook_bytes(workbook)


def day_list_file_name(compound) -> str:
    return f"{compound.name}{timezone.localdate():%Y%m%d}配送清单.xlsx"
