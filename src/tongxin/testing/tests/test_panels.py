import pytest

from tongxin.accounts.models import Role
from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.tests.round_helpers import event, make_round, sample

pytestmark = pytest.mark.django_db


@pytest.fixture
def sampled(world):
    round_ = make_round(world)
    sampling_sync(
        actor=world.users[Role.VOLUNTEER],
        table=round_.table1,
        events=[event("tube_open", tube="PANEL1"), sample("PANEL1", world.elder)],
    )
    return world


@pytest.mark.parametrize(
    ("role", "shown"),
    [(Role.GRID_WORKER, True), (Role.COMPOUND_MANAGER, True), (Role.RESIDENT, True), (Role.VOLUNTEER, False)],
)
def test_resident_page_shows_samples_to_health_roles_and_the_household_only(client, sampled, role, shown):
    client.force_login(sampled.users[role])
    response = client.get(f"/residents/{sampled.elder.pk}/")
    assert response.status_code == 200
    html = response.content.decode()
    assert ("PANEL1" in html) is shown
    assert ("核酸检测" in html) is shown
