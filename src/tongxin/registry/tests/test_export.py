import datetime
import io

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone
from openpyxl import load_workbook

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.registry.actions import residents_export, residents_import
from tongxin.registry.exporting import template_workbook
from tongxin.registry.importing import parse_rows
from tongxin.registry.models import Household, Resident

pytestmark = pytest.mark.django_db

MASKED_HEADERS = [
    "姓名",
    "证件类型",
    "证件号码",
    "手机号",
    "楼栋",
    "单元",
    "房号",
    "与户主关系",
    "性别",
    "年龄",
    "独居",
    "退役军人",
    "重病",
    "残疾",
    "孕妇",
    "婴幼儿",
    "长期服药",
    "行动不便",
    "居住状态",
    "人员类别",
    "抵达日期",
    "来自",
    "户籍地址",
    "备注",
]


def sheet_rows(content: bytes) -> list[list[object]]:
    workbook = load_workbook(io.BytesIO(content), read_only=True)
    rows = [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]
    return [row + [None] * (len(rows[0]) - len(row)) for row in rows]  # trailing blanks are not stored


def age(birth: datetime.date) -> int:
    today = timezone.localdate()
    return today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))


def test_masked_export_by_a_manager(world):
    manager = world.users[Role.COMPOUND_MANAGER]

    rows = sheet_rows(residents_export(actor=manager, compound=world.compound_a))

    assert rows[0] == MASKED_HEADERS
    elder = world.elder
    assert rows[1] == [
        "王秀兰",
        "居民身份证",
        elder.document_masked,
        "138****5678",
        "1",
        "1",
        "101",
        "户主",
        "女",
        age(datetime.date(1948, 3, 15)),
        "是",
        None,
        None,
        None,
        None,
        None,
        None,
        None,
        "未核实",
        None,
        None,
        None,
        None,
        None,
    ]
    assert [row[0] for row in rows[1:]] == ["王秀兰", "王小明", "李建国"]
    assert rows[2][3] is None  # no phone
    assert "*" in rows[1][2] and "*" in rows[3][3]
    log = AuditLog.objects.get(action="export")
    assert (log.actor, log.object_type, log.object_id, log.fields, log.reason, log.detail) == (
        manager,
        "registry.compound",
        str(world.compound_a.pk),
        "resident",
        "",
        {"count": 3, "masked": True},
    )


def test_revealed_export_needs_a_reason_and_says_so_in_the_audit(world):
    manager = world.users[Role.COMPOUND_MANAGER]

    rows = sheet_rows(
        residents_export(actor=manager, compound=world.compound_a, reveal_reason=" 核对名单 ", ip="10.0.0.8")
    )

    headers = rows[0]
    assert headers[8:11] == ["性别", "出生日期", "年龄"]
    elder_row = dict(zip(headers, rows[1], strict=True))
    assert elder_row["证件号码"] == crypto.decrypt(world.elder.document_cipher)
    assert elder_row["手机号"] == "13812345678"
    assert elder_row["出生日期"].date() == datetime.date(1948, 3, 15)
    log = AuditLog.objects.get(action="export")
    assert (log.fields, log.reason, log.detail, log.ip) == (
        "resident,document,phone",
        "核对名单",
        {"count": 3, "masked": False},
        "10.0.0.8",
    )
    with pytest.raises(ValidationError):
        residents_export(actor=manager, compound=world.compound_a, reveal_reason="x")
    assert AuditLog.objects.filter(action="export").count() == 1


def test_grid_worker_exports_their_buildings_only(world):
    rows = sheet_rows(residents_export(actor=world.users[Role.GRID_WORKER], compound=world.compound_a))

    assert [row[0] for row in rows[1:]] == ["王秀兰", "王小明"]
    assert AuditLog.objects.get(action="export").detail == {"count": 2, "masked": True}


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_volunteers_and_residents_may_not_export(world, role):
    with pytest.raises(PermissionDenied):
        residents_export(actor=world.users[role], compound=world.compound_a)
    with pytest.raises(PermissionDenied):
        residents_export(actor=world.users[role], compound=world.compound_a, reveal_reason="核对名单")
    assert not AuditLog.objects.filter(action="export").exists()


