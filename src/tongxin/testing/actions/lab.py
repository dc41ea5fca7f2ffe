"""Lab results: files of tube results and results entered by hand, retests of positive pools, and
the alerts they raise.

`lab_results_apply` takes `(row_number, tube_code, result, result_at)` tuples (a `labfile.LabFile`
gives them from a .csv/.xlsx, and its unreadable rows count as errors) and is all-or-nothing: one
error anywhere and nothing is applied; every error is reported with its row, column, code and
message. Checks:

- `unknown_tube`: no such tube, outside the actor's area (not told apart, so nothing leaks), or,
  with a round given, not of that round;
- `not_closed`: the tube was never closed at its sampling table;
- `before_sampling`: the result time is earlier than the tube's closing time. Closing is the end of
  the tube's sampling (every sample of a tube is taken before it is closed, the sampling sync makes
  sure), so this one column of the tube stands for "before its latest sample" too;
- `future_time`: the result time is later than now (beyond a device clock's skew);
- `duplicate_conflict`: the same tube twice in the file with different results (both rows named);
  the same result twice is fine and the earlier time is kept;
- `result_conflict`: the tube already has the other result (from an earlier file). The same
  result again is idempotent: it counts as applied and changes nothing.

Effects of a file, for the tubes whose result it sets (pending before):
- negative: everyone in the tube is sampled and negative at their sampling time, which is read
  from Sample + Tube.result, so nothing is written per person. Only the people in those tubes
  whose stored status can change are recomputed: those with a hold that has not ended (open-ended
  or ending later; ended holds are kept for looking back and a negative changes nothing in them),
  or with an open or sampled retest. A resident with no such hold stays as stored whatever the
  negative says (their last sampling time was moved when they were sampled).
- a negative single tube that is a retest closes the retest (negative); the household's members are
  recomputed (the household's yellow hold goes once every retest of it is negative).
- positive pooled tube (pool size > 1): a retest (open) for every person in it, their status and
  their households' recomputed (pool-positive yellow; household kept home), and one alert per
  compound of the people in it.
- positive single tube: the retest it answers turns positive; the person becomes a case through the
  outbreak module (registered by the system: source 混采复核阳性 for a retest, 单采阳性 otherwise;
  a person who already has an active case gets no second one); an alert.

Scale: on PostgreSQL the rows are COPied into a temporary table and checked, applied and followed
up with a fixed number of set-based statements (a million tubes covering ten million
person-samples in well under a minute on two cores); the portable path (SQLite, and manual entry)
does the same in Python with the ORM. `lab_results_apply(..., method="orm")` forces the portable
path, which the tests use to check both agree.
"""

import datetime
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from django.core.exceptions import EmptyResultSet, PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.core.system import system_user
from tongxin.outbreak.actions import case_register
from tongxin.outbreak.models import Case, ResidentStatus
from tongxin.outbreak.status import status_recompute
from tongxin.registry.models import Compound, Resident
from tongxin.testing.labfile import (
    CODE_MAX_LENGTH,
    COLUMN_ORDER,
    MAX_ERRORS,
    NEGATIVE,
    POSITIVE,
    RESULT,
    TIME,
    TUBE,
    LabFile,
    LabFileError,
    column_name,
    local_zone,
    row_error,
)
from tongxin.testing.models import Alert, LabImport, Retest, RoundCompound, Sample, TestRound, Tube

CLOCK_SKEW = datetime.timedelta(minutes=10)  # a result this far in the future is still believed
ORM_CHUNK = 500  # ids or codes per IN (...) on the portable path
COPY_BUFFER_ROWS = 20_000
_PENDING = Tube.Result.PENDING.value
_OPEN_RETESTS = (Retest.State.OPEN.value, Retest.State.SAMPLED.value)
_DROP_TEMP = "DROP TABLE IF EXISTS lab_rows, lab_tubes, lab_changed"
PG_WORK_MEM = "256MB"  # this transaction's sorts and hashes of a million codes stay in memory
_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass
class LabReport:
    """What a lab file did; `to_dict()` is the command's and the API's JSON."""

    rows: int = 0
    applied: int = 0
    positive_tubes: int = 0
    people_under_review: int = 0
    errors: list[dict] = field(default_factory=list)
    lab_import: LabImport | None = None

    def to_dict(self) -> dict:
        return {
            "rows": self.rows,
            "applied": self.applied,
            "positive_tubes": self.positive_tubes,
            "people_under_review": self.people_under_review,
            "errors": self.errors,
        }


