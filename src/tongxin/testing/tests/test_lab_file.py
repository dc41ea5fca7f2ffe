"""Reading lab result files: headers, encodings, results, times, row numbers and the errors of bad
rows; property tests: junk never crashes, and generated valid files read back exactly."""

import csv
import datetime
import io
import zoneinfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import Workbook

from tongxin.testing.labfile import LabFile, LabFileError, parse_result, parse_time_text

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")
NEG, POS = "negative", "positive"


def at(*parts) -> datetime.datetime:
    return datetime.datetime(*parts, tzinfo=SHANGHAI)


def read(content: bytes, name: str = "lab.csv"):
    lab = LabFile(name, content)
    return list(lab), lab


def xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_chinese_headers_utf8_rows_and_numbers_kept():
    content = "管码,结果,检测时间\nt0001,阴性,2022-11-24 14:30\n\nT0002 ,阳性,2022/11/24 9:05:07\n".encode()
    rows, lab = read(content)
    assert rows == [
        (2, "T0001", NEG, at(2022, 11, 24, 14, 30)),
        (4, "T0002", POS, at(2022, 11, 24, 9, 5, 7)),
    ]
    assert (lab.header_row, lab.rows, lab.errors, lab.invalid_rows) == (1, 2, [], 0)


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_encodings_and_alias_headers(encoding):
    text = "实验室导出\n试管编码,检测结果,出结果时间,备注\nA-17,阴性（-）,2022年11月24日 14时30分,无\nA-18,未检出,20221124143005,\n"
    rows, lab = read(text.encode(encoding))
    assert rows == [
        (3, "A-17", NEG, at(2022, 11, 24, 14, 30)),
        (4, "A-18", NEG, at(2022, 11, 24, 14, 30, 5)),
    ]
    assert lab.header_row == 2


def test_english_headers_tab_separated_and_zones_kept():
    content = b"Tube Code\tResult\tResult Time\nT1\tPositive\t2022-11-24T06:30:00Z\nT2\tneg\t2022-11-24 14:30+08:00\n"
    rows, _lab = read(content, "lab.txt")
    assert rows == [
        (2, "T1", POS, datetime.datetime(2022, 11, 24, 6, 30, tzinfo=datetime.UTC)),
        (3, "T2", NEG, at(2022, 11, 24, 14, 30)),
    ]


def test_each_bad_row_reported_with_row_column_and_reason():
    content = (
        "管码,结果,报告时间\n"
        ",阴性,2022-11-24 14:30\n"
        "T2,-,2022-11-24 14:30\n"
        "T3,+,2022-11-24\n"
        "T4,可疑,昨天\n"
        "T5,,\n"
        f"{'X' * 41},阴性,2022-11-24 14:30\n"
        "T7,阳性,2022-11-24 14:30\n"
    ).encode()
    rows, lab = read(content)
    assert rows == [(8, "T7", POS, at(2022, 11, 24, 14, 30))]
    assert lab.errors == [
        {"row": 2, "column": "管码", "code": "required", "message": "缺少管码"},
        {"row": 3, "column": "结果", "code": "invalid", "message": "结果“-”含义不明确：请填写阴性或阳性"},
        {"row": 4, "column": "结果", "code": "invalid", "message": "结果“+”含义不明确：请填写阴性或阳性"},
        {
            "row": 4,
            "column": "检测时间",
            "code": "invalid",
            "message": "检测时间须写到时分，如2022-11-24 14:30",
        },
        {
            "row": 5,
            "column": "结果",
            "code": "invalid",
            "message": "无法识别的检测结果“可疑”：请填写阴性或阳性",
        },
        {
            "row": 5,
            "column": "检测时间",
            "code": "invalid",
            "message": "无法识别的时间“昨天”：请写成2022-11-24 14:30的格式",
        },
        {"row": 6, "column": "结果", "code": "required", "message": "缺少检测结果"},
        {"row": 6, "column": "检测时间", "code": "required", "message": "缺少检测时间"},
        {"row": 7, "column": "管码", "code": "invalid", "message": "管码过长（最多40个字符）"},
    ]
    assert (lab.rows, lab.invalid_rows, lab.error_count) == (7, 6, 9)


@pytest.mark.parametrize(
    ("content", "name", "message"),
    [
        (b"", "lab.csv", "文件是空的"),
        (b"\n\n", "lab.csv", "文件是空的"),
        ("管码,结果\nT1,阴性\n".encode(), "lab.csv", "缺少列：检测时间"),
        ("姓名,电话\n张三,1\n".encode(), "lab.csv", "没有找到表头行：第一行应是“管码、结果、检测时间”等列名"),
        (
            b"\xd0\xcf\x11\xe0rest",
            "lab.xls",
            "无法读取该文件：这是旧版 .xls 格式，请在Excel中另存为 .xlsx 或 .csv 后再上传",
        ),
        (b"not a zip", "lab.xlsx", "无法读取该文件：不是有效的 .xlsx 文件"),
        (b"PK\x03\x04broken", "lab.xlsx", "无法读取该文件：不是有效的 .xlsx 文件"),
        (b"a\x00b", "lab.csv", "无法读取该文件：请上传 .xlsx 或 .csv 文件"),
    ],
)
def test_unreadable_files(content, name, message):
    with pytest.raises(LabFileError) as caught:
        LabFile(name, content)
    assert str(caught.value) == message


