"""Writes of residents' status facts: test facts (one or a round's many) and yellow flags. Each
write recomputes the stored status of the residents it concerns."""

import datetime
import json

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.outbreak.models import ResidentStatus, StatusFlag, TestFact
from tongxin.outbreak.status import status_recompute
from tongxin.registry.models import Resident


def _check_health_writer(actor, resident: Resident) -> None:
    """The system (actor None) or a health role who sees the resident; nothing is written otherwise."""
    if actor is None:
        return
    if not getattr(actor, "sees_health_data", False):
        raise PermissionDenied(_("当前角色不能记录健康信息"))
    if not Resident.objects.filter(scope_q(actor, "resident"), pk=resident.pk).exists():
        raise PermissionDenied(_("无权操作该居民"))


def _check_moment(moment, *, label: str) -> None:
    if moment is None or timezone.is_naive(moment):
        raise ValidationError(_("%(label)s须为带时区的时间") % {"label": label})
    if moment > timezone.now():
        raise ValidationError(_("%(label)s不能晚于现在") % {"label": label})


def _check_result(fact_sampled_at, result: str, result_at) -> None:
    if result not in TestFact.Result.values:
        raise ValidationError(_("未知的检测结果：%(r)s") % {"r": result})
    if result_at is not None:
        _check_moment(result_at, label=_("出结果时间"))
        if result_at < fact_sampled_at:
            raise ValidationError(_("出结果时间不能早于采样时间"))
    if result == TestFact.Result.PENDING and result_at is not None:
        raise ValidationError(_("待出结果的检测不能有出结果时间"))


@transaction.atomic
def test_fact_record(
    *,
    actor,
    resident: Resident,
    sampled_at: datetime.datetime,
    method: str,
    result: str = TestFact.Result.PENDING,
    result_at: datetime.datetime | None = None,
    source: str = "",
) -> TestFact:
    """Record a sample (pending) or a result for a resident: mass testing calls this as the system."""
    _check_health_writer(actor, resident)
    if method not in TestFact.Method.values:
        raise ValidationError(_("未知的检测方式：%(m)s") % {"m": method})
    _check_moment(sampled_at, label=_("采样时间"))
    if sampled_at < resident.created_at:
        raise ValidationError(_("采样时间不能早于该居民登记的时间"))
    _check_result(sampled_at, result, result_at)
    fact = TestFact.objects.create(
        resident=resident,
        compound_id=resident.compound_id,
        sampled_at=sampled_at,
        method=method,
        result=result,
        result_at=result_at,
        source=(source or "")[:40],
        recorded_by=actor,
    )
    audit(actor=actor, action="create", obj=fact, detail={"resident": resident.pk, "result": result})
    status_recompute([resident.pk])
    return fact


@transaction.atomic
def test_fact_set_result(*, actor, fact: TestFact, result: str, result_at: datetime.datetime) -> TestFact:
    _check_health_writer(actor, fact.resident)
    if result == TestFact.Result.PENDING:
        raise ValidationError(_("请填写检测结果"))
    _check_result(fact.sampled_at, result, result_at)
    fact.result, fact.result_at = result, result_at
    fact.save(update_fields=["result", "result_at"])
    audit(actor=actor, action="update", obj=fact, fields="result", detail={"result": result})
    status_recompute([fact.resident_id])
    return fact


@transaction.atomic
def flag_set(
    *, actor, resident: Resident, kind: str, reason: str, starts_at: datetime.datetime | None = None
) -> StatusFlag:
    """A yellow flag (time-space overlap, missed test, arrival, other) from a person or a rule."""
    _check_health_writer(actor, resident)
    if kind not in StatusFlag.Kind.values:
        raise ValidationError(_("未知的标记类别：%(k)s") % {"k": kind})
    starts_at = starts_at or timezone.now()
    _check_moment(starts_at, label=_("开始时间"))
    flag = StatusFlag.objects.create(
        resident=resident,
        compound_id=resident.compound_id,
        kind=kind,
        reason=(reason or "").strip()[:200],
        starts_at=starts_at,
        created_by=actor,
    )
    audit(actor=actor, action="create", obj=flag, reason=flag.reason, detail={"resident": resident.pk})
    status_recompute([resident.pk])
    return flag


