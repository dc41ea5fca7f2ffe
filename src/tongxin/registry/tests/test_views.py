"""The registry's pages for every role: scope, masking, reveal, presence, search, query counts."""

import datetime
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.registry import actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import id_number, make_resident

ALL_ROLES = list(Role)
STAFF_ROLES = [r for r in Role if r != Role.RESIDENT]


def pages(w) -> dict[str, str]:
    return {
        "compound": reverse("registry:compound", args=[w.compound_a.pk]),
        "care_list": reverse("registry:care_list", args=[w.compound_a.pk]),
        "unit": reverse("registry:unit_households", args=[w.a1u1.pk]),
        "household": reverse("registry:household", args=[w.home_a1.pk]),
        "resident": reverse("registry:resident", args=[w.elder.pk]),
        "search": reverse("registry:search") + "?q=王",
    }


def other_compound_pages(w) -> dict[str, str]:
    return {
        "compound": reverse("registry:compound", args=[w.compound_b.pk]),
        "care_list": reverse("registry:care_list", args=[w.compound_b.pk]),
        "unit": reverse("registry:unit_households", args=[w.b1u1.pk]),
        "household": reverse("registry:household", args=[w.home_b.pk]),
        "resident": reverse("registry:resident", args=[w.stranger.pk]),
    }


# What a resident (own household only) may open; every other role opens every page of compound A.
RESIDENT_STATUS = {
    "compound": 404,
    "care_list": 404,
    "unit": 404,
    "household": 200,
    "resident": 200,
    "search": 403,
}


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


@pytest.mark.parametrize("role", ALL_ROLES)
def test_every_page_inside_scope(as_role, world, role):
    client = as_role(role)
    for name, url in pages(world).items():
        expected = RESIDENT_STATUS[name] if role == Role.RESIDENT else 200
        response = client.get(url)
        assert response.status_code == expected, (name, response.status_code)
        if expected == 200 and name != "compound":
            assert "王秀兰" in response.content.decode(), name


@pytest.mark.parametrize("role", [r for r in Role if r != Role.PLATFORM_ADMIN])
def test_another_compounds_records_are_not_found(as_role, world, role):
    client = as_role(role)
    for name, url in other_compound_pages(world).items():
        response = client.get(url)
        assert response.status_code == 404, name
        assert "未找到" in response.content.decode()


def test_grid_worker_does_not_see_other_buildings(as_role, world):
    client = as_role(Role.GRID_WORKER)
    assert client.get(reverse("registry:household", args=[world.home_a2.pk])).status_code == 404
    assert client.get(reverse("registry:resident", args=[world.neighbour.pk])).status_code == 404
    assert client.get(reverse("registry:unit_households", args=[world.a2u1.pk])).status_code == 404
    html = client.get(reverse("registry:compound", args=[world.compound_a.pk])).content.decode()
    assert "1号楼" in html and "2号楼" not in html


def test_anonymous_is_sent_to_login(client, world):
    for url in [reverse("registry:home"), *pages(world).values()]:
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("accounts:login"))


def test_home_lists_compounds_with_counts(as_role, world, django_assert_max_num_queries):
    client = as_role(Role.PLATFORM_ADMIN)
    with django_assert_max_num_queries(4):
        html = client.get(reverse("registry:home")).content.decode()
    assert "甲小区" in html and "乙小区" in html
    assert re.search(r"2 栋 · 2 个单元 · 2 户 · 3 人 · 老年人 1", html)


def test_home_sends_single_compound_users_and_residents_on(as_role, world):
    response = as_role(Role.COMPOUND_MANAGER).get(reverse("registry:home"))
    assert response["Location"] == reverse("registry:compound", args=[world.compound_a.pk])
    response = as_role(Role.RESIDENT).get(reverse("registry:home"))
    assert response["Location"] == reverse("portal:home")


def full_numbers(w) -> list[str]:
    return [crypto.decrypt(r.document_cipher) for r in (w.elder, w.child, w.neighbour)] + [
        "13812345678",
        "13900001111",
    ]


@pytest.mark.parametrize("role", ALL_ROLES)
def test_pages_never_show_full_numbers_or_birth_dates(as_role, world, role):
    client = as_role(role)
    for name, url in pages(world).items():
        html = client.get(url).content.decode()
        for number in full_numbers(world):
            assert number not in html, (name, number)
        assert "1948-03-15" not in html and "1948年3月15日" not in html
        if role == Role.VOLUNTEER:
            assert world.elder.document_masked not in html
            assert world.elder.phone_masked not in html


