"""The access pages for every role: the day at the gates, passes (HTMX row actions), printed cards,
a resident's passes, visitors, the exit policy, the compound page's panel; scope, privacy and
query counts that do not grow with the data."""

import datetime
import re

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.access.actions import passes as actions
from tongxin.access.models import AccessPolicy, Gate, Pass
from tongxin.access.tests.activity_helpers import check, local, outing, visitor
from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.registry import actions as registry_actions
from tongxin.registry.models import Resident
from tongxin.registry.tests.factories import id_number, make_resident, make_user

pytestmark = pytest.mark.django_db

STAFF = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER]
MANAGING = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER]


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


@pytest.fixture
def south(world):
    return Gate.objects.create(compound=world.compound_a, name="南门")


def a(url: str, world, **params) -> str:
    query = "&".join(f"{k}={v}" for k, v in {"compound": world.compound_a.pk, **params}.items())
    return f"{url}?{query}"


def grow(world, households: int, per_household: int = 2) -> None:
    for index in range(households):
        unit = world.a1u1 if index % 2 else world.a2u1
        home = registry_actions.household_ensure(unit=unit, room=str(301 + index))
        for person in range(per_household):
            make_resident(
                home,
                name=f"居民{index}-{person}",
                document_number=id_number(datetime.date(1960 + person * 20, 1, 2)),
                phone=f"1390000{index:02d}{person:02d}",
            )


# /access/ -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", STAFF)
def test_the_dashboard_opens_for_the_compounds_team(as_role, world, south, role):
    page = as_role(role).get(a(reverse("access:index"), world))
    assert page.status_code == 200
    html = page.content.decode()
    assert "甲小区" in html and f'href="/access/gates/{south.pk}/"' in html


def test_a_resident_is_sent_to_their_passes(as_role, world):
    page = as_role(Role.RESIDENT).get(reverse("access:index"))
    assert page.status_code == 302 and page.url == reverse("access:mine")


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER])
def test_another_compound_is_not_found(as_role, world, role):
    client = as_role(role)
    for name in ("access:index", "access:passes", "access:visitors", "access:policy", "access:print"):
        assert client.get(f"{reverse(name)}?compound={world.compound_b.pk}").status_code in (403, 404)
    assert client.get(f"{reverse('access:index')}?compound={world.compound_b.pk}").status_code == 404
    assert client.get(f"{reverse('access:index')}?compound=x").status_code == 404


def test_someone_who_sees_several_compounds_chooses_one(as_role, world):
    client = as_role(Role.PLATFORM_ADMIN)
    html = client.get(reverse("access:index")).content.decode()
    assert "甲小区" in html and "乙小区" in html and f"?compound={world.compound_b.pk}" in html
    assert (
        "乙小区" in client.get(f"{reverse('access:index')}?compound={world.compound_b.pk}").content.decode()
    )


def test_the_dashboard_shows_the_day(as_role, world, south):
    now = timezone.now()
    today = timezone.localdate()
    for minute in range(3):
        check(south, local(today, 8, minute), "out", resident=world.child)
    check(south, local(today, 9), "out", allowed=False, reason="sealed", resident=world.child)
    check(south, local(today, 9, 5), "out", allowed=False, reason="no_test", resident=world.child)
    outing(south, world.elder, now - datetime.timedelta(hours=3), due_at=now - datetime.timedelta(minutes=75))
    outing(
        south, world.neighbour, now - datetime.timedelta(minutes=20), due_at=now + datetime.timedelta(hours=1)
    )
    visitor(south, now - datetime.timedelta(minutes=5), name="张访客", phone="13955556666")
    html = as_role(Role.COMPOUND_MANAGER).get(a(reverse("access:index"), world)).content.decode()
    assert "住户被封控" in html and "48小时内无核酸" in html
    over = html[html.index('class="card over-time"') : html.index('class="card out-now"')]
    assert "王秀兰" in over and "李建国" not in over and "75分钟" in over and 'class="late"' in over
    out = html[html.index('class="card out-now"') :]
    assert "王秀兰" in out and "李建国" in out and "3小时0分" in out and "20分钟" in out
    assert "张访客" in html and "13955556666" not in html
    assert html.count('<rect class="out_allowed"') == 1 and html.count('<rect class="out_stopped"') == 1


