"""Residents from the spreadsheets the field keeps: read, check every row, then write in bulk.

Three stages, each testable on its own:

1. `read_table` turns an .xlsx or .csv (UTF-8, UTF-8 with BOM, GBK/GB18030) into a header and rows,
   keeping the spreadsheet's own row numbers (header = its row, usually 1).
2. `parse_rows` maps the headers (Chinese or English, after NFKC and case folding) and checks each
   row on its own: documents, phones, choices, dates, required fields. No database.
3. `residents_import` checks the rows against the compound and the registry (buildings and units,
   duplicates inside the file and against the registry), then writes them: all-or-nothing, or the
   valid rows only. Residents are matched by (document type, document look-up hash).

Blank cells mean "not given": a new resident gets the default, an existing one keeps its value.
Tag columns are the exception: when a tag column (or the 标签 column) is in the file, it states the
tags, and a blank cell means 否.
"""

import csv
import datetime
import functools
import io
import math
import re
import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from tongxin.core.crypto import FieldProtector
from tongxin.core.documents import ID_TYPE_MAINLAND, DocumentError, normalise, parse_mobile
from tongxin.core.masking import mask_id_number, mask_phone
from tongxin.registry.actions import residents_moved
from tongxin.registry.models import Building, Compound, Household, Resident, Unit

BATCH_SIZE = 1000
PREVIEW_SIZE = 20
HEADER_SEARCH_ROWS = 10

# Field -> accepted headers; the first is the one exports and the template write.
FIELD_HEADERS: dict[str, tuple[str, ...]] = {
    "name": ("姓名", "name", "名字"),
    "document_type": ("证件类型", "document_type", "document type"),
    "document_number": (
        "证件号码",
        "身份证号",
        "身份证",
        "身份证号码",
        "公民身份号码",
        "证件号",
        "id_number",
        "id number",
        "document_number",
        "document number",
    ),
    "phone": ("手机号", "联系电话", "电话", "手机", "手机号码", "电话号码", "phone", "mobile"),
    "building": ("楼栋", "楼号", "楼", "楼栋号", "building"),
    "unit": ("单元", "单元号", "unit"),
    "room": ("房号", "门牌号", "房间号", "室", "房间", "room"),
    "relation": ("与户主关系", "关系", "relation"),
    "presence": ("居住状态", "presence"),
    "mobility": ("人员类别", "mobility"),
    "arrived_on": ("抵达日期", "arrived_on", "arrival date"),
    "arrived_from": ("来自", "arrived_from", "from"),
    "registered_address": ("户籍地址", "registered_address", "registered address"),
    "note": ("备注", "note", "notes"),
    "tags": ("标签", "tags"),
}
TAG_HEADERS: dict[str, tuple[str, ...]] = {
    "lives_alone": ("独居", "lives_alone", "lives alone"),
    "veteran": ("退役军人", "veteran"),
    "serious_illness": ("重病", "serious_illness", "serious illness"),
    "disabled": ("残疾", "disabled"),
    "pregnant": ("孕妇", "pregnant"),
    "infant": ("婴幼儿", "infant"),
    "regular_medication": ("长期服药", "regular_medication", "regular medication"),
    "limited_mobility": ("行动不便", "limited_mobility", "limited mobility"),
}
REQUIRED_FIELDS = ("name", "document_number", "building", "unit", "room")
TEXT_LIMITS = {"name": 50, "arrived_from": 100, "registered_address": 200, "note": 500}

