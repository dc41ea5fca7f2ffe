"""Each resident's status (health code): colour, reasons, until when, overdue flag, risk level.

The facts (cases, contacts, isolations, test facts, flags, risk areas) are turned into *holds* when
a fact changes (`status_recompute`) and stored in one `ResidentStatus` row per resident. Reading
(`status_read`) is one primary-key lookup: holds whose `until` has passed or whose `since` has not
come yet are dropped at read time, and the overdue flag is worked out from `last_sampled_at`, so
time passing needs no batch job.

A hold is `{"color", "code", "args", "text", "since", "until"}` with ISO datetimes (`until` null when
open-ended). `text` is the Chinese sentence for the admin; readers render `code` + `args` through
gettext, in the reader's language.

Decisions:
- Times of day: an isolation or case date means the whole local day (settings.TIME_ZONE). An
  isolation holds from `starts_on` 00:00 until the end of `planned_end_on` (the next day 00:00),
  or until `released_on` 00:00 when released: released that day means green that day.
- A yellow flag clears by itself with `yellow_clear_negatives` negative results sampled after the
  flag started, consecutive ones at least `yellow_clear_min_gap_hours` apart and all sampled within
  `yellow_clear_within_days` days of the first. Gap and window count sampling times, like test
  validity; the flag clears at the moment the last of those results is known (its `result_at`,
  the sampling time when the result time is unknown): a colour cannot turn green before the lab
  has said negative.
- `until` of a status is when its colour stops: holds of the same colour that follow on without a
  gap (central isolation then home isolation) extend it; None when open-ended or green.
"""

import datetime as dt
import itertools
import json
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Max, Min, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop

from tongxin.outbreak import rules as rules_module
from tongxin.outbreak.models import Case, Contact, Isolation, ResidentStatus, RiskArea, StatusFlag, TestFact
from tongxin.registry.models import Resident

RED, YELLOW, GREEN = "red", "yellow", "green"
SEVERITY = {GREEN: 0, YELLOW: 1, RED: 2}
CHUNK = 2000  # residents per batch of queries in status_recompute

# Reason sentences (gettext msgids); `args` of a hold fill them in at read time.
REASONS = {
    "case": gettext_noop("阳性感染者"),
    "contact": gettext_noop("%(who)s，待隔离"),
    "central": gettext_noop("%(who)s，集中隔离至%(month)d月%(day)d日"),
    "home": gettext_noop("%(who)s，居家隔离至%(month)d月%(day)d日"),
    "monitoring": gettext_noop("%(who)s，居家健康监测至%(month)d月%(day)d日"),
    "central_plain": gettext_noop("集中隔离至%(month)d月%(day)d日"),
    "home_plain": gettext_noop("居家隔离至%(month)d月%(day)d日"),
    "monitoring_plain": gettext_noop("居家健康监测至%(month)d月%(day)d日"),
    "positive": gettext_noop("核酸阳性"),
    "antigen_positive": gettext_noop("抗原阳性"),
    "pool_positive": gettext_noop("混采阳性待复核"),
    "flag_overlap": gettext_noop("时空伴随"),
    "flag_missed_test": gettext_noop("未按要求检测"),
    "flag_arrival": gettext_noop("外地返回"),
    "flag_other": gettext_noop("其他风险"),
    "overdue": gettext_noop("超过%(hours)d小时未采样"),
    "household_review": gettext_noop("同户人员混采阳性待复核，居家管控"),
}
WHO = {  # the rule or contact kind a sentence starts with
    "close_contact": gettext_noop("密接"),
    "high_risk_leaver": gettext_noop("高风险区外出人员"),
    "arrival": gettext_noop("外地返回"),
    "close": gettext_noop("密接"),
    "secondary": gettext_noop("次密接"),
}


