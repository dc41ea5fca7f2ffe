import datetime
import json
import math

import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, connections
from django.utils import translation

from tongxin.__main__ import main as tongxin_main
from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.registry import actions
from tongxin.registry.actions import residents_import
from tongxin.registry.models import Household, Resident
from tongxin.registry.tests.importing_helpers import HEADERS, csv_bytes, mainland_id, raw_id, xlsx_bytes

pytestmark = pytest.mark.django_db

ZHANG = mainland_id(datetime.date(1990, 1, 1), 11)  # 男
LI = mainland_id(datetime.date(1955, 8, 20), 22)  # 女


def run(world, content, *, name="residents.csv", dry_run=False, valid_only=False, actor=None, compound=None):
    return residents_import(
        actor=actor,
        compound=compound or world.compound_a,
        file_name=name,
        content=content,
        dry_run=dry_run,
        valid_only=valid_only,
    )


def good_rows():
    return [
        ["张伟", ZHANG, "13800000001", "1", "1", "102", "户主"],
        ["李芳", LI, "13800000002", "1", "1", "102", "配偶"],
    ]


def document(resident):
    return crypto.decrypt(resident.document_cipher)


def only_error(report):
    assert len(report.invalid) == 1, report.invalid
    return report.invalid[0]


# Reading the file