@transaction.atomic
def flag_clear(*, actor, flag: StatusFlag, reason: str) -> StatusFlag:
    """A person lifts a yellow flag before its negatives clear it; the reason is kept in the audit."""
    _check_health_writer(actor, flag.resident)
    reason = (reason or "").strip()
    if len(reason) < 2:
        raise ValidationError(_("请填写解除原因"))
    flag = StatusFlag.objects.select_for_update().get(pk=flag.pk)
    if flag.cleared_at is not None:
        raise ValidationError(_("该标记已解除"))
    flag.cleared_at, flag.cleared_by = timezone.now(), actor
    flag.save(update_fields=["cleared_at", "cleared_by"])
    audit(actor=actor, action="update", obj=flag, fields="cleared_at", reason=reason)
    status_recompute([flag.resident_id])
    return flag


@transaction.atomic
def test_facts_record_many(
    *,
    actor,
    residents,
    sampled_at: datetime.datetime,
    method: str,
    result: str = TestFact.Result.PENDING,
    result_at: datetime.datetime | None = None,
    source: str = "",
) -> int:
    """One round's samples for many residents at once: one bulk insert, one audit row, one status
    recompute, whatever the number of residents."""
    residents = list(residents)
    if method not in TestFact.Method.values:
        raise ValidationError(_("未知的检测方式：%(m)s") % {"m": method})
    _check_moment(sampled_at, label=_("采样时间"))
    _check_result(sampled_at, result, result_at)
    if actor is not None:
        if not getattr(actor, "sees_health_data", False):
            raise PermissionDenied(_("当前角色不能记录健康信息"))
        ids = {r.pk for r in residents}
        if Resident.objects.filter(scope_q(actor, "resident"), pk__in=ids).count() != len(ids):
            raise PermissionDenied(_("无权操作该居民"))
    early = [r.name for r in residents if sampled_at < r.created_at]
    if early:
        raise ValidationError(
            _("采样时间不能早于该居民登记的时间：%(names)s") % {"names": "、".join(early[:5])}
        )
    TestFact.objects.bulk_create(
        [
            TestFact(
                resident=r,
                compound_id=r.compound_id,
                sampled_at=sampled_at,
                method=method,
                result=result,
                result_at=result_at,
                source=(source or "")[:40],
                recorded_by=actor,
            )
            for r in residents
        ],
        batch_size=1000,
    )
    audit(
        actor=actor,
        action="create",
        object_type="outbreak.testfact",
        label=f"{len(residents)} samples",
        detail={"count": len(residents), "sampled_at": sampled_at.isoformat(), "result": result},
    )
    status_recompute([r.pk for r in residents])
    return len(residents)


def statuses_sampled(pairs: list[tuple[int, datetime.datetime]]) -> int:
    """Move the stored last sampling time of these residents forward, for a batch of pending
    samples another module stored (a sampling table's sync).

    A pending sample changes nothing in a status but the sampling time the overdue flag is read
    from, so this is one set-based UPDATE instead of a recompute; residents without a stored row
    get theirs computed on their first read. Returns the number of rows moved."""
    latest: dict[int, datetime.datetime] = {}
    for resident_id, sampled_at in pairs:
        if resident_id not in latest or sampled_at > latest[resident_id]:
            latest[resident_id] = sampled_at
    if not latest:
        return 0
    table = ResidentStatus._meta.db_table
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # One JSON text rather than two arrays: psycopg quotes array values one by one.
            cursor.execute(
                f"UPDATE {table} AS s SET last_sampled_at = v.at "  # noqa: S608
                "FROM json_to_recordset(%s::json) AS v(id bigint, at timestamptz) "
                "WHERE s.resident_id = v.id AND (s.last_sampled_at IS NULL OR s.last_sampled_at < v.at)",
                [json.dumps([{"id": pk, "at": at.isoformat()} for pk, at in latest.items()])],
            )
            return cursor.rowcount
        moved = 0
        items = list(latest.items())
        for start in range(0, len(items), 5000):  # 2 parameters a row, within SQLite's limit
            chunk = items[start : start + 5000]
            values = ", ".join(["(%s, %s)"] * len(chunk))
            params = []
            for resident_id, moment in chunk:
                params += [resident_id, connection.ops.adapt_datetimefield_value(moment)]
            cursor.execute(
                f"WITH v(id, at) AS (VALUES {values}) "  # noqa: S608
                f"UPDATE {table} SET last_sampled_at = v.at FROM v "
                f"WHERE {table}.resident_id = v.id "
                f"AND ({table}.last_sampled_at IS NULL OR {table}.last_sampled_at < v.at)",
                params,
            )
            moved += cursor.rowcount
        return moved
