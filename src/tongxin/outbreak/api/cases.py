"""JSON endpoints of cases, contacts, transfers, isolations, check-ins, the follow-up list and the
transmission graph: the same selectors and actions as the pages. Health roles only; another
compound's records answer 404; a stale `version` answers 409 (config/api.py maps `StaleEdit`)."""

import datetime

from django.http import Http404
from django.utils.translation import gettext
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime

from tongxin.outbreak import selectors

router = Router()

# Times in request bodies carry their zone ("2022-11-14T10:00:00+08:00"): a time without one is
# refused with 422 rather than guessed, and the actions never compare a naive time with now().


MAX_PAGE = 100


class ErrorOut(Schema):
    detail: str


class PersonIn(Schema):
    """A registered resident (`resident`), or a person by name with an optional phone and home."""

    resident: int | None = None
    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=20)
    household: int | None = None


class CaseIn(PersonIn):
    compound: int
    confirmed_on: datetime.date
    source: str = Field(..., description="pool_retest, single_test, antigen or external")
    sampled_at: AwareDatetime | None = None
    note: str = Field("", max_length=500)


class CasePatch(Schema):
    version: int = Field(..., description="the version read; a different stored version answers 409")
    confirmed_on: datetime.date | None = None
    sampled_at: AwareDatetime | None = None
    source: str | None = None
    note: str | None = Field(None, max_length=500)
    name: str | None = Field(None, max_length=50)
    phone: str | None = Field(None, max_length=20)


class CaseOut(Schema):
    id: int
    compound_id: int
    resident_id: int | None
    name: str
    phone_masked: str
    building_id: int | None
    unit_id: int | None
    household_id: int | None
    confirmed_on: datetime.date
    sampled_at: datetime.datetime | None
    source: str
    taken_to: str
    taken_to_place: str
    taken_at: datetime.datetime | None
    outcome: str
    outcome_on: datetime.date | None
    note: str
    version: int


class CasePage(Schema):
    items: list[CaseOut]
    next_offset: int | None


class ContactIn(PersonIn):
    cases: list[int] = Field(..., min_length=1)
    identified_on: datetime.date
    kind: str = "close"
    last_exposure_on: datetime.date | None = None
    note: str = Field("", max_length=500)


class ContactOut(Schema):
    id: int
    compound_id: int
    resident_id: int | None
    name: str
    phone_masked: str
    building_id: int | None
    unit_id: int | None
    household_id: int | None
    kind: str
    cases: list[int]
    identified_on: datetime.date
    last_exposure_on: datetime.date | None
    became_case_id: int | None
    note: str
    version: int


class ContactPage(Schema):
    items: list[ContactOut]
    next_offset: int | None


class TransferIn(Schema):
    compound: int
    vehicle: str = Field(..., max_length=50)
    departed_at: AwareDatetime
    destination: str = Field(..., max_length=100)
    escort: str = Field("", max_length=100)
    contacts: list[int] = Field(..., min_length=1)


class IsolationOut(Schema):
    id: int
    compound_id: int
    resident_id: int | None
    contact_id: int | None
    name: str
    kind: str
    rule: str
    batch_id: int | None
    starts_on: datetime.date
    planned_end_on: datetime.date
    test_days: list[int]
    released_on: datetime.date | None
    release_reason: str
    version: int


class TransferOut(Schema):
    id: int
    compound_id: int
    vehicle: str
    departed_at: datetime.datetime
    destination: str
    escort: str
    isolations: list[IsolationOut]


class ReleaseIn(Schema):
    version: int
    released_on: datetime.date
    reason: str = Field("", max_length=200)


class CheckinIn(Schema):
    isolation: int | None = None
    resident: int | None = None
    temperature: str = Field(..., max_length=8, description="°C, 34.0 to 43.0")
    symptoms: list[str] = Field(default_factory=list, max_length=20)
    symptoms_text: str = Field("", max_length=100)


class CheckinOut(Schema):
    id: int
    isolation_id: int | None
    resident_id: int | None
    at: datetime.datetime
    temperature: str
    symptoms: str
    by: str


class FollowUpOut(Schema):
    isolation: IsolationOut
    day: int
    rule: str
    test_due: bool
    sampled_today: bool
    checked_in_today: bool
    must_test: bool
    must_check_in: bool
    overdue_days: list[int]
    lost: bool
    last_seen: datetime.date | None


