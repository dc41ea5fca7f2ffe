import datetime
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.models import ImportUpload, Resident
from tongxin.registry.tests.factories import make_user
from tongxin.registry.tests.importing_helpers import csv_bytes, mainland_id, xlsx_bytes

pytestmark = pytest.mark.django_db

ZHANG = mainland_id(datetime.date(1990, 1, 1), 11)
LI = mainland_id(datetime.date(1955, 8, 20), 22)
GOOD = [["张伟", ZHANG, "13800000001", "1", "1", "102", "户主"], ["李芳", LI, "", "1", "1", "102", "配偶"]]
BAD = ["王五", mainland_id(datetime.date(1990, 1, 1), 33), "12345", "9", "1", "103", ""]


@pytest.fixture
def login(client, world):
    def as_role(role):
        client.force_login(world.users[role])
        return client

    return as_role


def upload(client, world, content, name="居民.csv", compound=None):
    return client.post(
        reverse("registry:import"),
        {"compound": (compound or world.compound_a).pk, "file": SimpleUploadedFile(name, content)},
    )


def test_upload_page_lists_the_managed_compounds(login, world):
    response = login(Role.COMPOUND_MANAGER).get(reverse("registry:import"))

    assert response.status_code == 200
    options = response.context["form"].fields["compound"].queryset
    assert list(options) == [world.compound_a]
    html = response.content.decode()
    assert "导入居民" in html and reverse("registry:import_template") in html
    assert reverse("registry:export", args=[world.compound_a.pk]) in html
    assert reverse("registry:export", args=[world.compound_b.pk]) not in html


def test_wizard_upload_preview_confirm_creates(login, world):
    client = login(Role.COMPOUND_MANAGER)

    response = upload(client, world, csv_bytes(GOOD, encoding="gbk"))

    stored = ImportUpload.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("registry:import_preview", args=[stored.pk])
    assert (stored.file_name, stored.compound, stored.uploader) == (
        "居民.csv",
        world.compound_a,
        world.users[Role.COMPOUND_MANAGER],
    )
    assert stored.content == csv_bytes(GOOD, encoding="gbk")
    assert "张伟" not in stored.content_cipher

    preview = client.get(response["Location"])
    assert preview.status_code == 200
    assert preview.context["report"].to_dict() == {
        "rows": 2,
        "valid": 2,
        "invalid": [],
        "created": 2,
        "updated": 0,
        "unchanged": 0,
    }
    assert Resident.objects.count() == 4
    html = preview.content.decode()
    assert "确认导入" in html and "张伟" in html and "1号楼1单元102室" in html

    result = client.post(reverse("registry:import_confirm", args=[stored.pk]), {"mode": "all"})
    assert result.status_code == 200
    assert result.context["report"].created == 2
    assert "已导入：新建2人，更新0人，0人不变。" in result.content.decode()
    assert Resident.objects.count() == 6
    assert not ImportUpload.objects.exists()
    assert AuditLog.objects.filter(action="import", actor=world.users[Role.COMPOUND_MANAGER]).count() == 1


def test_preview_shows_errors_and_all_or_nothing_changes_nothing(login, world):
    client = login(Role.COMPOUND_MANAGER)
    upload(client, world, xlsx_bytes([*GOOD, BAD]), name="居民.xlsx")
    stored = ImportUpload.objects.get()

    preview = client.get(reverse("registry:import_preview", args=[stored.pk]))

    assert preview.context["errors"] == [
        {"row": 4, "column": "手机号", "reason": "手机号格式不对：应为1开头的11位数字"},
        {"row": 4, "column": "楼栋", "reason": "小区中没有9号楼；请先建好楼栋和单元"},
    ]
    html = preview.content.decode()
    assert '<tr class="row-error"><td class="num">4</td><td><mark class="bad-cell">手机号</mark></td>' in html
    assert "仅导入有效行（2行）" in html
    assert "确认导入" not in html

    refused = client.post(reverse("registry:import_confirm", args=[stored.pk]), {"mode": "all"})
    assert refused.status_code == 400
    assert "未导入" in refused.content.decode()
    assert Resident.objects.count() == 4
    assert ImportUpload.objects.filter(pk=stored.pk).exists()

    done = client.post(reverse("registry:import_confirm", args=[stored.pk]), {"mode": "valid_only"})
    assert done.status_code == 200
    assert (done.context["report"].created, Resident.objects.count()) == (2, 6)
    assert not ImportUpload.objects.exists()


