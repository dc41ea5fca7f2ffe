"""The Django admin: only platform administrators, no unaudited full numbers, no scope-breaking edits."""

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse

from tongxin.accounts.models import Role
from tongxin.registry.models import Building, Compound, Household, Resident, Unit
from tongxin.registry.tests.factories import make_user


@pytest.fixture
def admin_client(client, world):
    client.force_login(world.users[Role.PLATFORM_ADMIN])
    return client


@pytest.mark.parametrize("role", [Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER])
def test_staff_of_a_scoped_role_is_kept_out_of_the_unscoped_admin(client, world, role):
    """The admin lists every compound: a scoped role marked staff would read all of them."""
    user = make_user(role, is_staff=True, compound=world.compound_a)
    user.user_permissions.set(Permission.objects.filter(codename__in=["view_resident", "view_household"]))
    client.force_login(user)
    for url in (reverse("admin:index"), reverse("admin:registry_resident_changelist")):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))


def test_platform_admin_staff_without_superuser_may_use_the_admin(client, world):
    user = make_user(Role.PLATFORM_ADMIN, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename="view_resident"))
    client.force_login(user)
    response = client.get(reverse("admin:registry_resident_changelist"))
    assert response.status_code == 200
    assert "王秀兰" in response.content.decode()


def test_resident_change_page_shows_no_birth_date_beside_the_masked_number(admin_client, world):
    html = admin_client.get(reverse("admin:registry_resident_change", args=[world.elder.pk])).content.decode()
    assert world.elder.document_masked in html
    assert "1948-03-15" not in html and "1948年3月15日" not in html and "19480315" not in html


def test_residents_are_not_added_in_the_admin(admin_client, world):
    """A resident needs a checked, encrypted document and their place copied: the actions do that."""
    assert admin_client.get(reverse("admin:registry_resident_add")).status_code == 403


PLACES = {
    "resident": (lambda w: w.elder, "household", lambda w: w.home_b),
    "household": (lambda w: w.home_a1, "unit", lambda w: w.b1u1),
    "unit": (lambda w: w.a1u1, "building", lambda w: w.b1),
    "building": (lambda w: w.a1, "compound", lambda w: w.compound_b),
    "area": (lambda w: w.community_a, "parent", lambda w: w.city),
}


@pytest.mark.parametrize("model", PLACES)
def test_moving_a_record_to_another_place_is_not_an_admin_edit(admin_client, world, model):
    """Children carry their compound, building and area path for scoping: an admin move leaves them behind."""
    record, field, target = PLACES[model]
    url = reverse(f"admin:{record(world)._meta.app_label}_{model}_change", args=[record(world).pk])
    form = admin_client.get(url).context["adminform"].form
    assert field not in form.fields
    data = {name: form[name].value() for name in form.fields if form[name].value() is not None}
    data[field] = target(world).pk
    assert admin_client.post(url, data).status_code == 302
    elder = Resident.objects.get(pk=world.elder.pk)
    assert (elder.household_id, elder.unit_id, elder.building_id, elder.compound_id) == (
        world.home_a1.pk,
        world.a1u1.pk,
        world.a1.pk,
        world.compound_a.pk,
    )
    assert Household.objects.get(pk=world.home_a1.pk).unit_id == world.a1u1.pk
    assert Unit.objects.get(pk=world.a1u1.pk).building_id == world.a1.pk
    assert Building.objects.get(pk=world.a1.pk).compound_id == world.compound_a.pk
    assert Compound.objects.get(pk=world.compound_a.pk).area_path == world.community_a.path
