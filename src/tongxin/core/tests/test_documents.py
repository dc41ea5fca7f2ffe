import datetime
import re

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tongxin.core.documents import (
    DocumentError,
    id_check_char,
    normalise,
    parse_mainland_id,
    parse_mobile,
)
from tongxin.core.masking import mask_id_number, mask_phone

TODAY = datetime.date(2022, 4, 1)
# Codes of several periods of GB/T 2260, including ones created after many residents were born.
KNOWN_REGIONS = ["110101", "150102", "150104", "150105", "150121", "310115", "440305", "652901"]

regions = st.sampled_from(KNOWN_REGIONS)
births = st.dates(min_value=datetime.date(1900, 1, 1), max_value=TODAY)
sequences = st.integers(min_value=0, max_value=999)


def build(region: str, birth: datetime.date, sequence: int) -> str:
    first17 = f"{region}{birth:%Y%m%d}{sequence:03d}"
    return first17 + id_check_char(first17)


@given(regions, births, sequences)
def test_a_number_with_its_computed_check_character_parses(region, birth, sequence):
    parsed = parse_mainland_id(build(region, birth, sequence), today=TODAY)
    assert (parsed.region_code, parsed.birth_date, parsed.sex) == (
        region,
        birth,
        "M" if sequence % 2 else "F",
    )


@given(regions, births, sequences, st.integers(min_value=0, max_value=17), st.data())
def test_changing_any_single_character_makes_the_number_invalid(region, birth, sequence, position, data):
    number = build(region, birth, sequence)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    replacement = data.draw(st.sampled_from([c for c in alphabet if c != number[position]]))
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(DocumentError) as excinfo:
        parse_mainland_id(changed, today=TODAY)
    if position >= 14:  # the sequence and check character: only the check character can tell
        assert str(excinfo.value) == f"身份证号校验位错误：应为{id_check_char(changed[:17])}"


def test_check_character_x():
    assert id_check_char("11010519491231002") == "X"
    assert parse_mainland_id("11010519491231002x", today=TODAY).number == "11010519491231002X"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "身份证号为空"),
        ("1501051948031512", "身份证号应为18位，实际为16位"),
        ("15010519480315123A", "身份证号只能是17位数字加一位数字或X"),
        ("١٥٠١٠٥١٩٤٨٠٣١٥١٢٣٤", "身份证号只能是17位数字加一位数字或X"),
        (build("150105", datetime.date(2023, 1, 1), 1), "身份证号中的出生日期不可能：2023-01-01"),
        (build("150105", datetime.date(1879, 12, 31), 1), "身份证号中的出生日期不可能：1879-12-31"),
    ],
)
def test_bad_numbers_say_why(raw, message):
    with pytest.raises(DocumentError) as excinfo:
        parse_mainland_id(raw, today=TODAY)
    assert str(excinfo.value) == message


@given(st.text())
@example("ΐ")
@example("１３８ １２３４－５６７８")
def test_normalise_is_idempotent(text):
    once = normalise(text)
    assert normalise(once) == once


def test_normalise_examples():
    assert normalise(" １５０１０５ １９４８－0315　123x ") == "150105194803151" + "23X"
    assert normalise(None) == ""


@given(st.text())
@example("+86")
@example("١٣٨١٢٣٤٥٦٧٨")
@example("13812345678.0")
def test_parse_mobile_returns_a_mainland_mobile_or_refuses(text):
    try:
        phone = parse_mobile(text)
    except DocumentError as error:
        assert str(error) == "手机号格式不对：应为1开头的11位数字"
        return
    assert phone == "" if normalise(text) == "" else re.fullmatch(r"1[3-9][0-9]{9}", phone)


@given(st.sampled_from("0123456789"), st.text(alphabet="0123456789", min_size=9, max_size=9), st.data())
def test_parse_mobile_accepts_exactly_1_then_3_to_9_then_nine_digits(second, rest, data):
    number = "1" + second + rest
    written = data.draw(
        st.sampled_from(
            [
                number,
                "".join(chr(ord(c) + 0xFEE0) for c in number),  # full-width
                f"+86 {number[:3]} {number[3:7]} {number[7:]}",
                f"0086-{number}",
                f"86{number}",
            ]
        )
    )
    if second in "3456789":
        assert parse_mobile(written) == number
    else:
        with pytest.raises(DocumentError):
            parse_mobile(written)


@given(st.text(alphabet="0123456789", min_size=0, max_size=20).filter(lambda s: len(s) != 11))
def test_parse_mobile_refuses_other_lengths(digits):
    if digits == "" or (len(digits) == 13 and digits.startswith("86")):
        return
    with pytest.raises(DocumentError):
        parse_mobile(digits)


def test_mask_formats():
    assert mask_id_number("15010519480315123X") == "150105********123X"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_id_number("E12345678") == "E1*****78"
    assert (mask_id_number(""), mask_phone("")) == ("", "")
