"""`tongxin import-lab-results FILE [--round ID] [--format json|text] [--user USERNAME]`."""

import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.testing.models import LabImport, Retest, Tube
from tongxin.testing.tests.test_lab_helpers import lab_world, result_time, sampled_tube

pytestmark = pytest.mark.django_db


def stamp(moment) -> str:
    from django.utils import timezone

    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def lab(world):
    lab = lab_world(world)
    sampled_tube(lab, "T0012", [lab.neighbour, lab.lodger])
    sampled_tube(lab, "T0013", [lab.elder, lab.child])
    return lab


def test_json_output_is_exactly_the_report(lab, tmp_path, capsys):
    path = tmp_path / "结果.csv"
    when = stamp(result_time(lab))
    path.write_bytes(f"管码,结果,检测时间\nT0012,阳性,{when}\nT0013,阴性,{when}\n".encode("gbk"))
    call_command("import_lab_results", str(path), "--format", "json", "--round", str(lab.round.pk))
    out = capsys.readouterr().out
    assert out == '{"rows": 2, "applied": 2, "positive_tubes": 1, "people_under_review": 2, "errors": []}\n'
    assert Retest.objects.count() == 2
    imported = LabImport.objects.get()
    assert (imported.file_name, imported.round_id, imported.created_by) == ("结果.csv", lab.round.pk, None)
    assert AuditLog.objects.get(action="lab_import").actor_name == "system"


def test_errors_exit_1_and_apply_nothing(lab, tmp_path, capsys):
    path = tmp_path / "lab.csv"
    when = stamp(result_time(lab))
    path.write_text(f"tube,result,time\nT0012,positive,{when}\nT0099,negative,{when}\nT0013,+,{when}\n")
    with pytest.raises(CommandError) as stopped:
        call_command("import_lab_results", str(path), "--format", "json")
    assert stopped.value.returncode == 1
    assert json.loads(capsys.readouterr().out) == {
        "rows": 3,
        "applied": 0,
        "positive_tubes": 0,
        "people_under_review": 0,
        "errors": [
            {"row": 3, "column": "管码", "code": "unknown_tube", "message": "查无此试管：T0099"},
            {"row": 4, "column": "结果", "code": "invalid", "message": "结果“+”含义不明确：请填写阴性或阳性"},
        ],
    }
    assert set(Tube.objects.values_list("result", flat=True)) == {"pending"}


def test_unreadable_file_is_one_error(lab, tmp_path, capsys):
    path = tmp_path / "lab.csv"
    path.write_text("姓名,电话\n张三,1\n")
    with pytest.raises(CommandError):
        call_command("import_lab_results", str(path), "--format", "json")
    assert json.loads(capsys.readouterr().out) == {
        "rows": 0,
        "applied": 0,
        "positive_tubes": 0,
        "people_under_review": 0,
        "errors": [
            {
                "row": None,
                "column": "",
                "code": "bad_file",
                "message": "没有找到表头行：第一行应是“管码、结果、检测时间”等列名",
            }
        ],
    }
    assert LabImport.objects.get().applied == 0


def test_text_output_user_and_bad_arguments(lab, tmp_path, capsys):
    path = tmp_path / "lab.csv"
    path.write_text(f"管码,结果,检测时间\nT0013,阴性,{stamp(result_time(lab))}\n")
    call_command("import_lab_results", str(path), "--user", "grid")
    assert capsys.readouterr().out == (
        "applied: rows 1, applied 1, positive tubes 0, people under review 0\n"
    )
    assert LabImport.objects.get().created_by == lab.users[Role.GRID_WORKER]
    with pytest.raises(CommandError, match="当前角色不能录入检测结果"):
        call_command("import_lab_results", str(path), "--user", "volunteer")
    with pytest.raises(CommandError, match="no active user 'nobody'"):
        call_command("import_lab_results", str(path), "--user", "nobody")
    with pytest.raises(CommandError, match="no round with id 999"):
        call_command("import_lab_results", str(path), "--round", "999")
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_lab_results", str(tmp_path / "missing.csv"))
