"""household_verify_occupancy: what was found at the door updates the household and its residents."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.actions import household_verify_occupancy, resident_set_presence
from tongxin.registry.models import Household, Resident
from tongxin.registry.tests.factories import make_resident

pytestmark = pytest.mark.django_db


def _presence(*residents):
    return [Resident.objects.get(pk=r.pk).presence for r in residents]


def test_occupied_marks_the_household_and_leaves_each_residents_presence_to_verify(world):
    volunteer = world.users[Role.VOLUNTEER]
    away = make_resident(world.home_a1, name="王大力")
    resident_set_presence(actor=None, resident=away, presence="away")
    before = _presence(world.elder, world.child, away)
    household_verify_occupancy(actor=volunteer, household=world.home_a1, occupancy="occupied")
    home = Household.objects.get(pk=world.home_a1.pk)
    assert home.occupancy == "occupied"
    assert home.occupancy_verified_on == timezone.localdate()
    assert _presence(world.elder, world.child, away) == before
    assert before[2] == "away"
    row = AuditLog.objects.get(object_type="registry.household", object_id=str(home.pk))
    assert row.actor == volunteer and row.detail["occupancy"] == "occupied"
    assert row.detail["residents"] == []


def test_vacant_makes_residents_away_but_not_those_moved_out(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    day = timezone.localdate() - datetime.timedelta(days=2)
    household_verify_occupancy(actor=manager, household=world.home_a1, occupancy="vacant", on=day)
    home = Household.objects.get(pk=world.home_a1.pk)
    assert (home.occupancy, home.occupancy_verified_on) == ("vacant", day)
    assert _presence(world.elder, world.child) == ["away", "moved_out"]
    assert Resident.objects.get(pk=world.elder.pk).presence_verified_on == day


def test_other_households_are_untouched(world):
    household_verify_occupancy(actor=None, household=world.home_a1, occupancy="vacant")
    assert Household.objects.get(pk=world.home_a2.pk).occupancy == "unknown"
    assert _presence(world.neighbour) == ["unverified"]


@pytest.mark.parametrize("occupancy", ["unknown", "", "empty"])
def test_unknown_or_invalid_occupancy_is_refused(world, occupancy):
    with pytest.raises(ValidationError):
        household_verify_occupancy(actor=None, household=world.home_a1, occupancy=occupancy)
    assert Household.objects.get(pk=world.home_a1.pk).occupancy == "unknown"


def test_future_date_is_refused(world):
    with pytest.raises(ValidationError):
        household_verify_occupancy(
            actor=None,
            household=world.home_a1,
            occupancy="vacant",
            on=timezone.localdate() + datetime.timedelta(days=1),
        )
    assert _presence(world.elder) == ["unverified"]


@pytest.mark.parametrize("role", [Role.RESIDENT, Role.GRID_WORKER, Role.VOLUNTEER])
def test_outside_scope_or_resident_is_refused(world, role):
    user = world.users[role]
    # the resident's own household, the grid worker's building 2, the volunteer's other compound
    household = {Role.RESIDENT: world.home_a1, Role.GRID_WORKER: world.home_a2, Role.VOLUNTEER: world.home_b}[
        role
    ]
    with pytest.raises(PermissionDenied):
        household_verify_occupancy(actor=user, household=household, occupancy="vacant")
    assert Household.objects.get(pk=household.pk).occupancy == "unknown"
    assert not AuditLog.objects.filter(object_type="registry.household").exists()


def test_household_page_shows_occupancy(world, client):
    household_verify_occupancy(actor=None, household=world.home_a1, occupancy="vacant")
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    response = client.get(reverse("registry:household", args=[world.home_a1.pk]))
    assert response.status_code == 200
    text = response.content.decode()
    assert "入住情况" in text and "空置" in text
    assert timezone.localdate().isoformat() in text


def test_a_flat_found_vacant_then_lived_in_puts_its_residents_back_to_verify(world):
    manager = world.users[Role.COMPOUND_MANAGER]
    resident_set_presence(actor=None, resident=world.child, presence="moved_out")
    household_verify_occupancy(actor=manager, household=world.home_a1, occupancy="vacant")
    assert _presence(world.elder, world.child) == ["away", "moved_out"]
    household_verify_occupancy(actor=manager, household=world.home_a1, occupancy="occupied")
    assert Household.objects.get(pk=world.home_a1.pk).occupancy == "occupied"
    assert _presence(world.elder, world.child) == ["unverified", "moved_out"]
    elder = Resident.objects.get(pk=world.elder.pk)
    assert (elder.presence_verified_on, elder.presence_verified_by) == (None, None)
    last = AuditLog.objects.filter(object_type="registry.household").order_by("-pk").first()
    assert last.detail == {
        "occupancy": "occupied",
        "from": "vacant",
        "residents": [world.elder.pk],
        "presence": "unverified",
    }
