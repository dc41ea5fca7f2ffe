"""The missed list (未检名单) as .xlsx: Chinese headers in the first row, one row per person in
building, unit and room order, numbers kept as text, an empty 备注 column for the calls' outcome.

Written in openpyxl's write-only mode. Phones are written as the caller's role may see them (the
export action only lets roles that see full numbers export, and audits it).
"""

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell

from tongxin.core import spreadsheets

TEXT_COLUMNS = ("building", "unit", "room", "phone")


def columns(*, phones: bool) -> list[tuple[str, str]]:
    cols = [
        ("name", _("姓名")),
        ("building", _("楼栋")),
        ("unit", _("单元")),
        ("room", _("房号")),
    ]
    if phones:
        cols.append(("phone", _("手机号")))
    cols += [("age", _("年龄")), ("tags", _("重点人群")), ("note", _("备注"))]
    return cols


def _cell(sheet, key: str, value, *, bold: bool = False) -> WriteOnlyCell:
    return spreadsheets.cell(sheet, value, bold=bold, text=key in TEXT_COLUMNS)


def write_missed(rows, *, round_, compound, phones: bool) -> bytes:
    """`rows` are the selector's MissedPerson rows, in the order shown on the page."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("未检名单"))
    cols = columns(phones=phones)
    sheet.append([_cell(sheet, key, header, bold=True) for key, header in cols])
    today = timezone.localdate()
    for row in rows:
        values = {
            "name": row.resident.name,
            "building": row.building,
            "unit": row.unit,
            "room": row.room,
            "phone": row.phone,
            "age": row.resident.age(today),
            "tags": "、".join(label for label, _kind in row.tags),
            "note": "",
        }
        sheet.append([_cell(sheet, key, values[key]) for key, _header in cols])
    return spreadsheets.workbook_bytes(workbook)


def file_name(round_, compound) -> str:
    return f"{compound.name}{round_.day:%Y%m%d}未检名单.xlsx"
