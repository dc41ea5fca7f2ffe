"""JSON API of mass testing: coverage (应检尽检), the missed list and exemptions.

The same selectors and actions as the pages, the same rules: results and people tested elsewhere for
the health roles only (null for others), phones on the missed list in full for the roles that may
see them (each read audited), none for volunteers; residents get 404.
"""

from django.http import Http404
from ninja import Field, Router, Schema

from tongxin.core.audit import client_ip
from tongxin.registry.selectors import resident_get
from tongxin.testing.actions.coverage import exemption_clear, exemption_set
from tongxin.testing.models import Exemption
from tongxin.testing.selectors import coverage as selectors

router = Router(tags=["testing"])


class TallyOut(Schema):
    expected: int = Field(..., description="sampled + missed")
    sampled: int
    missed: int
    exempted: int
    percent: int | None = Field(
        None, description="sampled / expected, rounded down; null if nobody is expected"
    )
    awaiting: int | None = Field(None, description="health roles only")
    negative: int | None = None
    under_review: int | None = Field(None, description="positive pool, retest not back negative")
    positive: int | None = None
    elsewhere: int | None = Field(None, description="tested in central isolation or hospital")
    exempted_by_reason: dict[str, int] | None = None


class CompoundRowOut(TallyOut):
    id: int
    code: str
    name: str


class RoundCoverageOut(Schema):
    round: int
    day: str
    state: str
    total: TallyOut
    compounds: list[CompoundRowOut]


class UnitRowOut(TallyOut):
    id: int
    number: str


class BuildingRowOut(TallyOut):
    id: int
    number: str
    units: list[UnitRowOut]


class CompoundCoverageOut(Schema):
    round: int
    compound: int
    name: str
    total: TallyOut
    buildings: list[BuildingRowOut]


class MissedOut(Schema):
    resident: int
    name: str
    building: str
    unit: str
    room: str
    phone: str | None = Field(None, description="full for roles that see full numbers, null for volunteers")
    tags: list[str]


class MissedPageOut(Schema):
    count: int
    page: int
    pages: int
    people: list[MissedOut]


class ExemptionIn(Schema):
    reason: str = Field(..., description="away, moved_out, hospital, elsewhere or other")
    note: str = Field("", max_length=200)


class ExemptionOut(Schema):
    resident: int
    reason: str
    reason_label: str
    note: str


class ClearedOut(Schema):
    cleared: bool


def _round(request, round_id: int):
    if not selectors.sees_coverage(request.user):
        raise Http404
    return selectors.round_get(request.user, round_id)


def _tally(request, tally) -> dict:
    return tally.as_dict(health=bool(request.user.sees_health_data))


@router.get(
    "/rounds/{int:round_id}/coverage", response=RoundCoverageOut, summary="A round's coverage by compound"
)
def round_coverage(request, round_id: int):
    round_ = _round(request, round_id)
    report = selectors.round_coverage(request.user, round_)
    return {
        "round": round_.pk,
        "day": round_.day.isoformat(),
        "state": round_.state,
        "total": _tally(request, report.total),
        "compounds": [
            {"id": row.place.pk, "code": row.place.code, "name": row.place.name, **_tally(request, row.tally)}
            for row in report.compounds
        ],
    }


@router.get(
    "/rounds/{int:round_id}/coverage/compounds/{int:compound_id}",
    response=CompoundCoverageOut,
    summary="One compound's coverage by building and unit",
)
def compound_coverage(request, round_id: int, compound_id: int):
    round_ = _round(request, round_id)
    report = selectors.compound_coverage(request.user, round_, compound_id)
    return {
        "round": round_.pk,
        "compound": report.compound.pk,
        "name": report.compound.name,
        "total": _tally(request, report.total),
        "buildings": [
            {
                "id": entry.place.pk,
                "number": entry.place.number,
                **_tally(request, entry.tally),
                "units": [
                    {"id": unit.place.pk, "number": unit.place.number, **_tally(request, unit.tally)}
                    for unit in entry.children
                ],
            }
            for entry in report.buildings
        ],
    }


@router.get(
    "/rounds/{int:round_id}/coverage/compounds/{int:compound_id}/missed",
    response=MissedPageOut,
    summary="The missed list, a page at a time (full phones audited)",
)
def missed(
    request,
    round_id: int,
    compound_id: int,
    building: int | None = None,
    unit: int | None = None,
    page: int = 1,
):
    round_ = _round(request, round_id)
    shown, rows = selectors.missed_page(
        request.user,
        round_,
        compound_id,
        page=page,
        building_id=building,
        unit_id=unit,
        ip=client_ip(request),
    )
    with_phones = selectors.phone_mode(request.user) != "none"
    return {
        "count": shown.paginator.count,
        "page": shown.number,
        "pages": shown.paginator.num_pages,
        "people": [
            {
                "resident": row.resident.pk,
                "name": row.resident.name,
                "building": row.building,
                "unit": row.unit,
                "room": row.room,
                "phone": row.phone if with_phones else None,
                "tags": [label for label, _kind in row.tags],
            }
            for row in rows
        ],
    }


def _exemption_out(exemption: Exemption) -> dict:
    return {
        "resident": exemption.resident_id,
        "reason": exemption.reason,
        "reason_label": str(exemption.get_reason_display()),
        "note": exemption.note,
    }


@router.put(
    "/rounds/{int:round_id}/exemptions/{int:resident_id}",
    response=ExemptionOut,
    summary="Exempt a person from the round (or change the reason)",
)
def exemption_put(request, round_id: int, resident_id: int, payload: ExemptionIn):
    round_ = _round(request, round_id)
    resident = resident_get(request.user, resident_id)
    exemption = exemption_set(
        actor=request.user, round=round_, resident=resident, reason=payload.reason, note=payload.note
    )
    return _exemption_out(exemption)


@router.delete(
    "/rounds/{int:round_id}/exemptions/{int:resident_id}",
    response=ClearedOut,
    summary="Take a person's exemption back",
)
def exemption_delete(request, round_id: int, resident_id: int):
    round_ = _round(request, round_id)
    resident = resident_get(request.user, resident_id)
    return {"cleared": exemption_clear(actor=request.user, round=round_, resident=resident)}
