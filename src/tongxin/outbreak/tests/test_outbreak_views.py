"""Case, contact, transfer, isolation, follow-up, check-in and graph pages."""

import json

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions
from tongxin.outbreak.models import Case, Contact, HealthCheckin, Isolation, TransferBatch
from tongxin.outbreak.models import TestFact as SampleFact
from tongxin.outbreak.tests.case_helpers import a_case, a_contact, days_ago, manager
from tongxin.registry.tests.factories import make_resident, make_user


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


def test_register_a_case_then_view_it(world, as_role):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:case_new", args=[world.compound_a.pk])
    assert client.get(url).status_code == 200
    response = client.post(
        url,
        {"resident": world.neighbour.pk, "confirmed_on": days_ago(1).isoformat(), "source": "pool_retest"},
    )
    case = Case.objects.get()
    assert response.status_code == 302 and response.url == reverse("outbreak:case_detail", args=[case.pk])
    page = client.get(response.url)
    assert page.status_code == 200
    assert "李建国" in page.content.decode() and "混采复核阳性" in page.content.decode()
    assert (
        AuditLog.objects.filter(action="view", object_type="outbreak.case", object_id=str(case.pk)).count()
        == 1
    )
    client.get(response.url)
    assert AuditLog.objects.filter(action="view", object_type="outbreak.case").count() == 2


def test_a_bad_case_form_says_why_and_writes_nothing(world, as_role):
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(
        reverse("outbreak:case_new", args=[world.compound_a.pk]),
        {"confirmed_on": days_ago(-2).isoformat(), "source": "antigen", "name": "某人"},
    )
    assert response.status_code == 400
    assert "确诊日期不能晚于今天" in response.content.decode()
    assert Case.objects.count() == 0


def test_case_list_queries_do_not_grow(world, as_role, django_assert_max_num_queries):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:case_list", args=[world.compound_a.pk])
    a_case(world)
    with django_assert_max_num_queries(9) as first:
        assert client.get(url).status_code == 200
    for n in range(15):
        person = make_resident(world.home_a2, name=f"病例{n}")
        case = a_case(world, resident=person)
        a_contact(world, case, resident=make_resident(world.home_a1, name=f"密接{n}"))
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('class="card item"') == 16


def test_contact_list_queries_do_not_grow(world, as_role, django_assert_max_num_queries):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:contact_list", args=[world.compound_a.pk])
    a_contact(world, a_case(world))
    with django_assert_max_num_queries(10) as first:
        assert client.get(url).status_code == 200
    case = Case.objects.get()
    for n in range(15):
        a_contact(world, case, resident=make_resident(world.home_a1, name=f"密接{n}"))
    with django_assert_max_num_queries(len(first.captured_queries)):
        response = client.get(url)
    assert response.content.decode().count('class="card item"') == 16


def test_isolation_list_queries_do_not_grow(world, as_role, django_assert_max_num_queries):
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:isolation_list", args=[world.compound_a.pk])
    with django_assert_max_num_queries(8) as first:
        assert client.get(url).status_code == 200
    for n in range(10):
        actions.isolation_create(
            actor=None,
            compound=world.compound_a,
            rule="high_risk_leaver",
            starts_on=days_ago(n % 3),
            resident=make_resident(world.home_a2, name=f"隔离{n}"),
        )
    with django_assert_max_num_queries(len(first.captured_queries) + 2):
        response = client.get(url)
    assert response.content.decode().count('class="card item"') == 10


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_volunteers_and_residents_see_no_case_or_contact_page(world, client, role):
    contact = a_contact(world, a_case(world))
    client.force_login(world.users[role])
    for name in (
        "case_list",
        "case_new",
        "contact_list",
        "contact_new",
        "followup",
        "graph",
        "isolation_list",
    ):
        assert client.get(reverse(f"outbreak:{name}", args=[world.compound_a.pk])).status_code == 403, name
    assert client.get(reverse("outbreak:case_detail", args=[contact.cases.get().pk])).status_code == 404
    assert client.get(reverse("outbreak:contact_detail", args=[contact.pk])).status_code == 404
    assert AuditLog.objects.filter(action="view").count() == 0


