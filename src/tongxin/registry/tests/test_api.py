"""The JSON API for every role of `world`: scope (404 outside it), masking, reveal, writes, OpenAPI."""

import datetime

import pytest
from django.contrib.staticfiles import finders
from django.test import Client
from django.utils import timezone
from django.utils.crypto import get_random_string

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.registry.models import Resident

ROLES = list(Role)
STAFF = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER]


def api_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def read_urls(w, *, compound, unit, household, resident) -> list[str]:
    return [
        f"/api/v1/compounds/{compound.pk}",
        f"/api/v1/compounds/{compound.pk}/map",
        f"/api/v1/compounds/{compound.pk}/stats",
        f"/api/v1/units/{unit.pk}/households",
        f"/api/v1/households/{household.pk}",
        f"/api/v1/residents/{resident.pk}",
    ]


def statuses(client, urls) -> list[int]:
    return [client.get(url).status_code for url in urls]


# -- scope ------------------------------------------------------------------------------------

# Compound, map, stats, unit households, household, resident; of building A1 / A2 / compound B.
EXPECTED_STATUS = {
    Role.PLATFORM_ADMIN: ([200] * 6, [200] * 6, [200] * 6),
    Role.OFFICIAL: ([200] * 6, [200] * 6, [404] * 6),
    Role.COMPOUND_MANAGER: ([200] * 6, [200] * 6, [404] * 6),
    Role.GRID_WORKER: ([200] * 6, [200, 200, 200, 404, 404, 404], [404] * 6),
    Role.VOLUNTEER: ([200] * 6, [200] * 6, [404] * 6),
    Role.RESIDENT: ([404, 404, 404, 404, 200, 200], [404] * 6, [404] * 6),
}


@pytest.mark.parametrize("role", ROLES)
def test_every_read_endpoint_answers_200_inside_scope_and_404_outside(world, role):
    client = api_client(world.users[role])
    own, neighbour, other = EXPECTED_STATUS[role]
    w = world
    a1 = read_urls(w, compound=w.compound_a, unit=w.a1u1, household=w.home_a1, resident=w.elder)
    a2 = read_urls(w, compound=w.compound_a, unit=w.a2u1, household=w.home_a2, resident=w.neighbour)
    b = read_urls(w, compound=w.compound_b, unit=w.b1u1, household=w.home_b, resident=w.stranger)
    assert (statuses(client, a1), statuses(client, a2), statuses(client, b)) == (own, neighbour, other)


@pytest.mark.parametrize("role", ROLES)
def test_writes_to_another_compound_are_not_found(world, role):
    if role == Role.PLATFORM_ADMIN:
        return
    client = api_client(world.users[role])
    url = f"/api/v1/residents/{world.stranger.pk}"
    answers = [
        client.post(
            f"{url}/reveal", {"field": "document", "reason": "核实"}, content_type="application/json"
        ),
        client.post(f"{url}/presence", {"presence": "living"}, content_type="application/json"),
        client.patch(url, {"note": "x"}, content_type="application/json"),
    ]
    assert [a.status_code for a in answers] == [404, 404, 404]
    assert answers[0].json() == {"detail": "未找到"}
    assert AuditLog.objects.exclude(action="create").count() == 0
    assert Resident.objects.get(pk=world.stranger.pk).note == ""


def test_anonymous_gets_401_everywhere(world):
    client = Client()
    urls = ["/api/v1/compounds", "/api/v1/residents?q=王"] + read_urls(
        world, compound=world.compound_a, unit=world.a1u1, household=world.home_a1, resident=world.elder
    )
    resident = f"/api/v1/residents/{world.elder.pk}"
    answers = [client.get(url) for url in urls] + [
        client.post(
            f"{resident}/reveal", {"field": "phone", "reason": "核实"}, content_type="application/json"
        ),
        client.post(f"{resident}/presence", {"presence": "living"}, content_type="application/json"),
        client.patch(resident, {"note": "x"}, content_type="application/json"),
    ]
    assert [a.status_code for a in answers] == [401] * 11
    assert answers[-3].json() == {"detail": "Unauthorized"}


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        (Role.PLATFORM_ADMIN, [("A", 2, 2, 2, 3, 1), ("B", 1, 1, 1, 1, 0)]),
        (Role.OFFICIAL, [("A", 2, 2, 2, 3, 1)]),
        (Role.COMPOUND_MANAGER, [("A", 2, 2, 2, 3, 1)]),
        (Role.GRID_WORKER, [("A", 1, 1, 1, 2, 1)]),
        (Role.VOLUNTEER, [("A", 2, 2, 2, 3, 1)]),
        (Role.RESIDENT, []),
    ],
)
def test_compound_list_shows_visible_compounds_with_scoped_counts(world, role, expected):
    body = api_client(world.users[role]).get("/api/v1/compounds").json()
    rows = [
        (c["code"], c["buildings"], c["units"], c["households"], c["residents"], c["elderly"])
        for c in body["items"]
    ]
    assert (rows, body["next_offset"]) == (expected, None)


