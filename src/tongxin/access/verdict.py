"""The gate's decision, as one pure function: the server's check and the gate page's offline check
(static/access/gate.js, `decide`) follow the same steps in the same order, and a test runs both on
the same cases.

Steps:
1. A medical emergency always passes (reason "emergency"), logged as such.
2. A pass that is not genuine, not of this compound, expired or revoked stops the person, both
   ways ("malformed", "forged", "other_compound", "expired", "revoked"); a person looked up by
   ID number or room instead of a pass skips this step ("unknown" if nobody was found).
3. Coming in, a resident always passes: a gate never leaves a resident outside their home. Back
   after their time, the reason is "over_time" (still a pass; the late return is on record).
4. Going out, in this order: a case ("case"), an isolation or a close contact ("isolation"), a
   yellow status ("yellow"), a household under the strictest risk level when the policy says so
   ("sealed"), no valid test when the policy asks for one ("no_test"), someone of the household
   still out past their time ("over_time"), the household's exits used up ("quota"). Otherwise
   "ok", with the time to be back when the policy sets a limit.

A household pass names no one person: going out by it applies the household's checks
(`household_person`): the worst colour of the members living there, with its reason (a case before
an isolation before a yellow status), overdue when any member is, sealed when any member's home
is.
"""

import datetime
from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Reason codes and the few words the gate shows (the gate page has the same table).
REASONS = {
    "ok": _("放行"),
    "emergency": _("紧急就医，放行"),
    "over_time": _("已超外出时限"),
    "malformed": _("无法识别的码"),
    "forged": _("出入证无效"),
    "other_compound": _("非本小区出入证"),
    "expired": _("出入证已过期"),
    "revoked": _("出入证已注销"),
    "unknown": _("查无此人"),
    "case": _("阳性感染者"),
    "isolation": _("密接隔离中"),
    "yellow": _("黄码，请居家"),
    "sealed": _("住户被封控"),
    "no_test": _("%(hours)d小时内无核酸"),
    "quota": _("本户外出名额已用完"),
    "code_red": _("红码，不得进入"),
    "code_yellow": _("黄码，不得进入"),
}
PASS_STATES = ("ok", "none", "malformed", "forged", "other_compound", "expired", "revoked")

# Hold codes of the outbreak module's statuses (outbreak.status.REASONS) by gate reason.
CASE_HOLDS = frozenset({"case", "positive", "antigen_positive"})
COLOR_RANK = {"green": 0, "yellow": 1, "red": 2}
STATUS_REASON_RANK = {"": 0, "yellow": 1, "isolation": 2, "case": 3}


@dataclass(frozen=True)
class Policy:
    """What of a compound's AccessPolicy the decision reads."""

    exits_per_household: int | None = None
    exit_period_days: int = 2
    exit_max_minutes: int | None = None
    sealed_no_exit: bool = True
    exit_needs_test: bool = True
    test_validity_hours: int = 48


@dataclass(frozen=True)
class Person:
    """What the gate knows of a resident at the moment of the check."""

    color: str  # green, yellow, red (now)
    status_reason: str  # "case", "isolation", "yellow" or "" (from the status's hold codes)
    overdue: bool
    sealed: bool  # the household lives under the strictest risk level
    household_out_over_time: bool  # someone of the household is out past their time
    household_exits: int  # the household's exits within the policy's period (this one not counted)
    out_due_at: datetime.datetime | None = None  # when out now: the time they were due back


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    reason: str
    due_at: datetime.datetime | None = None  # going out with a time limit: back by then
    late_minutes: int = 0  # coming back after the limit: by how much

    def text(self, policy: Policy | None = None) -> str:
        hours = policy.test_validity_hours if policy else 48
        return (
            str(REASONS[self.reason]) % {"hours": hours}
            if self.reason == "no_test"
            else str(REASONS[self.reason])
        )


def status_reason(color: str, hold_codes) -> str:
    """The gate's reason for a status colour and its current hold codes."""
    codes = set(hold_codes)
    if codes & CASE_HOLDS:
        return "case"
    if color == "red":
        return "isolation"
    if color == "yellow":
        return "yellow"
    return ""


def household_person(members, *, out_due_at: datetime.datetime | None = None) -> "Person | None":
    """The person a household pass stands for: the worst of its members living there (see the
    module's docstring). The members carry the household's exits and outings alike; `out_due_at`
    is the due time of the household pass's own open outing. None when nobody lives there."""
    members = list(members)
    if not members:
        return None
    worst = max(
        members,
        key=lambda p: (
            COLOR_RANK.get(p.color, 0),
            STATUS_REASON_RANK.get(p.status_reason or status_reason(p.color, ()), 0),
        ),
    )
    return Person(
        color=worst.color,
        status_reason=worst.status_reason or status_reason(worst.color, ()),
        overdue=any(p.overdue for p in members),
        sealed=any(p.sealed for p in members),
        household_out_over_time=any(p.household_out_over_time for p in members),
        household_exits=max(p.household_exits for p in members),
        out_due_at=out_due_at,
    )


def decide(
    *,
    direction: str,
    emergency: bool,
    pass_state: str,
    person: Person | None,
    policy: Policy,
    now: datetime.datetime,
) -> Verdict:
    if direction not in ("in", "out"):
        raise ValueError(f"direction must be 'in' or 'out', not {direction!r}")
    if pass_state not in PASS_STATES:
        raise ValueError(f"unknown pass state {pass_state!r}")
    if emergency:
        return Verdict(True, "emergency")
    if pass_state not in ("ok", "none"):
        return Verdict(False, pass_state)
    if person is None:
        return Verdict(False, "unknown")
    if direction == "in":
        if person.out_due_at is not None and now > person.out_due_at:
            late = int((now - person.out_due_at).total_seconds() // 60)
            return Verdict(True, "over_time", late_minutes=late)
        return Verdict(True, "ok")
    reason = person.status_reason or status_reason(person.color, ())
    if reason:
        return Verdict(False, reason)
    if policy.sealed_no_exit and person.sealed:
        return Verdict(False, "sealed")
    if policy.exit_needs_test and person.overdue:
        return Verdict(False, "no_test")
    if person.household_out_over_time:
        return Verdict(False, "over_time")
    if policy.exits_per_household is not None and person.household_exits >= policy.exits_per_household:
        return Verdict(False, "quota")
    due = now + datetime.timedelta(minutes=policy.exit_max_minutes) if policy.exit_max_minutes else None
    return Verdict(True, "ok", due_at=due)


def decide_visitor(*, code_color: str) -> Verdict:
    """A visitor or a returning resident comes in on a green health code only."""
    if code_color == "green":
        return Verdict(True, "ok")
    return Verdict(False, "code_red" if code_color == "red" else "code_yellow")