class FollowUpListOut(Schema):
    compound_id: int
    date: datetime.date
    lost_after_days: int
    rows: list[FollowUpOut]
    test: list[int] = Field(..., description="isolation ids to test today")
    checkin: list[int]
    overdue: list[int]
    lost: list[int]


class GraphNodeOut(Schema):
    id: str
    name: str
    category: str = Field(..., description="case, contact or became_case")
    date: datetime.date
    record: int


class GraphEdgeOut(Schema):
    source: str
    target: str
    kind: str = Field(..., description="exposure (contact → case) or became_case (contact → their case)")


class GraphOut(Schema):
    compound: int
    nodes: list[GraphNodeOut]
    edges: list[GraphEdgeOut]


def _health_compound(request, compound_id: int):
    from django.core.exceptions import PermissionDenied

    from tongxin.registry import selectors as registry_selectors

    if not request.user.sees_health_data:
        raise PermissionDenied(gettext("当前角色不能查看病例和密接信息"))
    return registry_selectors.compound_get(request.user, compound_id)


def _person(request, payload: PersonIn, compound) -> dict:
    from tongxin.registry import selectors as registry_selectors

    if payload.resident is not None:
        resident = registry_selectors.residents_visible(request.user).filter(pk=payload.resident).first()
        if resident is None:
            raise Http404
        return {"resident": resident}
    household = None
    if payload.household is not None:
        household = (
            registry_selectors.households_visible(request.user)
            .filter(pk=payload.household, compound=compound)
            .select_related("unit__building")
            .first()
        )
        if household is None:
            raise Http404
    return {"name": payload.name, "phone": payload.phone, "household": household}


def _contact_out(contact) -> dict:
    return {
        **{field: getattr(contact, field) for field in ContactOut.model_fields if field != "cases"},
        "cases": sorted(c.pk for c in contact.cases.all()),
    }


def _page(rows: list, offset: int, limit: int) -> tuple[list, int | None]:
    return rows[:limit], (offset + limit if len(rows) > limit else None)