@pytest.mark.parametrize("role", [Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.RESIDENT])
def test_household_and_resident_pages_show_masked_numbers(as_role, world, role):
    client = as_role(role)
    for url in (pages(world)["household"], pages(world)["resident"]):
        html = client.get(url).content.decode()
        assert world.elder.document_masked in html
        assert "138****5678" in html
        assert "老年人" in html and "独居" in html


def test_volunteer_sees_no_numbers_address_or_notes(as_role, world):
    actions.resident_update(
        actor=None, resident=world.elder, registered_address="户籍某地址", note="备注内容"
    )
    html = as_role(Role.VOLUNTEER).get(pages(world)["resident"]).content.decode()
    assert "户籍某地址" not in html and "备注内容" not in html
    assert "查看完整号码" not in html
    assert "王秀兰" in html and "独居" in html and "未核实" in html
    manager_html = as_role(Role.COMPOUND_MANAGER).get(pages(world)["resident"]).content.decode()
    assert "户籍某地址" in manager_html and "备注内容" in manager_html


def test_resident_sees_their_household_without_staff_notes(as_role, world):
    """Notes are for staff (the API leaves them out of a resident's view too)."""
    actions.resident_update(actor=None, resident=world.elder, note="精神状况需关注")
    world.home_a1.note = "户内备注"
    world.home_a1.save()
    client = as_role(Role.RESIDENT)
    for name in ("household", "resident"):
        html = client.get(pages(world)[name]).content.decode()
        assert "王秀兰" in html and world.elder.document_masked in html, name
        assert "精神状况需关注" not in html and "户内备注" not in html, name
    manager = as_role(Role.COMPOUND_MANAGER)
    assert "户内备注" in manager.get(pages(world)["household"]).content.decode()
    assert "精神状况需关注" in manager.get(pages(world)["resident"]).content.decode()


def reveal_url(resident) -> str:
    return reverse("registry:resident_reveal", args=[resident.pk])


