"""The demo's gates (run by `tongxin demo` after the registry's, the outbreak's and the testing parts).

Both demo compounds get a 南门 and a 北门 and an entry pass for every resident (issued ten days
ago, valid thirty). 煤田公交小区 keeps the report's rule after unsealing: one person per household
every two days, for at most two hours, no exit from a sealed home, a valid test to go out.

Its gate's day, from six in the morning until now, about 220 checks made by its cadre on duty
through the gate's own actions, as the gate page would send them: a hundred residents out and back
(most within their two hours, a few late), a household sealed at home this morning whose members
are stopped and one of whom leaves for the hospital as an emergency, residents without a valid
test stopped, a lost pass (reissued yesterday) turning up at the gate and refused, second members
of a household stopped by the quota, a visitor and a returning resident registered, a few people
out now and two of them past their time.

Deterministic (seeded choices, event ids drawn from the seed) and loaded once: gates, policy and
passes are ensured on every run (a second run issues nothing new), the day only when the compound
has no check yet.
"""

import datetime
import random
import uuid
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tongxin.access.actions.gates import gate_check, gate_create
from tongxin.access.actions.passes import pass_code, pass_reissue, passes_issue_missing
from tongxin.access.actions.policy import policy_update
from tongxin.access.actions.visitors import visitor_register
from tongxin.access.models import AccessEvent, Gate, Pass
from tongxin.access.selectors.policy import policy_of
from tongxin.accounts.models import User
from tongxin.outbreak.status import status_read
from tongxin.registry.models import Compound, Resident

GATES = ("南门", "北门")
PASS_AGE = datetime.timedelta(days=10)  # the passes were handed out after the unsealing
MEITIAN_POLICY = {
    "pass_per": "resident",
    "pass_valid_days": 30,
    "exits_per_household": 1,
    "exit_period_days": 2,
    "exit_max_minutes": 120,
    "sealed_no_exit": True,
    "exit_needs_test": True,
}
TRIPS = 100  # residents out and back during the day
LATE = 4  # of whom came back after their two hours
OUT_NOW = (25, 40, 70)  # minutes ago: out now, within their time
OVER_TIME = (150, 185)  # minutes ago: out now, past their time
NO_TEST = 4
QUOTA = 3
NORTH_SHARE = 0.15  # of the checks at the north gate


@dataclass(order=True)
class _Step:
    at: datetime.datetime
    order: int
    kind: str = field(compare=False)
    args: dict = field(compare=False, default_factory=dict)


def _window(now: datetime.datetime) -> tuple[datetime.datetime, datetime.datetime]:
    """The gate's day so far: from 06:00 (or the last two hours, early in the morning) to now."""
    today = timezone.localdate(now)
    six = datetime.datetime.combine(today, datetime.time(6), tzinfo=timezone.get_current_timezone())
    start = six if now - six >= datetime.timedelta(hours=3) else now - datetime.timedelta(hours=2)
    return start, now - datetime.timedelta(minutes=3)


def _ensure_gates(compound: Compound) -> dict[str, Gate]:
    existing = {g.name: g for g in Gate.objects.filter(compound=compound, name__in=GATES)}
    for name in GATES:
        if name not in existing:
            existing[name] = gate_create(actor=None, compound=compound, name=name)
    return existing


def _ensure_policy(compound: Compound) -> None:
    policy = policy_of(compound)
    if policy.pk is None:
        policy_update(actor=None, compound=compound, version=policy.version, **MEITIAN_POLICY)


def _issue_passes(compound: Compound, now: datetime.datetime) -> int:
    """Every resident's pass, dated back to when the compound handed them out."""
    before = set(Pass.objects.filter(compound=compound).values_list("pk", flat=True))
    issued = passes_issue_missing(actor=None, compound=compound)
    if issued:
        Pass.objects.filter(compound=compound).exclude(pk__in=before).update(
            issued_at=now - PASS_AGE, expires_at=now - PASS_AGE + datetime.timedelta(days=30)
        )
    return issued


