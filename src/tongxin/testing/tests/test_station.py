"""The sampling station over HTTP: its roster, the sync endpoint as the page uses it, the page and
its service worker, and who may reach them."""

import datetime
import json
import uuid
from collections import Counter

import pytest
from django.db import connection
from django.test import Client
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.registry.tests.factories import make_user
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.models import Bag, Sample, Tube
from tongxin.testing.tests.round_helpers import event, make_round, many_people, sample

pytestmark = pytest.mark.django_db

SAMPLERS = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]


def roster_url(table) -> str:
    return f"/api/v1/testing/tables/{table.pk}/roster"


def sync_url(table) -> str:
    return f"/api/v1/testing/tables/{table.pk}/sync"


def age_band(birth: datetime.date) -> int:
    today = timezone.localdate()
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return min(age // 10 * 10, 90)


def post(client, table, events):
    wire = [{**e, "at": e["at"].isoformat()} for e in events]
    return client.post(sync_url(table), data=json.dumps({"events": wire}), content_type="application/json")


# -- roster ---------------------------------------------------------------------------------------


def test_roster_carries_the_table_settings_and_the_people_of_the_round(world, client, settings):
    settings.TONGXIN_BAG_SIZE = 20
    settings.TONGXIN_TUBE_POOL_PREFIXES = "S:1,F:5,T:10,W:20"
    round_ = make_round(world, pool_size=10)
    client.force_login(world.users[Role.VOLUNTEER])
    response = client.get(roster_url(round_.table1))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"  # names and rooms: no disk cache keeps them
    data = response.json()
    assert data["table"] == {
        "id": round_.table1.pk,
        "label": "1号台",
        "point": "1号采样点",
        "compound": "甲小区",
        "pool_size": 10,
        "mode": "station",
        "mode_label": "定点采样",
    }
    assert data["round"] == {
        "id": round_.pk,
        "name": "全员核酸",
        "day": timezone.localdate().isoformat(),
        "state": "planned",
        "state_label": "计划中",
    }
    assert (data["bag_size"], data["pool_prefixes"]) == (20, "S:1,F:5,T:10,W:20")
    assert data["columns"] == ["id", "name", "unit", "room", "age_band", "sampled_at"]
    assert data["units"] == {
        str(world.a1u1.pk): ["1号楼1单元", "1", "1"],
        str(world.a2u1.pk): ["2号楼1单元", "2", "1"],
    }
    assert data["people"] == [
        [world.elder.pk, "王秀兰", world.a1u1.pk, "101", age_band(world.elder.birth_date), ""],
        [world.child.pk, "王小明", world.a1u1.pk, "101", age_band(datetime.date(2015, 6, 1)), ""],
        [world.neighbour.pk, "李建国", world.a2u1.pk, "201", age_band(world.neighbour.birth_date), ""],
    ]
    assert b", " not in response.content and "王秀兰".encode() in response.content  # compact UTF-8


def test_roster_marks_who_was_sampled_this_round_and_where(world, client):
    round_ = make_round(world)
    sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table2,
        events=[event("tube_open", tube="T1"), sample("T1", world.neighbour)],
    )
    client.force_login(world.users[Role.VOLUNTEER])
    people = {row[0]: row[5] for row in client.get(roster_url(round_.table1)).json()["people"]}
    assert people == {world.elder.pk: "", world.child.pk: "", world.neighbour.pk: "2号台"}


def test_roster_follows_the_round_buildings_and_the_user_scope(world, client):
    round_ = make_round(world, buildings=[world.a2])
    client.force_login(world.users[Role.VOLUNTEER])
    assert [row[1] for row in client.get(roster_url(round_.table1)).json()["people"]] == ["李建国"]
    whole = make_round(world)
    client.force_login(world.users[Role.GRID_WORKER])  # the grid worker has building 1 only
    assert [row[1] for row in client.get(roster_url(whole.table1)).json()["people"]] == ["王秀兰", "王小明"]


@pytest.mark.parametrize("role", SAMPLERS)
def test_roster_never_holds_a_phone_a_document_number_or_a_birth_date(world, role):
    round_ = make_round(world)
    client = Client()
    client.force_login(world.users[role])
    response = client.get(roster_url(round_.table1))
    assert response.status_code == 200
    text = response.content.decode()
    for person in (world.elder, world.child, world.neighbour):
        person.refresh_from_db()
        secrets = [
            crypto.decrypt(person.document_cipher),
            person.document_masked,
            person.birth_date.isoformat(),
        ]
        if person.phone_cipher:
            secrets += [crypto.decrypt(person.phone_cipher), person.phone_masked]
        for secret in secrets:
            assert secret and secret not in text
        # Not even the last four digits, in any text of the roster (its ids are numbers, and on
        # PostgreSQL they may contain those digits by chance).
        words = [value for row in response.json()["people"] for value in row if isinstance(value, str)]
        assert not [word for word in words if secrets[0][-4:] in word]
    assert all(len(row) == 6 for row in response.json()["people"])