def test_compound_list_is_paginated(world):
    client = api_client(world.users[Role.PLATFORM_ADMIN])
    first = client.get("/api/v1/compounds?limit=1").json()
    second = client.get("/api/v1/compounds?limit=1&offset=1").json()
    assert [c["code"] for c in first["items"]] + [c["code"] for c in second["items"]] == ["A", "B"]
    assert (first["next_offset"], second["next_offset"]) == (1, None)
    assert client.get("/api/v1/compounds?limit=101").status_code == 422


def test_compound_detail(world):
    body = (
        api_client(world.users[Role.COMPOUND_MANAGER]).get(f"/api/v1/compounds/{world.compound_a.pk}").json()
    )
    assert body == {
        "id": world.compound_a.pk,
        "code": "A",
        "name": "甲小区",
        "address": "",
        "community": "甲社区",
        "buildings": 2,
        "units": 2,
        "households": 2,
        "residents": 3,
        "elderly": 1,
    }


def test_compound_map(world):
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    body = client.get(f"/api/v1/compounds/{world.compound_a.pk}/map?measure=elderly").json()
    assert (body["compound_id"], body["measure"], body["measure_label"]) == (
        world.compound_a.pk,
        "elderly",
        "老年人占比",
    )
    # The registry's own measures first; other modules (outbreak: cases, risk) register theirs after.
    assert list(body["measures"])[:4] == ["verified", "elderly", "vulnerable", "residents"]
    assert [b["name"] for b in body["bands"]] == ["b0", "b1", "b2", "b3", "b4"]
    assert body["as_of"] == timezone.localdate().isoformat()
    cells = [
        (
            b["number"],
            u["number"],
            u["households"],
            u["residents"],
            u["elderly"],
            u["vulnerable"],
            u["value"],
            u["label"],
            u["band"],
        )
        for b in body["buildings"]
        for u in b["units"]
    ]
    assert cells == [("1", "1", 1, 2, 1, 1, 0.5, "50%", "b2"), ("2", "1", 1, 1, 0, 1, 0.0, "0%", "b0")]
    assert body["palette"] == "concern"
    verified = client.get(f"/api/v1/compounds/{world.compound_a.pk}/map?measure=verified").json()
    assert verified["palette"] == "progress"
    assert client.get(f"/api/v1/compounds/{world.compound_a.pk}/map?measure=nonsense").status_code == 422


def test_compound_map_of_a_grid_worker_shows_their_buildings_only(world):
    body = (
        api_client(world.users[Role.GRID_WORKER]).get(f"/api/v1/compounds/{world.compound_a.pk}/map").json()
    )
    assert [(b["number"], [u["verified"] for u in b["units"]]) for b in body["buildings"]] == [("1", [0])]


def test_compound_stats(world):
    body = (
        api_client(world.users[Role.GRID_WORKER]).get(f"/api/v1/compounds/{world.compound_a.pk}/stats").json()
    )
    assert body == {
        "compounds": 1,
        "buildings": 1,
        "units": 1,
        "households": 1,
        "residents": 2,
        "elderly": 1,
        "lives_alone": 1,
        "veterans": 0,
        "serious_illness": 0,
        "disabled": 0,
        "living": 0,
        "away": 0,
        "moved_out": 0,
        "unverified": 2,
        "returning": 0,
        "mobile": 0,
    }


def test_unit_households_list_residents(world, django_assert_max_num_queries):
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    with django_assert_max_num_queries(6):
        body = client.get(f"/api/v1/units/{world.a1u1.pk}/households").json()
    assert [
        (h["room"], h["building"], h["unit"], h["resident_count"], [r["name"] for r in h["residents"]])
        for h in body
    ] == [("101", "1", "1", 2, ["王秀兰", "王小明"])]