def test_utf8_csv_creates_residents_and_their_household(world):
    report = run(world, csv_bytes(good_rows()))

    assert report.to_dict() == {
        "rows": 2,
        "valid": 2,
        "invalid": [],
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    zhang = Resident.objects.get(name="张伟")
    li = Resident.objects.get(name="李芳")
    assert (zhang.household.unit, zhang.household.room) == (world.a1u1, "102")
    assert li.household_id == zhang.household_id
    assert (zhang.building_id, zhang.unit_id, zhang.compound_id) == (
        world.a1.pk,
        world.a1u1.pk,
        world.compound_a.pk,
    )
    assert (document(zhang), zhang.document_masked) == (ZHANG, ZHANG[:6] + "********" + ZHANG[-4:])
    assert (zhang.birth_date, zhang.sex, zhang.relation) == (datetime.date(1990, 1, 1), "M", "head")
    assert (li.birth_date, li.sex, li.relation) == (datetime.date(1955, 8, 20), "F", "spouse")
    assert (crypto.decrypt(zhang.phone_cipher), zhang.phone_masked) == ("13800000001", "138****0001")
    assert zhang.presence == "unverified"
    assert Household.objects.filter(compound=world.compound_a).count() == 3


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(world, encoding):
    content = csv_bytes(good_rows(), encoding=encoding)
    if encoding == "utf-8-sig":
        assert content.startswith(b"\xef\xbb\xbf")

    report = run(world, content)

    assert (report.rows, report.valid, report.created, report.invalid) == (2, 2, 2, [])
    assert sorted(Resident.objects.filter(household__room="102").values_list("name", flat=True)) == [
        "张伟",
        "李芳",
    ]


def test_tab_separated_text_is_read(world):
    text = "\t".join(HEADERS) + "\n" + "\t".join(good_rows()[0]) + "\n"

    report = run(world, text.encode("gbk"), name="residents.txt")

    assert (report.rows, report.created, report.invalid) == (1, 1, [])


def test_xlsx_with_number_cells_and_a_title_row(world):
    rows = [["张伟", ZHANG, 13800000001, 1, 1.0, 102.0, "户主"]]

    report = run(world, xlsx_bytes(rows, title="丁香苑居民登记表"), name="residents.xlsx")

    assert report.to_dict() == {
        "rows": 1,
        "valid": 1,
        "invalid": [],
        "created": 1,
        "updated": 0,
        "unchanged": 0,
    }
    zhang = Resident.objects.get(name="张伟")
    assert (zhang.household.room, zhang.household.unit_id) == ("102", world.a1u1.pk)
    assert crypto.decrypt(zhang.phone_cipher) == "13800000001"


def test_full_width_digits_stray_spaces_and_suffixes_are_normalised(world):
    full_width = ZHANG.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    rows = [
        [" 张 伟 ", f" {full_width} ", "１３８ ０００ ０００ ０１", "１号楼", "第1单元", "１０２室", " 户主 "]
    ]

    report = run(world, csv_bytes(rows))

    assert (report.created, report.invalid) == (1, [])
    zhang = Resident.objects.get(document_hash=actions.document_lookup_hash("mainland_id", ZHANG))
    assert (zhang.name, zhang.household.room, zhang.relation) == ("张伟", "102", "head")
    assert crypto.decrypt(zhang.phone_cipher) == "13800000001"


def test_control_characters_in_text_are_dropped(world):
    headers = [*HEADERS, "备注"]
    rows = [[*good_rows()[0], "需\x1f上门\x07"]]

    report = run(world, csv_bytes(rows, headers=headers))

    assert (report.created, Resident.objects.get(name="张伟").note) == (1, "需上门")


def test_marked_required_headers_are_recognised(world):
    headers = ["姓名*", "身份证号（必填）", "手机号", "楼栋*", "单元*", "房号*", "与户主关系"]

    report = run(world, csv_bytes(good_rows(), headers=headers), dry_run=True)

    assert (report.valid, report.created, report.invalid) == (2, 2, [])


def test_values_in_either_language_whatever_the_page_language(world):
    headers = [*HEADERS, "居住状态", "标签"]
    rows = [
        [*good_rows()[0][:6], "户主", "在住", "独居"],
        [*good_rows()[1][:6], "Spouse", "Away", "Veteran/Disabled"],
    ]

    with translation.override("en"):
        report = run(world, csv_bytes(rows, headers=headers))

    assert (report.created, report.invalid) == (2, [])
    zhang, li = Resident.objects.get(name="张伟"), Resident.objects.get(name="李芳")
    assert (zhang.relation, zhang.presence, zhang.lives_alone) == ("head", "living", True)
    assert (li.relation, li.presence, li.veteran, li.disabled) == ("spouse", "away", True, True)


def test_english_headers_tags_and_optional_columns(world):
    headers = [
        "Name",
        "ID_Number",
        "Mobile",
        "Building",
        "Unit",
        "Room",
        "Relation",
        "独居",
        "退役军人",
        "标签",
        "居住状态",
        "人员类别",
        "抵达日期",
        "来自",
        "户籍地址",
        "备注",
        "证件类型",
    ]
    rows = [
        [
            "张伟",
            ZHANG,
            "",
            "1栋",
            "1",
            "102",
            "本人",
            "是",
            "否",
            "重病、行动不便",
            "在住",
            "返回人员",
            "2022年10月5日",
            "北京市",
            "内蒙古呼和浩特市赛罕区",
            "需上门",
            "身份证",
        ],
        [
            "Tom Smith",
            "E12345678",
            "",
            "1",
            "1",
            "102",
            "租客",
            "",
            "✓",
            "",
            "外出",
            "",
            "",
            "",
            "",
            "",
            "护照",
        ],
    ]

    report = run(world, csv_bytes(rows, headers=headers))

    assert (report.created, report.invalid) == (2, [])
    zhang = Resident.objects.get(name="张伟")
    assert [
        zhang.lives_alone,
        zhang.veteran,
        zhang.serious_illness,
        zhang.limited_mobility,
        zhang.disabled,
    ] == [
        True,
        False,
        True,
        True,
        False,
    ]
    assert (zhang.presence, zhang.mobility, zhang.arrived_on, zhang.arrived_from) == (
        "living",
        "returning",
        datetime.date(2022, 10, 5),
        "北京市",
    )
    assert (zhang.registered_address, zhang.note, zhang.phone_hash) == (
        "内蒙古呼和浩特市赛罕区",
        "需上门",
        "",
    )
    tom = Resident.objects.get(name="Tom Smith")
    assert (tom.document_type, document(tom), tom.birth_date, tom.sex) == ("passport", "E12345678", None, "")
    assert (tom.relation, tom.veteran, tom.presence) == ("tenant", True, "away")


# Every kind of bad row, with its row, column and reason


def bad_row_report(world, row, *, headers=HEADERS, actor=None):
    return run(world, csv_bytes([good_rows()[0], row], headers=headers), dry_run=True, actor=actor)


@pytest.mark.parametrize(
    ("cells", "column", "reason"),
    [
        (
            {1: ZHANG[:-1] + ("1" if ZHANG[-1] != "1" else "2")},
            "身份证号",
            "身份证号校验位错误：应为" + ZHANG[-1],
        ),
        ({1: raw_id("150105", "19800230")}, "身份证号", "身份证号中的出生日期不存在：19800230"),
        ({1: raw_id("150105", "21000101")}, "身份证号", "身份证号中的出生日期不可能：2100-01-01"),
        ({1: raw_id("990000", "19800101")}, "身份证号", "身份证号的地区码未知：990000"),
        ({1: "15010519800101"}, "身份证号", "身份证号应为18位，实际为14位"),
        ({1: "150105********0011"}, "身份证号", "证件号码已脱敏（含*），不能导入；请填写完整号码"),
        ({2: "1380000000"}, "手机号", "手机号格式不对：应为1开头的11位数字"),
        ({2: "138****0001"}, "手机号", "手机号已脱敏（含*），不能导入；请填写完整号码"),
        ({3: "9号楼"}, "楼栋", "小区中没有9号楼；请先建好楼栋和单元"),
        ({4: "3单元"}, "单元", "1号楼没有3单元"),
        ({0: ""}, "姓名", "必填项为空"),
        ({1: ""}, "身份证号", "必填项为空"),
        ({3: ""}, "楼栋", "必填项为空"),
        ({4: " "}, "单元", "必填项为空"),
        ({5: "\u3000"}, "房号", "必填项为空"),
        (
            {6: "妯娌"},
            "与户主关系",
            "无法识别“妯娌”（可填：户主、配偶、子女、父母、祖父母/外祖父母、孙子女/外孙子女、兄弟姐妹、儿媳/女婿、租户、其他）",
        ),
        ({0: "张" * 51}, "姓名", "不能超过50个字"),
    ],
)
def test_each_bad_value_is_reported_with_row_column_and_reason(world, cells, column, reason):
    row = ["李芳", LI, "13800000002", "1", "1", "102", "配偶"]
    for index, value in cells.items():
        row[index] = value

    report = bad_row_report(world, row)

    assert report.invalid == [{"row": 3, "column": column, "reason": reason}]
    assert (report.rows, report.valid) == (2, 1)


def test_unknown_document_type_tag_presence_and_date(world):
    headers = [*HEADERS, "证件类型", "独居", "标签", "居住状态", "人员类别", "抵达日期"]
    row = ["李芳", LI, "", "1", "1", "102", "配偶", "驾照", "也许", "独居、富翁", "失踪", "游客", "十月五日"]

    first = [*good_rows()[0], "", "", "", "", "", ""]
    report = run(world, csv_bytes([first, row], headers=headers), dry_run=True)
    assert report.invalid == [
        {
            "row": 3,
            "column": "证件类型",
            "reason": "未知的证件类型：驾照（可填：居民身份证、护照、港澳居民来往内地通行证、台湾居民来往大陆通行证、外国人永久居留身份证、其他证件）",
        },
        {"row": 3, "column": "独居", "reason": "应填“是”或“否”，而不是“也许”"},
        {
            "row": 3,
            "column": "标签",
            "reason": "未知的标签：富翁（可填：独居、退役军人、重病、残疾、孕妇、婴幼儿、长期服药、行动不便）",
        },
        {"row": 3, "column": "居住状态", "reason": "无法识别“失踪”（可填：在住、外出、已搬离、未核实）"},
        {"row": 3, "column": "人员类别", "reason": "无法识别“游客”（可填：返回人员、流动人员）"},
        {"row": 3, "column": "抵达日期", "reason": "日期格式不对：十月五日（应如2022-10-05）"},
    ]


def test_several_errors_in_one_row_are_each_reported_in_column_order(world):
    report = bad_row_report(world, ["", "123", "12", "1", "7", "102", "户主"])

    assert report.invalid == [
        {"row": 3, "column": "姓名", "reason": "必填项为空"},
        {"row": 3, "column": "身份证号", "reason": "身份证号应为18位，实际为3位"},
        {"row": 3, "column": "手机号", "reason": "手机号格式不对：应为1开头的11位数字"},
        {"row": 3, "column": "单元", "reason": "1号楼没有7单元"},
    ]
    assert report.valid == 1


def test_duplicate_inside_the_file_names_the_other_rows(world):
    rows = [
        *good_rows(),
        ["张三", ZHANG, "", "2", "1", "201", "户主"],
        ["张四", ZHANG, "", "2", "1", "202", ""],
    ]

    report = run(world, csv_bytes(rows), dry_run=True)

    assert report.invalid == [
        {"row": 2, "column": "身份证号", "reason": "与第4、5行的证件号码重复"},
        {"row": 4, "column": "身份证号", "reason": "与第2、5行的证件号码重复"},
        {"row": 5, "column": "身份证号", "reason": "与第2、4行的证件号码重复"},
    ]
    assert (report.valid, report.created) == (1, 1)


def test_duplicate_against_another_compound_says_where_when_visible(world):
    stranger = document(world.stranger)
    row = ["赵四", stranger, "", "1", "1", "102", ""]

    as_admin = bad_row_report(world, row, actor=world.users[Role.PLATFORM_ADMIN])
    as_system = bad_row_report(world, row)
    as_manager = bad_row_report(world, row, actor=world.users[Role.COMPOUND_MANAGER])

    where = {"row": 3, "column": "身份证号", "reason": "该证件号码已在乙小区1号楼1单元101室登记"}
    assert as_admin.invalid == [where]
    assert as_system.invalid == [where]
    assert as_manager.invalid == [{"row": 3, "column": "身份证号", "reason": "该证件号码已在其他小区登记"}]


def test_excel_number_id_lost_its_last_digits(world):
    lossy = float(ZHANG)
    rows = [["张伟", lossy, "", "1", "1", "102", ""], ["李芳", "1.50105E+17", "", "1", "1", "102", ""]]

    report = run(world, xlsx_bytes(rows), name="ids.xlsx", dry_run=True)

    reason = "证件号码被Excel当成数字保存，末几位已丢失（如1.50105E+17）；请把该列设为文本格式后重新填写号码"
    assert report.invalid == [
        {"row": 2, "column": "身份证号", "reason": reason},
        {"row": 3, "column": "身份证号", "reason": reason},
    ]


def test_missing_required_column_is_reported_on_the_header_row(world):
    headers = ["姓名", "手机号", "楼号", "门牌号"]

    report = run(world, csv_bytes([["张伟", "", "1", "101"]], headers=headers))

    assert report.to_dict() == {
        "rows": 1,
        "valid": 0,
        "invalid": [
            {"row": 1, "column": "证件号码", "reason": "缺少必填列：证件号码"},
            {"row": 1, "column": "单元", "reason": "缺少必填列：单元"},
        ],
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    assert report.file_error is True


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("empty.csv", b"", "文件是空的"),
        ("blank.csv", b"\r\n , ,\r\n", "文件是空的：没有找到表头行"),
        (
            "notes.csv",
            "随便写的\n第二行\n".encode(),
            "没有找到表头行：第一行应是“姓名、身份证号、楼栋、单元、房号”等列名",
        ),
        ("photo.png", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "无法读取该文件：请上传 .xlsx 或 .csv 文件"),
        (
            "old.xls",
            b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,
            "无法读取该文件：这是旧版 .xls 格式，请在Excel中另存为 .xlsx 或 .csv 后再上传",
        ),
        ("broken.xlsx", b"PK\x03\x04broken", "无法读取该文件：不是有效的 .xlsx 文件"),
        ("renamed.xlsx", "姓名,身份证号\n".encode(), "无法读取该文件：不是有效的 .xlsx 文件"),
    ],
)
def test_unusable_files_are_one_clear_error(world, name, content, reason):
    report = run(world, content, name=name)

    assert report.to_dict() == {
        "rows": 0,
        "valid": 0,
        "invalid": [{"row": 0, "column": "", "reason": reason}],
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    assert Resident.objects.count() == 4


def test_too_many_rows(world, settings):
    settings.TONGXIN_IMPORT_MAX_ROWS = 1

    report = run(world, csv_bytes(good_rows()))

    assert report.to_dict()["invalid"] == [
        {"row": 0, "column": "", "reason": "文件有2行数据，超过上限1行；请分成几个文件导入"}
    ]
    assert (report.rows, report.valid, report.created, report.file_error) == (2, 0, 0, True)
    assert Resident.objects.count() == 4


# What is written: dry run, all-or-nothing, valid only, updates, idempotency


def snapshot():
    return (
        Resident.objects.count(),
        Household.objects.count(),
        AuditLog.objects.count(),
        sorted(Resident.objects.values_list("id", "updated_at")),
    )


def test_dry_run_counts_everything_and_writes_nothing(world):
    elder = document(world.elder)
    rows = [
        *good_rows(),
        ["王秀兰", elder, "13812345678", "1", "1", "101", "户主"],
        ["王秀兰", elder[:-1], "", "", "", "", ""],
    ]
    rows.append(["李建国", document(world.neighbour), "13999999999", "2", "1", "201", "户主"])
    before = snapshot()

    report = run(world, csv_bytes(rows), dry_run=True)

    assert snapshot() == before
    assert (report.rows, report.valid, report.created, report.updated, report.unchanged) == (5, 4, 2, 1, 1)
    assert [e["row"] for e in report.invalid] == [5, 5, 5, 5]
    assert report.applied is False
    assert [p["name"] for p in report.created_preview] == ["张伟", "李芳"]
    assert report.updated_preview == [
        {
            "row": 6,
            "name": "李建国",
            "document": world.neighbour.document_masked,
            "phone": "139****9999",
            "where": "2号楼1单元201室",
            "changes": ["手机号"],
        }
    ]


def test_real_import_with_a_bad_row_writes_nothing(world):
    rows = [*good_rows(), ["王五", "123", "", "1", "1", "103", ""]]
    before = snapshot()

    report = run(world, csv_bytes(rows))

    assert report.to_dict() == {
        "rows": 3,
        "valid": 2,
        "invalid": [{"row": 4, "column": "身份证号", "reason": "身份证号应为18位，实际为3位"}],
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    assert report.applied is False
    assert snapshot() == before


def test_valid_only_writes_the_valid_rows_and_reports_the_others(world):
    rows = [*good_rows(), ["王五", "123", "", "1", "1", "103", ""]]

    report = run(world, csv_bytes(rows), valid_only=True, actor=world.users[Role.COMPOUND_MANAGER])

    assert (report.rows, report.valid, report.created, report.updated, report.unchanged) == (3, 2, 2, 0, 0)
    assert report.invalid == [{"row": 4, "column": "身份证号", "reason": "身份证号应为18位，实际为3位"}]
    assert Resident.objects.count() == 6
    assert not Household.objects.filter(room="103").exists()
    log = AuditLog.objects.get(action="import")
    assert (log.actor, log.object_type, log.object_id, log.object_label, log.fields) == (
        world.users[Role.COMPOUND_MANAGER],
        "registry.compound",
        str(world.compound_a.pk),
        "甲小区",
        "resident",
    )
    assert log.detail == {
        "file_name": "residents.csv",
        "rows": 3,
        "valid": 2,
        "invalid_rows": 1,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "valid_only": True,
    }


def test_existing_resident_is_updated_and_moved(world):
    elder = world.elder
    rows = [["王秀兰", document(elder), "13800000009", "2", "1", "202", "户主", "是"]]

    report = run(world, csv_bytes(rows, headers=[*HEADERS, "独居"]))

    assert (report.created, report.updated, report.unchanged) == (0, 1, 0)
    elder.refresh_from_db()
    assert (elder.household.unit_id, elder.household.room) == (world.a2u1.pk, "202")
    assert (elder.unit_id, elder.building_id, elder.compound_id) == (
        world.a2u1.pk,
        world.a2.pk,
        world.compound_a.pk,
    )
    assert (crypto.decrypt(elder.phone_cipher), elder.phone_masked) == ("13800000009", "138****0009")
    assert (elder.name, elder.relation, elder.lives_alone, elder.birth_date) == (
        "王秀兰",
        "head",
        True,
        datetime.date(1948, 3, 15),
    )
    assert elder.updated_at > elder.created_at


def test_blank_cells_keep_the_registry_values_but_tag_columns_state_the_tags(world):
    elder = world.elder
    rows = [["王秀兰", document(elder), "", "1", "1", "101", "", ""]]

    report = run(world, csv_bytes(rows, headers=[*HEADERS, "独居"]))

    assert (report.updated, report.updated_preview[0]["changes"]) == (1, ["独居"])
    elder.refresh_from_db()
    assert (crypto.decrypt(elder.phone_cipher), elder.relation, elder.lives_alone) == (
        "13812345678",
        "head",
        False,
    )


def test_importing_the_same_file_twice_changes_nothing_the_second_time(world):
    rows = [*good_rows(), ["王秀兰", document(world.elder), "13812345678", "1", "1", "101", "户主"]]
    content = xlsx_bytes(rows)
    first = run(world, content, name="r.xlsx")
    assert (first.created, first.updated, first.unchanged) == (2, 0, 1)
    before = snapshot()

    second = run(world, content, name="r.xlsx")

    assert second.to_dict() == {
        "rows": 3,
        "valid": 3,
        "invalid": [],
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }
    after = snapshot()
    assert after[0:2] == before[0:2]
    assert after[3] == before[3]
    assert after[2] == before[2] + 1  # the import itself is audited, with its counts


def test_permissions(world):
    content = csv_bytes(good_rows())
    for role in (Role.VOLUNTEER, Role.RESIDENT):
        with pytest.raises(PermissionDenied):
            run(world, content, actor=world.users[role], dry_run=True)
    with pytest.raises(PermissionDenied):
        run(world, content, actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_b)
    report = run(world, content, actor=world.users[Role.GRID_WORKER])
    assert report.created == 2


def test_grid_worker_imports_into_their_own_buildings_only(world):
    rows = [
        ["张伟", ZHANG, "", "2", "1", "201", ""],
        ["李建国", document(world.neighbour), "", "1", "1", "101", ""],
        ["王秀兰", document(world.elder), "", "1", "1", "101", ""],
    ]

    report = run(world, csv_bytes(rows), actor=world.users[Role.GRID_WORKER], dry_run=True)

    assert report.invalid == [
        {"row": 2, "column": "楼栋", "reason": "2号楼不在您负责的范围内"},
        {"row": 3, "column": "身份证号", "reason": "该证件号码已在本小区您负责范围以外的楼栋登记"},
    ]
    assert (report.valid, report.unchanged) == (1, 1)


def test_import_stays_within_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    rows = [
        [
            f"居民{n}",
            mainland_id(datetime.date(1960, 1, 1) + datetime.timedelta(days=n), 1),
            "",
            "1",
            "1",
            str(1000 + n // 3),
            "",
        ]
        for n in range(2500)
    ]

    fields = [f for f in Resident._meta.concrete_fields if not f.primary_key]
    batches = math.ceil(2500 / min(1000, connection.ops.bulk_batch_size(fields, rows)))  # SQLite: 999 params

    with django_assert_max_num_queries(20 + 2 * batches):
        report = run(world, csv_bytes(rows))

    assert (report.created, report.invalid) == (2500, [])
    assert Household.objects.filter(unit=world.a1u1).count() == 1 + 834


# The command


def test_command_json_output(world, tmp_path, capsys):
    path = gbk_file(tmp_path, good_rows())

    call_command("import_residents", str(path), "--compound", "A", "--format", "json")

    assert json.loads(capsys.readouterr().out) == {
        "rows": 2,
        "valid": 2,
        "invalid": [],
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert Resident.objects.count() == 6


def gbk_file(tmp_path, rows):
    path = tmp_path / "居民.csv"
    path.write_bytes(csv_bytes(rows, encoding="gbk"))
    return path


def test_command_stops_on_errors_and_exits_1(world, tmp_path, capsys):
    path = gbk_file(tmp_path, [*good_rows(), ["王五", "", "", "1", "1", "103", ""]])

    with pytest.raises(CommandError) as stopped:
        call_command("import_residents", str(path), "--compound", "A", "--format", "json")

    assert stopped.value.returncode == 1
    out = capsys.readouterr().out
    assert out.count("\n") <= 1
    assert json.loads(out) == {
        "rows": 3,
        "valid": 2,
        "invalid": [{"row": 4, "column": "身份证号", "reason": "必填项为空"}],
        "created": 0,
        "updated": 0,
        "unchanged": 0,
    }
    assert "必填项为空" in out  # ensure_ascii=False
    assert Resident.objects.count() == 4


def test_console_script_exit_codes(world, tmp_path, capsys, monkeypatch):
    # run_from_argv closes every connection when it ends: that would end the test's transaction.
    monkeypatch.setattr(connections, "close_all", lambda: None)
    path = gbk_file(tmp_path, [*good_rows(), ["王五", "", "", "1", "1", "103", ""]])
    argv = ["tongxin", "import-residents", str(path), "--compound", "A", "--format", "json"]

    with pytest.raises(SystemExit) as dry:
        tongxin_main([*argv, "--dry-run"])
    assert dry.value.code == 1
    assert json.loads(capsys.readouterr().out)["created"] == 2

    assert tongxin_main([*argv, "--valid-only"]) == 0
    assert json.loads(capsys.readouterr().out)["created"] == 2
    assert Resident.objects.count() == 6

    assert tongxin_main([*argv[:-2], "--valid-only", "--format", "text"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "imported: rows 3, valid 2, invalid rows 1, created 0, updated 0, unchanged 2",
        "row 4\t身份证号\t必填项为空",
    ]


def test_command_unknown_compound(world, tmp_path):
    path = gbk_file(tmp_path, good_rows())

    with pytest.raises(CommandError, match="no compound with code 'Z'"):
        call_command("import_residents", str(path), "--compound", "Z")


def test_a_resident_registered_meanwhile_by_another_import_is_reported_not_a_server_error(world, monkeypatch):
    """Two confirms of one file at once (a double click, two operators): the second plan is stale.

    Simulated by registering the row's number after the plan was made; the write then meets the
    unique constraint. The import reports it, writes nothing, and can simply be run again.
    """
    from tongxin.registry import importing
    from tongxin.registry.tests.factories import make_resident

    plan_import = importing.plan_import

    def plan_then_someone_else_writes(**kwargs):
        plans = plan_import(**kwargs)
        make_resident(world.home_a1, name="张伟", document_number=ZHANG)
        return plans

    monkeypatch.setattr(importing, "plan_import", plan_then_someone_else_writes)
    before = Resident.objects.count()
    report = run(world, csv_bytes(good_rows()))
    assert not report.applied and report.file_error
    assert only_error(report) == {
        "row": 0,
        "column": "",
        "reason": "导入时其他操作同时写入了相同的居民或房号，本次没有写入任何数据；请重新预览后再确认",
    }
    assert Resident.objects.count() == before + 1  # only the one registered meanwhile
    assert AuditLog.objects.filter(action="import").count() == 0
    monkeypatch.setattr(importing, "plan_import", plan_import)
    assert run(world, csv_bytes(good_rows())).to_dict() == {
        "rows": 2,
        "valid": 2,
        "invalid": [],
        "created": 1,
        "updated": 1,
        "unchanged": 0,
    }