def test_roster_and_page_are_not_found_outside_the_user_area(world, client):
    other = make_round(world, compound=world.compound_b)
    client.force_login(world.users[Role.VOLUNTEER])
    assert client.get(roster_url(other.table1)).status_code == 404
    assert client.get(f"/testing/tables/{other.table1.pk}/station/").status_code == 404
    assert post(client, other.table1, [event("tube_open", tube="B1")]).status_code == 404
    assert client.get(f"/api/v1/testing/tables/{other.table1.pk}/samples").status_code == 404
    client.force_login(make_user(Role.COMPOUND_MANAGER, compound=world.compound_b))
    assert client.get(roster_url(other.table1)).status_code == 200


def test_residents_and_strangers_cannot_use_the_station(world, client):
    round_ = make_round(world)
    assert client.get(roster_url(round_.table1)).status_code == 401
    page = client.get(f"/testing/tables/{round_.table1.pk}/station/")
    assert page.status_code == 302 and page["Location"].startswith("/accounts/login/")
    client.force_login(world.users[Role.RESIDENT])
    assert client.get(roster_url(round_.table1)).status_code == 403
    assert client.get(f"/testing/tables/{round_.table1.pk}/station/").status_code == 403
    assert client.get(f"/api/v1/testing/tables/{round_.table1.pk}/samples").status_code == 403
    assert post(client, round_.table1, [event("tube_open", tube="R1")]).status_code == 404
    assert Tube.objects.count() == 0


def test_roster_costs_the_same_queries_for_three_or_three_hundred_people(
    world, client, django_assert_num_queries
):
    round_ = make_round(world)
    client.force_login(world.users[Role.VOLUNTEER])
    # session, user, table, the round's cover and its buildings, the volunteer's buildings,
    # people, units, who was sampled
    with django_assert_num_queries(9):
        small = client.get(roster_url(round_.table1))
    many_people(world, 300)
    with django_assert_num_queries(9):
        large = client.get(roster_url(round_.table1))
    assert (len(small.json()["people"]), len(large.json()["people"])) == (3, 303)


# -- the page and its service worker --------------------------------------------------------------


def test_station_page_renders_for_a_volunteer(world, client):
    round_ = make_round(world)
    client.force_login(world.users[Role.VOLUNTEER])
    response = client.get(f"/testing/tables/{round_.table1.pk}/station/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "<h1>1号台" in html and "请扫描试管码" in html and "待上传 0 条" in html
    assert '<script src="/static/testing/station.js"></script>' in html
    assert "<script>" not in html  # no inline script: the CSP allows none
    config = json.loads(
        html.split('id="station-config" type="application/json">', 1)[1].split("</script>")[0]
    )
    assert {k: config[k] for k in ("table", "label", "pool_size", "bag_size", "pool_prefixes", "batch")} == {
        "table": round_.table1.pk,
        "label": "1号台",
        "pool_size": 10,
        "bag_size": 20,
        "pool_prefixes": "S:1,F:5,T:10,W:20",
        "batch": 500,
    }
    assert config["sync_url"] == sync_url(round_.table1)
    assert config["roster_url"] == roster_url(round_.table1)
    assert (config["sw_url"], config["sw_scope"]) == ("/testing/station-sw.js", "/testing/")
    assert config["strings"]["tube_full_close"] == "试管已满，按回车或点“封管”封管"
    assert "script-src 'self' 'nonce-" in response["Content-Security-Policy"]


def test_service_worker_is_served_under_testing_with_its_scope(client):
    response = client.get("/testing/station-sw.js")
    assert response.status_code == 200
    assert response["Content-Type"] == "text/javascript; charset=utf-8"
    assert response["Service-Worker-Allowed"] == "/testing/"
    body = response.content.decode()
    assert 'var CACHE = "tongxin-station-v1";' in body and 'var STATIC = "/static/";' in body


# -- sync through HTTP ----------------------------------------------------------------------------


def test_sync_answers_stored_and_refused_and_a_resend_stores_nothing_twice(world, client):
    round_ = make_round(world)
    sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table2,
        events=[event("tube_open", tube="B1"), sample("B1", world.neighbour)],
    )
    client.force_login(world.users[Role.VOLUNTEER])
    number = crypto.decrypt(world.elder.document_cipher)
    opening = event("tube_open", tube="F0001")
    by_card = event("sample", tube="F0001", person={"document": number})
    by_name = sample("F0001", world.child)
    twice = sample("F0001", world.neighbour)
    stranger = event("sample", tube="F0001", person={"code": "TXP:NOT-A-PASS-0001"})
    closing = event("tube_close", tube="F0001")
    batch = [opening, by_card, by_name, twice, stranger, closing]
    first = post(client, round_.table1, batch)
    assert first.status_code == 200
    answer = first.json()
    assert set(answer) == {"stored", "refused", "server_time"}
    assert sorted(answer["stored"]) == sorted([opening["id"], by_card["id"], by_name["id"], closing["id"]])
    refused = {r["id"]: r for r in answer["refused"]}
    assert refused[twice["id"]]["code"] == "duplicate"
    assert refused[twice["id"]]["where"]["tube"] == "B1" and refused[twice["id"]]["where"]["table"] == "2号台"
    assert refused[twice["id"]]["message"].startswith("李建国本轮已采样：2号台，")
    assert refused[stranger["id"]] == {
        "id": stranger["id"],
        "code": "unknown_person",
        "message": "查无此人，或不在本轮检测范围内",
        "where": None,
    }
    again = post(client, round_.table1, batch).json()
    assert sorted(again["stored"]) == sorted(answer["stored"])
    assert sorted(r["id"] for r in again["refused"]) == sorted([twice["id"], stranger["id"]])
    assert Sample.objects.filter(round=round_).count() == 3
    tube = Tube.objects.get(code="F0001")
    assert (tube.pool_size, tube.people, tube.closed_at is not None) == (5, 2, True)


