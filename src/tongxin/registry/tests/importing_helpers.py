"""Building import files in tests: CSV in any encoding, .xlsx with typed cells."""

import datetime
import io

from openpyxl import Workbook

from tongxin.core.documents import id_check_char, make_mainland_id

HEADERS = ["姓名", "身份证号", "手机号", "楼栋", "单元", "房号", "与户主关系"]


def csv_bytes(rows: list[list[object]], *, encoding: str = "utf-8", headers=HEADERS) -> bytes:
    lines = [headers, *rows]
    text = (
        "\r\n".join(",".join("" if cell is None else str(cell) for cell in line) for line in lines) + "\r\n"
    )
    return text.encode(encoding)


def xlsx_bytes(rows: list[list[object]], *, headers=HEADERS, title: str | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    if title:
        sheet.append([title])
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def mainland_id(birth=datetime.date(1990, 1, 1), sequence: int = 1, region: str = "150105") -> str:
    return make_mainland_id(region, birth, sequence)


def raw_id(region: str, birth: str, sequence: str = "001") -> str:
    """A number with a correct check character whatever its parts: for impossible dates or regions."""
    first17 = region + birth + sequence
    return first17 + id_check_char(first17)