def test_another_compounds_manager_gets_404(world, client):
    case = a_case(world)
    contact = a_contact(world, case)
    client.force_login(make_user(Role.COMPOUND_MANAGER, compound=world.compound_b))
    assert client.get(reverse("outbreak:case_detail", args=[case.pk])).status_code == 404
    assert client.get(reverse("outbreak:contact_detail", args=[contact.pk])).status_code == 404
    assert client.get(reverse("outbreak:case_list", args=[world.compound_a.pk])).status_code == 404
    response = client.post(
        reverse("outbreak:case_outcome", args=[case.pk]), {"version": 1, "outcome": "died"}
    )
    assert response.status_code == 404
    case.refresh_from_db()
    assert case.outcome == "active"


def test_a_grid_worker_sees_cases_in_their_buildings(world, as_role):
    in_b2 = a_case(world)
    in_b1 = a_case(world, resident=world.child)
    client = as_role(Role.GRID_WORKER)
    assert client.get(reverse("outbreak:case_detail", args=[in_b2.pk])).status_code == 404
    assert client.get(reverse("outbreak:case_detail", args=[in_b1.pk])).status_code == 200
    listing = client.get(reverse("outbreak:case_list", args=[world.compound_a.pk])).content.decode()
    assert "王小明" in listing and "李建国" not in listing


def test_a_grid_worker_does_not_see_the_cases_of_other_buildings_through_a_contact(world, as_role):
    """The elder (building 1, the grid worker's) is a contact of 李建国 (building 2, not theirs)."""
    contact = a_contact(world, a_case(world))
    client = as_role(Role.GRID_WORKER)
    detail = client.get(reverse("outbreak:contact_detail", args=[contact.pk]))
    listing = client.get(reverse("outbreak:contact_list", args=[world.compound_a.pk]))
    assert detail.status_code == 200 and listing.status_code == 200
    assert "王秀兰" in detail.content.decode() and "王秀兰" in listing.content.decode()
    assert "李建国" not in detail.content.decode()
    assert "李建国" not in listing.content.decode()


def test_register_a_contact_and_transfer(world, as_role):
    case = a_case(world)
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:contact_new", args=[world.compound_a.pk])
    form = client.get(url, {"case": case.pk}).content.decode()
    assert f'value="{case.pk}" checked' in form or f'value="{case.pk}"\n' in form or "checked" in form
    response = client.post(
        url,
        {
            "cases": [case.pk],
            "resident": world.neighbour.pk,
            "identified_on": days_ago(0).isoformat(),
            "kind": "close",
        },
    )
    assert response.status_code == 400 and "密接不能是病例本人" in response.content.decode()
    response = client.post(
        url,
        {
            "cases": [case.pk],
            "resident": world.elder.pk,
            "identified_on": days_ago(0).isoformat(),
            "kind": "close",
        },
    )
    contact = Contact.objects.get()
    assert response.url == reverse("outbreak:contact_detail", args=[contact.pk])
    transfer_url = reverse("outbreak:transfer_new", args=[world.compound_a.pk])
    assert "王秀兰" in client.get(transfer_url).content.decode()
    response = client.post(
        transfer_url,
        {
            "vehicle": "蒙A·1",
            "departed_at": f"{days_ago(0).isoformat()}T06:30",
            "destination": "隔离酒店",
            "contacts": [contact.pk],
        },
    )
    batch = TransferBatch.objects.get()
    assert response.url == reverse("outbreak:transfer_detail", args=[batch.pk])
    assert Isolation.objects.filter(contact=contact).count() == 2
    assert "王秀兰" in client.get(response.url).content.decode()
    assert "王秀兰" not in client.get(transfer_url).content.decode()  # only contacts without an isolation


def test_release_form_needs_a_reason_and_answers_409_when_stale(world, as_role):
    iso = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(2),
        resident=world.elder,
    )
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:isolation_release", args=[iso.pk])
    assert client.get(url).status_code == 200
    response = client.post(url, {"version": 1, "released_on": days_ago(0).isoformat()})
    assert response.status_code == 400 and "提前解除须填写原因" in response.content.decode()
    response = client.post(url, {"version": 1, "released_on": days_ago(0).isoformat(), "reason": "转入医院"})
    assert response.status_code == 302
    iso.refresh_from_db()
    assert (iso.released_on, iso.version) == (days_ago(0), 2)


def test_stale_case_edit_answers_409(world, as_role):
    case = a_case(world)
    client = as_role(Role.COMPOUND_MANAGER)
    url = reverse("outbreak:case_outcome", args=[case.pk])
    assert (
        client.post(url, {"version": 1, "outcome": "recovered", "on": days_ago(0).isoformat()}).status_code
        == 302
    )
    response = client.post(url, {"version": 1, "outcome": "died", "on": days_ago(0).isoformat()})
    assert response.status_code == 409 and "记录已被他人修改，请刷新后重试" in response.content.decode()
    case.refresh_from_db()
    assert case.outcome == "recovered"


