"""Lab pages and API: upload and result, manual entry, the retest list (query count pinned),
acknowledging alerts; health roles only, another area's round 404."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import HouseholdFactory, make_resident
from tongxin.testing.actions.lab import lab_results_apply
from tongxin.testing.models import Alert, LabImport, Retest, Tube
from tongxin.testing.tests.round_helpers import make_round
from tongxin.testing.tests.test_lab_helpers import HOUR, lab_world, result_time, sampled_tube

pytestmark = pytest.mark.django_db


@pytest.fixture
def lab(world):
    lab = lab_world(world)
    sampled_tube(lab, "T0012", [lab.neighbour, lab.lodger])
    sampled_tube(lab, "T0013", [lab.elder, lab.child])
    return lab


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


def stamp(moment) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def lab_csv(lab, rows) -> SimpleUploadedFile:
    when = stamp(result_time(lab))
    text = "管码,结果,检测时间\n" + "".join(f"{code},{result},{when}\n" for code, result in rows)
    return SimpleUploadedFile("结果.csv", text.encode(), content_type="text/csv")


def pool_positive(lab):
    report = lab_results_apply(
        actor=None, rows=[(2, "T0012", "positive", result_time(lab))], file_name="a.csv"
    )
    assert report.people_under_review == 2


def test_upload_applies_and_shows_the_summary(lab, as_role):
    url = reverse("testing:lab_import", args=[lab.round.pk])
    client = as_role(Role.COMPOUND_MANAGER)
    page = client.get(url)
    assert page.status_code == 200 and "导入检测结果文件" in page.content.decode()
    answer = client.post(url, {"file": lab_csv(lab, [("T0012", "阳性"), ("T0013", "阴性")])})
    html = answer.content.decode()
    assert answer.status_code == 200
    assert "已导入" in html and "结果.csv" in html
    assert "2号楼1单元 试管T0012 混采阳性，2人待复核" in html  # the alert, with its button
    assert reverse("testing:alert_ack", args=[Alert.objects.get().pk]) in html
    assert Tube.objects.get(code="T0013").result == "negative"
    assert LabImport.objects.get().created_by == lab.users[Role.COMPOUND_MANAGER]


def test_upload_with_errors_shows_every_error_and_applies_nothing(lab, as_role):
    url = reverse("testing:lab_import", args=[lab.round.pk])
    answer = as_role(Role.GRID_WORKER).post(url, {"file": lab_csv(lab, [("T0012", "阳性"), ("T9", "阴性")])})
    html = answer.content.decode()
    assert answer.status_code == 400
    assert "未导入：文件有错误，没有写入任何结果" in html
    assert "本轮检测查无此试管：T9" in html and '<td class="num">3</td>' in html
    assert set(Tube.objects.values_list("result", flat=True)) == {"pending"}
    bad_type = as_role(Role.GRID_WORKER).post(
        url, {"file": SimpleUploadedFile("lab.pdf", b"%PDF", content_type="application/pdf")}
    )
    assert bad_type.status_code == 400 and "请上传 .xlsx 或 .csv 文件" in bad_type.content.decode()


def test_only_health_roles_and_only_their_rounds(lab, as_role):
    url = reverse("testing:lab_import", args=[lab.round.pk])
    for role in (Role.VOLUNTEER, Role.RESIDENT):
        client = as_role(role)
        assert client.get(url).status_code == 403
        assert client.get(reverse("testing:retests", args=[lab.round.pk])).status_code == 403
        assert client.get(reverse("testing:tube_result", args=[lab.round.pk])).status_code == 403
    other = make_round(lab, compound=lab.compound_b)
    manager = as_role(Role.COMPOUND_MANAGER)
    assert manager.get(reverse("testing:lab_import", args=[other.pk])).status_code == 404
    assert manager.get(reverse("testing:retests", args=[other.pk])).status_code == 404
    assert as_role(Role.PLATFORM_ADMIN).get(reverse("testing:lab_import", args=[other.pk])).status_code == 200


def test_manual_entry(lab, as_role):
    url = reverse("testing:tube_result", args=[lab.round.pk])
    client = as_role(Role.COMPOUND_MANAGER)
    assert client.get(url).status_code == 200
    when = timezone.localtime(result_time(lab)).strftime("%Y-%m-%dT%H:%M")
    unknown = client.post(url, {"code": "t404", "result": "negative", "result_at": when})
    assert unknown.status_code == 400 and "本轮检测查无此试管：T404" in unknown.content.decode()
    early = timezone.localtime(lab.sampled_at - HOUR).strftime("%Y-%m-%dT%H:%M")
    refused = client.post(url, {"code": "T0013", "result": "negative", "result_at": early})
    assert refused.status_code == 400 and "早于该试管的采样（封管）时间" in refused.content.decode()
    done = client.post(url, {"code": "t0012", "result": "positive", "result_at": when}, follow=True)
    assert done.redirect_chain == [(reverse("testing:lab_import", args=[lab.round.pk]), 302)]
    assert "已录入试管T0012的结果：阳性，2人待复核" in done.content.decode()
    tube = Tube.objects.get(code="T0012")
    assert (tube.result, tube.result_at) == (
        "positive",
        timezone.localtime(result_time(lab)).replace(second=0, microsecond=0),
    )
    assert Retest.objects.count() == 2 and LabImport.objects.count() == 0


def _more_reviewed(lab, households: int):
    """Another positive pool of two people per new household of building 1."""
    people = []
    for n in range(households):
        home = HouseholdFactory(unit=lab.a1u1, room=str(300 + n))
        people += [make_resident(home, name=f"居民{n}甲"), make_resident(home, name=f"居民{n}乙")]
    Resident.objects.filter(pk__in=[p.pk for p in people]).update(created_at=timezone.now() - 48 * HOUR)
    code = f"W{households:04d}"
    sampled_tube(lab, code, people, pool_size=20)
    lab_results_apply(actor=None, rows=[(2, code, "positive", result_time(lab))], file_name="b.csv")


def test_retest_list_scoped_and_queries_pinned(lab, as_role, django_assert_max_num_queries):
    pool_positive(lab)
    url = reverse("testing:retests", args=[lab.round.pk])
    manager = as_role(Role.COMPOUND_MANAGER)
    with django_assert_max_num_queries(12) as first:
        html = manager.get(url).content.decode()
    assert "李建国" in html and "李娜" in html and "2号楼1单元201室" in html and "待复核采样" in html
    _more_reviewed(lab, 6)
    assert len(first.captured_queries) <= 12
    with django_assert_max_num_queries(len(first.captured_queries)):
        html = manager.get(url).content.decode()
    assert "居民5乙" in html and Retest.objects.count() == 14
    grid = as_role(Role.GRID_WORKER).get(url).content.decode()  # building 1 only
    assert "居民0甲" in grid and "李建国" not in grid
    filtered = manager.get(url, {"state": "sampled"}).content.decode()
    assert "没有待复核人员。" in filtered


def test_alert_acknowledge(lab, as_role):
    pool_positive(lab)
    alert = Alert.objects.get()
    url = reverse("testing:alert_ack", args=[alert.pk])
    assert as_role(Role.VOLUNTEER).post(url).status_code == 403
    assert as_role(Role.COMPOUND_MANAGER).get(url).status_code == 405
    other = Alert.objects.create(compound=lab.compound_b, kind="positive_pool", text="乙")
    assert (
        as_role(Role.COMPOUND_MANAGER).post(reverse("testing:alert_ack", args=[other.pk])).status_code == 404
    )
    answer = as_role(Role.COMPOUND_MANAGER).post(url, HTTP_HX_REQUEST="true")
    assert (answer.status_code, answer.content) == (200, b"")
    alert.refresh_from_db()
    assert alert.acknowledged_by == lab.users[Role.COMPOUND_MANAGER] and alert.acknowledged_at is not None
    back = as_role(Role.COMPOUND_MANAGER).post(url, {"next": "https://evil.example/"})
    assert back.status_code == 302 and back.url == reverse("testing:lab_import", args=[lab.round.pk])


# -- API ------------------------------------------------------------------------------------------


def test_api_lab_results_and_retests(lab, as_role):
    client = as_role(Role.COMPOUND_MANAGER)
    url = f"/api/v1/testing/rounds/{lab.round.pk}/lab-results"
    refused = client.post(url, {"file": lab_csv(lab, [("T0012", "阳性"), ("T0012", "阴性")])})
    assert refused.status_code == 400
    assert refused.json() == {
        "rows": 2,
        "applied": 0,
        "positive_tubes": 0,
        "people_under_review": 0,
        "errors": [
            {
                "row": 3,
                "column": "结果",
                "code": "duplicate_conflict",
                "message": "试管T0012在第2行为“阳性”，在第3行为“阴性”，结果不一致",
            }
        ],
    }
    done = client.post(url, {"file": lab_csv(lab, [("T0012", "阳性"), ("T0013", "阴性")])})
    assert done.status_code == 200
    assert done.json() == {
        "rows": 2,
        "applied": 2,
        "positive_tubes": 1,
        "people_under_review": 2,
        "errors": [],
    }
    listing = client.get(f"/api/v1/testing/rounds/{lab.round.pk}/retests").json()
    assert listing["total"] == 2 and listing["next_offset"] is None
    assert [(r["name"], r["home"], r["state"], r["pool_tube"]) for r in listing["items"]] == [
        ("李建国", "2号楼1单元201室", "open", "T0012"),
        ("李娜", "2号楼1单元201室", "open", "T0012"),
    ]
    assert as_role(Role.VOLUNTEER).get(f"/api/v1/testing/rounds/{lab.round.pk}/retests").status_code == 403
    other = make_round(lab, compound=lab.compound_b)
    assert as_role(Role.COMPOUND_MANAGER).get(f"/api/v1/testing/rounds/{other.pk}/retests").status_code == 404
    first = Retest.objects.get(resident=lab.neighbour)
    shown = datetime.datetime.fromisoformat(listing["items"][0]["pool_sampled_at"])
    assert abs(shown - first.pool_sampled_at) < datetime.timedelta(milliseconds=1)  # JSON keeps milliseconds


def test_lab_page_queries_do_not_grow(lab, as_role, django_assert_max_num_queries):
    url = reverse("testing:lab_import", args=[lab.round.pk])
    client = as_role(Role.COMPOUND_MANAGER)
    pool_positive(lab)
    with django_assert_max_num_queries(12) as first:
        client.get(url)
    for n in range(5):
        rows = [(2, "T0013", "negative", result_time(lab))]
        lab_results_apply(actor=lab.users[Role.GRID_WORKER], rows=rows, file_name=f"第{n}批.csv")
        Alert.objects.create(compound=lab.compound_a, round=lab.round, kind="positive_pool", text=f"提醒{n}")
    with django_assert_max_num_queries(len(first.captured_queries)):
        html = client.get(url).content.decode()
    assert all(f"第{n}批.csv" in html and f"提醒{n}" in html for n in range(5))
    assert html.count("grid ·") == 5