@dataclass(frozen=True)
class Status:
    color: str
    overdue: bool
    reasons: list[str] = field(default_factory=list)
    until: dt.datetime | None = None
    risk_level: str = ""
    risk_level_label: str = ""
    last_sampled_at: dt.datetime | None = None

    def to_dict(self) -> dict:
        return {
            "color": self.color,
            "overdue": self.overdue,
            "reasons": list(self.reasons),
            "until": timezone.localtime(self.until).isoformat() if self.until else None,
            "risk_level": self.risk_level,
            "risk_level_label": self.risk_level_label,
            "last_sampled_at": (
                timezone.localtime(self.last_sampled_at).isoformat() if self.last_sampled_at else None
            ),
        }


# Other modules add facts without this module importing them: a test source gives, for a list of
# resident ids, rows (resident_id, method, result, sampled_at, result_at) in TestFact's vocabulary
# (mass testing's person-samples); a hold source gives, for the rows (id, compound_id, building_id,
# unit_id, household_id) of the residents, (resident_id, hold) pairs built with `make_hold` (a
# household kept home while a pool is reviewed). Each source should cost one query per call.
_TEST_SOURCES: list = []
_HOLD_SOURCES: list = []


def register_test_source(source) -> None:
    if source not in _TEST_SOURCES:
        _TEST_SOURCES.append(source)


def register_hold_source(source) -> None:
    if source not in _HOLD_SOURCES:
        _HOLD_SOURCES.append(source)


def make_hold(color: str, code: str, since: dt.datetime, until: dt.datetime | None, **args) -> dict:
    """A hold for a hold source (the same shape `status_recompute` stores)."""
    return _hold(color, code, since, until, **args)


def _day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=timezone.get_default_timezone())