DOCUMENT_TYPE_ALIASES = {
    "mainland_id": ("身份证", "二代身份证", "居民身份证", "身份证号", "mainland id", "id card"),
    "passport": ("护照",),
    "hk_macau": ("港澳通行证", "港澳居民来往内地通行证", "回乡证", "港澳居民居住证"),
    "taiwan": ("台胞证", "台湾居民来往大陆通行证", "台湾居民居住证"),
    "foreign_pr": ("外国人永久居留身份证", "外国人永久居留证", "永居证"),
    "other": ("其他", "其它", "其他证件"),
}
RELATION_ALIASES = {
    "head": ("本人", "户主本人"),
    "spouse": ("妻子", "丈夫", "妻", "夫", "爱人"),
    "child": ("儿子", "女儿", "子", "女", "长子", "长女", "次子", "次女"),
    "parent": ("父亲", "母亲", "父", "母", "爸爸", "妈妈", "岳父", "岳母", "公公", "婆婆"),
    "grandparent": ("祖父母", "外祖父母", "祖父", "祖母", "外祖父", "外祖母", "爷爷", "奶奶", "外公", "外婆"),
    "grandchild": ("孙子女", "外孙子女", "孙子", "孙女", "外孙", "外孙女"),
    "sibling": ("兄弟", "姐妹", "兄", "弟", "姐", "妹", "哥哥", "弟弟", "姐姐", "妹妹"),
    "child_in_law": ("儿媳", "女婿"),
    "tenant": ("租客", "租住", "承租人"),
    "other": ("其它",),
}
PRESENCE_ALIASES = {
    "living": ("居住", "在家", "常住"),
    "away": ("不在", "外地"),
    "moved_out": ("搬离", "已搬走", "搬走"),
    "unverified": ("未知", "待核实"),
}
MOBILITY_ALIASES = {
    "": ("常住", "常住人口", "本地"),
    "returning": ("返回", "返乡人员", "返乡"),
    "mobile": ("流动", "外来人员"),
}
YES = frozenset({"是", "1", "Y", "YES", "TRUE", "✓", "√", "✔", "有", "☑"})
NO = frozenset({"否", "0", "N", "NO", "FALSE", "", "×", "✗", "无", "☐", "-"})
DERIVED_TAGS = frozenset({"老年人"})

SCIENTIFIC_RE = re.compile(r"^\d+(\.\d+)?E\+?\d+$")
DATE_RE = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
COMPACT_DATE_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
SPACE_RE = re.compile(r"\s+")
CONTROL_RE = re.compile(r"[\x00-\x1f\x7f]")
CJK_GAP_RE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")
TAG_SPLIT_RE = re.compile(r"[,，、;；/\s]+")


class ImportFileError(Exception):
    """The file as a whole cannot be read; the message says why, in words for the operator."""


def _until_stable(clean, text: str) -> str:
    """Apply `clean` until nothing changes: case mapping can undo NFKC (Y¯ -> y + U+0304 -> ȳ)."""
    for _round in range(8):
        cleaned = clean(text)
        if cleaned == text:
            break
        text = cleaned
    return text


def key(text: object) -> str:
    """How headers and choice values are compared: NFKC, no spaces, case-insensitive."""
    return _until_stable(
        lambda t: SPACE_RE.sub("", unicodedata.normalize("NFKC", t)).lower(), str(text or "")
    )


def header_key(text: object) -> str:
    """A header's key; a required-field mark such as 姓名* or 姓名(必填) is ignored."""

    def strip_marks(value: str) -> str:
        value = key(value)
        for mark in ("(必填)", "(选填)", "*"):
            value = value.removesuffix(mark).removeprefix(mark)
        return value

    return _until_stable(strip_marks, str(text or ""))


HEADER_INDEX: dict[str, str] = {
    header_key(alias): name for name, aliases in (FIELD_HEADERS | TAG_HEADERS).items() for alias in aliases
}


CHOICES = {
    "document_type": (Resident.DocumentType.choices, DOCUMENT_TYPE_ALIASES),
    "relation": (Resident.Relation.choices, RELATION_ALIASES),
    "presence": (Resident.Presence.choices, PRESENCE_ALIASES),
    "mobility": (Resident.Mobility.choices, MOBILITY_ALIASES),
    "tags": ([(tag, Resident._meta.get_field(tag).verbose_name) for tag in Resident.TAG_FIELDS], TAG_HEADERS),
}


@functools.cache
def choice_index(name: str) -> dict[str, str]:
    """Value -> stored choice, from the labels in every configured language, the codes and the aliases.

    Labels are lazy translations: read in the active language only, 户主 would not be recognised on
    an English page (and Head of household not on a Chinese one).
    """
    choices, aliases = CHOICES[name]
    index: dict[str, str] = {}
    for language, _name in settings.LANGUAGES:
        with translation.override(language):
            index |= {key(str(label)): value for value, label in choices}
    index |= {key(value): value for value, _label in choices if value}
    for value, names in aliases.items():
        index |= {key(alias): value for alias in names}
    return index