def test_household_detail(world):
    body = api_client(world.users[Role.RESIDENT]).get(f"/api/v1/households/{world.home_a1.pk}").json()
    assert (body["id"], body["room"], body["resident_count"]) == (world.home_a1.pk, "101", 2)
    assert [(r["view"], r["name"], r["relation"]) for r in body["residents"]] == [
        ("household", "王秀兰", "head"),
        ("household", "王小明", "grandchild"),
    ]


# -- resident output per role -----------------------------------------------------------------


def elder_number(world) -> str:
    return crypto.decrypt(world.elder.document_cipher)


def test_staff_see_ages_and_masked_numbers_but_no_birth_date(world):
    """The birth date is the masked part of an ID number: with the masked number it is the full one."""
    world.elder.note = "需送药"
    world.elder.registered_address = "赛罕区某街1号"
    world.elder.save()
    body = api_client(world.users[Role.GRID_WORKER]).get(f"/api/v1/residents/{world.elder.pk}").json()
    number = elder_number(world)
    assert body == {
        "view": "full",
        "id": world.elder.pk,
        "name": "王秀兰",
        "place": {
            "compound_id": world.compound_a.pk,
            "building_id": world.a1.pk,
            "building": "1",
            "unit_id": world.a1u1.pk,
            "unit": "1",
            "household_id": world.home_a1.pk,
            "room": "101",
        },
        "relation": "head",
        "relation_label": "户主",
        "sex": "F",
        "age": world.elder.age(),
        "document_type": "mainland_id",
        "document_masked": "150105********" + number[-4:],
        "phone_masked": "138****5678",
        "tags": ["老年人", "独居"],
        "tag_codes": ["elderly", "lives_alone"],
        "presence": "unverified",
        "presence_label": "未核实",
        "presence_verified_on": None,
        "presence_verified_by": None,
        "mobility": "",
        "arrived_on": None,
        "arrived_from": "",
        "registered_address": "赛罕区某街1号",
        "note": "需送药",
    }


def test_a_resident_sees_ages_not_birth_dates_and_no_staff_note(world):
    body = api_client(world.users[Role.RESIDENT]).get(f"/api/v1/residents/{world.elder.pk}").json()
    assert body["view"] == "household"
    assert (body["age"], body["document_masked"][:6], body["phone_masked"]) == (
        world.elder.age(),
        "150105",
        "138****5678",
    )
    assert "birth_date" not in body and "note" not in body and "presence_verified_by" not in body


def test_a_volunteer_gets_names_rooms_tags_and_presence_only(world):
    body = api_client(world.users[Role.VOLUNTEER]).get(f"/api/v1/residents/{world.elder.pk}").json()
    assert sorted(body) == [
        "id",
        "name",
        "place",
        "presence",
        "presence_label",
        "presence_verified_on",
        "tag_codes",
        "tags",
        "view",
    ]
    assert (body["view"], body["name"], body["place"]["room"], body["tags"]) == (
        "volunteer",
        "王秀兰",
        "101",
        ["老年人", "独居"],
    )


# -- search -----------------------------------------------------------------------------------


def test_search_by_full_id_number_finds_exactly_that_resident_and_never_echoes_it(world):
    number = elder_number(world)
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    response = client.post("/api/v1/residents/search", {"q": number}, content_type="application/json")
    body = response.json()
    assert [r["id"] for r in body["items"]] == [world.elder.pk]
    assert number not in str(body)


@pytest.mark.parametrize("query", ["elder_id", "13812345678"])
def test_full_numbers_are_refused_in_urls(world, query):
    number = elder_number(world) if query == "elder_id" else query
    response = api_client(world.users[Role.COMPOUND_MANAGER]).get(f"/api/v1/residents?q={number}")
    assert response.status_code == 400
    assert response.json() == {
        "detail": "手机号和证件号码请用 POST /api/v1/residents/search 查找，不要放在网址里"
    }


