"""Writing the .xlsx files people open in Excel (exports, printed lists): no cell a person typed
can run as a formula, text columns stay text (rooms "0301", phones), illegal characters dropped."""

import io

from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Font

TEXT = "@"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: str) -> str:
    """A name or note typed as "=HYPERLINK(…)" stays text: Excel would run it on opening."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def cell(sheet, value, *, bold: bool = False, text: bool = False) -> WriteOnlyCell:
    """A write-only cell: strings made safe, empty as blank, bold (a header) or text-formatted."""
    if isinstance(value, str):
        value = safe_text(value)
    written = WriteOnlyCell(sheet, value=value if value not in (None, "") else None)
    if bold:
        written.font = Font(bold=True)
    elif text:
        written.number_format = TEXT
    return written


def workbook_bytes(workbook) -> bytes:
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
