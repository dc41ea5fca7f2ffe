"""The status endpoint and the resident page's status panel: scoping, what each role sees."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.outbreak.models import Isolation
from tongxin.outbreak.status import status_recompute

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def isolated(world):
    """The elder in home isolation through today, as a close contact."""
    today = dt.datetime.now(tz=TZ).date()
    Isolation.objects.create(
        compound=world.compound_a,
        resident=world.elder,
        name=world.elder.name,
        kind="home",
        rule="close_contact",
        starts_on=today - dt.timedelta(days=1),
        planned_end_on=today,
    )
    status_recompute([world.elder.pk])
    end = dt.datetime.combine(today + dt.timedelta(days=1), dt.time.min, tzinfo=TZ)
    return world, f"密接，居家隔离至{today.month}月{today.day}日", end.isoformat()


def url(resident) -> str:
    return f"/api/v1/outbreak/residents/{resident.pk}/status"


@pytest.mark.parametrize(
    "role", [Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.RESIDENT]
)
def test_health_roles_and_the_household_see_the_reasons(client, isolated, role):
    world, reason, until = isolated
    client.force_login(world.users[role])
    response = client.get(url(world.elder))
    assert response.status_code == 200
    assert response.json() == {
        "color": "red",
        "overdue": True,
        "reasons": [reason, "超过48小时未采样"],
        "until": until,
        "risk_level": "",
        "risk_level_label": "",
        "last_sampled_at": None,
    }


def test_a_volunteer_sees_the_colour_and_nothing_of_why(client, isolated):
    world, _reason, _until = isolated
    client.force_login(world.users[Role.VOLUNTEER])
    response = client.get(url(world.elder))
    assert (response.status_code, response.json()) == (200, {"color": "red", "overdue": True})


@pytest.mark.parametrize(
    ("role", "resident"),
    [
        (Role.COMPOUND_MANAGER, "stranger"),  # another compound
        (Role.GRID_WORKER, "neighbour"),  # a building the grid worker does not cover
        (Role.RESIDENT, "neighbour"),  # another household
        (Role.VOLUNTEER, "stranger"),
    ],
)
def test_a_resident_outside_the_users_area_is_404(client, world, role, resident):
    client.force_login(world.users[role])
    assert client.get(url(getattr(world, resident))).status_code == 404
    assert client.get("/api/v1/outbreak/residents/999999/status").status_code == 404


def test_anonymous_is_401(client, world):
    assert client.get(url(world.elder)).status_code == 401


def test_the_resident_page_shows_the_badge_and_the_reasons_to_health_roles(client, isolated):
    world, reason, _until = isolated
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    html = client.get(reverse("registry:resident", args=[world.elder.pk])).content.decode()
    assert 'class="code-badge red"' in html and reason in html and "核酸超时" in html


def test_the_resident_page_shows_a_volunteer_the_colour_only(client, isolated):
    world, reason, _until = isolated
    client.force_login(world.users[Role.VOLUNTEER])
    html = client.get(reverse("registry:resident", args=[world.elder.pk])).content.decode()
    assert 'class="code-badge red"' in html and reason not in html


def test_a_green_resident_gets_a_green_badge(client, world):
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    html = client.get(reverse("registry:resident", args=[world.neighbour.pk])).content.decode()
    assert 'class="code-badge green"' in html


def test_the_status_endpoint_is_in_the_openapi_schema(client):
    schema = client.get("/api/v1/openapi.json").json()
    assert sorted(schema["paths"]["/api/v1/outbreak/residents/{resident_id}/status"]) == ["get"]