class _Errors:
    """Errors from every stage, merged in (row, column, code) order; MAX_ERRORS kept, all counted."""

    def __init__(self):
        self.items: list[dict] = []
        self.count = 0

    def add(self, row, column: str, code: str, message: str) -> None:
        self.count += 1
        self.items.append(row_error(row, column, code, message))
        if len(self.items) >= 2 * MAX_ERRORS:  # a file of nothing but errors stays small
            self.items = self._first()

    def extend(self, items: list[dict], count: int) -> None:
        self.items.extend(items)
        self.count += count

    def __bool__(self) -> bool:
        return self.count > 0

    def _first(self) -> list[dict]:
        order = {column_name(c): i for c, i in COLUMN_ORDER.items()}
        items = sorted(self.items, key=lambda e: (e["row"] or 0, order.get(e["column"], -1), e["code"]))
        return items[:MAX_ERRORS]

    def listed(self) -> list[dict]:
        items = self._first()
        if self.count > len(items):
            items.append(
                row_error(
                    None,
                    "",
                    "more_errors",
                    _("另有%(n)d处错误未列出") % {"n": self.count - len(items)},
                )
            )
        return items


@dataclass
class _Loaded:
    """What a path found: the rows read, and once applied, what the follow-up needs (few ids)."""

    rows: int = 0
    positives: list[tuple[int, int, datetime.datetime, bool]] = field(default_factory=list)
    # (tube id, first row, result time, set by this file)
    retests_negative: list[tuple[int, datetime.datetime, int]] = field(default_factory=list)
    # (retest id, result time, sample id)
    recompute: set[int] = field(default_factory=set)
    round_ids: set[int] = field(default_factory=set)


# -- who may apply results -----------------------------------------------------------------------


def _acting(actor):
    """The system (actor None: commands, the platform) or a health role."""
    if actor is None:
        return system_user()
    if not getattr(actor, "sees_health_data", False):
        raise PermissionDenied(_("当前角色不能录入检测结果"))
    return actor


def _require_round(actor, round_: TestRound) -> None:
    visible = RoundCompound.objects.filter(
        round_id=round_.pk, compound__in=Compound.objects.filter(scope_q(actor, "compound"))
    ).exists()
    if not visible:
        raise PermissionDenied(_("无权录入该轮次的检测结果"))


def _scoped_compounds(actor):
    """None for the whole platform, else the queryset of the compounds the actor sees."""
    q = scope_q(actor, "compound")
    return None if not q else Compound.objects.filter(q)


# -- the rows -------------------------------------------------------------------------------------


class _Cleaned:
    """The rows with their shape checked (a LabFile's are fine; a caller's may not be) and the
    result time compared with now: a future time is reported and the row still goes on to the
    other checks. Yields (row, code, result, result_at, result_at as ISO text) and counts the rows.

    A file repeats its times (a LabFile gives the same object for the same text), so each time
    object is checked and formatted once."""

    CACHE = 100_000

    def __init__(self, rows: Iterable[tuple], errors: _Errors, now: datetime.datetime):
        self.rows, self.errors, self.latest, self.seen = rows, errors, now + CLOCK_SKEW, 0

    def __iter__(self) -> Iterator[tuple]:
        errors, negative, positive = self.errors, NEGATIVE, POSITIVE
        times: dict[int, tuple] = {}
        seen = 0
        try:
            for item in self.rows:
                seen += 1
                if item.__class__ is not tuple or len(item) != 4 or item[0].__class__ is not int:
                    if not isinstance(item, tuple | list) or len(item) != 4 or not isinstance(item[0], int):
                        errors.add(
                            None, "", "invalid", _("无法读取的一行：%(row)s") % {"row": str(item)[:60]}
                        )
                        continue
                number, code, result, moment = item
                if code.__class__ is not str or not code or len(code) > CODE_MAX_LENGTH:
                    errors.add(number, TUBE, "invalid", _("管码无效"))
                    continue
                if result != negative and result != positive:
                    errors.add(number, RESULT, "invalid", _("检测结果须为阴性或阳性"))
                    continue
                entry = times.get(id(moment))
                if entry is None or entry[0] is not moment:
                    entry = self._time(moment)
                    if entry is None:
                        errors.add(number, TIME, "invalid", _("检测时间无效"))
                        continue
                    if len(times) >= self.CACHE:
                        times.clear()
                    times[id(moment)] = entry  # the entry holds the object, so its id stays its own
                if entry[3]:
                    errors.add(
                        number,
                        TIME,
                        "future_time",
                        _("检测时间%(time)s晚于现在") % {"time": _local(entry[1])},
                    )
                yield number, code, result, entry[1], entry[2]
        finally:
            self.seen += seen

    def _time(self, moment) -> tuple | None:
        """(the object, aware time, ISO text, in the future) or None when not a datetime."""
        if not isinstance(moment, datetime.datetime):
            return None
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=local_zone())
        return moment, aware, aware.isoformat(), aware > self.latest


