"""JSON API of mass testing: lab results and retests (health roles only; another area's round
answers 404, other roles 403).

- `POST /rounds/{round_id}/lab-results` (multipart, field `file`): applies a lab file all-or-nothing
  and answers the report `{"rows", "applied", "positive_tubes", "people_under_review", "errors":
  [{"row", "column", "code", "message"}]}`: 200 when applied, 400 with the same body when refused.
- `GET /rounds/{round_id}/retests`: the round's people under review (retests), by compound and home.
"""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _
from ninja import File, Query, Router, Schema
from ninja.files import UploadedFile

from tongxin.testing.actions.lab import lab_file_apply
from tongxin.testing.selectors import lab as selectors

router = Router(tags=["testing"])
MAX_PAGE = 500


class LabRowErrorOut(Schema):
    row: int | None
    column: str
    code: str
    message: str


class LabReportOut(Schema):
    rows: int
    applied: int
    positive_tubes: int
    people_under_review: int
    errors: list[LabRowErrorOut]


class RetestOut(Schema):
    id: int
    resident_id: int
    name: str
    household_id: int
    home: str
    compound_id: int
    state: str
    pool_tube: str
    pool_sampled_at: datetime.datetime
    retest_tube: str | None
    retest_sampled_at: datetime.datetime | None
    closed_at: datetime.datetime | None


class RetestPage(Schema):
    items: list[RetestOut]
    total: int
    next_offset: int | None


class RetestFilter(Schema):
    compound: int | None = None
    state: str = ""
    offset: int = 0
    limit: int = 100


def _round(request, round_id: int):
    if not request.user.sees_health_data:
        raise PermissionDenied(_("当前角色不能查看检测结果"))
    return selectors.round_for_results(request.user, round_id)


@router.post("/rounds/{round_id}/lab-results", response={200: LabReportOut, 400: LabReportOut})
def lab_results(request, round_id: int, file: UploadedFile = File(...)):  # noqa: B008 - ninja's idiom
    """Apply a lab result file (.csv or .xlsx) to the round's tubes: all rows or none."""
    round_ = _round(request, round_id)
    if file.size > settings.TONGXIN_LAB_MAX_BYTES:
        raise ValidationError(_("文件太大：最大%(max)d字节") % {"max": settings.TONGXIN_LAB_MAX_BYTES})
    report = lab_file_apply(actor=request.user, file_name=file.name or "", content=file.read(), round=round_)
    return (400 if report.errors else 200), report.to_dict()


@router.get("/rounds/{round_id}/retests", response=RetestPage)
def retests(request, round_id: int, filters: Query[RetestFilter]):
    """The round's people under review, with their home, state and tubes."""
    round_ = _round(request, round_id)
    limit = max(1, min(filters.limit, MAX_PAGE))
    offset = min(max(0, filters.offset), 2**31)
    qs = selectors.retests_of_round(request.user, round_, compound_id=filters.compound, state=filters.state)
    total = qs.count()
    items = [
        {
            "id": r.pk,
            "resident_id": r.resident_id,
            "name": r.resident.name,
            "household_id": r.household_id,
            "home": str(r.household),
            "compound_id": r.compound_id,
            "state": r.state,
            "pool_tube": r.pool_tube.code,
            "pool_sampled_at": r.pool_sampled_at,
            "retest_tube": r.sample.tube.code if r.sample else None,
            "retest_sampled_at": r.sample.sampled_at if r.sample else None,
            "closed_at": r.closed_at,
        }
        for r in qs[offset : offset + limit]
    ]
    return {"items": items, "total": total, "next_offset": offset + limit if offset + limit < total else None}