def test_the_dashboard_refreshes_its_figures_only(as_role, world, south):
    client = as_role(Role.VOLUNTEER)
    url = a(reverse("access:index"), world)
    assert 'hx-trigger="every 60s"' in client.get(url).content.decode()
    partial = client.get(url, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="access-figures").content.decode()
    assert (
        "over-time" in partial and "<html" not in partial and "南门" in partial and "gate-link" not in partial
    )


def test_the_day_can_be_chosen(as_role, world, south):
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    check(south, local(yesterday, 10), "in", allowed=False, reason="revoked")
    client = as_role(Role.COMPOUND_MANAGER)
    assert "出入证已注销" in client.get(a(reverse("access:index"), world, day=yesterday)).content.decode()
    assert "出入证已注销" not in client.get(a(reverse("access:index"), world)).content.decode()
    assert client.get(a(reverse("access:index"), world, day="2022-13-40")).status_code == 200


# gates set up from /access/ -----------------------------------------------------------------------

GATE_MANAGERS = [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER]


@pytest.mark.parametrize("role", GATE_MANAGERS)
def test_managers_add_a_gate_from_the_dashboard(as_role, world, south, role):
    client = as_role(role)
    html = client.get(a(reverse("access:index"), world)).content.decode()
    assert f'action="{reverse("access:gate_add")}"' in html and "csrfmiddlewaretoken" in html
    page = client.post(reverse("access:gate_add"), {"compound": world.compound_a.pk, "name": " 北门 "})
    assert page.status_code == 302 and page.url == a(reverse("access:index"), world)
    gate = Gate.objects.get(compound=world.compound_a, name="北门")
    assert gate.active and AuditLog.objects.filter(action="create", object_id=str(gate.pk)).exists()
    assert "已添加卡口“北门”" in client.get(page.url).content.decode()


def test_a_gate_name_is_unique_in_its_compound(as_role, world, south):
    client = as_role(Role.COMPOUND_MANAGER)
    page = client.post(
        reverse("access:gate_add"), {"compound": world.compound_a.pk, "name": "南门"}, follow=True
    )
    assert "本小区已有名为“南门”的卡口" in page.content.decode()
    page = client.post(
        reverse("access:gate_add"), {"compound": world.compound_a.pk, "name": "  "}, follow=True
    )
    assert "请填写卡口名称" in page.content.decode()
    assert list(Gate.objects.values_list("name", flat=True)) == ["南门"]
    Gate.objects.create(compound=world.compound_b, name="西门")  # another compound's name is free
    as_role(Role.PLATFORM_ADMIN).post(
        reverse("access:gate_add"), {"compound": world.compound_a.pk, "name": "西门"}
    )
    assert Gate.objects.filter(compound=world.compound_a, name="西门").exists()


@pytest.mark.parametrize("role", GATE_MANAGERS)
def test_managers_disable_and_enable_a_gate(as_role, world, south, role):
    client = as_role(role)
    url = reverse("access:gate_active", args=[south.pk])
    assert f'action="{url}"' in client.get(a(reverse("access:index"), world)).content.decode()
    page = client.post(url, {"active": "0"})
    assert page.status_code == 302 and page.url == a(reverse("access:index"), world)
    south.refresh_from_db()
    assert not south.active
    html = client.get(page.url).content.decode()
    assert "已停用卡口“南门”" in html and "已停用" in html and f'href="/access/gates/{south.pk}/"' not in html
    assert 'name="active" value="1"' in html  # offered again
    client.post(url, {"active": "0"})  # already disabled: nothing written
    client.post(url, {"active": "1"})
    south.refresh_from_db()
    assert south.active
    assert [(r.fields, r.detail) for r in AuditLog.objects.filter(action="update").order_by("pk")] == [
        ("active", {"active": False}),
        ("active", {"active": True}),
    ]


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.VOLUNTEER])
def test_the_rest_of_the_team_cannot_set_up_gates(as_role, world, south, role):
    client = as_role(role)
    html = client.get(a(reverse("access:index"), world)).content.decode()
    assert "gate-admin" not in html and reverse("access:gate_add") not in html
    assert reverse("access:gate_active", args=[south.pk]) not in html
    page = client.post(reverse("access:gate_add"), {"compound": world.compound_a.pk, "name": "北门"})
    assert page.status_code == 403
    assert client.post(reverse("access:gate_active", args=[south.pk]), {"active": "0"}).status_code == 403
    south.refresh_from_db()
    assert south.active and list(Gate.objects.values_list("name", flat=True)) == ["南门"]
    assert not AuditLog.objects.filter(object_type="access.gate").exists()
    resident = as_role(Role.RESIDENT)
    assert resident.post(reverse("access:gate_active", args=[south.pk]), {"active": "0"}).status_code == 404