def canonical_header(name: str) -> str:
    return (FIELD_HEADERS | TAG_HEADERS)[name][0]


# Value normalisers: each is idempotent (normalising twice gives the same value).


def _strip_affixes(text: str, prefixes: tuple[str, ...], suffixes: tuple[str, ...]) -> str:
    changed = True
    while changed:
        changed = False
        for prefix in prefixes:
            if text.startswith(prefix) and len(text) > len(prefix):
                text, changed = text[len(prefix) :], True
        for suffix in suffixes:
            if text.endswith(suffix) and len(text) > len(suffix):
                text, changed = text[: -len(suffix)], True
    return text


def _code(value: object) -> str:
    """NFKC, no spaces, upper case."""
    return _until_stable(
        lambda t: SPACE_RE.sub("", unicodedata.normalize("NFKC", t)).upper(), str(value or "")
    )


def normalise_building(value: object) -> str:
    """ "3号楼", "3栋", "第3幢", " ３ " -> "3"."""
    return _strip_affixes(_code(value), ("第",), ("号楼", "栋", "幢", "号", "楼", "#", "座"))


def normalise_unit(value: object) -> str:
    """ "2单元", "第2单元", "2" -> "2"."""
    return _strip_affixes(_code(value), ("第",), ("单元", "门"))


def normalise_room(value: object) -> str:
    """ "301室", "301号", "301" -> "301"."""
    return _strip_affixes(_code(value), (), ("室", "号", "房"))


def normalise_text(value: object) -> str:
    """Free text (names, notes, addresses): stray spaces out, punctuation kept as written."""
    text = SPACE_RE.sub(" ", CONTROL_RE.sub(" ", str(value or ""))).strip()
    return CJK_GAP_RE.sub("", text)


