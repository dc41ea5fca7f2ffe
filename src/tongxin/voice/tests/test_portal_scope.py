"""A resident never sees another household's data through the portal: not a neighbour's in the
same compound, not another compound's; not their notices, requests, answers, parcels, passes,
status or testing time; through no page and no API call; whichever way he logged in (phone and
code, the household's link, an account made by the team)."""

import json

import pytest
from django.urls import reverse

from tongxin.access.actions.passes import pass_code
from tongxin.access.tests.gate_helpers import hold, set_status
from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.tests.parcel_helpers import intake
from tongxin.testing.tests.round_helpers import make_round
from tongxin.voice.actions.notices import notice_create
from tongxin.voice.actions.portal import portal_link_login, portal_link_token
from tongxin.voice.actions.requests import request_answer
from tongxin.voice.models import Audience, Request
from tongxin.voice.tests.portal_helpers import issue_pass, manager, portal_user, slot_for
from tongxin.voice.tests.request_helpers import make_request

API = "/api/v1/voice/portal"


class Others:
    """What the other households have: the strings that must never reach 1-1-101's resident."""


@pytest.fixture
def others(world):
    manager_b = make_user(Role.COMPOUND_MANAGER, username="manager-b", compound=world.compound_b)
    volunteer_b = make_user(Role.VOLUNTEER, username="volunteer-b", compound=world.compound_b)
    o = Others()
    o.neighbour_notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="邻居专属通知",
        body="只发给2号楼",
        audience=Audience.LIST,
        audience_ids=[world.home_a2.pk],
    )
    o.building_notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="二号楼停水",
        body="二号楼明日停水",
        audience=Audience.BUILDINGS,
        audience_ids=[world.a2.pk],
    )
    o.far_notice = notice_create(
        actor=manager_b, compound=world.compound_b, title="乙小区通知", body="乙小区正文"
    )
    o.neighbour_request = make_request(world, household=world.home_a2, text="邻居的诉求内容")
    request_answer(actor=manager(world), request=o.neighbour_request, text="给邻居的答复")
    o.far_request = make_request(
        world, household=world.home_b, text="乙小区的诉求内容", actor=manager_b, compound=world.compound_b
    )
    intake(world, world.home_a2, tracking_number="SF-NEIGHBOUR")
    intake(world, world.home_b, tracking_number="SF-STRANGER", actor=volunteer_b)
    o.neighbour_pass = issue_pass(world, world.neighbour)
    from tongxin.access.actions.passes import pass_issue

    o.far_pass = pass_issue(actor=manager_b, resident=world.stranger)
    set_status(world.neighbour, holds=[hold("red", "case")])
    set_status(world.elder, holds=[])
    set_status(world.child, holds=[])
    o.slot = slot_for(world, world.a2u1, round_=make_round(world), hours=5)
    # The household's own, to show the page works while the others' stay out.
    o.own_notice = notice_create(
        actor=manager(world),
        compound=world.compound_a,
        title="本户专属通知",
        body="只发给1-1-101",
        audience=Audience.LIST,
        audience_ids=[world.home_a1.pk],
    )
    o.own_request = make_request(world, household=world.home_a1, text="本户的诉求内容")
    o.own_pass = issue_pass(world, world.elder)
    o.secrets = [
        "李建国",
        "赵四",
        "邻居专属通知",
        "只发给2号楼",
        "二号楼停水",
        "乙小区通知",
        "乙小区正文",
        "邻居的诉求内容",
        "给邻居的答复",
        "乙小区的诉求内容",
        "SF-NEIGHBOUR",
        "SF-STRANGER",
        o.neighbour_pass.number,
        pass_code(o.neighbour_pass),
        o.far_pass.number,
        pass_code(o.far_pass),
        "阳性感染者",
        "红码",
    ]
    return o


@pytest.fixture(params=["code", "link", "team"])
def resident(request, world, others):
    """1-1-101's resident, logged in by phone and code, by the household's link, or with an
    account the team made."""
    if request.param == "code":
        return portal_user(world, resident=world.elder)
    if request.param == "link":
        return portal_link_login(token=portal_link_token(world.home_a1))
    return world.users[Role.RESIDENT]


