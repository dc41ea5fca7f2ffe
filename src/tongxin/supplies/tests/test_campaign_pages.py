"""Campaign pages: the list and planning form, a campaign's progress, the door lists with their
HTMX buttons, the team's day as .xlsx; scoping and pinned query counts."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.urls import reverse

from tongxin.core.models import AuditLog
from tongxin.registry.models import Household
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.campaigns import campaign_visit_record
from tongxin.supplies.models import Campaign, CampaignVisit, VisitOutcome
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import ADMIN, GRID, MANAGER, OFFICIAL, RESIDENT, VOLUNTEER

pytestmark = pytest.mark.django_db


@pytest.fixture
def cw(world):
    return campaign_world(world)


@pytest.fixture
def campaign(cw):
    return plan(cw)


def _login(client, cw, role):
    client.force_login(cw.users[role])
    return client


def _visit(campaign, household):
    return CampaignVisit.objects.select_related("campaign").get(campaign=campaign, household=household)


def _form(cw, **overrides):
    data = {
        "name": "白菜发放",
        "item": cw.cabbage.pk,
        "store": cw.store.pk,
        "total_quantity": "２０,０００",
        "unit": "kg",
        "share_basis": "household",
        "share_quantity": "60",
        "share_unit": "jin",
        "starts_on": "2026-11-28",
        "days": "3",
        "teams": "2",
        "volunteers": "4",
    }
    data.update(overrides)
    return data


# --- list and planning ----------------------------------------------------------------------------


def test_manager_sees_the_list_and_the_form(client, campaign, cw):
    response = _login(client, cw, MANAGER).get(reverse("supplies:campaigns"))
    assert response.status_code == 200
    text = response.content.decode()
    assert "白菜发放" in text and "生成计划" in text
    assert reverse("supplies:campaign", args=[campaign.pk]) in text
    assert "style=" not in text


def test_volunteer_sees_the_list_without_the_form_and_cannot_post(client, campaign, cw):
    client = _login(client, cw, VOLUNTEER)
    response = client.get(reverse("supplies:campaigns"))
    assert response.status_code == 200 and "生成计划" not in response.content.decode()
    assert client.post(reverse("supplies:campaigns"), _form(cw)).status_code == 403
    assert Campaign.objects.count() == 1


def test_manager_plans_from_the_form_with_full_width_digits(client, cw, settings):
    client = _login(client, cw, MANAGER)
    response = client.post(
        reverse("supplies:campaigns") + f"?compound={cw.compound_a.pk}", _form(cw), follow=True
    )
    campaign = Campaign.objects.get()
    assert response.redirect_chain[-1][0] == reverse("supplies:campaign", args=[campaign.pk])
    assert (campaign.total_quantity, campaign.share_quantity, campaign.days) == (
        Decimal(20000),
        Decimal(30),
        3,
    )
    assert campaign.visits.count() == 7
    assert "已生成发放计划：7户" in response.content.decode()


def test_form_shows_the_actions_errors_and_writes_nothing(client, cw):
    client = _login(client, cw, MANAGER)
    response = client.post(reverse("supplies:campaigns"), _form(cw, total_quantity="-3", share_unit="box"))
    assert response.status_code == 400
    text = response.content.decode()
    assert "数量必须大于零" in text and "不能换算" in text
    assert not Campaign.objects.exists()


def test_warning_when_the_total_does_not_cover(client, cw):
    response = _login(client, cw, MANAGER).post(
        reverse("supplies:campaigns"), _form(cw, total_quantity="200"), follow=True
    )
    assert "不足以覆盖" in response.content.decode()


def test_resident_is_refused_the_campaign_pages(client, campaign, cw):
    client = _login(client, cw, RESIDENT)
    assert client.get(reverse("supplies:campaigns")).status_code == 403
    assert client.get(reverse("supplies:campaign", args=[campaign.pk])).status_code == 403
    visit = _visit(campaign, cw.home_a1)
    assert (
        client.post(reverse("supplies:campaign_visit", args=[visit.pk]), {"outcome": "delivered"}).status_code
        == 403
    )
    assert _visit(campaign, cw.home_a1).outcome == "pending"


def test_another_compound_is_not_found(client, campaign, cw):
    other = make_user(MANAGER, compound=cw.compound_b)
    client.force_login(other)
    assert client.get(reverse("supplies:campaign", args=[campaign.pk])).status_code == 404
    assert client.get(reverse("supplies:campaign_doors", args=[campaign.pk])).status_code == 404
    visit = _visit(campaign, cw.home_a1)
    assert (
        client.post(reverse("supplies:campaign_visit", args=[visit.pk]), {"outcome": "delivered"}).status_code
        == 404
    )
    assert client.get(reverse("supplies:campaigns") + f"?compound={cw.compound_a.pk}").status_code == 404


def test_official_chooses_a_compound_first(client, campaign, cw):
    admin = _login(client, cw, ADMIN)
    response = admin.get(reverse("supplies:campaigns"))
    assert response.status_code == 200
    assert "请选择小区" in response.content.decode()


# --- the campaign page ----------------------------------------------------------------------------


def test_campaign_page_shows_progress_tasks_vacant_and_map_link(client, campaign, cw):
    volunteer = cw.users[VOLUNTEER]
    campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.home_a1), outcome="delivered")
    campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.h103), outcome="vacant")
    campaign_visit_record(actor=volunteer, visit=_visit(campaign, cw.h2101), outcome="nobody_home")
    response = _login(client, cw, MANAGER).get(reverse("supplies:campaign", args=[campaign.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert '<progress class="campaign-bar small" max="3" value="2">' in text  # unit 1-1: 2 of 3
    assert '<progress class="campaign-bar" max="5" value="2">' in text  # building 1
    assert "1-1-103" in text
    assert reverse("registry:compound", args=[cw.compound_a.pk]) + "?measure=campaign" in text
    assert "第2组" in text
    assert "style=" not in text
    assert "campaigns.css" in text


def test_grid_worker_sees_only_his_buildings_progress(client, campaign, cw):
    response = _login(client, cw, GRID).get(reverse("supplies:campaign", args=[campaign.pk]))
    assert response.status_code == 200
    building_names = [b["building"].number for b in response.context["progress"]["buildings"]]
    assert building_names == ["1"]
    assert response.context["progress"]["totals"]["households"] == 5


def test_campaign_page_query_count_is_pinned(client, cw, django_assert_max_num_queries):
    # more households do not add queries
    from tongxin.registry import actions as registry

    for room in range(301, 331):
        registry.household_ensure(unit=cw.a2u1, room=str(room))
    campaign = plan(cw)
    volunteer = cw.users[VOLUNTEER]
    for visit in CampaignVisit.objects.filter(campaign=campaign)[:6]:
        campaign_visit_record(actor=volunteer, visit=_visit(campaign, visit.household), outcome="vacant")
    client = _login(client, cw, MANAGER)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("supplies:campaign", args=[campaign.pk])).status_code == 200


# --- the door lists -------------------------------------------------------------------------------


def test_door_list_of_a_unit_in_room_order_with_big_buttons(client, campaign, cw):
    response = _login(client, cw, VOLUNTEER).get(
        reverse("supplies:campaign_doors", args=[campaign.pk]) + f"?unit={cw.a1u1.pk}"
    )
    assert response.status_code == 200
    rows = response.context["rows"]
    assert [v.household.room for v in rows] == ["101", "102", "103"]
    assert [v.people for v in rows] == [2, 1, 0]
    text = response.content.decode()
    for label in ("已送达", "无人", "拒收", "空置"):
        assert f">{label}</button>" in text
    assert 'hx-post="' + reverse("supplies:campaign_visit", args=[rows[0].pk]) + '"' in text


def test_door_list_of_a_team_day(client, campaign, cw):
    day = campaign.starts_on.replace()  # day 2 holds units 1-2 (team 1) and 2-1 (team 2)
    import datetime

    second = day + datetime.timedelta(days=1)
    url = reverse("supplies:campaign_doors", args=[campaign.pk]) + f"?day={second:%Y-%m-%d}&team=2"
    response = _login(client, cw, VOLUNTEER).get(url)
    assert [v.household.room for v in response.context["rows"]] == ["201", "202"]
    assert _login(client, cw, VOLUNTEER).get(url.replace("team=2", "team=9")).status_code == 404
    bad = reverse("supplies:campaign_doors", args=[campaign.pk]) + "?day=2001-01-01"
    assert client.get(bad).status_code == 404


def test_door_list_query_count_is_pinned(client, cw, django_assert_max_num_queries):
    from tongxin.registry import actions as registry

    for room in range(301, 341):
        registry.household_ensure(unit=cw.a1u1, room=str(room))
    campaign = plan(cw)
    client = _login(client, cw, VOLUNTEER)
    with django_assert_max_num_queries(8):
        response = client.get(reverse("supplies:campaign_doors", args=[campaign.pk]) + f"?unit={cw.a1u1.pk}")
    assert len(response.context["rows"]) == 43


def test_htmx_button_marks_the_door_and_swaps_the_row(client, campaign, cw):
    visit = _visit(campaign, cw.home_a1)
    response = _login(client, cw, VOLUNTEER).post(
        reverse("supplies:campaign_visit", args=[visit.pk]),
        {"outcome": "delivered", "expected": "pending"},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.lstrip().startswith(f'<li class="card door outcome-delivered" id="door-{visit.pk}"')
    assert "<html" not in body
    assert ">已送达</button>" not in body  # final: no buttons left for a volunteer
    assert _visit(campaign, cw.home_a1).outcome == "delivered"
    assert Household.objects.get(pk=cw.home_a1.pk).occupancy == "occupied"


def test_htmx_second_volunteer_is_told_who_marked_the_door(client, campaign, cw):
    visit = _visit(campaign, cw.home_a1)
    campaign_visit_record(actor=cw.users[MANAGER], visit=visit, outcome="refused")
    response = _login(client, cw, VOLUNTEER).post(
        reverse("supplies:campaign_visit", args=[visit.pk]),
        {"outcome": "delivered", "expected": "pending"},
        HTTP_HX_REQUEST="true",
    )
    body = response.content.decode()
    assert 'role="alert"' in body and "manager" in body and "拒收" in body
    assert _visit(campaign, cw.home_a1).outcome == "refused"


def test_plain_post_redirects_back_to_the_list(client, campaign, cw):
    visit = _visit(campaign, cw.h102)
    back = reverse("supplies:campaign_doors", args=[campaign.pk]) + f"?unit={cw.a1u1.pk}"
    response = _login(client, cw, VOLUNTEER).post(
        reverse("supplies:campaign_visit", args=[visit.pk]), {"outcome": "nobody_home", "back": back}
    )
    assert response.status_code == 302 and response["Location"] == back
    evil = _login(client, cw, VOLUNTEER).post(
        reverse("supplies:campaign_visit", args=[visit.pk]),
        {"outcome": "nobody_home", "back": "https://evil.example/"},
    )
    assert evil["Location"] == back


def test_come_back_list_holds_the_nobody_home_doors(client, campaign, cw):
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=_visit(campaign, cw.h2102), outcome="nobody_home")
    response = _login(client, cw, VOLUNTEER).get(
        reverse("supplies:campaign_doors", args=[campaign.pk]) + "?list=come_back"
    )
    assert [v.household_id for v in response.context["rows"]] == [cw.h2102.pk]
    assert ">已送达</button>" in response.content.decode()  # can still be delivered


def test_grid_worker_door_list_excludes_other_buildings(client, campaign, cw):
    client = _login(client, cw, GRID)
    url = reverse("supplies:campaign_doors", args=[campaign.pk])
    assert client.get(url + f"?unit={cw.a2u1.pk}").status_code == 404
    response = client.get(url + "?list=come_back")
    assert response.status_code == 200
    assert {u.building_id for u in response.context["units"]} == {cw.a1.pk}


# --- export ---------------------------------------------------------------------------------------


def test_team_day_export_is_audited_and_formula_safe(client, campaign, cw):
    visit = _visit(campaign, cw.home_a1)
    campaign_visit_record(actor=cw.users[VOLUNTEER], visit=visit, outcome="refused", note="=HYPERLINK(1)")
    client = _login(client, cw, VOLUNTEER)
    url = (
        reverse("supplies:campaign_doors_xlsx", args=[campaign.pk])
        + f"?day={campaign.starts_on:%Y-%m-%d}&team=1"
    )
    response = client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1][:3] == ("楼栋", "单元", "房号")
    assert [r[2] for r in rows[2:]] == ["101", "102", "103"]
    assert rows[2][5] == "拒收" and rows[2][7] == "'=HYPERLINK(1)"
    assert all(not str(c).startswith(("=", "+", "-", "@")) for r in rows for c in r if c is not None)
    log = AuditLog.objects.get(action="export", object_type="supplies.campaign")
    assert log.detail == {"day": campaign.starts_on.isoformat(), "team": 1, "rows": 3}
    assert client.get(url.replace("team=1", "team=")).status_code == 404


def test_export_refused_to_residents(client, campaign, cw):
    url = (
        reverse("supplies:campaign_doors_xlsx", args=[campaign.pk])
        + f"?day={campaign.starts_on:%Y-%m-%d}&team=1"
    )
    assert _login(client, cw, RESIDENT).get(url).status_code == 403
    assert not AuditLog.objects.filter(action="export").exists()


@pytest.mark.parametrize("role", [OFFICIAL, ADMIN])
def test_officials_and_admins_see_the_campaign(client, campaign, cw, role):
    assert _login(client, cw, role).get(reverse("supplies:campaign", args=[campaign.pk])).status_code == 200


def test_registry_map_colours_units_by_campaign_progress(client, campaign, cw):
    for household in (cw.home_a1, cw.h102):
        campaign_visit_record(
            actor=cw.users[VOLUNTEER], visit=_visit(campaign, household), outcome="delivered"
        )
    response = _login(client, cw, MANAGER).get(
        reverse("registry:compound", args=[cw.compound_a.pk]) + "?measure=campaign"
    )
    assert response.status_code == 200
    data = response.context["map"]
    assert data["measure"] == "campaign" and data["palette"] == "progress"
    cells = {cell["unit"].pk: cell for entry in data["buildings"] for cell in entry["units"]}
    assert cells[cw.a1u1.pk]["label"] == "67%" and cells[cw.a1u1.pk]["band"] == "b3"
    assert cells[cw.a2u1.pk]["label"] == "0%"
    assert VisitOutcome.DELIVERED == "delivered"


def test_campaigns_list_query_count_is_pinned(client, cw, django_assert_max_num_queries):
    for index in range(5):
        plan(cw, name=f"第{index}批")
    client = _login(client, cw, MANAGER)
    with django_assert_max_num_queries(7):
        response = client.get(reverse("supplies:campaigns"))
    assert len(response.context["campaigns"]) == 5
