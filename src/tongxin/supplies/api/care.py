"""Care visits as JSON (mounted at /api/v1/supplies/care/): the same selectors and action as the
pages, for the compound's team and officials (volunteers and residents 403, another compound 404).

`GET care/?compound=&group=&building=&offset=&limit=`: the vulnerable list, each resident with the
last visit and the next one due (null: never visited). `GET care/overdue?compound=`: those never
visited or past their next visit, the longest overdue first. `POST care/visits`: log a visit.
Phones are masked; tags are the registry's labels.
"""

import datetime

from django.utils import timezone
from ninja import Field, Query, Router, Schema

from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions.care import care_visit_log
from tongxin.supplies.selectors.care import VISIT_GROUPS, care_overdue, care_resident_get, care_residents

router = Router()

MAX_PAGE = 100
MAX_OFFSET = 10_000_000


class CareResidentOut(Schema):
    id: int
    name: str
    building: str
    unit: str
    room: str
    phone: str = Field(..., description="masked")
    age: int | None
    tags: list[str]
    last_visited_at: datetime.datetime | None
    last_visited_by: str | None
    last_brought: str | None
    next_due: datetime.date | None
    overdue: bool


class CarePage(Schema):
    items: list[CareResidentOut]
    count: int
    next_offset: int | None


class CareVisitIn(Schema):
    resident: int
    visited_at: datetime.datetime | None = Field(None, description="now if left out")
    brought: str = Field("", max_length=200, description="what was brought: 大米、面粉、食用油")
    notes: str = Field("", max_length=1000)
    next_due: datetime.date | None = Field(
        None, description="the visit's day + the compound's interval if left out"
    )


class VisitOut(Schema):
    id: int
    resident: int
    visited_at: datetime.datetime
    visited_by: str
    brought: str
    notes: str
    next_due: datetime.date


def _out(person, today: datetime.date) -> dict:
    household = person.household
    return {
        "id": person.pk,
        "name": person.name,
        "building": household.unit.building.number,
        "unit": household.unit.number,
        "room": household.room,
        "phone": person.phone_masked,
        "age": person.age(today),
        "tags": person.tags(),
        "last_visited_at": person.last_visited_at,
        "last_visited_by": person.last_visited_by,
        "last_brought": person.last_brought,
        "next_due": person.next_due,
        "overdue": person.last_visited_at is None or person.next_due < today,
    }


def _page(request, select, compound: int, group: str, building: int | None, offset: int, limit: int):
    place = registry_selectors.compound_get(request.user, compound)
    today = timezone.localdate()
    group = group if group in VISIT_GROUPS else ""
    rows = select(request.user, place, group, building_id=building)
    found = list(rows[offset : offset + limit + 1])
    items = found[:limit]
    return {
        "items": [_out(person, today) for person in items],
        "count": rows.count(),
        "next_offset": offset + limit if len(found) > limit else None,
    }


@router.get("", response=CarePage, url_name="supplies_care")
def care_list(
    request,
    compound: int,
    group: str = "",
    building: int | None = None,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    """The vulnerable residents (of one group, or of all visited groups) in building, unit and room
    order, with the last visit and the next one due."""
    return _page(request, care_residents, compound, group, building, offset, limit)


@router.get("/overdue", response=CarePage, url_name="supplies_care_overdue")
def overdue_list(
    request,
    compound: int,
    group: str = "",
    building: int | None = None,
    offset: int = Query(0, ge=0, le=MAX_OFFSET),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    """Never visited or past the next visit's day, the longest overdue first (a grid worker: his
    buildings)."""
    return _page(request, care_overdue, compound, group, building, offset, limit)


@router.post("/visits", response={201: VisitOut}, url_name="supplies_care_visits")
def visit_log(request, payload: CareVisitIn):
    """Log a visit: 404 for a resident outside the caller's scope, 400 with the reason for a bad
    date, a resident who moved out or the same visit sent twice. A time without an offset is
    read as local time (Asia/Shanghai)."""
    resident = care_resident_get(request.user, payload.resident)
    visited_at = payload.visited_at
    if visited_at is not None and timezone.is_naive(visited_at):
        visited_at = timezone.make_aware(visited_at)  # as read on a wall clock here
    visit = care_visit_log(
        actor=request.user,
        resident=resident,
        visited_at=visited_at,
        brought=payload.brought,
        notes=payload.notes,
        next_due=payload.next_due,
    )
    return 201, {
        "id": visit.pk,
        "resident": resident.pk,
        "visited_at": visit.visited_at,
        "visited_by": str(request.user),
        "brought": visit.brought,
        "notes": visit.notes,
        "next_due": visit.next_due,
    }