def test_samples_of_the_table_give_names_to_the_cards_it_scanned(world, client):
    round_ = make_round(world)
    client.force_login(world.users[Role.VOLUNTEER])
    number = crypto.decrypt(world.elder.document_cipher)
    opening = event("tube_open", tube="T1")
    by_card = event("sample", tube="T1", person={"document": number})
    assert post(client, round_.table1, [opening, by_card]).json()["refused"] == []
    sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table2,
        events=[event("tube_open", tube="T2"), sample("T2", world.neighbour)],
    )
    since = (timezone.now() - datetime.timedelta(minutes=5)).isoformat()
    answer = client.get(f"/api/v1/testing/tables/{round_.table1.pk}/samples", {"since": since}).json()
    assert answer == {"samples": [[by_card["id"], world.elder.pk, "T1"]]}
    later = (timezone.now() + datetime.timedelta(minutes=5)).isoformat()
    assert client.get(f"/api/v1/testing/tables/{round_.table1.pk}/samples", {"since": later}).json() == {
        "samples": []
    }


def test_sync_needs_the_csrf_token(world):
    round_ = make_round(world)
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[Role.VOLUNTEER])
    client.get(f"/testing/tables/{round_.table1.pk}/station/")
    body = json.dumps({"events": [{**event("tube_open", tube="C1"), "at": timezone.now().isoformat()}]})
    refused = client.post(sync_url(round_.table1), data=body, content_type="application/json")
    assert refused.status_code == 403
    token = client.cookies["csrftoken"].value
    stored = client.post(
        sync_url(round_.table1), data=body, content_type="application/json", HTTP_X_CSRFTOKEN=token
    )
    assert stored.status_code == 200 and len(stored.json()["stored"]) == 1


def station_batch(people, *, tubes: int, pool: int = 10, prefix: str = "T") -> list[dict]:
    """What a table sends after `tubes` full tubes of `pool - 2` people each, bagged by 20: the
    device's events in order."""
    events, closed = [], []
    people = iter(people)
    for n in range(tubes):
        code = f"{prefix}{n:05d}"
        events.append(event("tube_open", tube=code, pool_size=pool))
        events += [sample(code, next(people)) for _ in range(pool - 2)]
        events.append(event("tube_close", tube=code))
        closed.append(code)
        if len(closed) == 20:
            events.append(event("bag_seal", bag=f"BAG-{prefix}{n:05d}", tubes=closed))
            closed = []
    return events


# The statements of a sync request whatever the batch's size: session, user, table, require the
# sampler, round, lock the tubes, insert new tubes (their ids come back), the round's cover and
# its buildings, the volunteer's buildings, people, earlier samples, open retests, insert samples,
# the tubes' counts and closes (one UPDATE), used bag codes, insert bags, bag tubes, statuses,
# audit, and the request's savepoint pair: 22. On PostgreSQL the samples' INSERT runs on a psycopg
# cursor of its own (core/db.py) that Django's query capture does not see: 21 seen. SQLite
# inserts the samples inside a savepoint (to answer a unique conflict row by row): 24.
FIXED_QUERIES = {"postgresql": 21, "sqlite": 24}
# Folded to one each when comparing SQLite's statements: Django cuts a bulk INSERT at SQLite's 999
# parameters, and the outbreak module's statuses_sampled updates one status row per person there
# (one UPDATE in all on PostgreSQL).
SPLIT_ON_SQLITE = (
    'INSERT INTO "testing_sample"',
    'INSERT INTO "testing_tube"',
    "UPDATE outbreak_residentstatus",
)


