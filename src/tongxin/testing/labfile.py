"""Lab result files: a .csv or .xlsx of tube codes, results and times, read as a stream of
`(row_number, tube_code, result, result_at)` tuples.

- CSV in UTF-8, UTF-8 with BOM or GBK/GB18030 (tried in that order, as the registry's import
  does), comma- or tab-separated; XLSX through openpyxl's read-only mode (first sheet).
- The header row is the first of the first ten non-blank rows naming at least two of the columns;
  headers are compared like the registry's (NFKC, case and spaces ignored, a trailing * or (必填)
  dropped): tube 管码/试管编码/试管码/试管编号/试管条码/tube; result 结果/检测结果/核酸结果/
  result; time 检测时间/出结果时间/报告时间/结果时间/time/result time. All three are required.
- Results: 阴性, 阴性(-), 阴, 未检出, negative, neg -> negative; 阳性, 阳性(+), 阳, 检出, positive,
  pos -> positive (full-width brackets and any case are fine). A bare "-" or "+" is refused: in
  the spreadsheets the field keeps, "-" also means "empty", and reading an empty result as
  negative would let a positive tube through.
- Times: 2022-11-24 14:30[:05], 2022-11-24T14:30, 2022/11/24 14:30, 2022.11.24 14:30,
  2022年11月24日 14时30分[05秒], 2022年11月24日 14:30, 202211241430[05]; ISO times with an offset
  (+08:00, Z) keep it; a time without a zone is Asia/Shanghai (settings.TIME_ZONE); an .xlsx date
  cell is read as such (also a bare number, as Excel's day count). A date written without a time
  of day is refused, since the result time is checked against the tube's closing time; an .xlsx
  cell formatted as a date only cannot be told from midnight and reads as 00:00 (which the
  closing-time check then catches when the tube was closed that day).
- Tube codes are upper-cased with spaces and full-width forms normalised, as the sampling tables
  store them.

Every unreadable row is reported with its row number (the spreadsheet's own), its column and the
reason, and left out of the stream; the caller sees `errors` (at most MAX_ERRORS kept,
`error_count` all) and `invalid_rows` once the stream is consumed. A file that cannot be read at
all raises `LabFileError`. Reading is streaming and lean: one tuple per row, times parsed once per
distinct text.
"""

import csv
import datetime
import functools
import io
import re
import unicodedata
import zoneinfo
from collections.abc import Iterator

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tongxin.registry.importing import ImportFileError, header_key
from tongxin.testing.models import Tube

NEGATIVE, POSITIVE = Tube.Result.NEGATIVE.value, Tube.Result.POSITIVE.value
TUBE, RESULT, TIME = "tube", "result", "time"
MAX_ERRORS = 1000  # errors kept in a report; the rest are counted
HEADER_SEARCH_ROWS = 10
TIME_CACHE = 100_000  # distinct time texts remembered while reading one file
CODE_MAX_LENGTH = Tube._meta.get_field("code").max_length

HEADERS: dict[str, tuple[str, ...]] = {
    TUBE: ("管码", "试管编码", "试管码", "试管编号", "试管条码", "tube", "tube code", "tube_code"),
    RESULT: ("结果", "检测结果", "核酸结果", "result"),
    TIME: (
        "检测时间",
        "出结果时间",
        "报告时间",
        "结果时间",
        "time",
        "result time",
        "result_time",
        "result_at",
        "reported at",
    ),
}
# The name a report gives each column (msgids; errors are read by people in Chinese first).
COLUMN_NAMES = {TUBE: gettext_noop("管码"), RESULT: gettext_noop("结果"), TIME: gettext_noop("检测时间")}
COLUMN_ORDER = {TUBE: 0, RESULT: 1, TIME: 2}
HEADER_INDEX = {header_key(alias): name for name, aliases in HEADERS.items() for alias in aliases}

