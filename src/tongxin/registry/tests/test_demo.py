"""`tongxin demo`: the report's numbers, valid documents, one login per role, idempotent, deterministic."""

import datetime
from io import StringIO

import pytest
from django.core.management import call_command

from tongxin.accounts.models import Role, User
from tongxin.core.crypto import decrypt
from tongxin.core.documents import parse_mainland_id, region_name
from tongxin.core.system import system_user
from tongxin.registry import fakes, selectors
from tongxin.registry.demo import load_demo
from tongxin.registry.models import Building, Compound, Household, Resident, Unit

pytestmark = pytest.mark.django_db


def rooms_and_names(code: str) -> list[tuple]:
    return list(
        Resident.objects.filter(compound__code=code)
        .order_by("building__sort_key", "unit__sort_key", "household__room", "name", "birth_date")
        .values_list("building__number", "unit__number", "household__room", "name", "relation")
    )


def test_demo_has_the_report_numbers_and_valid_documents():
    load_demo()
    dxy = Compound.objects.get(code="DXY")
    assert dxy.name == "丁香苑小区"
    assert dxy.community.parent.parent.code == "150105"
    assert dxy.community.parent.parent.parent.code == "150100"
    assert len(dxy.community.parent.code) == 9 and len(dxy.community.code) == 12
    stats = selectors.compound_stats(system_user(), dxy)
    assert (stats["buildings"], stats["units"], stats["households"], stats["residents"]) == (
        13,
        50,
        753,
        2000,
    )
    assert 0.38 <= stats["elderly"] / stats["residents"] <= 0.42
    for key in ("lives_alone", "veterans", "serious_illness", "disabled", "away", "moved_out", "returning"):
        assert stats[key] > 0, key
    assert stats["living"] > stats["residents"] * 0.7

    mt = selectors.compound_stats(system_user(), Compound.objects.get(code="MTGJ"))
    assert (mt["buildings"], mt["units"], mt["households"], mt["residents"]) == (8, 24, 400, 1000)

    residents = list(Resident.objects.all())
    assert len({r.document_hash for r in residents}) == len(residents) == 3000
    late_codes = 0
    for resident in residents:
        parsed = parse_mainland_id(decrypt(resident.document_cipher))
        assert (parsed.birth_date, parsed.sex) == (resident.birth_date, resident.sex)
        assert resident.document_masked == parsed.number[:6] + "********" + parsed.number[-4:]
        late_codes += parsed.region_code in fakes.LATE_REGIONS and parsed.birth_date.year < 1984
        if resident.phone_cipher:
            assert len(decrypt(resident.phone_cipher)) == 11
    assert late_codes > 0  # elderly residents carrying codes created after their birth
    heads = Resident.objects.filter(relation="head").values("household").distinct().count()
    assert heads == Household.objects.count() == 1153
    assert Resident.objects.filter(relation="head", birth_date__gt="2008-01-01").count() == 0
    assert Resident.objects.exclude(registered_address="").exists()
    assert Resident.objects.filter(infant=True).exists()
    assert (
        Resident.objects.filter(pregnant=True, sex="F").count()
        == Resident.objects.filter(pregnant=True).count()
    )


def test_demo_accounts_one_per_role_with_their_scope():
    load_demo()
    users = {u.username: u for u in User.objects.all()}
    assert {u.role for u in users.values()} == set(Role.values)
    assert users["admin"].is_superuser and users["admin"].is_staff
    assert users["official"].area.code == "150105"
    assert users["manager"].compound.code == "DXY"
    assert users["manager_mt"].compound.code == "MTGJ"
    assert sorted(b.number for b in users["grid"].buildings.all()) == ["1", "2", "3"]
    assert users["volunteer"].compound.code == "DXY" and not users["volunteer"].buildings.exists()
    # a volunteer at each demo compound's gates
    assert users["volunteer_mt"].role == Role.VOLUNTEER and users["volunteer_mt"].compound.code == "MTGJ"
    assert not users["volunteer_mt"].buildings.exists() and users["volunteer_mt"].check_password(
        "tongxin2022"
    )
    home = users["resident"].household
    assert (home.compound.code, home.unit.building.number, home.unit.number, home.room) == (
        "DXY",
        "1",
        "1",
        "101",
    )
    assert all(u.full_name for u in users.values())
    assert users["manager"].check_password("tongxin2022")
    grid_sees = selectors.residents_visible(users["grid"])
    assert set(grid_sees.values_list("building__number", flat=True)) == {"1", "2", "3"}
    assert selectors.residents_visible(users["official"]).count() == 3000
    assert selectors.residents_visible(users["manager_mt"]).count() == 1000
    assert selectors.residents_visible(users["volunteer_mt"]).count() == 1000


def test_demo_is_idempotent_and_deterministic(monkeypatch):
    monkeypatch.setenv("TONGXIN_DEMO_PASSWORD", "another-demo-pw")
    # The registry's part of `tongxin demo` (the whole command's rerun: outbreak/tests/test_demo_story.py).
    load_demo()
    first = rooms_and_names("DXY")
    counts = [m.objects.count() for m in (Compound, Building, Unit, Household, Resident, User)]
    summary = load_demo()
    assert summary["compounds"]["DXY"]["residents_created"] == 0
    assert set(summary["accounts"].values()) == {"kept"}
    assert [m.objects.count() for m in (Compound, Building, Unit, Household, Resident, User)] == counts
    assert User.objects.get(username="grid").check_password("another-demo-pw")

    # Reset 丁香苑's people and rooms, load again (as if on another day): the same names in the same rooms.
    User.objects.all().delete()
    Resident.objects.filter(compound__code="DXY").delete()
    Building.objects.filter(compound__code="DXY").delete()
    load_demo(today=datetime.date(2023, 1, 15))
    assert rooms_and_names("DXY") == first
    assert Resident.objects.count() == 3000


def test_demo_logins_prints_url_and_table():
    load_demo()
    out = StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "http://127.0.0.1:8000" in text
    for username in (
        "admin",
        "official",
        "manager",
        "grid",
        "volunteer",
        "resident",
        "manager_mt",
        "volunteer_mt",
    ):
        assert f"\n{username} " in text
    assert "网格员" in text and "tongxin2022" in text


def test_region_code_lists_are_known_and_disjoint():
    demo_codes = (
        {c for c, _w in fakes.HOHHOT_REGIONS} | set(fakes.LATE_REGIONS) | set(fakes.DEMO_OTHER_REGIONS)
    )
    assert not demo_codes & set(fakes.SYNTH_REGIONS)
    assert all(region_name(code) for code in demo_codes | set(fakes.SYNTH_REGIONS))
