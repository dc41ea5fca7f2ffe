"""Coverage pages: what each role sees, the missed list's phones and audit, the Excel export, the
exemption button, HTMX refresh, query counts."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.tests.factories import make_resident
from tongxin.testing.models import Exemption, RoundCompound, TestRound
from tongxin.testing.tests.test_coverage_helpers import coverage_world, sample_into


@pytest.fixture
def cov(world):
    return coverage_world(world)


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


def urls(cov):
    r, a = cov.round.pk, cov.world.compound_a.pk
    return {
        "coverage": reverse("testing:coverage", args=[r]),
        "compound": reverse("testing:coverage_compound", args=[r, a]),
        "building": reverse("testing:coverage_building", args=[r, cov.world.a1.pk]),
        "missed": reverse("testing:missed", args=[r, a]),
        "export": reverse("testing:missed_export", args=[r, a]),
        "exemptions": reverse("testing:exemptions", args=[r, a]),
        "exemption": reverse("testing:exemption", args=[r, cov.world.elder.pk]),
    }


def test_the_manager_sees_every_column_and_the_progress(cov, as_role):
    page = as_role(Role.COMPOUND_MANAGER).get(urls(cov)["coverage"]).content.decode()
    assert "甲小区" in page and "乙小区" not in page
    assert '<progress value="8" max="10"' in page and "80%" in page
    assert "待复核" in page and "在隔离点/医院检测" in page and "免检原因：外出 1" in page
    compound = as_role(Role.COMPOUND_MANAGER).get(urls(cov)["compound"]).content.decode()
    assert "1号楼" in compound and "2号楼" in compound
    assert f'?building={cov.world.a1.pk}">2</a>' in compound  # building 1's missed, linked to its list
    building = as_role(Role.COMPOUND_MANAGER).get(urls(cov)["building"]).content.decode()
    assert "1单元" in building and '<progress value="4" max="6"' in building and "66%" in building


def test_the_volunteer_sees_counts_but_no_results_and_names_without_phones(cov, as_role):
    client = as_role(Role.VOLUNTEER)
    page = client.get(urls(cov)["coverage"]).content.decode()
    assert '<progress value="8" max="10"' in page
    assert "待复核" not in page and "阴性" not in page and "在隔离点/医院检测" not in page
    before = AuditLog.objects.count()
    missed = client.get(urls(cov)["missed"]).content.decode()
    assert "王秀兰" in missed and "1号楼1单元101室" in missed and "独居" in missed
    assert "13812345678" not in missed and "138****5678" not in missed and "tel:" not in missed
    assert 'name="reason"' not in missed and "导出Excel" not in missed  # no exempt button, no export
    assert AuditLog.objects.count() == before  # nothing revealed, nothing to audit
    assert client.get(urls(cov)["export"]).status_code == 403
    assert client.get(urls(cov)["exemption"]).status_code == 403
    assert client.post(urls(cov)["exemption"], {"reason": "away"}).status_code == 403


def test_the_grid_worker_calls_the_missed_with_full_phones_and_each_view_is_audited(cov, as_role, world):
    client = as_role(Role.GRID_WORKER)
    page = client.get(urls(cov)["missed"]).content.decode()
    assert 'href="tel:13812345678"' in page and "王小明" in page
    log = AuditLog.objects.filter(action="view", object_type="testing.testround").get()
    assert log.actor == world.users[Role.GRID_WORKER]
    assert log.fields == "missed_list,phone" and log.detail == {"residents": [world.elder.pk, world.child.pk]}
    client.get(urls(cov)["missed"])
    assert AuditLog.objects.filter(action="view", object_type="testing.testround").count() == 2
    # Building 2 is not theirs: its page is not found, and its people are not listed.
    assert (
        client.get(reverse("testing:coverage_building", args=[cov.round.pk, world.a2.pk])).status_code == 404
    )
    compound = client.get(urls(cov)["compound"]).content.decode()
    assert "1号楼" in compound and "2号楼" not in compound


def test_the_resident_and_other_compounds_get_404(cov, as_role, world):
    client = as_role(Role.RESIDENT)
    for url in urls(cov).values():
        assert client.get(url).status_code == 404, url
    client = as_role(Role.COMPOUND_MANAGER)
    other = reverse("testing:coverage_compound", args=[cov.round.pk, world.compound_b.pk])
    assert client.get(other).status_code == 404
    assert client.get(reverse("testing:missed", args=[cov.round.pk, world.compound_b.pk])).status_code == 404


def test_the_export_holds_the_missed_with_full_phones_and_is_audited(cov, as_role, world):
    response = as_role(Role.COMPOUND_MANAGER).get(urls(cov)["export"])
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("姓名", "楼栋", "单元", "房号", "手机号", "年龄", "重点人群", "备注")
    assert rows[1][:5] == ("王秀兰", "1", "1", "101", "13812345678")
    assert rows[1][6] == "老年人、独居"
    assert rows[2][:5] == ("王小明", "1", "1", "101", None)
    assert len(rows) == 3
    log = AuditLog.objects.get(action="export")
    assert log.fields == "missed_list,phone"
    assert log.detail == {
        "compound": world.compound_a.pk,
        "building": None,
        "unit": None,
        "count": 2,
        "phones": "full",
    }
    filtered = as_role(Role.COMPOUND_MANAGER).get(urls(cov)["export"] + f"?building={world.a2.pk}")
    assert len(list(load_workbook(io.BytesIO(filtered.content)).active.iter_rows())) == 1


def test_the_exempt_button_replaces_the_row_and_undo_brings_it_back(cov, as_role, world):
    client = as_role(Role.GRID_WORKER)
    missed = urls(cov)["missed"]
    response = client.post(
        urls(cov)["exemption"], {"reason": "hospital", "note": "", "next": missed}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert f'id="missed-{world.elder.pk}"' in body and "已免检：住院" in body
    assert Exemption.objects.get(round=cov.round, resident=world.elder).reason == "hospital"
    assert "王秀兰" not in client.get(missed).content.decode()
    undo = client.post(
        reverse("testing:exemption_clear", args=[cov.round.pk, world.elder.pk]), HTTP_HX_REQUEST="true"
    )
    assert "已撤销免检" in undo.content.decode()
    assert not Exemption.objects.filter(round=cov.round, resident=world.elder).exists()


def test_a_refused_exemption_says_why_in_the_row(cov, as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(urls(cov)["exemption"], {"reason": "other", "note": ""}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "原因为“其他”时请填写说明" in response.content.decode()
    sampled = reverse("testing:exemption", args=[cov.round.pk, cov.negative.pk])
    page = client.post(sampled, {"reason": "away"})
    assert page.status_code == 400 and "阴性甲本轮已采样，不能免检" in page.content.decode()
    done = client.post(urls(cov)["exemption"], {"reason": "away", "next": urls(cov)["missed"]})
    assert done.status_code == 302 and done.url == urls(cov)["missed"]
    assert (
        client.post(urls(cov)["exemption"], {"reason": "away", "next": "https://evil.example/"}).url
        == urls(cov)["missed"]
    )
    exemptions = client.get(urls(cov)["exemptions"]).content.decode()
    assert "王秀兰" in exemptions and "免检庚" in exemptions and "已采样，免检不计" in exemptions


def test_a_sampling_round_refreshes_its_figures(cov, as_role):
    client = as_role(Role.COMPOUND_MANAGER)
    TestRound.objects.filter(pk=cov.round.pk).update(state=TestRound.State.SAMPLING)
    page = client.get(urls(cov)["compound"]).content.decode()
    assert 'hx-trigger="every 30s"' in page
    partial = client.get(urls(cov)["compound"], HTTP_HX_REQUEST="true", HTTP_HX_TARGET="coverage-figures")
    body = partial.content.decode()
    assert body.lstrip().startswith('<div id="coverage-figures"') and "<html" not in body
    TestRound.objects.filter(pk=cov.round.pk).update(state=TestRound.State.CLOSED)
    assert 'hx-trigger="every 30s"' not in client.get(urls(cov)["compound"]).content.decode()


def test_query_counts_do_not_grow_with_people(cov, as_role, world, django_assert_max_num_queries):
    client = as_role(Role.COMPOUND_MANAGER)
    pages = [
        urls(cov)[name] for name in ("coverage", "compound", "building", "missed", "exemptions", "export")
    ]
    counts = {}
    for url in pages:
        with django_assert_max_num_queries(30) as captured:
            assert client.get(url).status_code == 200
        counts[url] = len(captured.captured_queries)
    for n in range(12):
        person = make_resident(world.home_a1, name=f"新增{n}", presence="living")
        if n % 3 == 0:
            sample_into(cov.round, cov.round.table2, cov.manager, f"T-NEW{n}", [person], result="negative")
        elif n % 3 == 1:
            Exemption.objects.create(
                round=cov.round, resident=person, compound=world.compound_a, reason="away"
            )
    RoundCompound.objects.create(round=cov.round, compound=world.compound_b)
    make_resident(world.home_b, name="乙区居民", presence="living")
    for url in pages:
        with django_assert_max_num_queries(counts[url]):
            assert client.get(url).status_code == 200
    admin = as_role(Role.PLATFORM_ADMIN)
    with django_assert_max_num_queries(counts[urls(cov)["coverage"]]):
        summary = admin.get(urls(cov)["coverage"]).content.decode()
    assert "甲小区" in summary and "乙小区" in summary
    missed = client.get(urls(cov)["missed"]).content.decode()
    assert missed.count('class="card item missed-row"') == 2 + 4