def _local(moment: datetime.datetime) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M")


def _label(result: str) -> str:
    return str(Tube.Result(result).label)


def _unknown(errors: _Errors, number, code: str, round_) -> None:
    if round_ is not None:
        message = _("本轮检测查无此试管：%(code)s") % {"code": code}
    else:
        message = _("查无此试管：%(code)s") % {"code": code}
    errors.add(number, TUBE, "unknown_tube", message)


def _tube_errors(errors: _Errors, number, code, result, moment, closed_at, old_result) -> None:
    """The checks of one row against its (known) tube: the same on both paths."""
    if closed_at is None:
        errors.add(number, TUBE, "not_closed", _("试管%(code)s尚未封管，不能录入结果") % {"code": code})
    elif moment < closed_at:
        errors.add(
            number,
            TIME,
            "before_sampling",
            _("检测时间%(time)s早于该试管的采样（封管）时间%(closed)s")
            % {"time": _local(moment), "closed": _local(closed_at)},
        )
    if old_result != _PENDING and old_result != result:
        errors.add(
            number,
            RESULT,
            "result_conflict",
            _("试管%(code)s已有结果“%(old)s”，与此行的“%(new)s”不一致")
            % {"code": code, "old": _label(old_result), "new": _label(result)},
        )


def _duplicate(errors: _Errors, number, code, result, first_row, first_result) -> None:
    errors.add(
        number,
        RESULT,
        "duplicate_conflict",
        _("试管%(code)s在第%(first)d行为“%(a)s”，在第%(row)d行为“%(b)s”，结果不一致")
        % {
            "code": code,
            "first": first_row,
            "a": _label(first_result),
            "row": number,
            "b": _label(result),
        },
    )


def _holding(holds: list[dict], now: datetime.datetime) -> bool:
    """A stored status still holds something (a hold open-ended or ending later): only then can a
    negative change it. Holds that ended (an isolation long released, a flag cleared) are kept
    for looking back and change nothing."""
    if isinstance(holds, str):
        holds = json.loads(holds)
    return any(h.get("until") is None or datetime.datetime.fromisoformat(h["until"]) > now for h in holds)


# -- the portable path ----------------------------------------------------------------------------


def _chunks(items: list, size: int = ORM_CHUNK):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _load_orm(actor, rows: Iterable[tuple], round_, errors: _Errors) -> _Loaded:
    rows = [row[:4] for row in rows]
    loaded = _Loaded(rows=len(rows))
    compounds = _scoped_compounds(actor)
    tubes: dict[str, tuple] = {}
    codes = sorted({row[1] for row in rows})
    for chunk in _chunks(codes):
        found = Tube.objects.filter(code__in=chunk)
        if compounds is not None:
            found = found.filter(compound__in=compounds)
        if round_ is not None:
            found = found.filter(round_id=round_.pk)
        for pk, code, closed_at, result, pool_size, round_id in found.values_list(
            "pk", "code", "closed_at", "result", "pool_size", "round_id"
        ):
            tubes[code] = (pk, closed_at, result, pool_size, round_id)
    loaded.round_ids = {t[4] for t in tubes.values()}

    first: dict[str, tuple[int, str]] = {}
    for number, code, result, _moment in sorted(rows, key=lambda r: r[0]):
        if code not in first:
            first[code] = (number, result)
        elif first[code][1] != result:
            _duplicate(errors, number, code, result, *first[code])
    for number, code, result, moment in rows:
        tube = tubes.get(code)
        if tube is None:
            _unknown(errors, number, code, round_)
        else:
            _tube_errors(errors, number, code, result, moment, tube[1], tube[2])
    if errors:
        return loaded

    by_tube: dict[int, tuple[str, datetime.datetime, int]] = {}  # result, earliest time, first row
    for number, code, result, moment in rows:
        pk = tubes[code][0]
        seen = by_tube.get(pk)
        by_tube[pk] = (
            (result, min(moment, seen[1]), min(number, seen[2])) if seen else (result, moment, number)
        )
    pending = {code: t for code, t in tubes.items() if t[2] == _PENDING}
    changed = [Tube(pk=t[0], result=by_tube[t[0]][0], result_at=by_tube[t[0]][1]) for t in pending.values()]
    Tube.objects.bulk_update(changed, ["result", "result_at"], batch_size=ORM_CHUNK)
    changed_ids = {t.pk for t in changed}
    for pk, (result, moment, number) in by_tube.items():
        if result == POSITIVE:
            loaded.positives.append((pk, number, moment, pk in changed_ids))
    negative = sorted(t.pk for t in changed if t.result == NEGATIVE)
    single_negative = {t[0] for t in pending.values() if t[3] == 1 and by_tube[t[0]][0] == NEGATIVE}

    in_negative: dict[int, list[tuple[int, int, datetime.datetime, bool]]] = defaultdict(list)
    for chunk in _chunks(negative):
        for sample_id, tube_id, resident_id, sampled_at, is_retest in Sample.objects.filter(
            tube_id__in=chunk
        ).values_list("pk", "tube_id", "resident_id", "sampled_at", "is_retest"):
            in_negative[resident_id].append((sample_id, tube_id, sampled_at, is_retest))
    people = sorted(in_negative)
    for chunk in _chunks(people):
        now = timezone.now()
        loaded.recompute.update(
            resident_id
            for resident_id, holds in ResidentStatus.objects.filter(resident_id__in=chunk)
            .exclude(holds=[])
            .values_list("resident_id", "holds")
            if _holding(holds, now)
        )
        for retest_id, resident_id, sample_id, pool_sampled_at in Retest.objects.filter(
            resident_id__in=chunk, state__in=_OPEN_RETESTS
        ).values_list("pk", "resident_id", "sample_id", "pool_sampled_at"):
            loaded.recompute.add(resident_id)
            for s_id, tube_id, sampled_at, is_retest in in_negative[resident_id]:
                answers = s_id == sample_id or is_retest
                if tube_id in single_negative and answers and sampled_at > pool_sampled_at:
                    loaded.retests_negative.append((retest_id, by_tube[tube_id][1], s_id))
    return loaded