def test_another_user_cannot_preview_or_confirm_someone_elses_upload(login, client, world):
    upload(login(Role.COMPOUND_MANAGER), world, csv_bytes(GOOD))
    stored = ImportUpload.objects.get()
    colleague = make_user(Role.COMPOUND_MANAGER, username="colleague", compound=world.compound_a)
    client.force_login(colleague)

    assert client.get(reverse("registry:import_preview", args=[stored.pk])).status_code == 404
    assert (
        client.post(reverse("registry:import_confirm", args=[stored.pk]), {"mode": "all"}).status_code == 404
    )
    assert Resident.objects.count() == 4
    assert ImportUpload.objects.filter(pk=stored.pk).exists()


def test_expired_upload_is_gone(login, world, settings):
    client = login(Role.COMPOUND_MANAGER)
    upload(client, world, csv_bytes(GOOD))
    stored = ImportUpload.objects.get()
    ImportUpload.objects.filter(pk=stored.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=settings.TONGXIN_IMPORT_UPLOAD_HOURS, minutes=1)
    )

    assert client.get(reverse("registry:import_preview", args=[stored.pk])).status_code == 404

    upload(client, world, csv_bytes(GOOD))
    assert ImportUpload.objects.count() == 1  # the expired one was cleared on the next upload


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("photo.png", b"\x89PNG\r\n\x1a\n", "无法读取该文件：请上传 .xlsx 或 .csv 文件"),
        ("fake.xlsx", b"not a zip at all", "无法读取该文件：不是有效的 .xlsx 文件"),
        ("empty.csv", b"  \n", "文件是空的"),
    ],
)
def test_unreadable_upload_is_refused_on_the_upload_page(login, world, name, content, message):
    response = upload(login(Role.COMPOUND_MANAGER), world, content, name=name)

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [message]
    assert message in response.content.decode()
    assert not ImportUpload.objects.exists()


def test_upload_size_limit(login, world, settings):
    settings.TONGXIN_IMPORT_MAX_BYTES = 100

    response = upload(login(Role.COMPOUND_MANAGER), world, csv_bytes(GOOD))

    assert response.status_code == 400
    assert response.context["form"].errors["file"] == [
        "文件太大（165\xa0字节）：最大100\xa0字节；请分成几个文件导入"
    ]


def test_manager_cannot_upload_into_another_compound(login, world):
    response = upload(login(Role.COMPOUND_MANAGER), world, csv_bytes(GOOD), compound=world.compound_b)

    assert response.status_code == 400
    assert list(response.context["form"].errors) == ["compound"]


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_volunteers_and_residents_get_403(login, world, role):
    client = login(role)

    assert client.get(reverse("registry:import")).status_code == 403
    assert client.get(reverse("registry:import_template")).status_code == 403
    assert client.get(reverse("registry:export", args=[world.compound_a.pk])).status_code in (403, 404)
    assert not AuditLog.objects.filter(action="export").exists()


def test_template_download(login):
    response = login(Role.GRID_WORKER).get(reverse("registry:import_template"))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert "attachment" in response["Content-Disposition"]
    rows = list(
        load_workbook(io.BytesIO(response.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    )
    assert rows[0][:3] == ("姓名", "证件类型", "证件号码")


def test_export_masked_by_get_and_revealed_by_post_with_a_reason(login, world):
    client = login(Role.COMPOUND_MANAGER)
    url = reverse("registry:export", args=[world.compound_a.pk])

    masked = client.get(url)
    missing_reason = client.post(url, {"reason": ""})
    revealed = client.post(url, {"reason": "核对名单"})

    assert masked.status_code == 200
    first = list(
        load_workbook(io.BytesIO(masked.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    )[1]
    assert first[:4] == ("王秀兰", "居民身份证", world.elder.document_masked, "138****5678")
    assert missing_reason.status_code == 400
    assert "请填写导出原因" in missing_reason.content.decode()
    assert revealed.status_code == 200
    first = list(
        load_workbook(io.BytesIO(revealed.content), read_only=True).worksheets[0].iter_rows(values_only=True)
    )[1]
    assert first[3] == "13812345678"
    logs = list(
        AuditLog.objects.filter(action="export").order_by("at", "id").values_list("reason", "detail", "ip")
    )
    assert logs == [
        ("", {"count": 3, "masked": True}, "127.0.0.1"),
        ("核对名单", {"count": 3, "masked": False}, "127.0.0.1"),
    ]


def test_export_of_an_unseen_compound_is_404(login, world):
    response = login(Role.COMPOUND_MANAGER).get(reverse("registry:export", args=[world.compound_b.pk]))

    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="export").exists()
