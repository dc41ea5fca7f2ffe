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


def test_alerts_on_the_testing_page_can_be_acknowledged_in_place(client, world):
    from tongxin.testing.models import Alert

    round_ = make_round(world)
    alert = Alert.objects.create(
        compound=world.compound_a, round=round_, kind="positive_pool", text="1号楼1单元 混采阳性"
    )
    client.force_login(world.users[Role.VOLUNTEER])
    assert "1号楼1单元 混采阳性" not in client.get("/testing/").content.decode()
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    html = client.get("/testing/").content.decode()
    assert "1号楼1单元 混采阳性" in html and f'hx-post="/testing/alerts/{alert.pk}/ack/"' in html
    answer = client.post(f"/testing/alerts/{alert.pk}/ack/", HTTP_HX_REQUEST="true")
    assert answer.status_code == 200 and answer.content == b""
    assert "1号楼1单元 混采阳性" not in client.get("/testing/").content.decode()