def test_reveal_shows_the_full_number_once_and_is_audited(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    number = crypto.decrypt(world.elder.document_cipher)
    response = client.post(
        reveal_url(world.elder), {"field": "document", "reason": "联系核酸采样"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert number in html
    assert "<html" not in html
    assert "no-cache" in response["Cache-Control"]
    rows = list(AuditLog.objects.filter(action="reveal"))
    assert len(rows) == 1
    assert (rows[0].actor, rows[0].object_id, rows[0].fields, rows[0].reason) == (
        world.users[Role.COMPOUND_MANAGER],
        str(world.elder.pk),
        "document",
        "联系核酸采样",
    )
    assert number not in client.get(pages(world)["resident"]).content.decode()


def test_reveal_phone_without_htmx_renders_the_page(as_role, world):
    response = as_role(Role.GRID_WORKER).post(
        reveal_url(world.elder), {"field": "phone", "reason": "电话随访"}
    )
    assert response.status_code == 200
    assert "13812345678" in response.content.decode()
    assert AuditLog.objects.filter(action="reveal", fields="phone").count() == 1


def test_reveal_without_reason_is_refused(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    response = client.post(
        reveal_url(world.elder), {"field": "document", "reason": " "}, HTTP_HX_REQUEST="true"
    )
    html = response.content.decode()
    assert "请填写查看原因" in html
    assert crypto.decrypt(world.elder.document_cipher) not in html
    assert client.post(reveal_url(world.elder), {"field": "document"}).status_code == 400
    assert not AuditLog.objects.filter(action="reveal").exists()


def test_volunteer_reveal_is_forbidden(as_role, world):
    response = as_role(Role.VOLUNTEER).post(reveal_url(world.elder), {"field": "phone", "reason": "想看看"})
    assert response.status_code == 403
    html = response.content.decode()
    assert "无权访问" in html and "13812345678" not in html
    assert not AuditLog.objects.filter(action="reveal").exists()


def test_resident_reveals_own_household(as_role, world):
    response = as_role(Role.RESIDENT).post(
        reveal_url(world.child), {"field": "document", "reason": "核对本人信息"}
    )
    assert response.status_code == 200
    assert crypto.decrypt(world.child.document_cipher) in response.content.decode()


def test_reveal_outside_scope_is_not_found(as_role, world):
    response = as_role(Role.COMPOUND_MANAGER).post(
        reveal_url(world.stranger), {"field": "document", "reason": "越权尝试"}
    )
    assert response.status_code == 404
    assert not AuditLog.objects.filter(action="reveal").exists()


def presence_url(resident) -> str:
    return reverse("registry:resident_presence", args=[resident.pk])


def test_volunteer_records_presence(as_role, world):
    client = as_role(Role.VOLUNTEER)
    response = client.post(presence_url(world.elder), {"presence": "living"})
    assert response.status_code == 302
    world.elder.refresh_from_db()
    assert world.elder.presence == "living"
    assert world.elder.presence_verified_by == world.users[Role.VOLUNTEER]
    html = client.get(response["Location"]).content.decode()
    assert "在住" in html and "由 volunteer 核实" in html


def test_presence_errors_are_shown_inline(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    tomorrow = (timezone.localdate() + datetime.timedelta(days=2)).isoformat()
    response = client.post(presence_url(world.elder), {"presence": "living", "on": tomorrow})
    assert response.status_code == 400
    assert "核实日期不能晚于今天" in response.content.decode()
    response = client.post(presence_url(world.elder), {"presence": "gone"})
    assert response.status_code == 400
    world.elder.refresh_from_db()
    assert world.elder.presence == "unverified"


def test_resident_may_not_record_presence(as_role, world):
    client = as_role(Role.RESIDENT)
    assert "核实居住状态" not in client.get(pages(world)["resident"]).content.decode()
    assert client.post(presence_url(world.elder), {"presence": "living"}).status_code == 403


def search(client, query):
    return client.post(reverse("registry:search"), {"q": query})


def test_search_form_posts_so_numbers_stay_out_of_urls(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(reverse("registry:search")).content.decode()
    assert re.search(r'<form method="post" action="/search/"', html)
    in_url = client.get(reverse("registry:search"), {"q": "13812345678"}).content.decode()
    assert "手机号和证件号码请在查找框中输入" in in_url
    assert "王秀兰" not in in_url
    assert "王秀兰" in client.get(reverse("registry:search"), {"q": "秀兰"}).content.decode()


def test_search_by_name_room_phone_and_id(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    assert "王秀兰" in search(client, "秀兰").content.decode()
    room = search(client, "1-1-101").content.decode()
    assert "王秀兰" in room and "王小明" in room and "李建国" not in room
    assert "李建国" in search(client, "201").content.decode()
    by_phone = search(client, "13812345678").content.decode()
    assert "王秀兰" in by_phone and "13812345678" not in by_phone and "按手机号精确查找" in by_phone
    number = crypto.decrypt(world.elder.document_cipher)
    by_id = search(client, number).content.decode()
    assert "王秀兰" in by_id and "王小明" not in by_id
    assert number not in by_id
    assert "按证件号码精确查找" in by_id
    outside = search(client, "赵四").content.decode()
    assert (
        "没有找到符合条件的居民" in outside
        and reverse("registry:resident", args=[world.stranger.pk]) not in outside
    )


def test_search_for_volunteers_shows_no_numbers(as_role, world):
    html = search(as_role(Role.VOLUNTEER), "王").content.decode()
    assert "王秀兰" in html and world.elder.document_masked not in html and "138****5678" not in html


def test_care_list_lists_vulnerable_residents(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(pages(world)["care_list"]).content.decode()
    assert "王秀兰" in html and "李建国" in html and "王小明" not in html
    assert "1号楼1单元101室" in html
    veterans = client.get(pages(world)["care_list"], {"group": "veteran"}).content.decode()
    assert "李建国" in veterans and "王秀兰" not in veterans


def test_unit_households_partial_for_htmx_and_page_otherwise(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    partial = client.get(pages(world)["unit"], HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial
    assert "101室" in partial and "王秀兰" in partial and 'class="tag elderly"' in partial
    page = client.get(pages(world)["unit"]).content.decode()
    assert "<html" in page and "王秀兰" in page


@pytest.mark.parametrize("measure", ["verified", "elderly", "vulnerable", "residents", "nonsense"])
def test_compound_map_measures(as_role, world, measure):
    html = as_role(Role.COMPOUND_MANAGER).get(pages(world)["compound"], {"measure": measure}).content.decode()
    assert html.count('class="cell ') == 2
    assert reverse("registry:unit_households", args=[world.a1u1.pk]) in html
    if measure == "elderly":
        assert "<strong>50%</strong>" in html  # one of the two residents of unit 1-1
    if measure == "residents":
        assert 'class="cell b4"' in html


def grow(world, households: int, per_household: int = 3) -> None:
    """More households and residents in compound A, in both buildings, some of them vulnerable."""
    for index in range(households):
        unit = world.a1u1 if index % 2 else world.a2u1
        home = actions.household_ensure(unit=unit, room=str(301 + index))
        for person in range(per_household):
            make_resident(
                home,
                name=f"居民{index}-{person}",
                document_number=id_number(datetime.date(1950 + person * 20, 1, 2)),
                lives_alone=person == 0,
                veteran=person == 1,
            )


@pytest.mark.parametrize("households", [2, 12])
def test_query_counts_do_not_grow_with_the_data(as_role, world, households, django_assert_max_num_queries):
    grow(world, households)
    client = as_role(Role.COMPOUND_MANAGER)
    # The resident page includes the panels other modules register: the outbreak status is one
    # primary-key read once stored (the first view computes and stores it), the care visits one.
    client.get(pages(world)["resident"])
    limits = {"compound": 11, "care_list": 6, "unit": 6, "household": 6, "resident": 7, "search": 5}
    for name, url in pages(world).items():
        with django_assert_max_num_queries(limits[name]):
            assert client.get(url).status_code == 200
    with django_assert_max_num_queries(6):
        assert client.get(pages(world)["unit"], HTTP_HX_REQUEST="true").status_code == 200
    # pages()'s search finds the same two people however large the world: search for the grown ones.
    with django_assert_max_num_queries(limits["search"]):
        html = client.get(reverse("registry:search") + "?q=居民").content.decode()
    assert html.count("居民0-0") == 1 and html.count(f"居民{households - 1}-2") == 1


def test_care_list_is_paginated(as_role, world, settings):
    settings.TONGXIN_PAGE_SIZE = 5
    grow(world, 6)
    client = as_role(Role.COMPOUND_MANAGER)
    first = client.get(pages(world)["care_list"]).content.decode()
    assert "第 1 / 3 页" in first and "?page=2" in first
    last = client.get(pages(world)["care_list"], {"page": 3}).content.decode()
    assert "第 3 / 3 页" in last


def test_pages_carry_the_content_security_policy(as_role, world):
    response = as_role(Role.COMPOUND_MANAGER).get(pages(world)["compound"])
    policy = response["Content-Security-Policy"]
    assert re.search(r"script-src 'self' 'nonce-[^']+'", policy)
    assert "style-src 'self'" in policy


def test_every_asset_is_served_by_the_app(as_role, world):
    html = as_role(Role.COMPOUND_MANAGER).get(pages(world)["compound"]).content.decode()
    assert "http://" not in html and "https://" not in html
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', html)
    assert any(a.endswith("app.css") for a in assets) and any("htmx" in a for a in assets)
    for asset in assets:
        assert finders.find(asset.removeprefix("/static/")), asset
    assert " style=" not in html and "<style" not in html
    assert not re.search(r"<script(?![^>]*\bsrc=)", html)


def test_forbidden_page_is_chinese(as_role, world):
    response = as_role(Role.RESIDENT).get(pages(world)["search"])
    assert response.status_code == 403
    assert "无权访问" in response.content.decode()


def test_moved_out_residents_leave_the_map_counts(as_role, world):
    actions.resident_set_presence(actor=None, resident=world.child, presence=Resident.Presence.MOVED_OUT)
    html = (
        as_role(Role.COMPOUND_MANAGER).get(pages(world)["compound"], {"measure": "elderly"}).content.decode()
    )
    assert "<strong>100%</strong>" in html


def test_pages_speak_english_after_switching(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    html = client.get(pages(world)["compound"]).content.decode()
    assert "Compound map" in html and "Building 1" in html and "Share of elderly" in html
    html = client.get(pages(world)["unit"], HTTP_HX_REQUEST="true").content.decode()
    assert "Room 101" in html and "Elderly" in html and "Lives alone" in html