@router.get("/cases", response=CasePage, summary="A compound's cases (health roles)")
def case_list(
    request,
    compound: int,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    scope = _health_compound(request, compound)
    rows = list(selectors.cases_visible(request.user).filter(compound=scope)[offset : offset + limit + 1])
    items, next_offset = _page(rows, offset, limit)
    return {"items": items, "next_offset": next_offset}


@router.get("/cases/{int:case_id}", response=CaseOut, summary="One case (each view is audited)")
def case_detail(request, case_id: int):
    from tongxin.core.audit import client_ip

    return selectors.case_get(request.user, case_id, ip=client_ip(request))


@router.post("/cases", response={201: CaseOut}, summary="Register a positive case")
def case_create(request, payload: CaseIn):
    from tongxin.outbreak import actions

    compound = _health_compound(request, payload.compound)
    case = actions.case_register(
        actor=request.user,
        compound=compound,
        confirmed_on=payload.confirmed_on,
        source=payload.source,
        sampled_at=payload.sampled_at,
        note=payload.note,
        **_person(request, payload, compound),
    )
    return 201, case


@router.patch("/cases/{int:case_id}", response={200: CaseOut, 409: ErrorOut}, summary="Edit a case (version)")
def case_patch(request, case_id: int, payload: CasePatch):
    from tongxin.core.audit import client_ip
    from tongxin.outbreak import actions

    case = selectors.case_get(request.user, case_id, ip=client_ip(request))
    changes = payload.dict(exclude_unset=True)
    version = changes.pop("version")
    return actions.case_update(actor=request.user, case=case, version=version, **changes)


@router.get("/contacts", response=ContactPage, summary="A compound's close contacts (health roles)")
def contact_list(
    request,
    compound: int,
    offset: int = Query(0, ge=0, le=10_000_000),
    limit: int = Query(50, ge=1, le=MAX_PAGE),
):
    scope = _health_compound(request, compound)
    rows = list(
        selectors.contacts_visible(request.user)
        .filter(compound=scope)
        .prefetch_related(selectors.contact_cases_prefetch(request.user))[offset : offset + limit + 1]
    )
    items, next_offset = _page(rows, offset, limit)
    return {"items": [_contact_out(c) for c in items], "next_offset": next_offset}


@router.get("/contacts/{int:contact_id}", response=ContactOut, summary="One contact (each view is audited)")
def contact_detail(request, contact_id: int):
    from tongxin.core.audit import client_ip

    return _contact_out(selectors.contact_get(request.user, contact_id, ip=client_ip(request)))


@router.post("/contacts", response={201: ContactOut}, summary="Register a close contact of one or more cases")
def contact_create(request, payload: ContactIn):
    from tongxin.outbreak import actions

    cases = list(
        selectors.cases_visible(request.user).filter(pk__in=payload.cases).select_related("compound")
    )
    if len(cases) != len(set(payload.cases)):
        raise Http404
    contact = actions.contact_register(
        actor=request.user,
        cases=cases,
        identified_on=payload.identified_on,
        kind=payload.kind,
        last_exposure_on=payload.last_exposure_on,
        note=payload.note,
        **_person(request, payload, cases[0].compound),
    )
    return 201, _contact_out(contact)


@router.post(
    "/transfer-batches", response={201: TransferOut}, summary="Transfer contacts to central isolation"
)
def transfer_create(request, payload: TransferIn):
    from tongxin.outbreak import actions

    compound = _health_compound(request, payload.compound)
    contacts = list(
        selectors.contacts_visible(request.user).filter(pk__in=payload.contacts, compound=compound)
    )
    if len(contacts) != len(set(payload.contacts)):
        raise Http404
    batch = actions.transfer_batch_create(
        actor=request.user,
        compound=compound,
        vehicle=payload.vehicle,
        departed_at=payload.departed_at,
        destination=payload.destination,
        escort=payload.escort,
        contacts=contacts,
    )
    return 201, {
        **{
            f: getattr(batch, f)
            for f in ("id", "compound_id", "vehicle", "departed_at", "destination", "escort")
        },
        "isolations": list(
            selectors.isolations_visible(request.user)
            .filter(contact__in=contacts)
            .order_by("contact_id", "starts_on")
        ),
    }


@router.post(
    "/isolations/{int:isolation_id}/release",
    response={200: IsolationOut, 409: ErrorOut},
    summary="Release (early or late needs a reason)",
)
def isolation_release(request, isolation_id: int, payload: ReleaseIn):
    from tongxin.outbreak import actions

    isolation = selectors.isolation_get(request.user, isolation_id)
    return actions.isolation_release(
        actor=request.user,
        isolation=isolation,
        version=payload.version,
        released_on=payload.released_on,
        reason=payload.reason,
    )


@router.post(
    "/checkins",
    response={201: CheckinOut},
    summary="A health check-in (staff, or a resident for their household)",
)
def checkin_create(request, payload: CheckinIn):
    from tongxin.accounts.models import Role
    from tongxin.outbreak import actions
    from tongxin.registry import selectors as registry_selectors

    isolation = resident = None
    if payload.isolation is not None:
        if request.user.role == Role.RESIDENT:
            isolation = selectors.own_isolations(request.user).filter(pk=payload.isolation).first()
            if isolation is None:
                raise Http404
        else:
            isolation = selectors.isolation_get(request.user, payload.isolation)
    if payload.resident is not None:
        resident = registry_selectors.residents_visible(request.user).filter(pk=payload.resident).first()
        if resident is None:
            raise Http404
    checkin = actions.checkin_record(
        actor=request.user,
        isolation=isolation,
        resident=resident,
        temperature=payload.temperature,
        symptoms=payload.symptoms,
        symptoms_text=payload.symptoms_text,
    )
    return 201, {
        "id": checkin.pk,
        "isolation_id": checkin.isolation_id,
        "resident_id": checkin.resident_id,
        "at": checkin.at,
        "temperature": str(checkin.temperature),
        "symptoms": checkin.symptoms,
        "by": checkin.by,
    }


@router.get(
    "/compounds/{int:compound_id}/follow-up", response=FollowUpListOut, summary="The day's follow-up list"
)
def followup_list(request, compound_id: int, date: datetime.date | None = None):
    compound = _health_compound(request, compound_id)
    data = selectors.followup_list(request.user, compound, date)
    rows = [
        {
            **{f: getattr(row, f) for f in FollowUpOut.model_fields},
            "isolation": row.isolation,
        }
        for row in data["rows"]
    ]
    return {
        "compound_id": compound.pk,
        "date": data["on"],
        "lost_after_days": data["rules"].lost_after_days,
        "rows": rows,
        **{key: [r.isolation.pk for r in data[key]] for key in ("test", "checkin", "overdue", "lost")},
    }


@router.get(
    "/compounds/{int:compound_id}/graph", response=GraphOut, summary="Transmission graph: nodes and edges"
)
def transmission_graph(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    return selectors.transmission_graph(request.user, compound)