# -- the PostgreSQL path --------------------------------------------------------------------------


def _copy_rows(raw_cursor, rows: Iterable[tuple]) -> int:
    """COPY the rows into lab_rows in large text chunks, one line per row."""
    buffer: list[str] = []
    count = 0
    with raw_cursor.copy("COPY lab_rows (n, code, result, result_at) FROM STDIN") as copy:
        for number, code, result, _moment, stamp in rows:
            if not code.isalnum():
                code = code.translate(_COPY_ESCAPES)
            buffer.append(f"{number}\t{code}\t{result}\t{stamp}\n")
            if len(buffer) >= COPY_BUFFER_ROWS:
                copy.write("".join(buffer))
                count += len(buffer)
                buffer.clear()
        if buffer:
            copy.write("".join(buffer))
            count += len(buffer)
    return count


def _fetch_errors(cursor, sql: str, params) -> tuple[list, int]:
    """Rows of an error query that ends with `count(*) OVER ()`: the first MAX_ERRORS + 1, and the
    total."""
    cursor.execute(sql, params)
    found = cursor.fetchall()
    return found, (found[0][-1] if found else 0)


def _load_postgres(actor, rows: Iterable[tuple], round_, errors: _Errors) -> _Loaded:
    """The set-based path: one COPY, one aggregate joined to the tubes (`lab_tubes`, one row per
    code), checks that touch the rows only for the few codes found wrong, one UPDATE."""
    tube, sample = Tube._meta.db_table, Sample._meta.db_table
    retest, status = Retest._meta.db_table, ResidentStatus._meta.db_table
    compounds = _scoped_compounds(actor)
    where, params = "", []
    if compounds is not None:
        try:
            sql, scope_params = compounds.values("pk").query.sql_with_params()
        except EmptyResultSet:  # a role with no area sees no tube
            sql, scope_params = "SELECT NULL::bigint WHERE false", ()
        where += f" AND t.compound_id IN ({sql})"
        params += list(scope_params)
    if round_ is not None:
        where += " AND t.round_id = %s"
        params.append(round_.pk)
    loaded = _Loaded()
    with connection.cursor() as cursor:
        cursor.execute(_DROP_TEMP)
        cursor.execute("SELECT current_setting('work_mem'), set_config('work_mem', %s, true)", [PG_WORK_MEM])
        work_mem = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEMP TABLE lab_rows (n integer, code text, result text, result_at timestamptz) ON COMMIT DROP"
        )
        loaded.rows = _copy_rows(cursor.cursor, rows)
        cursor.execute("ANALYZE lab_rows")
        cursor.execute(
            "CREATE TEMP TABLE lab_tubes ON COMMIT DROP AS "  # noqa: S608 - table names and scope SQL
            "SELECT g.*, t.id AS tube_id, t.closed_at, t.result AS old_result, t.pool_size, t.round_id "
            "FROM (SELECT code, min(n) AS first_n, min(result) AS result, max(result) AS result_max, "
            "min(result_at) AS result_at FROM lab_rows GROUP BY code) g "
            f"LEFT JOIN {tube} t ON t.code = g.code{where}",
            params,
        )
        cursor.execute("ANALYZE lab_tubes")
        cursor.execute("SELECT DISTINCT round_id FROM lab_tubes WHERE round_id IS NOT NULL LIMIT 2")
        loaded.round_ids = {row[0] for row in cursor.fetchall()}

        # Row-level checks, on the rows of the codes whose aggregate shows something wrong.
        found, count = _fetch_errors(
            cursor,
            "SELECT r.n, r.code, r.result, r.result_at, j.tube_id, j.closed_at, j.old_result, "
            "sum(CASE WHEN j.tube_id IS NULL THEN 1 ELSE (j.closed_at IS NULL)::int "
            "+ coalesce((r.result_at < j.closed_at)::int, 0) "
            "+ (j.old_result <> %s AND j.old_result <> r.result)::int END) OVER () "
            "FROM lab_rows r JOIN (SELECT * FROM lab_tubes WHERE tube_id IS NULL OR closed_at IS NULL "
            "OR result_at < closed_at OR (old_result <> %s AND (old_result <> result OR old_result <> result_max))"
            ") j USING (code) "
            "WHERE j.tube_id IS NULL OR j.closed_at IS NULL OR r.result_at < j.closed_at "
            "OR (j.old_result <> %s AND j.old_result <> r.result) ORDER BY r.n LIMIT %s",
            [_PENDING, _PENDING, _PENDING, MAX_ERRORS + 1],
        )
        listed = _Errors()
        for number, code, result, moment, tube_id, closed_at, old_result, _count in found:
            if tube_id is None:
                _unknown(listed, number, code, round_)
            else:
                _tube_errors(listed, number, code, result, moment, closed_at, old_result)
        errors.extend(listed.items, count)

        found, count = _fetch_errors(
            cursor,
            "SELECT r.n, r.code, r.result, f.n, f.result, count(*) OVER () FROM lab_rows r "
            "JOIN (SELECT DISTINCT ON (r.code) r.code, r.n, r.result FROM lab_rows r "
            "JOIN lab_tubes d ON d.code = r.code AND d.result <> d.result_max ORDER BY r.code, r.n) f "
            "USING (code) WHERE r.result <> f.result ORDER BY r.n LIMIT %s",
            [MAX_ERRORS + 1],
        )
        listed = _Errors()
        for number, code, result, first_row, first_result, _count in found:
            _duplicate(listed, number, code, result, first_row, first_result)
        errors.extend(listed.items, count)
        if errors:
            return loaded  # the caller rolls back, temporary tables with it

        cursor.execute("SELECT count(*) FROM lab_tubes WHERE old_result = %s", [_PENDING])
        expected = cursor.fetchone()[0]
        cursor.execute(
            "CREATE TEMP TABLE lab_changed (id bigint, result text, result_at timestamptz, "
            "pool_size smallint, round_id bigint) ON COMMIT DROP"
        )
        cursor.execute(
            f"WITH done AS (UPDATE {tube} t SET result = g.result, result_at = g.result_at "  # noqa: S608
            "FROM (SELECT tube_id, result, result_at FROM lab_tubes WHERE old_result = %s "
            "ORDER BY tube_id) g WHERE t.id = g.tube_id AND t.result = %s "
            "RETURNING t.id, t.result, t.result_at, t.pool_size, t.round_id) "
            "INSERT INTO lab_changed SELECT * FROM done",
            [_PENDING, _PENDING],
        )
        if cursor.rowcount != expected:  # another file or person set some of them meanwhile
            raise ValidationError(_("部分试管的结果刚刚被其他人录入，请重新导入"))
        cursor.execute("ANALYZE lab_changed")
        cursor.execute(
            "SELECT tube_id, first_n, result_at, old_result = %s FROM lab_tubes WHERE result = %s",
            [_PENDING, POSITIVE],
        )
        loaded.positives = [tuple(row) for row in cursor.fetchall()]
        cursor.execute(
            f"SELECT rt.id, c.result_at, s.id FROM {retest} rt "  # noqa: S608
            f"JOIN {sample} s ON s.resident_id = rt.resident_id AND s.sampled_at > rt.pool_sampled_at "
            "AND (s.id = rt.sample_id OR s.is_retest) "
            "JOIN lab_changed c ON c.id = s.tube_id AND c.result = %s AND c.pool_size = 1 "
            "WHERE rt.state IN (%s, %s)",
            [NEGATIVE, *_OPEN_RETESTS],
        )
        loaded.retests_negative = [tuple(row) for row in cursor.fetchall()]
        # The few people of the negative tubes whose stored status can change: driven from the
        # statuses with holds and the open retests (small), never from the tubes' ten million samples.
        cursor.execute(
            f"SELECT s.resident_id FROM {status} rs "  # noqa: S608
            f"JOIN {sample} s ON s.resident_id = rs.resident_id "
            "JOIN lab_changed c ON c.id = s.tube_id AND c.result = %s "
            "WHERE rs.holds <> '[]'::jsonb AND EXISTS (SELECT 1 FROM jsonb_array_elements(rs.holds) h "
            "WHERE h->>'until' IS NULL OR (h->>'until')::timestamptz > %s) "
            f"UNION SELECT rt.resident_id FROM {retest} rt "
            f"JOIN {sample} s ON s.resident_id = rt.resident_id "
            "JOIN lab_changed c ON c.id = s.tube_id AND c.result = %s "
            "WHERE rt.state IN (%s, %s)",
            [NEGATIVE, timezone.now(), NEGATIVE, *_OPEN_RETESTS],
        )
        loaded.recompute = {row[0] for row in cursor.fetchall()}
        cursor.execute(_DROP_TEMP)
        cursor.execute("SELECT set_config('work_mem', %s, true)", [work_mem])
    return loaded