def _iso(moment: dt.datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _hold(color: str, code: str, since: dt.datetime, until: dt.datetime | None, **args) -> dict:
    filled = {**args, "who": WHO.get(args["who"], args["who"])} if "who" in args else args
    text = REASONS[code] % filled if filled else REASONS[code]
    return {
        "color": color,
        "code": code,
        "args": args,
        "text": text,
        "since": _iso(since),
        "until": _iso(until),
    }


def _date_args(last_day: dt.date) -> dict:
    return {"month": last_day.month, "day": last_day.day}


def _isolation_hold(iso) -> dict | None:
    kind, rule, starts_on, planned_end_on, released_on = iso
    since = _day_start(starts_on)
    until = _day_start(released_on) if released_on else _day_start(planned_end_on + dt.timedelta(days=1))
    if until <= since:
        return None
    color = YELLOW if kind == Isolation.Kind.MONITORING else RED
    args = _date_args(planned_end_on if not released_on else min(planned_end_on, released_on))
    if rule in WHO:
        return _hold(color, kind, since, until, who=rule, **args)
    return _hold(color, f"{kind}_plain", since, until, **args)


def _flag_clears_at(starts_at: dt.datetime, negatives: list[tuple[dt.datetime, dt.datetime]], rules):
    """The earliest moment the flag's clearing negatives are all known, or None."""
    after = [n for n in negatives if n[0] > starts_at]
    need = rules.yellow_clear_negatives
    if need <= 0:
        return starts_at
    gap = dt.timedelta(hours=rules.yellow_clear_min_gap_hours)
    window = dt.timedelta(days=rules.yellow_clear_within_days)
    best = None
    for chain in itertools.combinations(after, need):
        if chain[-1][0] - chain[0][0] > window:
            continue
        if any(b[0] - a[0] < gap for a, b in itertools.pairwise(chain)):
            continue
        known = max(result_at for _sampled, result_at in chain)
        if best is None or known < best:
            best = known
    return best


def status_recompute(resident_ids: Iterable[int], *, now: dt.datetime | None = None) -> None:
    """Recompute and store the status of these residents: a fixed number of queries per batch of
    CHUNK residents, whatever the number of facts."""
    ids = sorted(set(resident_ids))
    for start in range(0, len(ids), CHUNK):
        _recompute_chunk(ids[start : start + CHUNK], now or timezone.now())


def _recompute_chunk(ids: list[int], now: dt.datetime) -> dict[int, ResidentStatus]:
    rules = rules_module.active_rules()
    residents = list(
        Resident.objects.filter(pk__in=ids).values_list(
            "id", "compound_id", "building_id", "unit_id", "household_id"
        )
    )
    if not residents:
        return {}
    ids = [r[0] for r in residents]
    holds: dict[int, list[dict]] = defaultdict(list)

    case_days: dict[int, list[dt.date]] = defaultdict(list)
    for resident_id, confirmed_on, outcome, outcome_on in Case.objects.filter(
        resident_id__in=ids
    ).values_list("resident_id", "confirmed_on", "outcome", "outcome_on"):
        case_days[resident_id].append(confirmed_on)
        if outcome == Case.Outcome.ACTIVE:
            until = None
        elif outcome_on:
            until = _day_start(outcome_on)
        else:
            continue
        holds[resident_id].append(_hold(RED, "case", _day_start(confirmed_on), until))

    plan = rules.close_contact
    contact_days = dt.timedelta(days=plan.central_days + plan.home_days)
    for resident_id, kind, identified_on, first_isolated_on in (
        Contact.objects.filter(resident_id__in=ids, became_case__isnull=True)
        .annotate(first_isolated_on=Min("isolations__starts_on"))
        .values_list("resident_id", "kind", "identified_on", "first_isolated_on")
    ):
        since = _day_start(identified_on)
        # Red from the day they were found until their isolation starts (it holds from then on).
        until = (
            _day_start(first_isolated_on)
            if first_isolated_on
            else since + contact_days + dt.timedelta(days=1)
        )
        if until > since:
            holds[resident_id].append(_hold(RED, "contact", since, until, who=kind))

    for resident_id, *iso in Isolation.objects.filter(resident_id__in=ids).values_list(
        "resident_id", "kind", "rule", "starts_on", "planned_end_on", "released_on"
    ):
        hold = _isolation_hold(iso)
        if hold:
            holds[resident_id].append(hold)

    flags = list(
        StatusFlag.objects.filter(resident_id__in=ids).values_list(
            "resident_id", "kind", "starts_at", "cleared_at"
        )
    )
    flagged = {f[0] for f in flags}

    # Validity and yellow clearing count nucleic-acid samples (pool or single); an antigen
    # self-test shows a positive but neither keeps a test valid nor clears a flag.
    last_sampled = dict(
        TestFact.objects.filter(resident_id__in=ids)
        .exclude(method=TestFact.Method.ANTIGEN)
        .values("resident_id")
        .annotate(last=Max("sampled_at"))
        .values_list("resident_id", "last")
    )
    singles: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    negatives: dict[int, list[tuple[dt.datetime, dt.datetime]]] = defaultdict(list)
    pools: list[tuple[int, dt.datetime]] = []
    positives: list[tuple[int, str, dt.datetime, dt.datetime | None]] = []
    relevant = Q(result__in=[TestFact.Result.POSITIVE, TestFact.Result.POOL_POSITIVE]) | Q(
        method=TestFact.Method.SINGLE, result=TestFact.Result.NEGATIVE
    )
    if flagged:
        relevant |= Q(resident_id__in=flagged, result=TestFact.Result.NEGATIVE)
    rows = list(
        TestFact.objects.filter(resident_id__in=ids)
        .filter(relevant)
        .order_by("sampled_at", "id")
        .values_list("resident_id", "method", "result", "sampled_at", "result_at")
    )
    if _TEST_SOURCES:
        for source in _TEST_SOURCES:
            for row in source(ids):
                resident_id, method, result, sampled_at, _result_at = row
                latest = last_sampled.get(resident_id)
                if method != TestFact.Method.ANTIGEN and (latest is None or sampled_at > latest):
                    last_sampled[resident_id] = sampled_at
                if (
                    result in (TestFact.Result.POSITIVE, TestFact.Result.POOL_POSITIVE)
                    or (method == TestFact.Method.SINGLE and result == TestFact.Result.NEGATIVE)
                    or (resident_id in flagged and result == TestFact.Result.NEGATIVE)
                ):
                    rows.append(row)
        rows.sort(key=lambda r: r[3])
    for resident_id, method, result, sampled_at, result_at in rows:
        known = result_at or sampled_at
        if result == TestFact.Result.POOL_POSITIVE or (
            result == TestFact.Result.POSITIVE and method == TestFact.Method.POOL
        ):
            pools.append((resident_id, sampled_at))
            continue
        if method == TestFact.Method.SINGLE:
            singles[resident_id].append((sampled_at, known))
        if result == TestFact.Result.NEGATIVE:
            if method != TestFact.Method.ANTIGEN:
                negatives[resident_id].append((sampled_at, known))
        else:
            positives.append((resident_id, method, sampled_at, known))

    tz = timezone.get_default_timezone()
    for resident_id, method, sampled_at, known in positives:
        sampled_day = sampled_at.astimezone(tz).date()
        if any(day >= sampled_day for day in case_days.get(resident_id, ())):
            continue  # the case it became holds instead
        code = "antigen_positive" if method == TestFact.Method.ANTIGEN else "positive"
        holds[resident_id].append(_hold(RED, code, known, None))
    for resident_id, sampled_at in pools:
        later = [known for s, known in singles.get(resident_id, ()) if s > sampled_at]
        holds[resident_id].append(_hold(YELLOW, "pool_positive", sampled_at, min(later) if later else None))

    for resident_id, kind, starts_at, cleared_at in flags:
        clears = _flag_clears_at(starts_at, negatives.get(resident_id, []), rules)
        until = min((m for m in (cleared_at, clears) if m), default=None)
        if until is not None and until <= starts_at:
            continue
        holds[resident_id].append(_hold(YELLOW, f"flag_{kind}", starts_at, until))

    for source in _HOLD_SOURCES:
        for resident_id, hold in source(residents):
            holds[resident_id].append(hold)

    areas = list(
        RiskArea.objects.filter(
            compound_id__in={r[1] for r in residents}, lifted_on__isnull=True
        ).values_list("id", "scope", "compound_id", "building_id", "unit_id", "household_id", "level")
    )
    by_place: dict[tuple[str, int], list[tuple[int, int, str]]] = defaultdict(list)
    for area_id, scope, compound_id, building_id, unit_id, household_id, level in areas:
        place = {
            RiskArea.Scope.COMPOUND: compound_id,
            RiskArea.Scope.BUILDING: building_id,
            RiskArea.Scope.UNIT: unit_id,
            RiskArea.Scope.HOUSEHOLD: household_id,
        }[scope]
        found = rules.level(level)
        by_place[(scope, place)].append((found.rank if found else 0, area_id, level))

    rows = {}
    for resident_id, compound_id, building_id, unit_id, household_id in residents:
        covering = [
            *by_place.get((RiskArea.Scope.COMPOUND, compound_id), ()),
            *by_place.get((RiskArea.Scope.BUILDING, building_id), ()),
            *by_place.get((RiskArea.Scope.UNIT, unit_id), ()),
            *by_place.get((RiskArea.Scope.HOUSEHOLD, household_id), ()),
        ]
        strictest = max(covering, default=None)
        rows[resident_id] = ResidentStatus(
            resident_id=resident_id,
            compound_id=compound_id,
            holds=sorted(holds.get(resident_id, []), key=lambda h: (-SEVERITY[h["color"]], h["since"])),
            last_sampled_at=last_sampled.get(resident_id),
            risk_level=strictest[2] if strictest else "",
            risk_area_id=strictest[1] if strictest else None,
            computed_at=now,
        )
    ResidentStatus.objects.bulk_create(
        rows.values(),
        update_conflicts=True,
        unique_fields=["resident"],
        update_fields=["compound", "holds", "last_sampled_at", "risk_level", "risk_area", "computed_at"],
    )
    return rows


def _parse(value: str | None) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if value else None


def _reason(hold: dict) -> str:
    args = dict(hold.get("args") or {})
    if "who" in args:
        args["who"] = gettext(WHO.get(args["who"], args["who"]))
    template = gettext(REASONS.get(hold["code"], hold.get("text", "")))
    return template % args if args else template


def status_from_row(
    holds: list[dict], last_sampled_at: dt.datetime | None, risk_level: str, at: dt.datetime
) -> Status:
    """The status at `at` from a stored row's facts: no query."""
    rules = rules_module.active_rules()
    spans = [(h, _parse(h["since"]), _parse(h["until"])) for h in holds]
    current = [s for s in spans if s[1] <= at and (s[2] is None or s[2] > at)]
    color = max((h["color"] for h, _s, _u in current), key=SEVERITY.__getitem__, default=GREEN)
    until = None
    if color != GREEN:
        same = [s for s in spans if s[0]["color"] == color]
        ends = [u for h, _s, u in current if h["color"] == color]
        until = None if None in ends else max(ends)
        extended = True
        while until is not None and extended:
            extended = False
            for _h, since, end in same:
                if since <= until and (end is None or end > until):
                    until, extended = end, True
                    if end is None:
                        break
    reasons = [_reason(h) for h, _s, _u in current]
    validity = dt.timedelta(hours=rules.test_validity_hours)
    overdue = last_sampled_at is None or (last_sampled_at <= at and at - last_sampled_at > validity)
    if overdue:
        reasons.append(gettext(REASONS["overdue"]) % {"hours": rules.test_validity_hours})
    level = rules.level(risk_level) if risk_level else None
    return Status(
        color=color,
        overdue=overdue,
        reasons=reasons,
        until=until,
        risk_level=risk_level,
        risk_level_label=str(level.label) if level else risk_level,
        last_sampled_at=last_sampled_at,
    )


_READ_SQL = None


def _read_row(resident_id: int):
    """The stored row's (holds, last_sampled_at, risk_level) in one statement, without building an
    ORM query per call: a gate reads this thousands of times a second."""
    global _READ_SQL
    if _READ_SQL is None:
        table = ResidentStatus._meta.db_table
        _READ_SQL = f"SELECT holds, last_sampled_at, risk_level FROM {table} WHERE resident_id = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(_READ_SQL, [resident_id])
        row = cursor.fetchone()
    if row is None:
        return None
    holds, last_sampled_at, risk_level = row
    if isinstance(holds, str | bytes):
        holds = json.loads(holds)
    if isinstance(last_sampled_at, str):  # SQLite returns its text
        last_sampled_at = dt.datetime.fromisoformat(last_sampled_at)
    if last_sampled_at is not None and timezone.is_naive(last_sampled_at):
        last_sampled_at = last_sampled_at.replace(tzinfo=dt.UTC)
    return holds, last_sampled_at, risk_level


def status_read(resident_id: int, *, at: dt.datetime | None = None) -> Status:
    """The resident's status at `at` (now by default): one primary-key lookup of the stored row;
    a resident without a row gets one computed and stored. Raises Resident.DoesNotExist.

    `at` earlier than the row's computation is answered from the stored holds, which keep every
    hold the facts give, so looking back works as long as the facts have not changed since."""
    at = at or timezone.now()
    row = _read_row(resident_id)
    if row is None:
        stored = _recompute_chunk([resident_id], timezone.now()).get(resident_id)
        if stored is None:
            raise Resident.DoesNotExist(f"resident {resident_id} does not exist")
        row = (stored.holds, stored.last_sampled_at, stored.risk_level)
    return status_from_row(row[0], row[1], row[2], at)
