"""Identity documents and phone numbers: normalising and validating what people type or paste.

Mainland resident ID numbers (GB 11643) are checked for format, check character, a real birth
date and a region code known in any period of GB/T 2260. The code's age is deliberately not
compared with the birth date: the code records where the number was issued (1984 on), so an
elderly resident may carry a district code created decades after their birth.
"""

import datetime
import functools
import re
import unicodedata
from dataclasses import dataclass

from django.utils.translation import gettext as _
from stdnum import numdb

ID_TYPE_MAINLAND = "mainland_id"
ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK_CHARS = "10X98765432"
EARLIEST_BIRTH_YEAR = 1880
MOBILE_RE = re.compile(r"1[3-9][0-9]{9}")
MAINLAND_ID_RE = re.compile(r"[0-9]{17}[0-9X]")
SPACES_RE = re.compile(r"[\s\u3000\-]+")


class DocumentError(ValueError):
    """A value that cannot be accepted; the message says why in words for the operator."""


def normalise(value: object) -> str:
    """Full-width digits and letters to ASCII, spaces and dashes out, letters upper-case.

    Repeated until nothing changes: upper-casing can undo NFKC (ΐ becomes Ι + two accents), and
    a value normalised twice must give the same look-up hash.
    """
    if value is None:
        return ""
    text = str(value)
    for _round in range(8):
        cleaned = SPACES_RE.sub("", unicodedata.normalize("NFKC", text)).upper()
        if cleaned == text:
            break
        text = cleaned
    return text


def id_check_char(first17: str) -> str:
    return ID_CHECK_CHARS[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


@functools.cache
def _region_database():
    return numdb.get("cn/loc")


@functools.cache
def region_name(code: str) -> str | None:
    """The county-level name of a GB/T 2260 code known in any period, or None when unknown."""
    info: dict[str, str] = {}
    for _part, props in _region_database().info(code):
        info.update(props)
    county = info.get("county")
    if not county:
        return None
    names = [re.sub(r"^\[[^\]]*\]", "", name) for name in county.split(",")]
    return "".join(filter(None, [info.get("province", ""), names[-1]]))


@dataclass(frozen=True)
class MainlandId:
    number: str
    birth_date: datetime.date
    sex: str  # "M" or "F"
    region_code: str


def parse_mainland_id(raw: object, *, today: datetime.date | None = None) -> MainlandId:
    number = normalise(raw)
    if not number:
        raise DocumentError(_("身份证号为空"))
    if len(number) != 18:
        raise DocumentError(_("身份证号应为18位，实际为%(n)d位") % {"n": len(number)})
    if not MAINLAND_ID_RE.fullmatch(number):  # ASCII only: str.isdigit() also accepts ١ or ৩
        raise DocumentError(_("身份证号只能是17位数字加一位数字或X"))
    try:
        birth = datetime.date(int(number[6:10]), int(number[10:12]), int(number[12:14]))
    except ValueError:
        raise DocumentError(_("身份证号中的出生日期不存在：%(d)s") % {"d": number[6:14]}) from None
    today = today or datetime.date.today()  # noqa: DTZ011 - a calendar date, not a moment
    if birth > today or birth.year < EARLIEST_BIRTH_YEAR:
        raise DocumentError(_("身份证号中的出生日期不可能：%(d)s") % {"d": birth.isoformat()})
    if region_name(number[:6]) is None:
        raise DocumentError(_("身份证号的地区码未知：%(c)s") % {"c": number[:6]})
    expected = id_check_char(number[:17])
    if number[17] != expected:
        raise DocumentError(_("身份证号校验位错误：应为%(e)s") % {"e": expected})
    return MainlandId(number, birth, "M" if int(number[16]) % 2 else "F", number[:6])


def parse_other_document(raw: object) -> str:
    number = normalise(raw)
    if not number:
        raise DocumentError(_("证件号码为空"))
    if not re.fullmatch(r"[A-Z0-9]{5,20}", number):
        raise DocumentError(_("证件号码只能包含字母和数字，5到20位"))
    return number


def parse_mobile(raw: object) -> str:
    """A mainland mobile number; +86 / 0086 prefixes are dropped. Empty stays empty."""
    phone = normalise(raw)
    if not phone:
        return ""
    if phone.endswith(".0") and phone[:-2].isascii() and phone[:-2].isdigit():  # a spreadsheet number cell
        phone = phone[:-2]
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
            break
    else:
        if phone.startswith("86") and len(phone) == 13:
            phone = phone[2:]
    if not MOBILE_RE.fullmatch(phone):
        raise DocumentError(_("手机号格式不对：应为1开头的11位数字"))
    return phone


def make_mainland_id(region: str, birth: datetime.date, sequence: int) -> str:
    """Build a valid number (demo and synthetic data): sequence 0-999, odd for men."""
    if not 0 <= sequence <= 999:
        raise ValueError(f"sequence must be 0-999, not {sequence}")
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)
