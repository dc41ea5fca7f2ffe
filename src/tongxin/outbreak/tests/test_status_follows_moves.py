"""A resident's stored status follows them when they move, and can be recomputed for everyone."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.outbreak import actions
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.status import status_read
from tongxin.registry import actions as registry_actions

pytestmark = pytest.mark.django_db


def raise_building(world, building):
    return actions.area_raise(
        actor=None,
        compound=building.compound,
        scope="building",
        building=building,
        reason="出现阳性病例",
        on=timezone.localdate(),
    )


def test_moving_out_of_a_high_risk_building_changes_the_stored_risk_level(world):
    raise_building(world, world.a1)
    assert status_read(world.elder.pk).risk_level == "high"
    registry_actions.resident_move(
        actor=world.users[Role.COMPOUND_MANAGER], resident=world.elder, household=world.home_a2
    )
    assert ResidentStatus.objects.get(pk=world.elder.pk).risk_level == ""
    assert status_read(world.elder.pk).risk_level == ""


def test_moving_into_it_by_import_does_too(world, tmp_path):
    raise_building(world, world.a2)
    assert status_read(world.elder.pk).risk_level == ""
    number = crypto.decrypt(world.elder.document_cipher)
    path = tmp_path / "move.csv"
    path.write_text(f"姓名,身份证号,楼栋,单元,房号\n王秀兰,{number},2,1,201\n", encoding="utf-8")
    out = StringIO()
    call_command("import_residents", str(path), "--compound", "A", "--format", "json", stdout=out)
    assert json.loads(out.getvalue())["updated"] == 1
    assert ResidentStatus.objects.get(pk=world.elder.pk).risk_level == "high"


def test_status_recompute_command_stores_every_status(world):
    ResidentStatus.objects.all().delete()
    out = StringIO()
    call_command("status_recompute", "--compound", "A", stdout=out)
    assert json.loads(out.getvalue())["residents"] == 3
    assert set(ResidentStatus.objects.values_list("compound__code", flat=True)) == {"A"}
    call_command("status_recompute", stdout=StringIO())
    assert ResidentStatus.objects.count() == 4
    with pytest.raises(CommandError, match="no compound with code 'Z'"):
        call_command("status_recompute", "--compound", "Z")