# -- the follow-up (both paths) -------------------------------------------------------------------


def _place(building: str | None, unit: str | None) -> str:
    if building and unit:
        return _("%(b)s号楼%(u)s单元") % {"b": building, "u": unit}
    return _("%(b)s号楼") % {"b": building} if building else ""


def _places(labels: Iterable[str], *, most: int = 3) -> str:
    labels = sorted({label for label in labels if label})
    shown = "、".join(labels[:most])
    return shown + (_("等") if len(labels) > most else "")


def _follow_up(loaded: _Loaded, report: LabReport, errors: _Errors) -> None:
    """Retests, cases, alerts and status recomputes for what the rows changed."""
    recompute = set(loaded.recompute)
    households: set[int] = set()

    for retest_id, result_at, sample_id in loaded.retests_negative:
        Retest.objects.filter(pk=retest_id, state__in=_OPEN_RETESTS).update(
            state=Retest.State.NEGATIVE, closed_at=result_at, sample_id=sample_id
        )
    if loaded.retests_negative:
        for resident_id, household_id in Retest.objects.filter(
            pk__in=[r[0] for r in loaded.retests_negative]
        ).values_list("resident_id", "household_id"):
            recompute.add(resident_id)
            households.add(household_id)

    positive_ids = [p[0] for p in loaded.positives]
    tubes = Tube.objects.in_bulk(positive_ids)
    pooled = [pk for pk in positive_ids if tubes[pk].pool_size > 1]
    report.positive_tubes = len(positive_ids)
    if pooled:
        report.people_under_review = (
            Sample.objects.filter(tube_id__in=pooled).values("resident_id").distinct().count()
        )
    changed = {p[0]: p for p in loaded.positives if p[3]}
    if changed:
        samples = list(
            Sample.objects.filter(tube_id__in=list(changed))
            .order_by("tube_id", "id")
            .values_list(
                "pk",
                "tube_id",
                "resident_id",
                "resident__household_id",
                "compound_id",
                "sampled_at",
                "is_retest",
                "building__number",
                "unit__number",
                "resident__household__room",
            )
        )
        recompute.update(s[2] for s in samples)
        households.update(s[3] for s in samples)
        pool_samples = [s for s in samples if tubes[s[1]].pool_size > 1]
        single_samples = [s for s in samples if tubes[s[1]].pool_size == 1]
        _retests_open(pool_samples, tubes)
        _alerts_pool(pool_samples, tubes)
        _positive_singles(single_samples, tubes, changed, errors)

    if households:
        recompute.update(Resident.objects.filter(household_id__in=households).values_list("pk", flat=True))
    if recompute:
        status_recompute(recompute)


