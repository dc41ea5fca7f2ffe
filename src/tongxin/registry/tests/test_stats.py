"""`tongxin stats`: exact counts for the shared `world` fixture, and a clear error for unknown codes."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command


def stats(*args) -> dict:
    out = StringIO()
    call_command("stats", *args, stdout=out)
    return json.loads(out.getvalue())


def test_stats_of_one_compound(world):
    assert stats("--compound", "A", "--format", "json") == {
        "compounds": 1,
        "buildings": 2,
        "units": 2,
        "households": 2,
        "residents": 3,
        "elderly": 1,
        "lives_alone": 1,
        "veterans": 1,
        "serious_illness": 0,
        "disabled": 0,
        "vulnerable": 2,
        "living": 0,
        "away": 0,
        "moved_out": 0,
        "unverified": 3,
        "returning": 0,
        "mobile": 0,
    }


def test_stats_of_everything_act_as_the_platform(world):
    result = stats()
    assert (result["compounds"], result["buildings"], result["units"], result["households"]) == (2, 3, 3, 3)
    assert (result["residents"], result["elderly"], result["unverified"]) == (4, 1, 4)


def test_stats_as_text(world):
    out = StringIO()
    call_command("stats", "--compound", "B", "--format", "text", stdout=out)
    lines = dict(line.split() for line in out.getvalue().splitlines())
    assert lines["residents"] == "1"
    assert lines["buildings"] == "1"


def test_unknown_compound_is_a_clear_error(world):
    with pytest.raises(CommandError, match="unknown compound code: NOPE"):
        call_command("stats", "--compound", "NOPE")


def test_unknown_compound_exits_1(world, capsys):
    from tongxin.__main__ import main

    with pytest.raises(SystemExit) as exit_info:
        main(["tongxin", "stats", "--compound", "NOPE"])
    assert exit_info.value.code == 1
    assert "unknown compound code: NOPE" in capsys.readouterr().err
