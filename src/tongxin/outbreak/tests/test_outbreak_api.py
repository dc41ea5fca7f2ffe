"""The case, contact, transfer, isolation, check-in, follow-up and graph endpoints."""

import pytest

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.outbreak import actions
from tongxin.outbreak.models import Case, Contact, HealthCheckin, Isolation, TransferBatch
from tongxin.outbreak.tests.case_helpers import a_case, a_contact, days_ago, manager
from tongxin.registry.tests.factories import make_resident, make_user

API = "/api/v1/outbreak"


@pytest.fixture
def api(client, world):
    client.force_login(manager(world))
    return client


def test_create_list_and_read_a_case(world, api):
    response = api.post(
        f"{API}/cases",
        {
            "compound": world.compound_a.pk,
            "resident": world.neighbour.pk,
            "confirmed_on": str(days_ago(1)),
            "source": "single_test",
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["name"], body["household_id"], body["version"], body["phone_masked"]) == (
        "李建国",
        world.home_a2.pk,
        1,
        "139****1111",
    )
    listing = api.get(f"{API}/cases", {"compound": world.compound_a.pk}).json()
    assert [item["id"] for item in listing["items"]] == [body["id"]] and listing["next_offset"] is None
    assert AuditLog.objects.filter(action="view").count() == 0  # a list is not a record view
    assert api.get(f"{API}/cases/{body['id']}").json()["source"] == "single_test"
    assert AuditLog.objects.filter(action="view", object_type="outbreak.case").count() == 1


def test_bad_case_input_is_400_and_writes_nothing(world, api):
    response = api.post(
        f"{API}/cases",
        {
            "compound": world.compound_a.pk,
            "name": "某人",
            "phone": "123",
            "confirmed_on": str(days_ago(0)),
            "source": "antigen",
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["phone"]
    response = api.post(
        f"{API}/cases",
        {
            "compound": world.compound_a.pk,
            "name": "某人",
            "confirmed_on": str(days_ago(-1)),
            "source": "antigen",
        },
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["detail"] == "确诊日期不能晚于今天"
    assert Case.objects.count() == 0


def test_stale_version_is_409_with_the_chinese_message(world, api):
    case = a_case(world)
    first = api.patch(f"{API}/cases/{case.pk}", {"version": 1, "note": "甲"}, content_type="application/json")
    assert first.status_code == 200 and first.json()["version"] == 2
    second = api.patch(
        f"{API}/cases/{case.pk}", {"version": 1, "note": "乙"}, content_type="application/json"
    )
    assert second.status_code == 409
    assert second.json() == {"detail": "记录已被他人修改，请刷新后重试"}
    case.refresh_from_db()
    assert case.note == "甲"


def test_scoping_and_roles(world, client):
    case = a_case(world)
    contact = a_contact(world, case)
    client.force_login(make_user(Role.COMPOUND_MANAGER, compound=world.compound_b))
    assert client.get(f"{API}/cases/{case.pk}").status_code == 404
    assert client.get(f"{API}/contacts/{contact.pk}").status_code == 404
    assert client.get(f"{API}/cases", {"compound": world.compound_a.pk}).status_code == 404
    for role in (Role.VOLUNTEER, Role.RESIDENT):
        client.force_login(world.users[role])
        assert client.get(f"{API}/cases", {"compound": world.compound_a.pk}).status_code == 403
        assert client.get(f"{API}/cases/{case.pk}").status_code == 404
        assert client.get(f"{API}/contacts/{contact.pk}").status_code == 404
        assert client.get(f"{API}/compounds/{world.compound_a.pk}/graph").status_code == 403
    assert AuditLog.objects.filter(action="view").count() == 0


def test_contacts_transfer_release_and_checkin(world, api):
    case = a_case(world)
    response = api.post(
        f"{API}/contacts",
        {"cases": [case.pk], "resident": world.neighbour.pk, "identified_on": str(days_ago(0))},
        content_type="application/json",
    )
    assert response.status_code == 400 and response.json()["detail"] == "密接不能是病例本人"
    response = api.post(
        f"{API}/contacts",
        {"cases": [case.pk], "resident": world.elder.pk, "identified_on": str(days_ago(1))},
        content_type="application/json",
    )
    assert response.status_code == 201 and response.json()["cases"] == [case.pk]
    contact_id = response.json()["id"]
    assert (
        api.get(f"{API}/contacts", {"compound": world.compound_a.pk}).json()["items"][0]["id"] == contact_id
    )
    response = api.post(
        f"{API}/transfer-batches",
        {
            "compound": world.compound_a.pk,
            "vehicle": "蒙A·1",
            "departed_at": f"{days_ago(1)}T20:00:00+08:00",
            "destination": "隔离酒店",
            "contacts": [contact_id],
        },
        content_type="application/json",
    )
    assert response.status_code == 201, response.content
    isolations = response.json()["isolations"]
    assert [(i["kind"], i["starts_on"], i["test_days"]) for i in isolations] == [
        ("central", str(days_ago(1)), [1, 2, 3, 5]),
        ("home", str(days_ago(-4)), [1, 3]),
    ]
    central = isolations[0]
    bad = api.post(
        f"{API}/checkins",
        {"isolation": central["id"], "temperature": "43.5"},
        content_type="application/json",
    )
    assert bad.status_code == 400 and bad.json()["errors"] == {"temperature": ["体温应在34.0℃到43.0℃之间"]}
    good = api.post(
        f"{API}/checkins",
        {"isolation": central["id"], "temperature": "36.8", "symptoms": ["cough"]},
        content_type="application/json",
    )
    assert good.status_code == 201 and good.json()["symptoms"] == "咳嗽"
    assert HealthCheckin.objects.count() == 1
    release = f"{API}/isolations/{central['id']}/release"
    early = api.post(
        release, {"version": 1, "released_on": str(days_ago(0))}, content_type="application/json"
    )
    assert early.status_code == 400 and early.json()["detail"] == "提前解除须填写原因"
    ok = api.post(
        release,
        {"version": 1, "released_on": str(days_ago(0)), "reason": "转阳送医"},
        content_type="application/json",
    )
    assert ok.status_code == 200 and ok.json()["version"] == 2
    stale = api.post(
        release,
        {"version": 1, "released_on": str(days_ago(0)), "reason": "重复"},
        content_type="application/json",
    )
    assert stale.status_code in (400, 409)


def test_a_transfer_departing_before_identification_is_400_and_writes_nothing(world, api):
    contact = a_contact(world, a_case(world), identified=1)
    response = api.post(
        f"{API}/transfer-batches",
        {
            "compound": world.compound_a.pk,
            "vehicle": "蒙A·1",
            "departed_at": f"{days_ago(2)}T23:30:00+08:00",
            "destination": "隔离酒店",
            "contacts": [contact.pk],
        },
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json() == {
        "detail": "出发时间早于密接判定日期：王秀兰",
        "errors": {"departed_at": ["出发时间早于密接判定日期：王秀兰"]},
    }
    assert not TransferBatch.objects.exists() and not Isolation.objects.exists()


def test_a_resident_checks_in_through_the_api_for_their_household_only(world, client):
    own = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(0),
        resident=world.child,
    )
    other = actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(0),
        resident=world.neighbour,
    )
    client.force_login(world.users[Role.RESIDENT])
    url = f"{API}/checkins"
    assert (
        client.post(
            url, {"isolation": other.pk, "temperature": "36.5"}, content_type="application/json"
        ).status_code
        == 404
    )
    response = client.post(url, {"isolation": own.pk, "temperature": "36.5"}, content_type="application/json")
    assert response.status_code == 201 and response.json()["by"] == "self"


def test_follow_up_and_graph(world, api, django_assert_max_num_queries):
    case = a_case(world)
    contact = a_contact(world, case)
    actions.isolation_create(
        actor=None,
        compound=world.compound_a,
        rule="high_risk_leaver",
        starts_on=days_ago(0),
        resident=world.child,
    )
    body = api.get(f"{API}/compounds/{world.compound_a.pk}/follow-up", {"date": str(days_ago(0))}).json()
    assert [row["isolation"]["name"] for row in body["rows"]] == ["王小明"]
    assert body["test"] == body["checkin"] == [body["rows"][0]["isolation"]["id"]]
    assert (body["overdue"], body["lost"], body["lost_after_days"]) == ([], [], 2)
    for n in range(5):
        a_contact(world, case, resident=make_resident(world.home_a1, name=f"密接{n}"))
    with django_assert_max_num_queries(8):
        graph = api.get(f"{API}/compounds/{world.compound_a.pk}/graph").json()
    assert len(graph["nodes"]) == 7 and len(graph["edges"]) == 6
    assert {"source": f"contact-{contact.pk}", "target": f"case-{case.pk}", "kind": "exposure"} in graph[
        "edges"
    ]
    assert Contact.objects.count() == 6


def test_a_grid_worker_gets_no_case_ids_of_other_buildings_with_a_contact(world, client):
    case = a_case(world)  # 李建国, building 2
    contact = a_contact(world, case)  # 王秀兰, building 1: the grid worker's
    own_case = a_case(world, resident=world.child)  # building 1
    contact.cases.add(own_case)
    client.force_login(world.users[Role.GRID_WORKER])
    assert client.get(f"{API}/contacts/{contact.pk}").json()["cases"] == [own_case.pk]
    listing = client.get(f"{API}/contacts", {"compound": world.compound_a.pk}).json()
    assert [(item["id"], item["cases"]) for item in listing["items"]] == [(contact.pk, [own_case.pk])]


@pytest.mark.parametrize("moment", ["2022-11-14T10:00:00", "2022-11-14 10:00"])
def test_a_time_without_a_zone_is_422_and_writes_nothing(world, api, moment):
    case = a_case(world)
    contact = a_contact(world, case)
    transfer = api.post(
        f"{API}/transfer-batches",
        {
            "compound": world.compound_a.pk,
            "vehicle": "蒙A·12345",
            "departed_at": moment,
            "destination": "隔离酒店",
            "contacts": [contact.pk],
        },
        content_type="application/json",
    )
    created = api.post(
        f"{API}/cases",
        {
            "compound": world.compound_a.pk,
            "name": "外来人员",
            "confirmed_on": str(days_ago(1)),
            "source": "antigen",
            "sampled_at": moment,
        },
        content_type="application/json",
    )
    patched = api.patch(
        f"{API}/cases/{case.pk}",
        {"version": case.version, "sampled_at": moment},
        content_type="application/json",
    )
    assert [transfer.status_code, created.status_code, patched.status_code] == [422, 422, 422]
    assert "timezone" in transfer.json()["detail"][0]["msg"]
    assert not TransferBatch.objects.exists() and not Isolation.objects.exists()
    assert Case.objects.count() == 1 and Case.objects.get().version == case.version