def test_no_gate_is_set_up_outside_ones_area(as_role, world):
    theirs = Gate.objects.create(compound=world.compound_b, name="东门")
    for role in (Role.COMPOUND_MANAGER, Role.OFFICIAL):
        client = as_role(role)
        assert (
            client.post(reverse("access:gate_active", args=[theirs.pk]), {"active": "0"}).status_code == 404
        )
        page = client.post(reverse("access:gate_add"), {"compound": world.compound_b.pk, "name": "北门"})
        assert page.status_code == 404
    theirs.refresh_from_db()
    assert theirs.active and not Gate.objects.filter(name="北门").exists()


def test_setting_up_gates_needs_a_post_with_the_csrf_token(world, south):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    url = reverse("access:gate_active", args=[south.pk])
    assert client.get(url).status_code == 405
    assert client.post(url, {"active": "0"}).status_code == 403
    assert (
        client.post(reverse("access:gate_add"), {"compound": world.compound_a.pk, "name": "北门"}).status_code
        == 403
    )
    south.refresh_from_db()
    assert south.active and Gate.objects.count() == 1


# /access/passes/ ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", MANAGING)
def test_the_passes_page_opens_for_who_manages_passes(as_role, world, role):
    actions.pass_issue(actor=None, resident=world.elder)
    html = as_role(role).get(a(reverse("access:passes"), world)).content.decode()
    assert "王秀兰" in html and Pass.objects.get().number in html


def test_volunteers_and_residents_do_not_open_the_passes_pages(as_role, world):
    client = as_role(Role.VOLUNTEER)
    assert client.get(a(reverse("access:passes"), world)).status_code == 403
    assert client.get(a(reverse("access:print"), world)).status_code == 403
    assert client.post(reverse("access:pass_issue"), {"resident": world.elder.pk}).status_code == 403
    client = as_role(Role.RESIDENT)
    assert client.get(reverse("access:passes")).status_code == 404
    assert client.get(reverse("access:print")).status_code == 404
    assert not Pass.objects.exists()


def test_a_grid_worker_sees_their_buildings_residents(as_role, world):
    html = as_role(Role.GRID_WORKER).get(reverse("access:passes")).content.decode()
    assert "王秀兰" in html and "王小明" in html and "李建国" not in html
    assert "补齐缺证（2）" in html