class _Day:
    """The day at 煤田公交小区's gates, planned first, then checked in time order."""

    def __init__(self, compound: Compound, gates: dict[str, Gate], on_duty: User, now: datetime.datetime):
        self.compound, self.gates, self.on_duty, self.now = compound, gates, on_duty, now
        self.rng = random.Random(20221122)
        self.start, self.end = _window(now)
        self.steps: list[_Step] = []
        self.codes: dict[int, str] = {}
        self.used_households: set[int] = set()
        self.verdicts: dict[str, int] = {}

    # -- who -------------------------------------------------------------------------------------

    def residents(self) -> list[Resident]:
        return list(
            Resident.objects.filter(compound=self.compound, presence="living")
            .select_related("household__building", "household__unit")
            .order_by("building__sort_key", "unit__sort_key", "household__room", "pk")
        )

    def load_codes(self) -> None:
        for pass_ in Pass.objects.filter(
            compound=self.compound, revoked_at=None, resident__isnull=False
        ).select_related("household__building", "household__unit"):
            self.codes[pass_.resident_id] = pass_code(pass_)

    def pick(self, pool: list[Resident], n: int, *, fit) -> list[Resident]:
        """`n` residents of households not used yet, for whom `fit(status)` holds."""
        chosen = []
        candidates = pool[:]
        self.rng.shuffle(candidates)
        for resident in candidates:
            if len(chosen) == n:
                break
            if resident.household_id in self.used_households or resident.pk not in self.codes:
                continue
            if fit(status_read(resident.pk)):
                chosen.append(resident)
                self.used_households.add(resident.household_id)
        return chosen

    # -- when ------------------------------------------------------------------------------------

    def moment(self, low: datetime.datetime, high: datetime.datetime) -> datetime.datetime:
        span = max(1, int((high - low).total_seconds()))
        return low + datetime.timedelta(seconds=self.rng.randrange(span))

    def gate(self) -> Gate:
        return self.gates["北门"] if self.rng.random() < NORTH_SHARE else self.gates["南门"]

    def add(self, at: datetime.datetime, direction: str, resident: Resident | None, **args) -> None:
        self.steps.append(
            _Step(at, len(self.steps), "check", {"direction": direction, "resident": resident, **args})
        )

    # -- the plan --------------------------------------------------------------------------------

    def plan(self) -> dict:
        residents = self.residents()
        self.load_codes()
        ok = lambda s: s.color == "green" and not s.overdue and not s.risk_level  # noqa: E731
        story: dict = {}

        sealed = self.seal_a_household(residents)
        story["sealed_household"] = str(sealed) if sealed else None
        if sealed is not None:
            members = [r for r in residents if r.household_id == sealed.pk]
            middle = self.start + (self.end - self.start) / 2
            for member in (members * 3)[:3]:  # asked to go out, in the morning
                self.add(self.moment(self.start, middle), "out", member, reason="sealed")
            left = self.moment(middle, max(middle, self.end - datetime.timedelta(minutes=100)))
            self.add(left, "out", members[0], emergency=True, reason="emergency")  # to the hospital
            self.add(min(left + datetime.timedelta(minutes=95), self.end), "in", members[0])

        lost = self.pick(residents, 1, fit=ok)
        if lost:
            old = Pass.objects.get(resident=lost[0], revoked_at=None)
            old_code = self.codes[lost[0].pk]
            new = pass_reissue(actor=None, pass_=old, reason=Pass.Revoked.LOST)
            yesterday = self.now - datetime.timedelta(hours=20)
            Pass.objects.filter(pk=old.pk).update(revoked_at=yesterday)
            Pass.objects.filter(pk=new.pk).update(
                issued_at=yesterday, expires_at=yesterday + datetime.timedelta(days=30)
            )
            new.refresh_from_db()
            self.codes[lost[0].pk] = pass_code(new)
            found = self.moment(self.start, self.end - datetime.timedelta(minutes=90))
            self.add(found, "out", lost[0], code=old_code, reason="revoked")  # the old card
            out = self.moment(found, self.end - datetime.timedelta(minutes=80))
            self.add(out, "out", lost[0], reason="ok")  # the new one
            self.add(out + datetime.timedelta(minutes=self.rng.randint(30, 75)), "in", lost[0], reason="ok")
            story["lost_pass"] = old.number

        for resident in self.pick(residents, NO_TEST, fit=lambda s: s.overdue and s.color == "green"):
            self.add(self.moment(self.start, self.end), "out", resident, reason="no_test")

        travellers = self.pick(residents, TRIPS + len(OUT_NOW) + len(OVER_TIME), fit=ok)
        trips, staying_out = travellers[:TRIPS], travellers[TRIPS:]
        late = set(self.rng.sample(range(len(trips)), min(LATE, len(trips))))
        last_out = self.end - datetime.timedelta(minutes=200)
        returned: list[tuple[Resident, datetime.datetime]] = []
        for index, resident in enumerate(trips):
            out = self.moment(self.start, max(self.start + datetime.timedelta(minutes=1), last_out))
            minutes = self.rng.randint(125, 170) if index in late else self.rng.randint(20, 110)
            back = min(out + datetime.timedelta(minutes=minutes), self.end)
            self.add(out, "out", resident, gate=self.gate())
            self.add(back, "in", resident, gate=self.gate())
            returned.append((resident, back))
        for resident, minutes in zip(staying_out, OUT_NOW + OVER_TIME, strict=False):
            self.add(self.now - datetime.timedelta(minutes=minutes), "out", resident)

        self.visitors(residents, story)

        # Second members of households whose first went out earlier the same day: the quota.
        by_household = {r.household_id: [] for r, _back in returned}
        for r in residents:
            if r.household_id in by_household and r.pk in self.codes:
                by_household[r.household_id].append(r)
        quota = 0
        for resident, back in returned:
            others = [m for m in by_household[resident.household_id] if m.pk != resident.pk]
            if quota == QUOTA or not others or back >= self.end - datetime.timedelta(minutes=5):
                continue
            other = others[0]
            if not ok(status_read(other.pk)):
                continue
            self.add(self.moment(back, self.end), "out", other, reason="quota")
            quota += 1
        return story

    def visitors(self, residents: list[Resident], story: dict) -> None:
        """A daughter visiting her mother who lives alone, a courier turned away on a yellow code,
        and a resident back from Baotou (who gets the arrival rule)."""
        alone = [r for r in residents if r.lives_alone and r.household_id not in self.used_households]
        visited = self.rng.choice(alone or residents)
        self.used_households.add(visited.household_id)
        morning = self.moment(self.start, self.start + (self.end - self.start) / 3)
        family = visited.name[0]
        self.steps.append(
            _Step(
                morning,
                len(self.steps),
                "visitor",
                {
                    "kind": "visitor",
                    "name": f"{family}秀梅",
                    "phone": "13947100218",
                    "reason": "看望母亲，送药",
                    "visiting": visited.household,
                    "code_color": "green",
                    "came_from": "呼和浩特市新城区",
                },
            )
        )
        self.steps.append(
            _Step(
                self.moment(morning, self.end),
                len(self.steps),
                "visitor",
                {
                    "kind": "visitor",
                    "name": "周建军",
                    "phone": "15804715530",
                    "reason": "送快递",
                    "code_color": "yellow",
                    "came_from": "呼和浩特市玉泉区",
                },
            )
        )
        away = [
            r
            for r in Resident.objects.filter(compound=self.compound, presence="away").order_by("pk")
            if r.household_id not in self.used_households
        ]
        if away:
            back = self.rng.choice(away)
            self.used_households.add(back.household_id)
            self.steps.append(
                _Step(
                    self.moment(morning, self.end),
                    len(self.steps),
                    "visitor",
                    {
                        "kind": "returning",
                        "resident": back,
                        "phone": "13847200961",
                        "reason": "外地务工返回",
                        "code_color": "green",
                        "came_from": "包头市昆都仑区",
                    },
                )
            )
            story["returning"] = back.name
        story["visiting"] = str(visited.household)

    def seal_a_household(self, residents: list[Resident]):
        """This morning a household was sealed at home (a relative came back from a high-risk
        area and tested positive elsewhere): a household risk area at the strictest level."""
        from tongxin.outbreak.actions import area_raise

        households = sorted({r.household_id for r in residents if r.household.building.number == "5"})
        if not households:
            return None
        chosen = self.rng.choice(households)
        household = next(r.household for r in residents if r.household_id == chosen)
        area_raise(
            actor=None,
            compound=self.compound,
            scope="household",
            household=household,
            reason="该户亲属自高风险区返回后外地检出阳性，居家封控",
            on=timezone.localdate(self.now),
        )
        self.used_households.add(chosen)
        return household

    # -- the checks ------------------------------------------------------------------------------

    def run(self) -> dict:
        for step in sorted(self.steps):
            if step.kind == "visitor":
                _visitor, decided = visitor_register(
                    actor=self.on_duty,
                    gate=self.gates["南门"],
                    scan_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
                    at=step.at,
                    **step.args,
                )
                self.verdicts[decided.reason] = self.verdicts.get(decided.reason, 0) + 1
                continue
            args = dict(step.args)
            resident = args.pop("resident")
            expected = args.pop("reason", None)
            gate = args.pop("gate", None) or self.gates["南门"]
            code = args.pop("code", None) or self.codes.get(resident.pk)
            checked = gate_check(
                actor=self.on_duty,
                gate=gate,
                scan_id=uuid.UUID(int=self.rng.getrandbits(128), version=4),
                at=step.at,
                code=code,
                **args,
            )
            reason = checked.verdict.reason
            self.verdicts[reason] = self.verdicts.get(reason, 0) + 1
            if expected is not None and reason != expected:
                raise RuntimeError(f"demo gate check: expected {expected}, the gate said {reason}")
        return dict(sorted(self.verdicts.items()))


@transaction.atomic
def load_demo(*, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    compounds = {c.code: c for c in Compound.objects.filter(code__in=["MTGJ", "DXY"])}
    if len(compounds) < 2:
        return {"skipped": "the registry demo is not loaded"}
    summary: dict = {"passes_issued": 0}
    gates = {}
    for code, compound in compounds.items():
        gates[code] = _ensure_gates(compound)
        if code == "MTGJ":
            _ensure_policy(compound)
        summary["passes_issued"] += _issue_passes(compound, now)
    meitian = compounds["MTGJ"]
    if AccessEvent.objects.filter(compound=meitian).exists():
        return summary | {"day": "already loaded"}
    on_duty = User.objects.filter(username="manager_mt").first()
    if on_duty is None:
        return summary | {"day": "skipped: the demo accounts are missing"}
    day = _Day(meitian, gates["MTGJ"], on_duty, now)
    story = day.plan()
    verdicts = day.run()
    return summary | {"checks": sum(verdicts.values()), "verdicts": verdicts, **story}