_RESULT_WORDS = {
    NEGATIVE: ("阴性", "阴性(-)", "阴", "未检出", "negative", "negative(-)", "neg"),
    POSITIVE: ("阳性", "阳性(+)", "阳", "检出", "positive", "positive(+)", "pos"),
}
RESULT_INDEX = {header_key(word): value for value, words in _RESULT_WORDS.items() for word in words}
AMBIGUOUS_RESULTS = frozenset({"-", "+", "--", "++"})

_SPACE_RE = re.compile(r"\s+")
_TIME_RE = re.compile(
    r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?[T\s]*"
    r"(\d{1,2})[:时点](\d{1,2})(?:[:分](\d{1,2})(?:\.(\d{1,6}))?秒?|分)?$"
)
_COMPACT_RE = re.compile(r"^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})?$")
_DATE_ONLY_RE = re.compile(r"^\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}日?$|^\d{8}$")


class LabFileError(ImportFileError):
    """The file as a whole cannot be read; the message says why, for the operator."""


def column_name(column: str) -> str:
    return _(COLUMN_NAMES[column])


def row_error(row: int | None, column: str, code: str, message: str) -> dict:
    """One error as reports carry it: {row, column, code, message}."""
    return {"row": row, "column": column_name(column) if column else "", "code": code, "message": message}


@functools.cache
def local_zone() -> zoneinfo.ZoneInfo:
    return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def normalise_code(value: object) -> str:
    text = value if isinstance(value, str) else ("" if value is None else _number_text(value))
    text = text.strip()
    if not text.isascii():
        text = _SPACE_RE.sub("", unicodedata.normalize("NFKC", text))
    elif " " in text or "\t" in text:
        text = _SPACE_RE.sub("", text)
    return text.upper()


def _number_text(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def parse_result(value: object) -> tuple[str | None, str | None]:
    """(result, None) or (None, error message)."""
    text = "" if value is None else str(value).strip()
    found = RESULT_INDEX.get(text)
    if found:
        return found, None
    if not text:
        return None, _("缺少检测结果")
    cleaned = header_key(text)
    found = RESULT_INDEX.get(cleaned)
    if found:
        return found, None
    shown = text[:40]
    if cleaned in AMBIGUOUS_RESULTS:
        return None, _("结果“%(value)s”含义不明确：请填写阴性或阳性") % {"value": shown}
    return None, _("无法识别的检测结果“%(value)s”：请填写阴性或阳性") % {"value": shown}


_TIME_MESSAGES = {
    "required": gettext_noop("缺少检测时间"),
    "no_time_of_day": gettext_noop("检测时间须写到时分，如2022-11-24 14:30"),
    "invalid": gettext_noop("无法识别的时间“%(value)s”：请写成2022-11-24 14:30的格式"),
}


def time_error(problem: tuple[str, str]) -> tuple[str, str]:
    """(error code, message) of a time `parse_time` could not read."""
    kind, shown = problem
    message = _(_TIME_MESSAGES[kind])
    return ("required" if kind == "required" else "invalid"), (
        message % {"value": shown} if kind == "invalid" else message
    )


@functools.lru_cache(maxsize=200_000)
def parse_time_text(text: str) -> datetime.datetime | tuple[str, str]:
    """An aware datetime, or (problem, text shown) for `time_error`. Cached: a lab file repeats
    its times, and the language of a message is chosen only when it is shown."""
    text = text.strip()
    if not text:
        return ("required", "")
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text).strip()
    moment = None
    if len(text) >= 16 and text[4] == "-" and text[:4].isdigit():
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            moment = None
    if moment is None:
        match = _TIME_RE.match(text) or _COMPACT_RE.match(text)
        if match:
            year, month, day, hour, minute, second, *fraction = match.groups()
            micro = int((fraction[0] or "0").ljust(6, "0")) if fraction else 0
            try:
                moment = datetime.datetime(  # noqa: DTZ001 - made aware just below
                    int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micro
                )
            except ValueError:
                moment = None
    if moment is None:
        return ("no_time_of_day" if _DATE_ONLY_RE.match(text) else "invalid", text[:40])
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=local_zone())
    return moment