def test_manager_may_not_export_another_compound(world):
    with pytest.raises(PermissionDenied):
        residents_export(actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_b)


def test_revealed_export_imports_back_unchanged(world):
    world.elder.note, world.elder.arrived_on, world.elder.mobility = (
        "需上门",
        datetime.date(2022, 10, 5),
        "returning",
    )
    world.elder.save()
    admin = world.users[Role.PLATFORM_ADMIN]
    content = residents_export(actor=admin, compound=world.compound_a, reveal_reason="备份")
    before = sorted(Resident.objects.values_list("id", "updated_at"))

    report = residents_import(
        actor=admin, compound=world.compound_a, file_name="export.xlsx", content=content, dry_run=False
    )

    assert report.to_dict() == {
        "rows": 3,
        "valid": 3,
        "invalid": [],
        "created": 0,
        "updated": 0,
        "unchanged": 3,
    }
    assert sorted(Resident.objects.values_list("id", "updated_at")) == before


def test_revealed_export_creates_the_same_residents_in_an_empty_registry(world):
    content = residents_export(actor=None, compound=world.compound_a, reveal_reason="迁移")
    expected = sorted(
        Resident.objects.filter(compound=world.compound_a).values_list(
            "name", "document_hash", "phone_hash", "relation", "lives_alone", "veteran", "household__room"
        )
    )
    Resident.objects.filter(compound=world.compound_a).delete()
    Household.objects.filter(compound=world.compound_a).delete()

    report = residents_import(
        actor=None, compound=world.compound_a, file_name="export.xlsx", content=content, dry_run=False
    )

    assert (report.created, report.invalid) == (3, [])
    assert (
        sorted(
            Resident.objects.filter(compound=world.compound_a).values_list(
                "name", "document_hash", "phone_hash", "relation", "lives_alone", "veteran", "household__room"
            )
        )
        == expected
    )


def test_masked_export_does_not_import(world):
    content = residents_export(actor=None, compound=world.compound_a)

    report = residents_import(
        actor=None, compound=world.compound_a, file_name="masked.xlsx", content=content, dry_run=True
    )

    assert report.invalid[0] == {
        "row": 2,
        "column": "证件号码",
        "reason": "证件号码已脱敏（含*），不能导入；请填写完整号码",
    }
    assert report.invalid[1] == {
        "row": 2,
        "column": "手机号",
        "reason": "手机号已脱敏（含*），不能导入；请填写完整号码",
    }
    assert (report.valid, len(report.invalid)) == (0, 5)


def test_template_has_the_import_headers_and_a_valid_example(world):
    content = template_workbook()

    rows = sheet_rows(content)
    assert rows[0] == [h for h in MASKED_HEADERS if h not in ("性别", "年龄")]
    assert rows[1][:8] == ["张三", "居民身份证", "150105198005170110", "13812345678", "1", "1", "101", "户主"]
    assert load_workbook(io.BytesIO(content)).sheetnames == ["居民", "填写说明"]
    parsed = parse_rows("template.xlsx", content)
    assert ([row.errors for row in parsed.rows], parsed.file_errors) == ([[]], [])
    report = residents_import(
        actor=None, compound=world.compound_a, file_name="t.xlsx", content=content, dry_run=True
    )
    assert report.to_dict() == {
        "rows": 1,
        "valid": 1,
        "invalid": [],
        "created": 1,
        "updated": 0,
        "unchanged": 0,
    }


def test_control_characters_entered_elsewhere_do_not_break_the_export(world):
    Resident.objects.filter(pk=world.elder.pk).update(note="需\x1f上门\x07")

    rows = sheet_rows(residents_export(actor=None, compound=world.compound_a))

    assert rows[1][-1] == "需上门"
