"""Privacy and robustness: what a review of the testing pages found, kept fixed."""

import pytest
from openpyxl import Workbook

from tongxin.accounts.models import Role
from tongxin.testing.exporting import _cell
from tongxin.testing.models import LabImport, RoundCompound
from tongxin.testing.selectors.lab import lab_imports_of_round
from tongxin.testing.tests.round_helpers import make_round

pytestmark = pytest.mark.django_db


def test_volunteers_do_not_get_the_list_of_exemptions_and_their_reasons(client, world):
    round_ = make_round(world)
    url = f"/testing/rounds/{round_.pk}/coverage/compounds/{world.compound_a.pk}/exemptions/"
    client.force_login(world.users[Role.VOLUNTEER])
    assert client.get(url).status_code == 404
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    assert client.get(url).status_code == 200


def test_lab_files_of_a_round_over_several_compounds_are_shown_to_who_sees_them_all(world):
    round_ = make_round(world)
    RoundCompound.objects.create(round=round_, compound=world.compound_b)
    admin, manager = world.users[Role.PLATFORM_ADMIN], world.users[Role.COMPOUND_MANAGER]
    LabImport.objects.create(round=round_, file_name="b.csv", positive_tubes=1, created_by=admin)
    mine = LabImport.objects.create(round=round_, file_name="a.csv", created_by=manager)
    assert [i.file_name for i in lab_imports_of_round(admin, round_)] == ["a.csv", "b.csv"]
    assert lab_imports_of_round(manager, round_) == [mine]


@pytest.mark.parametrize("value", ['=HYPERLINK("http://x","点击")', "+1", "-2+3", "@SUM(A1)"])
def test_export_cells_never_hold_a_formula(value):
    sheet = Workbook(write_only=True).create_sheet()
    cell = _cell(sheet, "name", value)
    assert cell.value == "'" + value and cell.data_type == "s"


def test_odd_numbers_in_query_strings_are_answered_not_crashed(client, world):
    round_ = make_round(world)
    client.force_login(world.users[Role.COMPOUND_MANAGER])
    base = f"/testing/rounds/{round_.pk}/coverage/compounds/{world.compound_a.pk}/missed/"
    for query in ("?building=%C2%B2", "?unit=%C2%B2", "?building=99999999999999999999999"):
        assert client.get(base + query).status_code == 200
    api = f"/api/v1/testing/rounds/{round_.pk}"
    assert client.get(f"{api}/retests?offset=99999999999999999999").status_code in (200, 400)
    assert client.get("/api/v1/testing/rounds?offset=99999999999999999999").status_code in (200, 400)
    answer = client.get(
        f"{api}/coverage/compounds/{world.compound_a.pk}/missed?building=99999999999999999999"
    )
    # SQLite overflows on such a number (answered 400 "参数超出范围"); PostgreSQL finds nothing.
    assert answer.status_code in (200, 400)
    if answer.status_code == 400:
        assert answer.json()["detail"] == "参数超出范围"
