"""The gate's decision as a pure function: each step, in its order."""

import datetime

import pytest

from tongxin.access import verdict
from tongxin.access.verdict import Person, Policy, Verdict, decide, decide_visitor, household_person

NOW = datetime.datetime(2022, 11, 25, 9, 0, tzinfo=datetime.UTC)
GREEN = Person(
    color="green",
    status_reason="",
    overdue=False,
    sealed=False,
    household_out_over_time=False,
    household_exits=0,
)


def person(**changes) -> Person:
    return Person(**{**GREEN.__dict__, **changes})


DEFAULTS = Policy()


def out(p=GREEN, *, policy=DEFAULTS, state="ok", emergency=False):
    return decide(direction="out", emergency=emergency, pass_state=state, person=p, policy=policy, now=NOW)


def back(p=GREEN, *, policy=DEFAULTS, state="ok", emergency=False):
    return decide(direction="in", emergency=emergency, pass_state=state, person=p, policy=policy, now=NOW)


def test_a_green_resident_goes_out_with_the_time_to_be_back():
    assert out() == Verdict(True, "ok")
    assert out(policy=Policy(exit_max_minutes=120)) == Verdict(
        True, "ok", due_at=NOW + datetime.timedelta(hours=2)
    )


@pytest.mark.parametrize("state", ["malformed", "forged", "other_compound", "expired", "revoked"])
def test_a_bad_pass_stops_both_ways(state):
    assert out(state=state) == Verdict(False, state)
    assert back(state=state) == Verdict(False, state)


def test_nobody_found_is_unknown_and_a_lookup_skips_the_pass_step():
    assert out(None, state="none") == Verdict(False, "unknown")
    assert out(None, state="ok") == Verdict(False, "unknown")
    assert out(state="none") == Verdict(True, "ok")


def test_an_emergency_always_passes():
    worst = person(color="red", status_reason="case", overdue=True, sealed=True, household_exits=9)
    for state in ("ok", "forged", "revoked", "none"):
        assert out(worst, state=state, emergency=True) == Verdict(True, "emergency")
        assert back(None, state=state, emergency=True) == Verdict(True, "emergency")


def test_coming_in_always_passes_late_ones_with_their_minutes():
    assert back(person(color="red", status_reason="case", sealed=True)) == Verdict(True, "ok")
    due = NOW - datetime.timedelta(minutes=35, seconds=20)
    assert back(person(out_due_at=due)) == Verdict(True, "over_time", late_minutes=35)
    assert back(person(out_due_at=NOW)) == Verdict(True, "ok")
    assert back(person(out_due_at=NOW + datetime.timedelta(minutes=1))) == Verdict(True, "ok")


def test_going_out_the_steps_in_their_order():
    strict = Policy(exits_per_household=1, sealed_no_exit=True, exit_needs_test=True)
    everything = person(
        color="red",
        status_reason="case",
        overdue=True,
        sealed=True,
        household_out_over_time=True,
        household_exits=1,
    )
    order = []
    p = everything
    for reason, lift in [
        ("case", {"status_reason": "isolation"}),
        ("isolation", {"color": "yellow", "status_reason": "yellow"}),
        ("yellow", {"color": "green", "status_reason": ""}),
        ("sealed", {"sealed": False}),
        ("no_test", {"overdue": False}),
        ("over_time", {"household_out_over_time": False}),
        ("quota", {"household_exits": 0}),
    ]:
        decided = out(p, policy=strict)
        order.append(decided.reason)
        assert decided == Verdict(False, reason)
        p = person(**{**p.__dict__, **lift})
    assert order == ["case", "isolation", "yellow", "sealed", "no_test", "over_time", "quota"]
    assert out(p, policy=strict) == Verdict(True, "ok")


def test_a_colour_without_a_reason_gives_its_own():
    assert out(person(color="red")).reason == "isolation"
    assert out(person(color="yellow")).reason == "yellow"


def test_the_policy_can_lift_the_sealed_and_test_rules_and_set_no_quota():
    relaxed = Policy(sealed_no_exit=False, exit_needs_test=False, exits_per_household=None)
    assert out(person(sealed=True, overdue=True, household_exits=50), policy=relaxed) == Verdict(True, "ok")
    assert out(person(household_exits=1), policy=Policy(exits_per_household=2)).allowed
    assert out(person(household_exits=2), policy=Policy(exits_per_household=2)).reason == "quota"


def test_status_reason_from_hold_codes():
    assert verdict.status_reason("red", ["case"]) == "case"
    assert verdict.status_reason("red", ["home", "antigen_positive"]) == "case"
    assert verdict.status_reason("red", ["contact"]) == "isolation"
    assert verdict.status_reason("yellow", ["positive"]) == "case"
    assert verdict.status_reason("yellow", ["flag_arrival"]) == "yellow"
    assert verdict.status_reason("green", []) == ""


def test_a_household_pass_is_the_worst_of_its_members():
    members = [
        person(),
        person(color="yellow", status_reason="yellow", household_exits=1),
        person(overdue=True, household_exits=1),
    ]
    combined = household_person(members, out_due_at=NOW)
    assert combined == Person(
        color="yellow",
        status_reason="yellow",
        overdue=True,
        sealed=False,
        household_out_over_time=False,
        household_exits=1,
        out_due_at=NOW,
    )
    assert (
        household_person([person(color="red"), person(color="red", status_reason="case")]).status_reason
        == "case"
    )
    assert household_person([person(sealed=True), person()]).sealed is True
    assert household_person([]) is None


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        decide(direction="up", emergency=False, pass_state="ok", person=GREEN, policy=Policy(), now=NOW)
    with pytest.raises(ValueError):
        decide(direction="out", emergency=False, pass_state="stolen", person=GREEN, policy=Policy(), now=NOW)


def test_the_few_words():
    assert Verdict(False, "no_test").text(Policy(test_validity_hours=72)) == "72小时内无核酸"
    assert Verdict(False, "no_test").text() == "48小时内无核酸"
    assert Verdict(False, "sealed").text() == "住户被封控"
    assert Verdict(True, "over_time", late_minutes=5).text() == "已超外出时限"
    assert set(verdict.PASS_STATES) - {"ok", "none"} <= set(verdict.REASONS)


def test_visitors_come_in_on_green_only():
    assert decide_visitor(code_color="green") == Verdict(True, "ok")
    assert decide_visitor(code_color="yellow") == Verdict(False, "code_yellow")
    assert decide_visitor(code_color="red") == Verdict(False, "code_red")
