"""Residents to .xlsx with the headers the import reads, so that an exported file imports back unchanged.

Written in openpyxl's write-only mode, row by row from a streamed query. A masked export leaves the
birth date out (with the masked ID it would complete the number) and gives the age instead.
"""

import datetime
import io

from django.utils import timezone
from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

from tongxin.core import crypto
from tongxin.core.documents import make_mainland_id
from tongxin.registry.importing import FIELD_HEADERS, TAG_HEADERS
from tongxin.registry.models import Resident

TEXT = "@"
CHUNK = 2000


def _header(name: str) -> str:
    return (FIELD_HEADERS | TAG_HEADERS)[name][0]


def columns(*, revealed: bool) -> list[tuple[str, str]]:
    """(key, header) in the order written; 性别, 出生日期 and 年龄 are derived and ignored on import."""
    cols = [(name, _header(name)) for name in ("name", "document_type", "document_number", "phone")]
    cols += [(name, _header(name)) for name in ("building", "unit", "room", "relation")]
    cols += [("sex", "性别")] + ([("birth_date", "出生日期")] if revealed else []) + [("age", "年龄")]
    cols += [(tag, _header(tag)) for tag in TAG_HEADERS]
    cols += [
        (name, _header(name))
        for name in ("presence", "mobility", "arrived_on", "arrived_from", "registered_address", "note")
    ]
    return cols


def _labels() -> dict[str, dict[str, str]]:
    """Choice labels, translated once per export (get_FOO_display per row dominates the time)."""
    return {
        name: {value: str(label) for value, label in Resident._meta.get_field(name).choices}
        for name in ("document_type", "relation", "sex", "presence", "mobility")
    }


def _values(
    resident: Resident, *, revealed: bool, today: datetime.date, labels: dict[str, dict[str, str]]
) -> dict[str, object]:
    household = resident.household
    values: dict[str, object] = {
        "name": resident.name,
        "document_type": labels["document_type"].get(resident.document_type, resident.document_type),
        "document_number": crypto.decrypt(resident.document_cipher) if revealed else resident.document_masked,
        "phone": crypto.decrypt(resident.phone_cipher) if revealed else resident.phone_masked,
        "building": household.unit.building.number,
        "unit": household.unit.number,
        "room": household.room,
        "relation": labels["relation"].get(resident.relation, resident.relation),
        "sex": labels["sex"].get(resident.sex, "") if resident.sex else "",
        "birth_date": resident.birth_date,
        "age": resident.age(today),
        "presence": labels["presence"].get(resident.presence, resident.presence),
        "mobility": labels["mobility"].get(resident.mobility, resident.mobility) if resident.mobility else "",
        "arrived_on": resident.arrived_on,
        "arrived_from": resident.arrived_from,
        "registered_address": resident.registered_address,
        "note": resident.note,
    }
    values |= {tag: "是" if getattr(resident, tag) else "" for tag in TAG_HEADERS}
    return values


def _header_row(sheet, cols: list[tuple[str, str]]) -> list[WriteOnlyCell]:
    cells = []
    for _key, header in cols:
        cell = WriteOnlyCell(sheet, value=header)
        cell.font = Font(bold=True)
        cells.append(cell)
    return cells


def _data_row(sheet, cols: list[tuple[str, str]], values: dict[str, object]) -> list[WriteOnlyCell]:
    cells = []
    for key, _header_text in cols:
        value = values[key]
        if isinstance(value, str):
            value = ILLEGAL_CHARACTERS_RE.sub("", value)  # data entered elsewhere may hold control characters
        cell = WriteOnlyCell(sheet, value=value if value not in (None, "") else None)
        if key in ("document_number", "phone", "building", "unit", "room"):
            cell.number_format = TEXT
        elif isinstance(value, datetime.date):
            cell.number_format = "yyyy-mm-dd"
        cells.append(cell)
    return cells


def write_residents(residents, *, revealed: bool) -> tuple[bytes, int]:
    """The workbook's bytes and the number of residents written."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("居民"))
    cols = columns(revealed=revealed)
    sheet.append(_header_row(sheet, cols))
    today, labels = timezone.localdate(), _labels()
    count = 0
    for resident in residents.iterator(chunk_size=CHUNK):
        sheet.append(_data_row(sheet, cols, _values(resident, revealed=revealed, today=today, labels=labels)))
        count += 1
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue(), count


def template_workbook() -> bytes:
    """The import template: the headers, one example row, and a second sheet that explains them."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(_("居民"))
    cols = [(key, header) for key, header in columns(revealed=False) if key not in ("sex", "age")]
    sheet.append(_header_row(sheet, cols))
    example = {key: "" for key, _header_text in cols} | {
        "name": "张三",
        "document_type": "居民身份证",
        "document_number": make_mainland_id("150105", datetime.date(1980, 5, 17), 11),
        "phone": "13812345678",
        "building": "1",
        "unit": "1",
        "room": "101",
        "relation": "户主",
        "presence": "在住",
    }
    sheet.append(_data_row(sheet, cols, example))
    notes = workbook.create_sheet(_("填写说明"))
    for line in (
        _("第一张表的第一行是列名，从第二行起每行一位居民；示例行请替换或删除。"),
        _("必填：姓名、证件号码、楼栋、单元、房号。楼栋和单元须已在小区中建好，户按房号自动建立。"),
        _("证件号码和手机号请设为“文本”格式，否则Excel会把号码存成数字，末几位丢失。"),
        _("证件类型留空即居民身份证；也可填护照、港澳通行证、台胞证、外国人永久居留身份证、其他证件。"),
        _("标签列填“是”或留空；与户主关系填户主、配偶、子女、父母等；居住状态填在住、外出、已搬离、未核实。"),
        _("已登记的居民按证件号码匹配：留空的单元格保持原值，填写的值会更新原值。"),
    ):
        notes.append([line])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
