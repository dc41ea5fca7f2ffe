"""Property tests: whatever the file holds, the importer reads it or reports row-level errors."""

import datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tongxin.core.documents import make_mainland_id, normalise
from tongxin.registry.actions import document_lookup_hash, residents_import
from tongxin.registry.importing import (
    ImportFileError,
    header_key,
    key,
    normalise_building,
    normalise_room,
    normalise_text,
    normalise_unit,
    parse_rows,
)
from tongxin.registry.models import Resident
from tongxin.registry.tests.importing_helpers import HEADERS, csv_bytes, xlsx_bytes

DB_SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
cell_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs", "Cc")),
    max_size=25,  # openpyxl refuses control characters
)
cells = st.one_of(
    cell_text,
    st.integers(min_value=-(10**20), max_value=10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.none(),
)


@settings(max_examples=200, deadline=None)
@given(content=st.binary(max_size=400), name=st.sampled_from(["a.csv", "a.xlsx", "a.txt", "a"]))
def test_random_bytes_never_crash_the_parser(content, name):
    try:
        parsed = parse_rows(name, content)
    except ImportFileError as error:
        assert str(error)
    else:
        assert all(error.row >= 1 for row in parsed.rows for error in row.errors)


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.lists(cells, min_size=0, max_size=9), max_size=12))
def test_random_cells_under_a_real_header_give_row_level_errors(rows):
    for content, name in ((xlsx_bytes(rows), "a.xlsx"), (csv_bytes(rows), "a.csv")):
        try:
            parsed = parse_rows(name, content)
        except ImportFileError:
            # A CSV line can hold a quote or line break that changes the table; never an xlsx.
            assert name == "a.csv"
            continue
        data_rows = {row.row for row in parsed.rows}
        assert parsed.total_rows == len(parsed.rows)
        for row in parsed.rows:
            for error in row.errors:
                assert error.row in data_rows
                assert error.column in HEADERS
                assert error.reason
            if not row.errors:
                assert row.name and row.document_number and row.building and row.unit and row.room


@given(value=st.text(max_size=30) | st.text(alphabet="*(必填)选 Y¯ΐ号楼栋第单元室", max_size=12))
def test_normalisers_are_idempotent(value):
    for normaliser in (
        normalise_building,
        normalise_unit,
        normalise_room,
        normalise_text,
        normalise,
        key,
        header_key,
    ):
        once = normaliser(value)
        assert normaliser(once) == once


@given(number=st.integers(min_value=1, max_value=9999), spaces=st.sampled_from(["", " ", "\u3000", "  "]))
def test_full_width_and_suffixed_numbers_normalise_to_ascii(number, spaces):
    full_width = str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    assert normalise_building(f"{spaces}{full_width}号楼{spaces}") == str(number)
    assert normalise_building(f"第{full_width}栋") == str(number)
    assert normalise_unit(f"{full_width}{spaces}单元") == str(number)
    assert normalise_room(f"{full_width}室") == str(number)


resident_rows = st.lists(
    st.tuples(
        st.text(alphabet="王李张刘陈杨赵黄周吴徐孙秀兰建国明华", min_size=2, max_size=4),
        st.dates(min_value=datetime.date(1925, 1, 1), max_value=datetime.date(2021, 12, 31)),
        st.integers(min_value=0, max_value=999),
        st.sampled_from(["1", "2", "1号楼", "2栋", "3"]),
        st.sampled_from(["1", "1单元", "2"]),
        st.integers(min_value=101, max_value=1899),
        st.sampled_from(["", "13812345678", "1381234567", "+86 139 0000 1111"]),
        st.sampled_from(["", "户主", "配偶", "子女", "邻居"]),
    ),
    min_size=1,
    max_size=15,
)


@pytest.mark.django_db
@DB_SETTINGS
@given(rows=resident_rows)
def test_random_residents_either_import_or_report_row_errors(world, rows):
    table = [
        [name, make_mainland_id("150105", birth, sequence), phone, building, unit, str(room), relation]
        for name, birth, sequence, building, unit, room, phone, relation in rows
    ]

    report = residents_import(
        actor=None,
        compound=world.compound_a,
        file_name="random.xlsx",
        content=xlsx_bytes(table),
        dry_run=False,
        valid_only=True,
    )

    invalid_rows = {error["row"] for error in report.invalid}
    assert report.rows == len(table)
    assert report.valid + len(invalid_rows) == len(table)
    assert report.created + report.updated + report.unchanged == report.valid
    assert invalid_rows <= set(range(2, len(table) + 2))
    for index, line in enumerate(table, start=2):
        stored = Resident.objects.filter(
            document_type="mainland_id", document_hash=document_lookup_hash("mainland_id", line[1])
        ).first()
        if index not in invalid_rows:
            assert stored is not None and stored.compound_id == world.compound_a.pk and stored.name == line[0]
        reasons = {e["column"] for e in report.invalid if e["row"] == index}
        if line[3] == "3":
            assert "楼栋" in reasons
        if line[2] == "1381234567":
            assert "手机号" in reasons
        if line[6] == "邻居":
            assert "与户主关系" in reasons


@pytest.mark.django_db
@DB_SETTINGS
@given(rows=st.lists(st.lists(cell_text, min_size=7, max_size=7), min_size=1, max_size=8))
def test_random_text_rows_never_crash_a_dry_run(world, rows):
    before = Resident.objects.count()

    report = residents_import(
        actor=None,
        compound=world.compound_a,
        file_name="garbage.xlsx",
        content=xlsx_bytes(rows),
        dry_run=True,
        valid_only=False,
    )

    assert Resident.objects.count() == before
    assert report.valid + len({error["row"] for error in report.invalid}) == report.rows