def statement_shape(captured) -> Counter:
    shape = Counter()
    for query in captured.captured_queries:
        sql = query["sql"]
        key = sql.split('"s')[0] if "SAVEPOINT" in sql else " ".join(sql.split()[:3])
        shape[key] += 1
    if connection.vendor == "sqlite":
        for key in shape:
            if key.startswith(SPLIT_ON_SQLITE):
                shape[key] = 1
    return shape


def test_a_batch_of_two_thousand_events_costs_a_fixed_number_of_queries(
    world, client, django_assert_max_num_queries
):
    round_ = make_round(world)
    people = many_people(world, 1800)
    client.force_login(world.users[Role.VOLUNTEER])
    first = station_batch(people[:8], tubes=1, prefix="A")
    medium = station_batch(people[8:168], tubes=20, prefix="M")
    big = station_batch(people[168:], tubes=200, prefix="B")
    assert (len(first), len(medium), len(big)) == (10, 201, 2010)
    assert post(client, round_.table1, first).json()["refused"] == []  # the round starts sampling
    sqlite = connection.vendor == "sqlite"
    fixed = FIXED_QUERIES[connection.vendor]
    # SQLite's raw count: one status UPDATE per person, the samples' INSERT cut every 90 rows and
    # the tubes' every 76 (999 parameters).
    with django_assert_max_num_queries(fixed + (160 + 1 + 0 if sqlite else 0)) as medium_queries:
        assert post(client, round_.table1, medium).json()["refused"] == []
    with django_assert_max_num_queries(fixed + (1600 + 17 + 2 if sqlite else 0)) as big_queries:
        answer = post(client, round_.table1, big).json()
    assert answer["refused"] == [] and len(answer["stored"]) == 2010
    assert statement_shape(big_queries) == statement_shape(medium_queries)
    assert sum(statement_shape(big_queries).values()) == fixed
    assert Sample.objects.filter(round=round_).count() == 1768
    assert Bag.objects.filter(round=round_).count() == 11
    assert Tube.objects.filter(round=round_, bag__isnull=False).count() == 220
    resend = post(client, round_.table1, big).json()
    assert resend["refused"] == [] and sorted(resend["stored"]) == sorted(answer["stored"])
    assert Sample.objects.filter(round=round_).count() == 1768


def test_sync_refuses_ids_that_are_not_uuids_and_times_without_zone(world, client):
    round_ = make_round(world)
    client.force_login(world.users[Role.VOLUNTEER])
    naive = {"id": str(uuid.uuid4()), "type": "tube_open", "tube": "N1", "at": "2022-11-24T07:00:00"}
    response = client.post(
        sync_url(round_.table1), data=json.dumps({"events": [naive]}), content_type="application/json"
    )
    assert response.status_code == 200
    assert [(r["code"], r["message"]) for r in response.json()["refused"]] == [("bad_time", "时间须带时区")]
    # A malformed event is refused on its own; the rest of its batch is stored, so a device is
    # never stuck resending a batch the server rejects as a whole.
    now = timezone.now().isoformat()
    good = {"id": str(uuid.uuid4()), "type": "tube_open", "tube": "N2", "at": now}
    batch = [
        {"id": "not-a-uuid", "type": "tube_open", "tube": "N1", "at": now},
        {
            "id": str(uuid.uuid4()),
            "type": "sample",
            "tube": "N2",
            "at": "yesterday",
            "person": {"resident": 1},
        },
        {"id": str(uuid.uuid4()), "type": "sample", "tube": "N2", "at": now, "person": {"resident": "abc"}},
        {"id": str(uuid.uuid4()), "type": "sample", "tube": "N2", "at": now, "person": "someone"},
        {"id": str(uuid.uuid4()), "type": "tube_open", "tube": "X" * 41, "at": now},
        good,
    ]
    response = client.post(
        sync_url(round_.table1), data=json.dumps({"events": batch}), content_type="application/json"
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["stored"] == [good["id"]]
    refused = {r["id"]: r["code"] for r in answer["refused"]}
    assert [refused.get(e["id"]) for e in batch] == [
        "bad_event",
        "bad_time",
        "unknown_person",
        "unknown_person",
        "bad_event",
        None,
    ]
    assert Tube.objects.filter(code="N2").exists() and not Tube.objects.filter(code="N1").exists()