def cell_text(value: object) -> str:
    """A cell as text: 301.0 -> "301", dates as ISO dates, None -> ""."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e15:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value).strip()


# Stage 1: the file to a table.


@dataclass
class Table:
    header_row: int
    headers: list[str]
    rows: list[tuple[int, list[object]]]
    total_rows: int


def read_table(file_name: str, content: bytes, *, max_rows: int | None = None) -> Table:
    """Read the first sheet of an .xlsx or a .csv; keep at most `max_rows` data rows (count them all)."""
    max_rows = settings.TONGXIN_IMPORT_MAX_ROWS if max_rows is None else max_rows
    if not content or not content.strip():
        raise ImportFileError(_("文件是空的"))
    if content[:4] == b"PK\x03\x04":
        lines = _xlsx_rows(content)
    elif content[:4] == b"\xd0\xcf\x11\xe0":
        raise ImportFileError(
            _("无法读取该文件：这是旧版 .xls 格式，请在Excel中另存为 .xlsx 或 .csv 后再上传")
        )
    elif file_name.lower().endswith((".xlsx", ".xlsm")):
        raise ImportFileError(_("无法读取该文件：不是有效的 .xlsx 文件"))
    else:
        lines = _csv_rows(content)
    return _table(lines, max_rows)


def _table(lines: Iterator[tuple[int, list[object]]], max_rows: int) -> Table:
    header_row, headers = 0, []
    seen = 0
    try:
        for number, cells in lines:
            if _blank(cells):
                continue
            seen += 1
            if sum(1 for cell in cells if header_key(cell_text(cell)) in HEADER_INDEX) >= 2:
                header_row, headers = number, [cell_text(cell) for cell in cells]
                break
            if seen >= HEADER_SEARCH_ROWS:
                break
        if not header_row:
            if not seen:
                raise ImportFileError(_("文件是空的：没有找到表头行"))
            raise ImportFileError(_("没有找到表头行：第一行应是“姓名、身份证号、楼栋、单元、房号”等列名"))
        rows: list[tuple[int, list[object]]] = []
        total = 0
        for number, cells in lines:
            if _blank(cells):
                continue
            total += 1
            if total <= max_rows:
                rows.append((number, cells))
    except ImportFileError:
        raise
    except Exception as error:  # openpyxl and csv raise many kinds on damaged files
        raise ImportFileError(_("无法读取该文件：%(e)s") % {"e": type(error).__name__}) from None
    return Table(header_row, headers, rows, total)


def _blank(cells: list[object]) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def _xlsx_rows(content: bytes) -> Iterator[tuple[int, list[object]]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # zip, XML and openpyxl errors alike
        raise ImportFileError(_("无法读取该文件：不是有效的 .xlsx 文件")) from None
    try:
        for number, cells in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(cells)
    finally:
        workbook.close()


def _csv_rows(content: bytes) -> Iterator[tuple[int, list[object]]]:
    if b"\x00" in content:
        raise ImportFileError(_("无法读取该文件：请上传 .xlsx 或 .csv 文件"))
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = content.decode("gb18030")
        except UnicodeDecodeError:
            raise ImportFileError(_("无法读取该文件：编码无法识别，请另存为UTF-8或GBK编码的CSV")) from None
    first_line = next((line for line in text.splitlines() if line.strip()), "")
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for cells in reader:
        yield reader.line_num, list(cells)


# Stage 2: each row on its own.


@dataclass(frozen=True)
class RowError:
    row: int
    column: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "reason": self.reason}


@dataclass
class ParsedRow:
    row: int
    name: str = ""
    document_type: str = ID_TYPE_MAINLAND
    document_number: str = ""
    birth_date: datetime.date | None = None
    sex: str = ""
    phone: str | None = None  # None: not given
    building: str = ""
    unit: str = ""
    room: str = ""
    fields: dict[str, object] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)

    def error(self, column: str, reason: str) -> None:
        self.errors.append(RowError(self.row, column, reason))


@dataclass
class ParsedFile:
    header_row: int
    columns: dict[str, str]  # field -> header as written
    rows: list[ParsedRow]
    total_rows: int
    file_errors: list[RowError]
    order: dict[str, int] = field(default_factory=dict)  # header as written -> its column


def map_headers(headers: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    """Field -> column index and field -> header as written; the first of repeated headers wins."""
    positions: dict[str, int] = {}
    written: dict[str, str] = {}
    for index, header in enumerate(headers):
        name = HEADER_INDEX.get(header_key(header))
        if name and name not in positions:
            positions[name] = index
            written[name] = header.strip()
    return positions, written


def parse_table(table: Table, *, max_rows: int | None = None) -> ParsedFile:
    max_rows = settings.TONGXIN_IMPORT_MAX_ROWS if max_rows is None else max_rows
    positions, written = map_headers(table.headers)
    columns = {name: written.get(name, canonical_header(name)) for name in FIELD_HEADERS | TAG_HEADERS}
    file_errors = [
        RowError(
            table.header_row, canonical_header(name), _("缺少必填列：%(c)s") % {"c": canonical_header(name)}
        )
        for name in REQUIRED_FIELDS
        if name not in positions
    ]
    if table.total_rows > max_rows:
        file_errors.append(
            RowError(
                0,
                "",
                _("文件有%(n)d行数据，超过上限%(m)d行；请分成几个文件导入")
                % {"n": table.total_rows, "m": max_rows},
            )
        )
    if file_errors:
        return ParsedFile(table.header_row, columns, [], table.total_rows, file_errors)
    today = timezone.localdate()
    rows = [parse_row(number, cells, positions, columns, today) for number, cells in table.rows]
    order = {columns[name]: index for name, index in positions.items()}
    return ParsedFile(table.header_row, columns, rows, table.total_rows, [], order)


def parse_rows(file_name: str, content: bytes, *, max_rows: int | None = None) -> ParsedFile:
    """Stages 1 and 2: raise ImportFileError for an unreadable file, else every row checked alone."""
    return parse_table(read_table(file_name, content, max_rows=max_rows), max_rows=max_rows)


def parse_row(
    number: int, cells: list[object], positions: dict[str, int], columns: dict[str, str], today
) -> ParsedRow:
    from tongxin.registry.actions import document_check

    row = ParsedRow(number)

    def raw(name: str) -> object:
        index = positions.get(name)
        return cells[index] if index is not None and index < len(cells) else None

    def text(name: str) -> str:
        return cell_text(raw(name))

    def required(name: str, value: str) -> bool:
        if not value:
            row.error(columns[name], _("必填项为空"))
        return bool(value)

    row.name = normalise_text(text("name"))
    if required("name", row.name) and len(row.name) > TEXT_LIMITS["name"]:
        row.error(columns["name"], _("不能超过%(n)d个字") % {"n": TEXT_LIMITS["name"]})

    type_ok = True
    if key(text("document_type")):
        document_type = choice_index("document_type").get(key(text("document_type")))
        if document_type is None:
            type_ok = False
            row.error(
                columns["document_type"],
                _("未知的证件类型：%(v)s（可填：%(c)s）")
                % {"v": text("document_type"), "c": "、".join(map(str, Resident.DocumentType.labels))},
            )
        else:
            row.document_type = document_type
    number_cell = raw("document_number")
    number_text = cell_text(number_cell)
    column = columns["document_number"]
    if required("document_number", normalise(number_text)):
        is_number = isinstance(number_cell, int | float) and not isinstance(number_cell, bool)
        digits = len(str(int(number_cell))) if is_number and math.isfinite(number_cell) else 0
        if digits > 15 or SCIENTIFIC_RE.match(normalise(number_text)):
            row.error(
                column,
                _(
                    "证件号码被Excel当成数字保存，末几位已丢失（如1.50105E+17）；请把该列设为文本格式后重新填写号码"
                ),
            )
        elif "*" in number_text:
            row.error(column, _("证件号码已脱敏（含*），不能导入；请填写完整号码"))
        elif type_ok:
            try:
                document = document_check(row.document_type, number_text)
            except DocumentError as error:
                row.error(column, str(error))
            else:
                row.document_number, row.birth_date, row.sex = (
                    document.number,
                    document.birth_date,
                    document.sex,
                )

    if "phone" in positions and text("phone"):
        if "*" in text("phone"):
            row.error(columns["phone"], _("手机号已脱敏（含*），不能导入；请填写完整号码"))
        else:
            try:
                row.phone = parse_mobile(text("phone"))
            except DocumentError as error:
                row.error(columns["phone"], str(error))

    for name, normaliser in (
        ("building", normalise_building),
        ("unit", normalise_unit),
        ("room", normalise_room),
    ):
        value = normaliser(text(name))
        if required(name, value):
            if len(value) > 20:
                row.error(columns[name], _("不能超过%(n)d个字") % {"n": 20})
            setattr(row, name, value)

    for name, index, label in (
        ("relation", choice_index("relation"), Resident.Relation.labels),
        ("presence", choice_index("presence"), Resident.Presence.labels),
        (
            "mobility",
            choice_index("mobility"),
            [label for value, label in Resident.Mobility.choices if value],
        ),
    ):
        if name in positions and key(text(name)):
            value = index.get(key(text(name)))
            if value is None:
                row.error(
                    columns[name],
                    _("无法识别“%(v)s”（可填：%(c)s）") % {"v": text(name), "c": "、".join(map(str, label))},
                )
            else:
                row.fields[name] = value

    for name, limit in TEXT_LIMITS.items():
        if name != "name" and name in positions and normalise_text(text(name)):
            value = normalise_text(text(name))
            if len(value) > limit:
                row.error(columns[name], _("不能超过%(n)d个字") % {"n": limit})
            else:
                row.fields[name] = value

    if "arrived_on" in positions and text("arrived_on"):
        arrived = parse_date(raw("arrived_on"))
        if arrived is None:
            row.error(
                columns["arrived_on"], _("日期格式不对：%(v)s（应如2022-10-05）") % {"v": text("arrived_on")}
            )
        elif arrived > today:
            row.error(columns["arrived_on"], _("抵达日期不能晚于今天"))
        else:
            row.fields["arrived_on"] = arrived

    _parse_tags(row, raw, positions, columns)
    return row


def _parse_tags(row: ParsedRow, raw, positions: dict[str, int], columns: dict[str, str]) -> None:
    given = [tag for tag in TAG_HEADERS if tag in positions]
    if not given and "tags" not in positions:
        return
    tags = dict.fromkeys(given if "tags" not in positions else TAG_HEADERS, False)
    for tag in given:
        value = normalise(cell_text(raw(tag)))
        if value in YES:
            tags[tag] = True
        elif value not in NO:
            row.error(columns[tag], _("应填“是”或“否”，而不是“%(v)s”") % {"v": cell_text(raw(tag))})
    if "tags" in positions:
        for name in TAG_SPLIT_RE.split(cell_text(raw("tags"))):
            if not name or name in DERIVED_TAGS:
                continue
            tag = choice_index("tags").get(key(name))
            if tag is None:
                row.error(
                    columns["tags"],
                    _("未知的标签：%(v)s（可填：%(c)s）")
                    % {
                        "v": name,
                        "c": "、".join(str(Resident._meta.get_field(t).verbose_name) for t in TAG_HEADERS),
                    },
                )
            else:
                tags[tag] = True
    row.fields.update(tags)


def parse_date(value: object) -> datetime.date | None:
    if isinstance(value, datetime.datetime):
        return value.date()
    if isinstance(value, datetime.date):
        return value
    text = _code(cell_text(value))
    match = DATE_RE.match(text) or COMPACT_DATE_RE.match(text)
    if not match:
        return None
    try:
        return datetime.date(*(int(part) for part in match.groups()))
    except ValueError:
        return None


# Stage 3: against the compound and the registry, then the writes.


@dataclass
class ImportReport:
    rows: int = 0
    valid: int = 0
    invalid: list[dict] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    applied: bool = False
    file_error: bool = False  # the file itself cannot be used: no row was checked
    created_preview: list[dict] = field(default_factory=list)
    updated_preview: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "valid": self.valid,
            "invalid": list(self.invalid),
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
        }

    @property
    def invalid_rows(self) -> int:
        return len({error["row"] for error in self.invalid})


@dataclass
class _Plan:
    row: ParsedRow
    unit: Unit
    existing: Resident | None = None
    changes: dict[str, object] = field(default_factory=dict)


def plan_import(*, actor, compound: Compound, parsed: ParsedFile, protector: FieldProtector) -> list[_Plan]:
    """Check the rows against the compound and the registry; add errors to the rows; plan the valid ones."""
    from tongxin.core.scoping import scope_q

    columns = parsed.columns
    buildings = {normalise_building(b.number): b for b in Building.objects.filter(compound=compound)}
    units = {(u.building_id, normalise_unit(u.number)): u for u in Unit.objects.filter(compound=compound)}
    # A grid worker manages only their buildings: rows elsewhere in the compound are not theirs to write.
    managed = set(buildings_managed(actor, compound)) if actor is not None else None
    unit_of: dict[int, Unit] = {}
    for row in parsed.rows:
        if not (row.building and row.unit):
            continue
        building = buildings.get(row.building)
        if building is None:
            row.error(columns["building"], _("小区中没有%(b)s号楼；请先建好楼栋和单元") % {"b": row.building})
            continue
        if managed is not None and building.pk not in managed:
            row.error(columns["building"], _("%(b)s号楼不在您负责的范围内") % {"b": building.number})
            continue
        unit = units.get((building.pk, row.unit))
        if unit is None:
            row.error(columns["unit"], _("%(b)s号楼没有%(u)s单元") % {"b": building.number, "u": row.unit})
            continue
        unit_of[row.row] = unit

    with_document = [row for row in parsed.rows if row.document_number]
    by_document: dict[tuple[str, str], list[ParsedRow]] = defaultdict(list)
    for row in with_document:
        by_document[(row.document_type, row.document_number)].append(row)
    for same in by_document.values():
        if len(same) > 1:
            for row in same:
                others = "、".join(str(other.row) for other in same if other is not row)
                row.error(columns["document_number"], _("与第%(r)s行的证件号码重复") % {"r": others})

    hashes = {
        (row.document_type, row.document_number): protector.hash(
            f"doc:{row.document_type}", row.document_number
        )
        for row in with_document
    }
    existing = _existing_residents(set(hashes.values()))
    elsewhere = [
        resident
        for doc, digest in hashes.items()
        if (resident := existing.get((doc[0], digest))) is not None and resident.compound_id != compound.pk
    ]
    visible = set()
    if elsewhere:
        candidates = Compound.objects.filter(pk__in={r.compound_id for r in elsewhere})
        if actor is not None:
            candidates = candidates.filter(scope_q(actor, "compound"))
        visible = set(candidates.values_list("pk", flat=True))

    plans = []
    for row in parsed.rows:
        resident = None
        if row.document_number:
            resident = existing.get((row.document_type, hashes[(row.document_type, row.document_number)]))
        if resident is not None and resident.compound_id != compound.pk:
            if resident.compound_id in visible:
                where = _("该证件号码已在%(c)s%(h)s登记") % {
                    "c": resident.compound.name,
                    "h": resident.household,
                }
            else:
                where = _("该证件号码已在其他小区登记")
            row.error(columns["document_number"], where)
        elif resident is not None and managed is not None and resident.building_id not in managed:
            row.error(columns["document_number"], _("该证件号码已在本小区您负责范围以外的楼栋登记"))
        if row.errors:
            continue
        plan = _Plan(row, unit_of[row.row], resident)
        if resident is not None:
            plan.changes = _changes(resident, row, plan.unit, protector)
        plans.append(plan)
    return plans


def buildings_managed(actor, compound: Compound) -> list[int]:
    from tongxin.core.scoping import scope_q

    return list(
        Building.objects.filter(scope_q(actor, "building"), compound=compound).values_list("pk", flat=True)
    )


def _existing_residents(digests: set[str]) -> dict[tuple[str, str], Resident]:
    found: dict[tuple[str, str], Resident] = {}
    ordered = sorted(digests)
    for start in range(0, len(ordered), BATCH_SIZE):
        for resident in Resident.objects.filter(
            document_hash__in=ordered[start : start + BATCH_SIZE]
        ).select_related("household__unit__building", "compound"):
            found[(resident.document_type, resident.document_hash)] = resident
    return found


def _changes(resident: Resident, row: ParsedRow, unit: Unit, protector: FieldProtector) -> dict[str, object]:
    changes: dict[str, object] = {}
    if row.name != resident.name:
        changes["name"] = row.name
    for name, value in row.fields.items():
        if getattr(resident, name) != value:
            changes[name] = value
    if row.phone is not None and protector.hash("phone", row.phone) != resident.phone_hash:
        changes["phone"] = row.phone
    if (unit.pk, row.room) != (resident.household.unit_id, resident.household.room):
        changes["household"] = (unit, row.room)
    return changes


CHANGE_LABELS = {"phone": "手机号", "household": "房号"}


def _change_label(name: str) -> str:
    if name in CHANGE_LABELS:
        return str(_(CHANGE_LABELS[name]))
    return str(Resident._meta.get_field(name).verbose_name)


def run_import(
    *, actor, compound: Compound, file_name: str, content: bytes, dry_run: bool, valid_only: bool
) -> ImportReport:
    """Check every row; write unless dry-run, or unless rows are invalid and not `valid_only`."""
    report = ImportReport(dry_run=dry_run)
    try:
        parsed = parse_rows(file_name, content)
    except ImportFileError as error:
        report.invalid = [RowError(0, "", str(error)).as_dict()]
        report.file_error = True
        return report
    report.rows = parsed.total_rows
    if parsed.file_errors:
        report.invalid = [error.as_dict() for error in parsed.file_errors]
        report.file_error = True
        return report
    protector = FieldProtector()
    plans = plan_import(actor=actor, compound=compound, parsed=parsed, protector=protector)
    errors = sorted(
        (error for row in parsed.rows for error in row.errors),
        key=lambda error: (error.row, parsed.order.get(error.column, 0)),
    )
    report.invalid = [error.as_dict() for error in errors]
    report.valid = len(plans)
    created = [plan for plan in plans if plan.existing is None]
    updated = [plan for plan in plans if plan.existing is not None and plan.changes]
    report.created_preview = [_preview(plan) for plan in created[:PREVIEW_SIZE]]
    report.updated_preview = [_preview(plan) for plan in updated[:PREVIEW_SIZE]]
    if not dry_run and report.invalid and not valid_only:
        return report
    report.created, report.updated = len(created), len(updated)
    report.unchanged = len(plans) - len(created) - len(updated)
    if dry_run:
        return report
    try:
        with transaction.atomic():
            households = _households(compound, [plan for plan in created + updated])
            _create(created, households, protector)
            _update(updated, households, protector)
    except IntegrityError:
        # Another writer registered one of these numbers (or rooms) after the rows were checked.
        report.invalid = [
            RowError(
                0, "", _("导入时其他操作同时写入了相同的居民或房号，本次没有写入任何数据；请重新预览后再确认")
            ).as_dict()
        ]
        report.file_error = True
        report.created = report.updated = report.unchanged = 0
        return report
    report.applied = True
    return report


def _preview(plan: _Plan) -> dict:
    row = plan.row
    return {
        "row": row.row,
        "name": row.name,
        "document": mask_id_number(row.document_number),
        "phone": mask_phone(row.phone or ""),
        "where": f"{plan.unit}{row.room}室",
        "changes": [_change_label(name) for name in plan.changes],
    }


def _households(compound: Compound, plans: Iterable[_Plan]) -> dict[tuple[int, str], int]:
    """Household ids by (unit, room) for the rows to write; missing households are created in bulk."""
    wanted = {(plan.unit, plan.row.room) for plan in plans}
    if not wanted:
        return {}
    unit_ids = {unit.pk for unit, _room in wanted}
    known = dict(
        ((unit_id, room), pk)
        for pk, unit_id, room in Household.objects.filter(
            compound=compound, unit_id__in=unit_ids
        ).values_list("pk", "unit_id", "room")
    )
    missing = sorted(
        ((unit, room) for unit, room in wanted if (unit.pk, room) not in known), key=lambda x: (x[0].pk, x[1])
    )
    if missing:
        Household.objects.bulk_create(
            [
                Household(unit=unit, building_id=unit.building_id, compound_id=unit.compound_id, room=room)
                for unit, room in missing
            ],
            batch_size=BATCH_SIZE,
        )
        known |= dict(
            ((unit_id, room), pk)
            for pk, unit_id, room in Household.objects.filter(
                compound=compound, unit_id__in={unit.pk for unit, _room in missing}
            ).values_list("pk", "unit_id", "room")
        )
    return known


def _protected_document(protector: FieldProtector, document_type: str, number: str) -> dict:
    return {
        "document_type": document_type,
        "document_cipher": protector.encrypt(number),
        "document_hash": protector.hash(f"doc:{document_type}", number),
        "document_masked": mask_id_number(number),
    }


def _protected_phone(protector: FieldProtector, phone: str) -> dict:
    return {
        "phone_cipher": protector.encrypt(phone),
        "phone_hash": protector.hash("phone", phone),
        "phone_masked": mask_phone(phone),
    }


def _create(plans: list[_Plan], households: dict[tuple[int, str], int], protector: FieldProtector) -> None:
    residents = []
    for plan in plans:
        row, unit = plan.row, plan.unit
        residents.append(
            Resident(
                household_id=households[(unit.pk, row.room)],
                unit_id=unit.pk,
                building_id=unit.building_id,
                compound_id=unit.compound_id,
                name=row.name,
                birth_date=row.birth_date,
                sex=row.sex,
                **_protected_document(protector, row.document_type, row.document_number),
                **_protected_phone(protector, row.phone or ""),
                **row.fields,
            )
        )
    Resident.objects.bulk_create(residents, batch_size=BATCH_SIZE)


def _update(plans: list[_Plan], households: dict[tuple[int, str], int], protector: FieldProtector) -> None:
    now = timezone.now()
    fields: set[str] = {"updated_at"}
    residents = []
    for plan in plans:
        resident = plan.existing
        for name, value in plan.changes.items():
            if name == "phone":
                for attribute, protected in _protected_phone(protector, value).items():
                    setattr(resident, attribute, protected)
                fields |= {"phone_cipher", "phone_hash", "phone_masked"}
            elif name == "household":
                unit, room = value
                resident.household_id = households[(unit.pk, room)]
                resident.unit_id, resident.building_id = unit.pk, unit.building_id
                fields |= {"household", "unit", "building"}
            else:
                setattr(resident, name, value)
                fields.add(name)
        resident.updated_at = now
        residents.append(resident)
    Resident.objects.bulk_update(residents, sorted(fields), batch_size=500)
    moved = [
        plan.existing.pk
        for plan in plans
        if "household" in plan.changes or plan.changes.get("presence") == Resident.Presence.MOVED_OUT
    ]
    if moved:
        residents_moved(moved)