def parse_time(value: object) -> datetime.datetime | tuple[str, str]:
    """A cell's time: text, an .xlsx datetime (naive: Asia/Shanghai) or an Excel serial number."""
    if value is None:
        return ("required", "")
    if isinstance(value, str):
        return parse_time_text(value)
    if isinstance(value, datetime.datetime):
        return value if value.tzinfo is not None else value.replace(tzinfo=local_zone())
    if isinstance(value, datetime.date):
        return ("no_time_of_day", "")
    if isinstance(value, int | float) and not isinstance(value, bool) and 1 <= value < 2958466:
        from openpyxl.utils.datetime import from_excel

        try:
            moment = from_excel(value)
        except (ValueError, OverflowError):
            moment = None
        if isinstance(moment, datetime.datetime):
            return moment.replace(microsecond=0, tzinfo=local_zone())
    return parse_time_text(str(value))


class LabFile:
    """An opened lab file: iterate it for the readable rows; errors are collected on the way.

    Opening reads the header (and raises LabFileError when it cannot); iterating parses the rows
    once, streaming."""

    def __init__(self, file_name: str, content: bytes):
        self.file_name = file_name
        self.errors: list[dict] = []
        self.error_count = 0
        self.invalid_rows = 0
        self.valid_rows = 0
        self._lines, self._line_number = self._open(file_name, content)
        self.header_row, self.positions = self._header()

    @property
    def rows(self) -> int:
        """Data rows seen so far (all of them once iterated)."""
        return self.valid_rows + self.invalid_rows

    def error(self, row: int | None, column: str, code: str, message: str) -> None:
        self.error_count += 1
        if len(self.errors) < MAX_ERRORS:
            self.errors.append(row_error(row, column, code, message))

    # -- the file to lines of cells

    @staticmethod
    def _open(file_name: str, content: bytes):
        """The lines of cells, and how to read the current line's number."""
        if not content or not content.strip():
            raise LabFileError(_("文件是空的"))
        if content[:4] == b"PK\x03\x04":
            lines = _xlsx_lines(content)
            return lines, None
        if content[:4] == b"\xd0\xcf\x11\xe0":
            raise LabFileError(
                _("无法读取该文件：这是旧版 .xls 格式，请在Excel中另存为 .xlsx 或 .csv 后再上传")
            )
        if file_name.lower().endswith((".xlsx", ".xlsm")):
            raise LabFileError(_("无法读取该文件：不是有效的 .xlsx 文件"))
        reader = _csv_reader(content)
        return reader, lambda: reader.line_num

    def _numbered(self) -> Iterator[tuple[int, list]]:
        if self._line_number is None:
            # Not `yield from`: closing this generator after the header must not close the lines.
            for item in self._lines:  # noqa: UP028
                yield item
        else:
            line_number = self._line_number
            for cells in self._lines:
                yield line_number(), cells

    def _header(self) -> tuple[int, dict[str, int]]:
        seen = 0
        try:
            for number, cells in self._numbered():
                if _blank(cells):
                    continue
                seen += 1
                positions: dict[str, int] = {}
                for index, cell in enumerate(cells):
                    name = HEADER_INDEX.get(header_key("" if cell is None else str(cell)))
                    if name and name not in positions:
                        positions[name] = index
                if len(positions) >= 2:
                    missing = [column_name(c) for c in HEADERS if c not in positions]
                    if missing:
                        raise LabFileError(_("缺少列：%(columns)s") % {"columns": "、".join(missing)})
                    return number, positions
                if seen >= HEADER_SEARCH_ROWS:
                    break
        except LabFileError:
            raise
        except Exception as error:  # csv and openpyxl raise many kinds on damaged files
            raise LabFileError(_("无法读取该文件：%(e)s") % {"e": type(error).__name__}) from None
        if not seen:
            raise LabFileError(_("文件是空的：没有找到表头行"))
        raise LabFileError(_("没有找到表头行：第一行应是“管码、结果、检测时间”等列名"))

    # -- the rows

    def __iter__(self) -> Iterator[tuple[int, str, str, datetime.datetime]]:
        """The readable rows. The common row (an ASCII code, a result word as listed, a time as
        text seen before) costs three look-ups and no call; anything else goes the long way."""
        tube_at, result_at, time_at = self.positions[TUBE], self.positions[RESULT], self.positions[TIME]
        width = max(tube_at, result_at, time_at) + 1
        results, times = RESULT_INDEX, {}
        csv_lines = self._line_number is not None
        line_number = self._line_number
        valid = 0
        try:
            for item in self._lines:
                if csv_lines:
                    cells = item
                else:
                    number, cells = item
                if len(cells) < width:
                    if _blank(cells):
                        continue
                    cells = list(cells) + [None] * (width - len(cells))
                raw_code, raw_result, raw_time = cells[tube_at], cells[result_at], cells[time_at]
                if raw_code.__class__ is str and raw_code.isalnum() and raw_code.isascii():
                    code = raw_code.upper()
                else:
                    code = normalise_code(raw_code)
                result = results.get(raw_result) if raw_result.__class__ is str else None
                moment = times.get(raw_time) if raw_time.__class__ is str else None
                if moment is None:
                    moment = parse_time(raw_time)
                    if raw_time.__class__ is str and len(times) < TIME_CACHE:
                        times[raw_time] = moment
                if csv_lines:
                    number = line_number()
                if (
                    result is not None
                    and code
                    and len(code) <= CODE_MAX_LENGTH
                    and moment.__class__ is not tuple
                ):
                    valid += 1
                    yield number, code, result, moment
                    continue
                if result is None and not code and _blank(cells):
                    continue
                if self._row_errors(number, code, raw_result, result, moment) is None:
                    continue
                valid += 1
                yield self._last
        except LabFileError:
            raise
        except Exception as error:
            raise LabFileError(_("无法读取该文件：%(e)s") % {"e": type(error).__name__}) from None
        finally:
            self.valid_rows += valid

    def _row_errors(self, number, code, raw_result, result, moment):
        """Report what is wrong with a row (None), or keep it after all in `_last` (True): a result
        spelt another way (阴性（-）, Negative) is fine."""
        bad = False
        if not code:
            self.error(number, TUBE, "required", _("缺少管码"))
            bad = True
        elif len(code) > CODE_MAX_LENGTH:
            self.error(number, TUBE, "invalid", _("管码过长（最多%(n)d个字符）") % {"n": CODE_MAX_LENGTH})
            bad = True
        if result is None:
            result, message = parse_result(raw_result)
            if message:
                blank = raw_result is None or not str(raw_result).strip()
                self.error(number, RESULT, "required" if blank else "invalid", message)
                bad = True
        if isinstance(moment, tuple):
            self.error(number, TIME, *time_error(moment))
            bad = True
        if bad:
            self.invalid_rows += 1
            return None
        self._last = (number, code, result, moment)
        return True


