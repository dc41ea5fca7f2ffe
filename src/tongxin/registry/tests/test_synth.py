"""`tongxin synth`: exact counts, valid unique ID numbers, look-up hashes the app can search, refusals."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tongxin.core.crypto import decrypt
from tongxin.core.documents import parse_mainland_id
from tongxin.core.system import system_user
from tongxin.registry import actions, selectors, synth
from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit

pytestmark = pytest.mark.django_db


def test_synth_gives_exactly_n_residents_with_valid_unique_documents():
    result = synth.synth(residents=3000, seed=7)
    assert (result.residents, result.compounds) == (3000, 2)
    assert Resident.objects.count() == 3000
    assert Compound.objects.filter(code__startswith="SYN7-").count() == 2
    assert Household.objects.count() == result.households
    assert Unit.objects.count() == result.units and Building.objects.count() == result.buildings
    hashes = list(Resident.objects.values_list("document_hash", flat=True))
    assert len(set(hashes)) == 3000
    for resident in Resident.objects.all()[:300]:
        number = decrypt(resident.document_cipher)
        parsed = parse_mainland_id(number)
        assert (parsed.birth_date, parsed.sex) == (resident.birth_date, resident.sex)
        assert resident.document_hash == actions.document_lookup_hash("mainland_id", number)
        if resident.phone_cipher:
            assert resident.phone_hash == actions.phone_lookup_hash(decrypt(resident.phone_cipher))
    # Every household has a head; the places hang under the synthetic city.
    assert Resident.objects.filter(relation="head").count() == Household.objects.count()
    compound = Compound.objects.get(code="SYN7-00000")
    assert compound.community.parent.parent.parent.code == synth.CITY_CODE
    assert Area.objects.filter(level="community").count() == 1


def test_synth_residents_are_found_by_the_app():
    synth.synth(residents=500, seed=3)
    resident = Resident.objects.exclude(phone_cipher="").order_by("pk").first()
    phone = decrypt(resident.phone_cipher)
    assert resident in list(selectors.resident_search(system_user(), phone))
    number = decrypt(resident.document_cipher)
    assert list(selectors.resident_search(system_user(), number)) == [resident]
    stats = selectors.compound_stats(system_user(), resident.compound)
    assert stats["residents"] == 500


def test_synth_is_deterministic():
    synth.synth(residents=400, seed=5)
    first = list(Resident.objects.order_by("pk").values_list("name", "birth_date", "household__room"))
    synth.synth(residents=400, seed=5, reset=True)
    again = list(Resident.objects.order_by("pk").values_list("name", "birth_date", "household__room"))
    assert again == first and Resident.objects.count() == 400


def test_same_seed_is_refused_unless_append_or_reset():
    synth.synth(residents=300, compounds=2, seed=1)
    with pytest.raises(synth.SynthError, match="already has synth data for seed 1"):
        synth.synth(residents=300, seed=1)
    synth.synth(residents=300, compounds=2, seed=1, append=True)
    synth.synth(residents=200, compounds=1, seed=2)  # another seed: its own compounds, no clash
    assert Resident.objects.count() == 800
    assert len(set(Resident.objects.values_list("document_hash", flat=True))) == 800
    assert sorted(Compound.objects.values_list("code", flat=True)) == [
        "SYN1-00000",
        "SYN1-00001",
        "SYN1-00002",
        "SYN1-00003",
        "SYN2-00004",
    ]
    synth.synth(residents=100, seed=1, reset=True)
    assert Resident.objects.count() == 300
    assert Compound.objects.filter(code__startswith="SYN1-").count() == 1


def test_synth_next_to_the_demo(world):
    """Synth compounds live beside existing data; the world's residents are untouched."""
    synth.synth(residents=1000, seed=9)
    assert Resident.objects.filter(compound__code__in=["A", "B"]).count() == 4
    assert Resident.objects.count() == 1004


@pytest.mark.skipif(connection.vendor != "postgresql", reason="index rebuild is PostgreSQL only")
def test_bulk_path_drops_and_rebuilds_indexes(monkeypatch):
    def index_names():
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT indexrelid::regclass::text FROM pg_index WHERE indrelid = ANY(%s::regclass[])",
                [["registry_resident", "registry_household"]],
            )
            names = {row[0] for row in cursor.fetchall()}
            cursor.execute(
                "SELECT conname, convalidated FROM pg_constraint WHERE conrelid = ANY(%s::regclass[])",
                [["registry_resident", "registry_household"]],
            )
            return names, set(cursor.fetchall())

    before = index_names()
    monkeypatch.setattr(synth, "BULK_LOAD_THRESHOLD", 1)
    result = synth.synth(residents=2500, seed=11)
    assert result.indexes_rebuilt
    assert index_names() == before
    assert Resident.objects.count() == 2500


def test_command_prints_json_and_refuses_clearly():
    out, err = StringIO(), StringIO()
    call_command("synth", "--residents", "250", "--seed", "4", stdout=out, stderr=err)
    summary = json.loads(out.getvalue())
    assert summary["residents"] == 250 and summary["compounds"] == 1
    with pytest.raises(CommandError, match="--append"):
        call_command("synth", "--residents", "250", "--seed", "4")
    with pytest.raises(CommandError, match="at most"):
        call_command("synth", "--residents", "200000", "--compounds", "1", "--seed", "6")