def _retests_open(samples: list[tuple], tubes: dict[int, Tube]) -> None:
    existing = set(
        Retest.objects.filter(pool_tube_id__in={s[1] for s in samples}).values_list(
            "pool_tube_id", "resident_id"
        )
    )
    Retest.objects.bulk_create(
        [
            Retest(
                round_id=tubes[tube_id].round_id,
                resident_id=resident_id,
                household_id=household_id,
                compound_id=compound_id,
                pool_tube_id=tube_id,
                pool_sampled_at=sampled_at,
            )
            for _pk, tube_id, resident_id, household_id, compound_id, sampled_at, *_rest in samples
            if (tube_id, resident_id) not in existing
        ],
        batch_size=ORM_CHUNK,
    )


def _alerts_pool(samples: list[tuple], tubes: dict[int, Tube]) -> None:
    """One alert per positive pooled tube and compound of the people in it."""
    groups: dict[tuple[int, int], list[tuple]] = defaultdict(list)
    for s in samples:
        groups[(s[1], s[4])].append(s)
    alerts = []
    for (tube_id, compound_id), members in groups.items():
        tube = tubes[tube_id]
        text = _("%(place)s 试管%(code)s 混采阳性，%(n)d人待复核") % {
            "place": _places(_place(s[7], s[8]) for s in members),
            "code": tube.code,
            "n": len({s[2] for s in members}),
        }
        alerts.append(
            Alert(
                compound_id=compound_id,
                round_id=tube.round_id,
                kind=Alert.Kind.POSITIVE_POOL,
                text=text.strip(),
            )
        )
    Alert.objects.bulk_create(alerts)