def test_follow_up_page_with_quick_check_in_and_sampled(world, as_role):
    iso = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(0),
        resident=world.elder,
    )
    client = as_role(Role.COMPOUND_MANAGER)
    page = client.get(reverse("outbreak:followup", args=[world.compound_a.pk])).content.decode()
    assert "王秀兰" in page and "今日应检" in page and "待打卡" in page
    checkin_url = reverse("outbreak:followup_checkin", args=[iso.pk])
    bad = client.post(checkin_url, {"temperature": "45"}, headers={"HX-Request": "true"})
    assert bad.status_code == 400 and "体温应在34.0℃到43.0℃之间" in bad.content.decode()
    assert HealthCheckin.objects.count() == 0
    good = client.post(
        checkin_url, {"temperature": "36.7", "symptoms": ["cough"]}, headers={"HX-Request": "true"}
    )
    assert good.status_code == 200
    row = good.content.decode()
    assert (
        row.lstrip().startswith(f'<li class="card item followup-row" id="followup-{iso.pk}"')
        and "今日已打卡" in row
    )
    sampled = client.post(reverse("outbreak:followup_sampled", args=[iso.pk]), headers={"HX-Request": "true"})
    assert sampled.status_code == 200 and "今日已采样" in sampled.content.decode()
    assert SampleFact.objects.filter(resident=world.elder, result="pending").count() == 1
    earlier = client.get(
        reverse("outbreak:followup", args=[world.compound_a.pk]), {"date": days_ago(1).isoformat()}
    )
    assert "王秀兰" not in earlier.content.decode()


def test_a_resident_checks_in_for_their_household(world, client):
    iso = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(1),
        resident=world.elder,
    )
    other = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(1),
        resident=world.neighbour,
    )
    client.force_login(world.users[Role.RESIDENT])
    url = reverse("outbreak:my_checkin")
    page = client.get(url).content.decode()
    assert "王秀兰" in page and "李建国" not in page
    assert client.post(url, {"isolation": other.pk, "temperature": "36.5"}).status_code == 404
    response = client.post(url, {"isolation": iso.pk, "temperature": "33"})
    assert response.status_code == 400 and HealthCheckin.objects.count() == 0
    assert (
        client.post(url, {"isolation": iso.pk, "temperature": "36.5", "symptoms": ["fever"]}).status_code
        == 302
    )
    checkin = HealthCheckin.objects.get()
    assert (checkin.by, checkin.isolation, checkin.symptoms) == ("self", iso, "发热")
    client.force_login(manager(world))
    assert client.get(url).status_code == 403


def test_graph_page_carries_the_graph_as_json(world, as_role):
    case = a_case(world)
    contact = a_contact(world, case)
    actions.contact_became_case(actor=None, contact=contact, confirmed_on=days_ago(0), source="single_test")
    response = as_role(Role.COMPOUND_MANAGER).get(reverse("outbreak:graph", args=[world.compound_a.pk]))
    html = response.content.decode()
    assert (
        'src="/static/outbreak/vendor/echarts.min.js"' in html and 'src="/static/outbreak/graph.js"' in html
    )
    start = html.index('<script id="graph-data" type="application/json">') + len(
        '<script id="graph-data" type="application/json">'
    )
    data = json.loads(html[start : html.index("</script>", start)])
    assert sorted((n["category"], n["name"]) for n in data["nodes"]) == [
        ("became_case", "王秀兰"),
        ("case", "李建国"),
        ("case", "王秀兰"),
    ]
    assert sorted(e["kind"] for e in data["edges"]) == ["became_case", "exposure"]


def test_cases_map_measure_for_health_roles_only(world, client):
    a_case(world)
    client.force_login(manager(world))
    page = client.get(reverse("registry:compound", args=[world.compound_a.pk]), {"measure": "cases"})
    html = page.content.decode()
    assert "有阳性病例" in html and 'class="chip current" href="?measure=cases"' in html
    client.force_login(world.users[Role.VOLUNTEER])
    html = client.get(
        reverse("registry:compound", args=[world.compound_a.pk]), {"measure": "cases"}
    ).content.decode()
    assert "有阳性病例" not in html and 'href="?measure=cases"' not in html