def test_xlsx_dates_numbers_and_text():
    content = xlsx(
        [
            ["管码", "结果", "检测时间"],
            ["T1", "阴性", at(2022, 11, 24, 14, 30).replace(tzinfo=None)],  # cells are naive
            [12345, "阳性", "2022-11-24 15:00"],
            ["T3", "negative", datetime.date(2022, 11, 24)],
            [None, None, None],
            ["T5", "阴性", 44889.5],
        ]
    )
    rows, lab = read(content, "lab.xlsx")
    assert rows == [
        (2, "T1", NEG, at(2022, 11, 24, 14, 30)),
        (3, "12345", POS, at(2022, 11, 24, 15, 0)),
        (4, "T3", NEG, at(2022, 11, 24, 0, 0)),  # a date cell comes back as midnight
        (6, "T5", NEG, at(2022, 11, 24, 12, 0)),
    ]
    assert lab.errors == []


def test_result_words_and_times():
    assert [parse_result(v)[0] for v in ("阴性", "阳性", "Negative(-)", "POS", "阴", "检出")] == [
        NEG,
        POS,
        NEG,
        POS,
        NEG,
        POS,
    ]
    assert parse_time_text("2022.11.24 14:30:05.5") == at(2022, 11, 24, 14, 30, 5, 500000)
    assert parse_time_text("２０２２年１１月２４日１４点３０分") == at(2022, 11, 24, 14, 30)
    assert parse_time_text("2022-02-30 10:00") == ("invalid", "2022-02-30 10:00")


# -- properties --------------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.binary(max_size=400), st.sampled_from(["lab.csv", "lab.xlsx", "lab.txt"]))
def test_random_bytes_never_crash(content, name):
    try:
        lab = LabFile(name, content)
        rows = list(lab)
    except LabFileError:
        return
    assert lab.rows == len(rows) + lab.invalid_rows
    for number, code, result, moment in rows:
        assert isinstance(number, int) and code and result in (NEG, POS) and moment.tzinfo is not None


junk_cell = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.lists(junk_cell, min_size=0, max_size=5), max_size=15),
    st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
)
def test_junk_rows_under_a_good_header_never_crash(rows, encoding):
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["管码", "结果", "检测时间"])
    writer.writerows(rows)
    content = buffer.getvalue().encode(encoding, errors="replace")
    try:
        lab = LabFile("lab.csv", content)
        parsed = list(lab)
    except LabFileError:
        return
    assert lab.rows == len(parsed) + lab.invalid_rows
    assert all(e["row"] and e["column"] in ("管码", "结果", "检测时间") for e in lab.errors)


codes = st.text(alphabet="ABCDEFGHJKLMNPQRSTUVWXYZ0123456789-", min_size=1, max_size=20).filter(
    lambda c: c.strip("-")
)
moments = st.datetimes(  # hypothesis takes naive bounds
    min_value=datetime.datetime(2020, 1, 1),  # noqa: DTZ001
    max_value=datetime.datetime(2030, 12, 31),  # noqa: DTZ001
).map(lambda m: m.replace(microsecond=0, tzinfo=SHANGHAI))
TIME_FORMATS = [
    "%Y-%m-%d %H:%M:%S",
    "%Y/%m/%d %H:%M:%S",
    "%Y-%m-%dT%H:%M:%S",
    "%Y年%m月%d日 %H时%M分%S秒",
    "%Y%m%d%H%M%S",
    "%Y-%m-%d %H:%M:%S%z",
]
HEADERS = [
    ("管码", "结果", "检测时间"),
    ("试管编码", "检测结果", "出结果时间"),
    ("tube", "result", "time"),
    ("Tube Code", "Result", "Result Time"),
]
WORDS = {NEG: ["阴性", "negative", "阴性(-)", "未检出"], POS: ["阳性", "Positive", "阳性（+）", "检出"]}


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(
    st.lists(st.tuples(codes, st.sampled_from([NEG, POS]), moments), min_size=1, max_size=30),
    st.sampled_from(TIME_FORMATS),
    st.sampled_from(HEADERS),
    st.sampled_from(["utf-8", "utf-8-sig", "gbk"]),
    st.sampled_from([",", "\t"]),
    st.randoms(use_true_random=False),
)
def test_generated_csv_reads_back_exactly(rows, time_format, header, encoding, delimiter, rnd):
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    for code, result, moment in rows:
        writer.writerow(
            [
                code.lower() if rnd.random() < 0.3 else code,
                rnd.choice(WORDS[result]),
                moment.strftime(time_format),
            ]
        )
    rows_read, lab = read(buffer.getvalue().encode(encoding))
    assert lab.errors == []
    assert rows_read == [(n + 2, code, result, moment) for n, (code, result, moment) in enumerate(rows)]


@settings(max_examples=25, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.lists(st.tuples(codes, st.sampled_from([NEG, POS]), moments), min_size=1, max_size=20))
def test_generated_xlsx_reads_back_exactly(rows):
    content = xlsx(
        [["管码", "结果", "检测时间"]] + [[c, WORDS[r][0], m.replace(tzinfo=None)] for c, r, m in rows]
    )
    rows_read, lab = read(content, "lab.xlsx")
    assert lab.errors == []
    assert rows_read == [(n + 2, code, result, moment) for n, (code, result, moment) in enumerate(rows)]