def _positive_singles(samples: list[tuple], tubes: dict[int, Tube], changed: dict, errors: _Errors) -> None:
    """A positive single tube: its retest turns positive, the person becomes a case, an alert."""
    if not samples:
        return
    resident_ids = {s[2] for s in samples}
    residents = Resident.objects.in_bulk(resident_ids)
    compounds = Compound.objects.in_bulk({r.compound_id for r in residents.values()})
    open_retests: dict[int, list[tuple]] = defaultdict(list)
    for retest_id, resident_id, sample_id, pool_sampled_at in Retest.objects.filter(
        resident_id__in=resident_ids, state__in=_OPEN_RETESTS
    ).values_list("pk", "resident_id", "sample_id", "pool_sampled_at"):
        open_retests[resident_id].append((retest_id, sample_id, pool_sampled_at))
    active = set(
        Case.objects.filter(resident_id__in=resident_ids, outcome=Case.Outcome.ACTIVE).values_list(
            "resident_id", flat=True
        )
    )
    system = system_user()
    alerts = []
    for (
        sample_id,
        tube_id,
        resident_id,
        _household,
        compound_id,
        sampled_at,
        is_retest,
        b,
        u,
        room,
    ) in samples:
        tube, result_at = tubes[tube_id], changed[tube_id][2]
        answered = [
            r[0]
            for r in open_retests.get(resident_id, ())
            if r[1] == sample_id or (is_retest and r[2] < sampled_at)
        ]
        if answered:
            Retest.objects.filter(pk__in=answered).update(
                state=Retest.State.POSITIVE, closed_at=result_at, sample_id=sample_id
            )
        resident = residents[resident_id]
        if resident_id in active:
            outcome = _("已在阳性病例名单中")
        else:
            try:
                case_register(
                    actor=system,
                    compound=compounds[resident.compound_id],
                    confirmed_on=timezone.localdate(result_at),
                    source=Case.Source.POOL_RETEST if (answered or is_retest) else Case.Source.SINGLE_TEST,
                    resident=resident,
                    sampled_at=sampled_at,
                    note=_("检测结果：试管%(code)s单管阳性") % {"code": tube.code},
                )
            except ValidationError as error:
                errors.add(changed[tube_id][1], RESULT, "case_refused", "；".join(error.messages))
                continue
            active.add(resident_id)
            outcome = _("已登记为阳性病例")
        place = _("%(place)s%(room)s室") % {"place": _place(b, u), "room": room} if room else _place(b, u)
        alerts.append(
            Alert(
                compound_id=compound_id,
                round_id=tube.round_id,
                kind=Alert.Kind.POSITIVE_SINGLE,
                text=(
                    _("%(place)s 试管%(code)s 单管阳性，%(outcome)s")
                    % {"place": place, "code": tube.code, "outcome": outcome}
                ).strip(),
            )
        )
    Alert.objects.bulk_create(alerts)


# -- the actions ----------------------------------------------------------------------------------


class _Refused(Exception):
    pass


def _apply(actor, rows, round_, errors: _Errors, *, method: str | None) -> tuple[_Loaded, LabReport]:
    """Check, and if nothing is wrong apply and follow up; with errors nothing is written (a
    follow-up refused late, such as a case the outbreak module will not register, rolls back)."""
    report = LabReport()
    use_sql = connection.vendor == "postgresql" and method != "orm"
    load = _load_postgres if use_sql else _load_orm
    cleaned = _Cleaned(rows, errors, timezone.now())
    loaded = _Loaded()
    try:
        with transaction.atomic():
            try:
                loaded = load(actor, cleaned, round_, errors)
            finally:
                _file_errors(rows, errors)
            if not errors:
                _follow_up(loaded, report, errors)
            if errors:
                raise _Refused
    except _Refused:
        report.positive_tubes = report.people_under_review = 0
    except ValidationError as error:  # written meanwhile by someone else: nothing applied
        errors.add(None, "", "conflict", "；".join(error.messages))
    except LabFileError as error:
        errors.add(None, "", "bad_file", str(error))
    report.rows = cleaned.seen + getattr(rows, "invalid_rows", 0)
    report.errors = errors.listed()
    report.applied = 0 if errors else report.rows
    return loaded, report