def test_filter_by_building_and_unit(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(a(reverse("access:passes"), world, building=world.a2.pk)).content.decode()
    assert "李建国" in html and "王秀兰" not in html and "补齐缺证（1）" in html
    html = client.get(
        a(reverse("access:passes"), world, building=world.a1.pk, unit=world.a1u1.pk)
    ).content.decode()
    assert "王秀兰" in html and "李建国" not in html
    # a building of another compound is ignored, not trusted
    html = client.get(a(reverse("access:passes"), world, building=world.b1.pk)).content.decode()
    assert "王秀兰" in html and "李建国" in html


def test_issue_one_by_htmx_swaps_the_row(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    page = client.post(reverse("access:pass_issue"), {"resident": world.elder.pk}, HTTP_HX_REQUEST="true")
    pass_ = Pass.objects.get()
    html = page.content.decode()
    assert page.status_code == 200 and html.lstrip().startswith(f'<tr id="resident-{world.elder.pk}"')
    assert pass_.number in html and "已发证" in html
    again = client.post(reverse("access:pass_issue"), {"resident": world.elder.pk}, HTTP_HX_REQUEST="true")
    assert again.status_code == 400 and "已有有效出入证" in again.content.decode()
    assert client.post(reverse("access:pass_issue"), {"resident": world.stranger.pk}).status_code == 404


def test_issue_missing_from_the_page(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    page = client.post(
        reverse("access:passes_issue_missing"), {"compound": world.compound_a.pk, "building": world.a1.pk}
    )
    assert page.status_code == 302 and f"building={world.a1.pk}" in page.url
    assert set(Pass.objects.values_list("resident_id", flat=True)) == {world.elder.pk, world.child.pk}
    assert "已发放2张出入证" in client.get(page.url).content.decode()
    page = client.post(reverse("access:passes_issue_missing"), {"compound": world.compound_b.pk})
    assert page.status_code == 404


def test_reissue_and_revoke_by_htmx(as_role, world):
    client = as_role(Role.GRID_WORKER)
    old = actions.pass_issue(actor=None, resident=world.elder)
    page = client.post(
        reverse("access:pass_reissue", args=[old.pk]), {"reason": "lost"}, HTTP_HX_REQUEST="true"
    )
    new = Pass.objects.get(revoked_at=None)
    html = page.content.decode()
    assert page.status_code == 200 and new.number in html and old.number in html and "已补发" in html
    page = client.post(
        reverse("access:pass_revoke", args=[new.pk]), {"reason": "other"}, HTTP_HX_REQUEST="true"
    )
    assert page.status_code == 200 and "未发证" in page.content.decode()
    new.refresh_from_db()
    assert new.revoked_reason == "other"
    refused = client.post(
        reverse("access:pass_revoke", args=[new.pk]), {"reason": "other"}, HTTP_HX_REQUEST="true"
    )
    assert refused.status_code == 400 and "已注销" in refused.content.decode()


def test_a_reason_is_required(as_role, world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    client = as_role(Role.COMPOUND_MANAGER)
    page = client.post(
        reverse("access:pass_revoke", args=[pass_.pk]), {"reason": "whatever"}, HTTP_HX_REQUEST="true"
    )
    assert page.status_code == 400 and "请选择注销原因" in page.content.decode()
    page = client.post(reverse("access:pass_reissue", args=[pass_.pk]), {})
    assert page.status_code == 302
    assert "请选择补发原因" in client.get(page.url).content.decode()
    pass_.refresh_from_db()
    assert pass_.revoked_at is None


def test_no_one_touches_a_pass_outside_their_area(as_role, world):
    theirs = actions.pass_issue(actor=None, resident=world.neighbour)  # building 2
    client = as_role(Role.GRID_WORKER)
    assert client.post(reverse("access:pass_revoke", args=[theirs.pk]), {"reason": "lost"}).status_code == 404
    assert (
        client.post(reverse("access:pass_reissue", args=[theirs.pk]), {"reason": "lost"}).status_code == 404
    )
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_households_where_passes_are_per_household(as_role, world):
    AccessPolicy.objects.create(compound=world.compound_a, pass_per="household")
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(a(reverse("access:passes"), world)).content.decode()
    assert "本户" in html and "王秀兰" not in html and "补齐缺证（2）" in html
    page = client.post(reverse("access:pass_issue"), {"household": world.home_a1.pk}, HTTP_HX_REQUEST="true")
    assert page.status_code == 200 and f'id="household-{world.home_a1.pk}"' in page.content.decode()


@pytest.mark.parametrize("households", [2, 12])
def test_list_pages_query_counts_do_not_grow(
    as_role, world, south, households, django_assert_max_num_queries
):
    grow(world, households)
    actions.passes_issue_missing(actor=None, compound=world.compound_a)
    now = timezone.now()
    for index, resident in enumerate(Resident.objects.filter(compound=world.compound_a)):
        outing(
            south,
            resident,
            now - datetime.timedelta(minutes=10 + index),
            due_at=now - datetime.timedelta(minutes=index),
        )
        visitor(
            south, now - datetime.timedelta(minutes=index), name=f"访客{index}", visiting=resident.household
        )
    client = as_role(Role.GRID_WORKER)
    limits = {
        "access:index": 16,
        "access:passes": 12,
        "access:visitors": 9,
        "access:print": 9,
        "access:policy": 8,
    }
    for name, limit in limits.items():
        with django_assert_max_num_queries(limit):
            assert client.get(reverse(name)).status_code == 200
    with django_assert_max_num_queries(14):
        client.get(reverse("access:index"), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="access-figures")
    resident = as_role(Role.RESIDENT)
    with django_assert_max_num_queries(4):
        assert resident.get(reverse("access:mine")).status_code == 200


# printed cards ------------------------------------------------------------------------------------


def test_the_printed_card_holds_the_qr_name_and_room_and_no_id_number_or_phone(as_role, world):
    actions.passes_issue_missing(actor=None, compound=world.compound_a)
    html = as_role(Role.COMPOUND_MANAGER).get(a(reverse("access:print"), world)).content.decode()
    assert html.count('<article class="pass-card">') == 3
    assert html.count('<svg viewBox="0 0 ') == 3 and 'class="qr"' in html
    assert (
        "王秀兰" in html and "1号楼 1单元 101室" in html and "李建国" in html and "2号楼 1单元 201室" in html
    )
    for person in (world.elder, world.child, world.neighbour):
        person.refresh_from_db()
        document = crypto.decrypt(person.document_cipher)
        assert document not in html and person.document_masked not in html
        if person.phone_cipher:
            assert crypto.decrypt(person.phone_cipher) not in html and person.phone_masked not in html
    assert not re.search(r"1[3-9]\d{9}", html)
    assert "style=" not in html  # the page's CSP allows no inline style


def test_print_one_card_a_unit_and_only_what_the_user_sees(as_role, world):
    actions.passes_issue_missing(actor=None, compound=world.compound_a)
    elder = Pass.objects.get(resident=world.elder)
    client = as_role(Role.COMPOUND_MANAGER)
    html = client.get(a(reverse("access:print"), world, **{"pass": elder.pk})).content.decode()
    assert html.count('class="pass-card"') == 1 and elder.number in html
    html = client.get(a(reverse("access:print"), world, building=world.a2.pk)).content.decode()
    assert html.count('class="pass-card"') == 1 and "李建国" in html
    html = as_role(Role.GRID_WORKER).get(reverse("access:print")).content.decode()
    assert html.count('class="pass-card"') == 2 and "李建国" not in html


def test_each_print_is_audited_with_its_card_count_and_filter_and_never_cached(as_role, world):
    actions.passes_issue_missing(actor=None, compound=world.compound_a)
    AuditLog.objects.all().delete()
    client = as_role(Role.COMPOUND_MANAGER)
    whole = client.get(a(reverse("access:print"), world), REMOTE_ADDR="10.0.0.9")
    assert "no-store" in whole["Cache-Control"] and "private" in whole["Cache-Control"]
    client.get(a(reverse("access:print"), world, building=world.a1.pk, unit=world.a1u1.pk))
    elder = Pass.objects.get(resident=world.elder)
    client.get(a(reverse("access:print"), world, **{"pass": elder.pk}))
    as_role(Role.GRID_WORKER).get(reverse("access:print"))
    rows = AuditLog.objects.order_by("pk")
    assert [(r.actor_name, r.action, r.fields, r.object_id, r.detail) for r in rows] == [
        (
            world.users[Role.COMPOUND_MANAGER].username,
            "export",
            "pass_card",
            str(world.compound_a.pk),
            {"cards": 3, "building": None, "unit": None, "pass": None},
        ),
        (
            world.users[Role.COMPOUND_MANAGER].username,
            "export",
            "pass_card",
            str(world.compound_a.pk),
            {"cards": 2, "building": world.a1.pk, "unit": world.a1u1.pk, "pass": None},
        ),
        (
            world.users[Role.COMPOUND_MANAGER].username,
            "export",
            "pass_card",
            str(world.compound_a.pk),
            {"cards": 1, "building": None, "unit": None, "pass": elder.pk},
        ),
        (
            world.users[Role.GRID_WORKER].username,
            "export",
            "pass_card",
            str(world.compound_a.pk),
            {"cards": 2, "building": None, "unit": None, "pass": None},
        ),
    ]
    assert rows[0].ip == "10.0.0.9"
    assert rows[1].object_label == "甲小区 1号楼1单元"


def test_revoked_and_expired_passes_are_not_printed(as_role, world):
    actions.passes_issue_missing(actor=None, compound=world.compound_a)
    actions.pass_revoke(actor=None, pass_=Pass.objects.get(resident=world.elder), reason="lost")
    Pass.objects.filter(resident=world.child).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    html = as_role(Role.COMPOUND_MANAGER).get(a(reverse("access:print"), world)).content.decode()
    assert html.count('class="pass-card"') == 1 and "李建国" in html


# /access/mine/ ------------------------------------------------------------------------------------


def test_a_resident_sees_their_households_passes_as_qr_codes(as_role, world):
    elder = actions.pass_issue(actor=None, resident=world.elder)
    child = actions.pass_issue(actor=None, resident=world.child)
    other = actions.pass_issue(actor=None, resident=world.neighbour)
    html = as_role(Role.RESIDENT).get(reverse("access:mine")).content.decode()
    assert elder.number in html and child.number in html and other.number not in html
    assert html.count('class="qr"') == 2 and "李建国" not in html
    assert "13812345678" not in html and world.elder.document_masked not in html


def test_an_expired_pass_shows_no_code(as_role, world):
    pass_ = actions.pass_issue(actor=None, resident=world.elder)
    Pass.objects.filter(pk=pass_.pk).update(expires_at=timezone.now() - datetime.timedelta(days=1))
    html = as_role(Role.RESIDENT).get(reverse("access:mine")).content.decode()
    assert "过期" in html and 'class="qr"' not in html


def test_a_resident_without_a_household_or_passes(client, world):
    lonely = make_user(Role.RESIDENT, username="lonely")
    client.force_login(lonely)
    assert "还没有出入证" in client.get(reverse("access:mine")).content.decode()


def test_staff_are_sent_from_mine_to_the_dashboard(as_role, world):
    page = as_role(Role.VOLUNTEER).get(reverse("access:mine"))
    assert page.status_code == 302 and page.url == reverse("access:index")


def test_residents_see_nothing_else_of_access(as_role, world, south):
    client = as_role(Role.RESIDENT)
    assert client.get(reverse("access:visitors")).status_code == 404
    assert client.get(reverse("access:policy")).status_code == 404


# visitors -----------------------------------------------------------------------------------------


def test_visitors_page_masks_phones_and_hides_them_from_volunteers(as_role, world, south):
    visitor(south, timezone.now(), name="张访客", phone="13955556666", visiting=world.home_a1, reason="送药")
    html = as_role(Role.COMPOUND_MANAGER).get(a(reverse("access:visitors"), world)).content.decode()
    assert "张访客" in html and "139****6666" in html and "13955556666" not in html and "1-1-101" in html
    html = as_role(Role.VOLUNTEER).get(a(reverse("access:visitors"), world)).content.decode()
    assert "张访客" in html and "139****6666" not in html and "送药" in html


# policy -------------------------------------------------------------------------------------------


def policy_post(version: int, **changes) -> dict:
    data = {
        "version": version,
        "pass_per": "resident",
        "pass_valid_days": 30,
        "exits_per_household": 1,
        "exit_period_days": 2,
        "exit_max_minutes": 120,
        "sealed_no_exit": "on",
        "exit_needs_test": "on",
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


def test_a_manager_edits_the_policy_with_the_version_seen(as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    url = a(reverse("access:policy"), world)
    assert 'name="version" value="1"' in client.get(url).content.decode()
    page = client.post(url, policy_post(1))
    assert page.status_code == 302
    policy = AccessPolicy.objects.get(compound=world.compound_a)
    assert (policy.exits_per_household, policy.exit_max_minutes, policy.version) == (1, 120, 2)
    stale = client.post(url, policy_post(1, exit_max_minutes=60))
    assert stale.status_code == 409 and "已被他人修改" in stale.content.decode()
    bad = client.post(url, policy_post(2, exit_max_minutes=5))
    assert bad.status_code == 400 and "10到1440" in bad.content.decode()
    unlimited = client.post(
        url, policy_post(2, exits_per_household="", exit_max_minutes="", sealed_no_exit=None)
    )
    assert unlimited.status_code == 302
    policy.refresh_from_db()
    assert (policy.exits_per_household, policy.exit_max_minutes, policy.sealed_no_exit) == (None, None, False)
    assert AuditLog.objects.filter(action="policy_update").count() == 2


@pytest.mark.parametrize("role", [Role.GRID_WORKER, Role.VOLUNTEER])
def test_others_of_the_team_read_the_policy(as_role, world, role):
    client = as_role(role)
    url = a(reverse("access:policy"), world)
    html = client.get(url).content.decode()
    assert "disabled" in html and "只能查看" in html
    assert client.post(url, policy_post(1)).status_code == 403
    assert not AccessPolicy.objects.exists()


# the compound page and the navigation -------------------------------------------------------------


def test_the_compound_page_shows_the_days_counts(as_role, world, south):
    today = timezone.localdate()
    check(south, local(today, 8), "out", resident=world.elder)
    check(south, local(today, 9), "out", allowed=False, reason="sealed", resident=world.child)
    html = (
        as_role(Role.COMPOUND_MANAGER)
        .get(reverse("registry:compound", args=[world.compound_a.pk]))
        .content.decode()
    )
    panel = html[html.index('class="card access-panel"') :]
    assert "今日出入" in panel and "南门" in panel and f"/access/?compound={world.compound_a.pk}" in panel
    assert re.search(r"<dt>核验</dt><dd>2</dd>", panel) and re.search(r"<dt>拦下</dt><dd>1</dd>", panel)


def test_no_panel_for_a_compound_without_gates(as_role, world):
    html = (
        as_role(Role.COMPOUND_MANAGER)
        .get(reverse("registry:compound", args=[world.compound_a.pk]))
        .content.decode()
    )
    assert "access-panel" not in html


def test_the_navigation_links_to_access(as_role, world):
    html = as_role(Role.VOLUNTEER).get(reverse("access:visitors")).content.decode()
    assert f'href="{reverse("access:index")}">出入管理</a>' in html
    html = as_role(Role.RESIDENT).get(reverse("access:mine")).content.decode()
    assert f'href="{reverse("access:mine")}">出入证</a>' in html and "出入管理" not in html


def test_an_outing_by_a_household_pass_shows_its_room(as_role, world, south):
    from tongxin.access.models import Outing

    now = timezone.now()
    event = check(south, now - datetime.timedelta(hours=1), "out")
    Outing.objects.create(
        household=world.home_a2, compound=world.compound_a, out_at=event.at, due_at=now, out_event=event
    )
    html = as_role(Role.COMPOUND_MANAGER).get(a(reverse("access:index"), world)).content.decode()
    assert "本户（户证）" in html and "2-1-201" in html


def test_pages_with_names_rooms_and_codes_are_never_cached(as_role, world):
    actions.passes_issue_missing(actor=None, compound=world.compound_a)
    listing = as_role(Role.COMPOUND_MANAGER).get(a(reverse("access:passes"), world))
    assert listing.status_code == 200 and "no-store" in listing["Cache-Control"]
    own = as_role(Role.RESIDENT).get(reverse("access:mine"))
    assert own.status_code == 200 and "no-store" in own["Cache-Control"]


@pytest.mark.parametrize("role", [Role.COMPOUND_MANAGER, Role.VOLUNTEER])
def test_the_dashboard_and_visitors_pages_are_never_cached(as_role, world, south, role):
    visitor(south, timezone.now(), name="张访客", phone="13955556666", visiting=world.home_a1)
    client = as_role(role)
    for url in (a(reverse("access:index"), world), a(reverse("access:visitors"), world)):
        page = client.get(url)
        assert page.status_code == 200 and "张访客" in page.content.decode()
        assert "no-store" in page["Cache-Control"] and "private" in page["Cache-Control"]
    figures = client.get(
        a(reverse("access:index"), world), HTTP_HX_REQUEST="true", HTTP_HX_TARGET="access-figures"
    )
    assert "no-store" in figures["Cache-Control"]