def test_search_by_post_needs_the_csrf_token(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    response = client.post("/api/v1/residents/search", {"q": "王"}, content_type="application/json")
    assert response.status_code == 403


@pytest.mark.parametrize("part", ["first17", "first14", "last6"])
def test_search_by_part_of_an_id_number_finds_nobody(world, part):
    number = elder_number(world)
    query = {"first17": number[:17], "first14": number[:14], "last6": number[-6:]}[part]
    response = api_client(world.users[Role.PLATFORM_ADMIN]).get(f"/api/v1/residents?q={query}")
    if not query.isdigit():
        # The last six end with the check letter X (one number in eleven): shaped like a passport
        # number, so refused in a URL like any full number.
        assert response.status_code == 400
        return
    assert response.json() == {"items": [], "next_offset": None}


def test_search_by_phone_room_and_name_within_scope(world):
    client = api_client(world.users[Role.GRID_WORKER])

    def names(query, **params):
        body = {"q": query, **params}
        response = client.post("/api/v1/residents/search", body, content_type="application/json")
        return [r["name"] for r in response.json()["items"]]

    assert names("+8613812345678") == ["王秀兰"]
    assert names("13900001111") == []  # the neighbour lives in building 2
    assert names("101") == ["王秀兰", "王小明"]
    assert names("1-1-101") == ["王秀兰", "王小明"]
    assert names("王", compound=world.compound_a.pk) == ["王秀兰", "王小明"]
    assert names("赵") == []
    assert client.get(f"/api/v1/residents?q=赵&compound={world.compound_b.pk}").status_code == 404


def test_search_is_paginated_and_limited(world, django_assert_max_num_queries):
    client = api_client(world.users[Role.COMPOUND_MANAGER])
    with django_assert_max_num_queries(4):
        first = client.get("/api/v1/residents?q=王&limit=1").json()
    second = client.get("/api/v1/residents?q=王&limit=1&offset=1").json()
    assert ([r["name"] for r in first["items"]], first["next_offset"]) == (["王秀兰"], 1)
    assert ([r["name"] for r in second["items"]], second["next_offset"]) == (["王小明"], None)
    assert client.get("/api/v1/residents?q=王&limit=101").status_code == 422


# -- reveal -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
@pytest.mark.parametrize("field", ["document", "phone"])
def test_reveal_gives_the_full_value_and_one_audit_row(world, role, field):
    user = world.users[role]
    response = api_client(user).post(
        f"/api/v1/residents/{world.elder.pk}/reveal",
        {"field": field, "reason": "核对身份"},
        content_type="application/json",
    )
    expected = elder_number(world) if field == "document" else "13812345678"
    assert (response.status_code, response.json()) == (200, {"value": expected})
    rows = list(
        AuditLog.objects.filter(action="reveal").values_list(
            "actor_id", "action", "object_id", "fields", "reason", "ip"
        )
    )
    assert rows == [(user.pk, "reveal", str(world.elder.pk), field, "核对身份", "127.0.0.1")]


def test_volunteers_may_not_reveal(world):
    response = api_client(world.users[Role.VOLUNTEER]).post(
        f"/api/v1/residents/{world.elder.pk}/reveal",
        {"field": "document", "reason": "核对身份"},
        content_type="application/json",
    )
    assert (response.status_code, response.json()) == (
        403,
        {"detail": "当前角色不能查看完整证件号码和手机号"},
    )
    assert AuditLog.objects.filter(action="reveal").count() == 0


def test_a_resident_reveals_their_own_household_only(world):
    client = api_client(world.users[Role.RESIDENT])
    own = client.post(
        f"/api/v1/residents/{world.child.pk}/reveal",
        {"field": "document", "reason": "办理业务"},
        content_type="application/json",
    )
    neighbour = client.post(
        f"/api/v1/residents/{world.neighbour.pk}/reveal",
        {"field": "document", "reason": "办理业务"},
        content_type="application/json",
    )
    assert (own.status_code, own.json()) == (200, {"value": crypto.decrypt(world.child.document_cipher)})
    assert neighbour.status_code == 404
    assert AuditLog.objects.filter(action="reveal").count() == 1


@pytest.mark.parametrize("payload", [{"field": "phone"}, {"field": "phone", "reason": "  "}])
def test_reveal_without_a_reason_is_refused_in_chinese(world, payload):
    response = api_client(world.users[Role.COMPOUND_MANAGER]).post(
        f"/api/v1/residents/{world.elder.pk}/reveal", payload, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (
        400,
        {"detail": "请填写查看原因", "errors": {"__all__": ["请填写查看原因"]}},
    )
    assert AuditLog.objects.filter(action="reveal").count() == 0


def test_reveal_without_a_csrf_token_is_forbidden(world):
    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    url = f"/api/v1/residents/{world.elder.pk}/reveal"
    payload = {"field": "phone", "reason": "核对身份"}
    refused = client.post(url, payload, content_type="application/json")
    assert refused.status_code == 403
    assert "13812345678" not in refused.content.decode()
    assert AuditLog.objects.filter(action="reveal").count() == 0

    token = get_random_string(32)
    client.cookies["csrftoken"] = token
    allowed = client.post(url, payload, content_type="application/json", headers={"X-CSRFToken": token})
    assert (allowed.status_code, allowed.json()) == (200, {"value": "13812345678"})


# -- presence and edits -----------------------------------------------------------------------


def test_presence_is_recorded_with_who_and_when(world):
    response = api_client(world.users[Role.VOLUNTEER]).post(
        f"/api/v1/residents/{world.neighbour.pk}/presence",
        {"presence": "living"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert (response.json()["presence"], response.json()["presence_verified_on"]) == (
        "living",
        timezone.localdate().isoformat(),
    )
    resident = Resident.objects.get(pk=world.neighbour.pk)
    assert resident.presence_verified_by_id == world.users[Role.VOLUNTEER].pk


def test_presence_in_the_future_is_400_and_residents_get_403(world):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    url = f"/api/v1/residents/{world.elder.pk}/presence"
    future = api_client(world.users[Role.COMPOUND_MANAGER]).post(
        url, {"presence": "living", "on": tomorrow}, content_type="application/json"
    )
    by_resident = api_client(world.users[Role.RESIDENT]).post(
        url, {"presence": "living"}, content_type="application/json"
    )
    assert (future.status_code, future.json()["detail"]) == (400, "核实日期不能晚于今天")
    assert (by_resident.status_code, by_resident.json()) == (403, {"detail": "无权核实该居民"})
    assert Resident.objects.get(pk=world.elder.pk).presence == "unverified"


def test_patch_changes_plain_fields_tags_and_phone(world):
    response = api_client(world.users[Role.COMPOUND_MANAGER]).patch(
        f"/api/v1/residents/{world.neighbour.pk}",
        {"note": "每周送菜", "tags": ["lives_alone", "disabled"], "phone": "１５０ ００００ ０２２２"},
        content_type="application/json",
    )
    assert response.status_code == 200
    body = response.json()
    assert (body["note"], body["tag_codes"], body["phone_masked"]) == (
        "每周送菜",
        ["lives_alone", "disabled"],
        "150****0222",
    )
    assert "15000000222" not in response.content.decode()
    audit = AuditLog.objects.get(action="update")
    assert (audit.actor_id, audit.fields) == (
        world.users[Role.COMPOUND_MANAGER].pk,
        "note,lives_alone,veteran,disabled,phone",
    )


@pytest.mark.parametrize(
    ("payload", "errors"),
    [
        ({"phone": "12345"}, {"phone": ["手机号格式不对：应为1开头的11位数字"]}),
        ({"tags": ["elderly", "rich"]}, {"tags": ["未知的标签：elderly、rich"]}),
        ({"relation": "cousin"}, {"relation": ["值 'cousin' 不是有效选项。"]}),
        ({"name": ""}, {"name": ["此字段不能为空。"]}),
        ({"arrived_from": None}, {"arrived_from": ["不能为空值（null）；清空请发送空字符串"]}),
        (
            {"note": None, "mobility": None},
            {f: ["不能为空值（null）；清空请发送空字符串"] for f in ("note", "mobility")},
        ),
        ({"arrived_on": "2999-01-01"}, {"arrived_on": ["抵达日期不能晚于今天"]}),
    ],
)
def test_patch_reports_invalid_values_per_field(world, payload, errors):
    response = api_client(world.users[Role.COMPOUND_MANAGER]).patch(
        f"/api/v1/residents/{world.neighbour.pk}", payload, content_type="application/json"
    )
    assert (response.status_code, response.json()["errors"]) == (400, errors)
    assert AuditLog.objects.filter(action="update").count() == 0


@pytest.mark.parametrize("role", [Role.VOLUNTEER, Role.RESIDENT])
def test_patch_is_refused_to_volunteers_and_residents(world, role):
    response = api_client(world.users[role]).patch(
        f"/api/v1/residents/{world.elder.pk}", {"note": "x"}, content_type="application/json"
    )
    assert (response.status_code, response.json()) == (403, {"detail": "无权修改该小区的登记信息"})
    assert Resident.objects.get(pk=world.elder.pk).note == ""


@pytest.mark.parametrize(
    "url",
    ["/api/v1/compounds?offset={huge}", "/api/v1/residents?q=王&offset={huge}"],
)
def test_an_offset_beyond_any_page_is_422_not_a_server_error(world, url):
    client = api_client(world.users[Role.PLATFORM_ADMIN])
    response = client.get(url.format(huge="9" * 30))
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["query", "offset"]


# -- masking across every endpoint ------------------------------------------------------------


@pytest.mark.parametrize("role", ROLES)
def test_no_full_number_in_any_response(world, role):
    client = api_client(world.users[role])
    full = [crypto.decrypt(r.document_cipher) for r in Resident.objects.all()]
    full += [crypto.decrypt(r.phone_cipher) for r in Resident.objects.exclude(phone_cipher="")]
    urls = ["/api/v1/compounds", "/api/v1/residents?q=王"]
    for w in [world]:
        for compound, unit, household, resident in [
            (w.compound_a, w.a1u1, w.home_a1, w.elder),
            (w.compound_a, w.a2u1, w.home_a2, w.neighbour),
            (w.compound_b, w.b1u1, w.home_b, w.stranger),
        ]:
            urls += read_urls(w, compound=compound, unit=unit, household=household, resident=resident)
    bodies = [client.get(url).content.decode() for url in urls]
    urls.append("POST /api/v1/residents/search")
    bodies.append(
        client.post(
            "/api/v1/residents/search", {"q": full[0]}, content_type="application/json"
        ).content.decode()
    )
    leaked = [
        (url, number) for url, body in zip(urls, bodies, strict=True) for number in full if number in body
    ]
    assert leaked == []
    # A masked ID number and the birth date together are the full number.
    births = [r.birth_date for r in Resident.objects.exclude(birth_date=None)]
    completable = [
        (url, born)
        for url, body in zip(urls, bodies, strict=True)
        for born in births
        if born.isoformat() in body or f"{born:%Y%m%d}" in body
    ]
    assert completable == []
    masked_seen = "138****5678" in "".join(bodies)
    assert masked_seen is (role not in (Role.VOLUNTEER,))


# -- OpenAPI and docs -------------------------------------------------------------------------


def test_openapi_schema_lists_every_endpoint(client):
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    schema = response.json()
    registry_paths = {
        path: ops
        for path, ops in schema["paths"].items()
        if not path.startswith(
            (
                "/api/v1/outbreak/",
                "/api/v1/testing/",
                "/api/v1/access/",
                "/api/v1/supplies/",
                "/api/v1/voice/",
            )
        )
    }
    assert {path: sorted(ops) for path, ops in registry_paths.items()} == {
        "/api/v1/compounds": ["get"],
        "/api/v1/compounds/{compound_id}": ["get"],
        "/api/v1/compounds/{compound_id}/map": ["get"],
        "/api/v1/compounds/{compound_id}/stats": ["get"],
        "/api/v1/units/{unit_id}/households": ["get"],
        "/api/v1/households/{household_id}": ["get"],
        "/api/v1/residents": ["get"],
        "/api/v1/residents/{resident_id}": ["get", "patch"],
        "/api/v1/residents/{resident_id}/reveal": ["post"],
        "/api/v1/residents/{resident_id}/presence": ["post"],
        "/api/v1/residents/search": ["post"],
    }
    assert "document_masked" in schema["components"]["schemas"]["ResidentFull"]["properties"]
    assert "document_masked" not in schema["components"]["schemas"]["ResidentForVolunteer"]["properties"]


def test_docs_page_serves_swagger_from_the_app_under_the_csp(client):
    response = client.get("/api/v1/docs")
    html = response.content.decode()
    assert response.status_code == 200
    assert '<script src="/static/ninja/swagger-ui-bundle.js">' in html
    assert '<script src="/static/ninja/swagger-ui-init.js">' in html
    assert "https://" not in html and "cdn" not in html.lower()
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert all(
        finders.find(f"ninja/{name}")
        for name in ("swagger-ui-bundle.js", "swagger-ui-init.js", "swagger-ui.css")
    )