def _file_errors(rows, errors: _Errors) -> None:
    """A LabFile's unreadable rows, known once it has been read through."""
    found = getattr(rows, "errors", None)
    if found:
        errors.extend(found, rows.error_count)


@transaction.atomic
def lab_results_apply(
    *, actor, rows: Iterable[tuple], file_name: str, round: TestRound | None = None, method: str | None = None
) -> LabReport:
    """Apply a lab file's rows all-or-nothing (see the module's docstring); records a LabImport row
    and an audit row either way. `rows` is an iterable of (row_number, tube_code, result,
    result_at) tuples with result "negative" or "positive"; a LabFile also carries the rows it
    could not read. `actor` None is the system. `method="orm"` forces the portable path."""
    round_ = round
    actor = _acting(actor)
    if round_ is not None:
        _require_round(actor, round_)
    errors = _Errors()
    loaded, report = _apply(actor, rows, round_, errors, method=method)
    round_id = round_.pk if round_ is not None else None
    if round_id is None and len(loaded.round_ids) == 1:
        round_id = next(iter(loaded.round_ids))
    report.lab_import = LabImport.objects.create(
        round_id=round_id,
        file_name=(file_name or "")[:200],
        rows=report.rows,
        applied=report.applied,
        positive_tubes=report.positive_tubes,
        people_under_review=report.people_under_review,
        errors=report.errors,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    audit(
        actor=actor,
        action="lab_import",
        obj=report.lab_import,
        detail={k: v for k, v in report.to_dict().items() if k != "errors"} | {"errors": len(report.errors)},
    )
    return report


def lab_file_apply(
    *, actor, file_name: str, content: bytes, round: TestRound | None = None, method: str | None = None
) -> LabReport:
    """Read a .csv/.xlsx lab file and apply it; a file that cannot be read at all is reported (and
    recorded) like any refused file, with one error."""
    try:
        rows = LabFile(file_name, content)
    except LabFileError as error:
        rows = _Unreadable(str(error))
    return lab_results_apply(actor=actor, rows=rows, file_name=file_name, round=round, method=method)


class _Unreadable:
    """A file that could not be opened: no rows, one error."""

    rows = invalid_rows = 0
    error_count = 1

    def __init__(self, message: str):
        self.errors = [row_error(None, "", "bad_file", message)]

    def __iter__(self):
        return iter(())


@transaction.atomic
def tube_result_set(
    *, actor, tube: Tube, result: str, result_at: datetime.datetime | None = None
) -> LabReport:
    """A result entered by hand for one tube (a single-tube retest phoned through by the lab): the
    same checks and effects as a file. Raises ValidationError with the reasons when refused."""
    actor = _acting(actor)
    compounds = _scoped_compounds(actor)
    if compounds is not None and not compounds.filter(pk=tube.compound_id).exists():
        raise PermissionDenied(_("无权录入该试管的结果"))
    if result not in (NEGATIVE, POSITIVE):
        raise ValidationError({"result": _("检测结果须为阴性或阳性")})
    if result_at is None:
        result_at = timezone.now()
    elif timezone.is_naive(result_at):
        raise ValidationError({"result_at": _("检测时间须带时区")})
    errors = _Errors()
    _loaded, report = _apply(actor, [(1, tube.code, result, result_at)], None, errors, method="orm")
    if report.errors:
        raise ValidationError([e["message"] for e in report.errors])
    audit(
        actor=actor,
        action="tube_result",
        obj=tube,
        detail={"result": result, "result_at": result_at.isoformat(), "positive": report.positive_tubes},
    )
    tube.refresh_from_db(fields=["result", "result_at"])
    return report


@transaction.atomic
def alert_acknowledge(*, actor, alert: Alert) -> Alert:
    """Someone of the compound's team has seen the alert and is acting on it."""
    if not getattr(actor, "sees_health_data", False):
        raise PermissionDenied(_("当前角色不能处理提醒"))
    if not Compound.objects.filter(scope_q(actor, "compound"), pk=alert.compound_id).exists():
        raise PermissionDenied(_("无权处理该提醒"))
    alert = Alert.objects.select_for_update().get(pk=alert.pk)
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by = timezone.now(), actor
        alert.save(update_fields=["acknowledged_at", "acknowledged_by"])
        audit(actor=actor, action="acknowledge", obj=alert)
    return alert
