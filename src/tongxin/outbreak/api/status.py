"""A resident's status (health code) as JSON: the colour for everyone who sees the resident, the
reasons for health roles and the resident's own household."""

from ninja import Field, Router, Schema

from tongxin.outbreak import selectors

router = Router()


class StatusOut(Schema):
    color: str = Field(..., description="red, yellow or green")
    overdue: bool = Field(..., description="no sample within the rule set's validity window")
    reasons: list[str]
    until: str | None = Field(None, description="when the colour ends (ISO), null if open-ended or green")
    risk_level: str
    risk_level_label: str
    last_sampled_at: str | None


class StatusColourOut(Schema):
    """What a volunteer sees: the colour and the overdue flag, nothing of why."""

    color: str
    overdue: bool


@router.get(
    "/residents/{int:resident_id}/status",
    response=StatusOut | StatusColourOut,
    summary="A resident's status (health code): colour, overdue flag, reasons, until when, risk level",
)
def resident_status(request, resident_id: int):
    view = selectors.resident_status_get(request.user, resident_id)
    data = view.as_dict()
    return StatusOut(**data) if view.shows_reasons else StatusColourOut(**data)
