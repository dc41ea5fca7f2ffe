"""Supply settings: the defaults without a row, the action's checks, the page for each role."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.supplies.actions.settings import settings_update
from tongxin.supplies.models import SupplySettings
from tongxin.supplies.selectors.settings import settings_of

pytestmark = pytest.mark.django_db

GOOD = {"parcel_hold_minutes": 90, "pickup_start": "10:00", "pickup_slot_minutes": 20, "care_visit_days": 5}


def test_defaults_without_a_row(world, settings):
    settings.TONGXIN_PARCEL_HOLD_MINUTES = 120
    settings.TONGXIN_CARE_VISIT_DAYS = 7
    found = settings_of(world.compound_a)
    assert found._state.adding  # unsaved
    assert (
        found.parcel_hold_minutes,
        found.pickup_start,
        found.pickup_slot_minutes,
        found.care_visit_days,
    ) == (
        120,
        datetime.time(9, 0),
        30,
        7,
    )
    assert not SupplySettings.objects.exists()


def test_update_saves_and_audits(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    row = settings_update(actor=manager, compound=world.compound_a, **GOOD)
    row.refresh_from_db()
    assert (row.parcel_hold_minutes, row.pickup_start, row.pickup_slot_minutes, row.care_visit_days) == (
        90,
        datetime.time(10, 0),
        20,
        5,
    )
    assert row.updated_by == manager
    log = AuditLog.objects.get(object_type="supplies.supplysettings")
    assert log.detail["before"]["parcel_hold_minutes"] == "120"
    assert log.detail["after"]["parcel_hold_minutes"] == "90"
    settings_update(actor=manager, compound=world.compound_a, **{**GOOD, "parcel_hold_minutes": 0})
    assert settings_of(world.compound_a).parcel_hold_minutes == 0
    assert SupplySettings.objects.count() == 1


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("parcel_hold_minutes", -1),
        ("parcel_hold_minutes", 10081),
        ("parcel_hold_minutes", "two hours"),
        ("pickup_slot_minutes", 4),
        ("pickup_slot_minutes", 1441),
        ("care_visit_days", 0),
        ("care_visit_days", 366),
        ("pickup_start", "25:00"),
        ("pickup_start", "soon"),
    ],
)
def test_bad_values_refused_and_nothing_written(world, field, value):
    with pytest.raises(ValidationError) as caught:
        settings_update(
            actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_a, **{**GOOD, field: value}
        )
    assert list(caught.value.message_dict) == [field]
    assert not SupplySettings.objects.exists()
    assert not AuditLog.objects.filter(object_type="supplies.supplysettings").exists()


def test_who_may_update(world):
    for role in (Role.GRID_WORKER, Role.VOLUNTEER, Role.OFFICIAL):
        with pytest.raises(PermissionDenied):
            settings_update(actor=world.users[role], compound=world.compound_a, **GOOD)
    with pytest.raises(Http404):
        settings_update(actor=world.users[Role.COMPOUND_MANAGER], compound=world.compound_b, **GOOD)
    settings_update(actor=world.users[Role.PLATFORM_ADMIN], compound=world.compound_b, **GOOD)
    assert settings_of(world.compound_b).parcel_hold_minutes == 90


def url(world, compound=None):
    return f"{reverse('supplies:settings')}?compound={(compound or world.compound_a).pk}"


def test_page_for_the_manager(client, world):
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    body = client.get(url(world)).content.decode()
    assert "系统默认值" in body and 'value="120"' in body and "保存" in body
    response = client.post(url(world), {**GOOD, "compound": world.compound_a.pk})
    assert response.status_code == 302
    assert settings_of(world.compound_a).pickup_slot_minutes == 20
    response = client.post(url(world), {**GOOD, "parcel_hold_minutes": 20000})
    assert response.status_code == 400
    assert settings_of(world.compound_a).parcel_hold_minutes == 90


def test_page_read_only_for_grid_workers_and_refused_to_others(client, world):
    client.force_login(world.users[Role.GRID_WORKER])
    response = client.get(url(world))
    assert response.status_code == 200
    assert "disabled" in response.content.decode()
    assert client.post(url(world), GOOD).status_code == 403
    client.force_login(world.users[Role.VOLUNTEER])
    assert client.get(url(world)).status_code == 403
    client.force_login(world.users[Role.RESIDENT])
    assert client.get(url(world)).status_code == 403
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    assert client.get(url(world, world.compound_b)).status_code == 404
    assert not SupplySettings.objects.exists()


def test_pick_up_slots_that_would_run_past_midnight_are_refused(world):
    """Compound A has two buildings: from 22:00, two slots of 60 minutes end at midnight (kept);
    of 61 minutes they would run into the next day and the second building share the first's
    time of day (refused, nothing written)."""
    manager = world.users[Role.COMPOUND_MANAGER]
    fits = {**GOOD, "pickup_start": "22:00", "pickup_slot_minutes": 60}
    assert settings_update(actor=manager, compound=world.compound_a, **fits).pickup_slot_minutes == 60
    with pytest.raises(ValidationError) as caught:
        settings_update(actor=manager, compound=world.compound_a, **{**fits, "pickup_slot_minutes": 61})
    assert caught.value.message_dict == {
        "pickup_slot_minutes": ["2栋楼的取件时段从22:00起会排到次日，请提前开始时间或缩短时段"]
    }
    assert SupplySettings.objects.get(compound=world.compound_a).pickup_slot_minutes == 60