def _blank(cells) -> bool:
    return all(cell is None or (isinstance(cell, str) and not cell.strip()) for cell in cells)


def decode_text(content: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030 (a superset of GBK), as the registry's import."""
    if b"\x00" in content:
        raise LabFileError(_("无法读取该文件：请上传 .xlsx 或 .csv 文件"))
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return content.decode("gb18030")
        except UnicodeDecodeError:
            raise LabFileError(_("无法读取该文件：编码无法识别，请另存为UTF-8或GBK编码的CSV")) from None


def _csv_reader(content: bytes):
    text = decode_text(content)
    start = 0
    first_line = ""
    while start < len(text):  # the first non-blank line decides the delimiter, as the registry's
        end = text.find("\n", start)
        end = len(text) if end < 0 else end
        if text[start:end].strip():
            first_line = text[start:end]
            break
        start = end + 1
    delimiter = "\t" if first_line.count("\t") > first_line.count(",") else ","
    return csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)


def _xlsx_lines(content: bytes) -> Iterator[tuple[int, list]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception:  # zip, XML and openpyxl errors alike
        raise LabFileError(_("无法读取该文件：不是有效的 .xlsx 文件")) from None
    try:
        yield from enumerate(sheet.iter_rows(values_only=True), start=1)
    finally:
        workbook.close()