def assert_none_of(text: str, secrets: list[str]) -> None:
    leaked = [s for s in secrets if s in text]
    assert leaked == []


def test_the_home_page_shows_only_the_households_own(client, world, others, resident):
    client.force_login(resident)
    html = client.get(reverse("portal:home")).content.decode()
    assert "本户专属通知" in html and "本户的诉求内容" in html and others.own_pass.number in html
    assert "王秀兰" in html and "王小明" in html
    assert_none_of(html, others.secrets)
    assert "暂无检测安排" in html  # the neighbour's unit has a slot; 1-1 has none


def test_the_summary_api_shows_only_the_households_own(client, world, others, resident):
    client.force_login(resident)
    answer = client.get(f"{API}/")
    assert answer.status_code == 200
    data = answer.json()
    assert data["household"] == world.home_a1.pk
    assert {m["name"] for m in data["members"]} == {"王秀兰", "王小明"}
    assert [n["title"] for n in data["notices"]] == ["本户专属通知"]
    assert [r["text"] for r in data["requests"]] == ["本户的诉求内容"]
    assert data["testing"] is None and data["parcels"] == []
    assert_none_of(json.dumps(data, ensure_ascii=False), others.secrets)


def test_another_households_request_or_notice_is_not_found_on_any_page(client, world, others, resident):
    client.force_login(resident)
    for request_id in (others.neighbour_request.pk, others.far_request.pk):
        assert client.get(reverse("portal:request", args=[request_id])).status_code == 404
        assert client.get(f"{API}/requests/{request_id}").status_code == 404
    for notice in (others.neighbour_notice, others.building_notice, others.far_notice):
        assert client.get(reverse("portal:notice", args=[notice.pk])).status_code == 404
    assert client.get(reverse("portal:request", args=[others.own_request.pk])).status_code == 200
    assert client.get(f"{API}/requests/{others.own_request.pk}").status_code == 200
    assert client.get(reverse("portal:notice", args=[others.own_notice.pk])).status_code == 200


def test_a_request_cannot_be_sent_for_another_households_resident(client, world, others, resident):
    client.force_login(resident)
    before = Request.objects.count()
    for outsider in (world.neighbour, world.stranger):
        page = client.post(reverse("portal:ask"), {"resident": outsider.pk, "text": "替邻居问问"})
        assert page.status_code == 400
        api = client.post(
            f"{API}/requests",
            {"resident": outsider.pk, "text": "替邻居问问"},
            content_type="application/json",
        )
        assert api.status_code == 400
    assert Request.objects.count() == before
    html = client.get(reverse("portal:ask")).content.decode()
    assert "李建国" not in html and "赵四" not in html


def test_a_resident_cannot_reveal_any_households_link(client, world, others, resident):
    client.force_login(resident)
    for household in (world.home_a1, world.home_a2, world.home_b):
        assert client.get(reverse("portal:household_link", args=[household.pk])).status_code == 404


def test_the_portals_json_is_not_for_the_team(client, world, others):
    for role in (Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER, Role.PLATFORM_ADMIN):
        client.force_login(world.users[role])
        assert client.get(f"{API}/").status_code == 404
        assert client.get(f"{API}/requests/{others.own_request.pk}").status_code == 404
    client.logout()
    assert client.get(f"{API}/").status_code == 401


def test_a_resident_who_moves_sees_only_his_new_household(client, world, others):
    user = portal_user(world, resident=world.child)
    from tongxin.registry.models import Resident

    Resident.objects.filter(pk=world.child.pk).update(household=world.home_a2)
    world.child.refresh_from_db()
    moved = portal_user(world, resident=world.child)
    assert moved.pk == user.pk
    client.force_login(moved)
    html = client.get(reverse("portal:home")).content.decode()
    assert "邻居专属通知" in html and "本户专属通知" not in html and "本户的诉求内容" not in html
    assert client.get(reverse("portal:request", args=[others.own_request.pk])).status_code == 404
