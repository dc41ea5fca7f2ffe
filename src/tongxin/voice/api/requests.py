"""JSON API of requests (诉求), mounted at /api/v1/voice/requests; the team's, as its pages.

`GET ?compound=&state=&category=&late=` the queue (open ones unless `state` names one; urgent
first, then oldest; at most 200), `POST` a request logged by the team (for a `household` id, a
`room`/phone in `where`, or no one known), `GET counts?compound=&day=` the report's figures,
`GET {id}` a request with its answers and files, `POST {id}/acknowledge|start|close` (optional
`{"state", "seen"}`: the state and `updated_at` the caller read), `POST {id}/answer`
(`{"text", "channel"}`), `POST {id}/reopen` (`{"reason"}`), `POST {id}/hand-over`
(`{"kind", "detail"}`) to the supplies module, `POST {id}/classify` (`{"category", "urgent"}`: the
team corrects them), `POST {id}/hand-on` (`{"holder"}`: a user id of the compound's team who sees
the request; the keepers only, a volunteer is 403). Refusals are 400 with the message, a change made by
someone else since `seen` is 409, another compound's request 404, a resident 403.
"""

import datetime

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import Http404
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from tongxin.outbreak.errors import StaleEdit
from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.models import RequestKind
from tongxin.supplies.selectors.parcels import households_for_intake
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Category, Channel, Request, State
from tongxin.voice.selectors import requests as selectors
from tongxin.voice.selectors.counts import compound_counts
from tongxin.voice.selectors.scope import require_role

router = Router()
MAX_ROWS = 200


class Conflict(StaleEdit):
    """Someone else changed the request first: answered 409 with who and when."""

    def __init__(self, error: ValidationError):
        ValidationError.__init__(self, error.messages[0], code="conflict")


class VoiceAnswerOut(Schema):
    id: int
    text: str
    channel: str
    channel_label: str
    notice: int | None
    at: datetime.datetime
    by: str


class VoiceAttachmentOut(Schema):
    id: int
    name: str
    content_type: str
    size: int
    url: str


class VoiceRequestOut(Schema):
    id: int
    compound: int
    household: int | None
    room: str
    resident: int | None
    resident_name: str
    phone: str = Field(description="the resident's masked phone, for the roles that see phones")
    asker: str
    channel: str
    channel_label: str
    text: str
    category: str
    category_label: str
    urgent: bool
    state: str
    state_label: str
    holder: str
    group: int | None
    supply_request: int | None
    received_at: datetime.datetime
    acknowledged_at: datetime.datetime | None
    first_answer_at: datetime.datetime | None
    closed_at: datetime.datetime | None
    answer_due_at: datetime.datetime
    late: bool
    updated_at: datetime.datetime


class VoiceRequestDetailOut(VoiceRequestOut):
    answers: list[VoiceAnswerOut]
    attachments: list[VoiceAttachmentOut]


def _out(user, request: Request, now: datetime.datetime) -> dict:
    resident = request.resident if Request.resident.is_cached(request) else None
    return {
        "id": request.pk,
        "compound": request.compound_id,
        "household": request.household_id,
        "room": str(request.household) if request.household_id else "",
        "resident": request.resident_id,
        "resident_name": resident.name if resident else "",
        "phone": resident.phone_masked if resident and user.may_see_full_data else "",
        "asker": request.asker,
        "channel": request.channel,
        "channel_label": request.get_channel_display(),
        "text": request.text,
        "category": request.category,
        "category_label": request.get_category_display(),
        "urgent": request.urgent,
        "state": request.state,
        "state_label": request.get_state_display(),
        "holder": str(request.holder or "") if request.holder_id else "",
        "group": request.group_id,
        "supply_request": request.supply_request_id,
        "received_at": request.received_at,
        "acknowledged_at": request.acknowledged_at,
        "first_answer_at": request.first_answer_at,
        "closed_at": request.closed_at,
        "answer_due_at": selectors.answer_due(request),
        "late": selectors.is_late(request, now),
        "updated_at": request.updated_at,
    }


def _detail(user, request_id: int) -> dict:
    found = selectors.request_detail(user, request_id)
    return {
        **_out(user, found, timezone.now()),
        "answers": [
            {
                "id": answer.pk,
                "text": answer.text,
                "channel": answer.channel,
                "channel_label": answer.get_channel_display(),
                "notice": answer.notice_id,
                "at": answer.at,
                "by": str(answer.by or ""),
            }
            for answer in found.answers.all()
        ],
        "attachments": [
            {
                "id": file.pk,
                "name": file.name,
                "content_type": file.content_type,
                "size": file.size,
                "url": reverse("voice:request_attachment", args=[found.pk, file.pk]),
            }
            for file in found.attachments.all()
        ],
    }


@router.get("", response=list[VoiceRequestOut], url_name="voice_requests")
def queue(request, compound: int, state: str = "", category: str = "", late: bool = False):
    user = request.user
    require_role(user)
    now = timezone.now()
    if late:
        rows = selectors.late_requests(user, compound, now).select_related("resident")
        rows = rows.filter(state=state) if state else rows
        rows = rows.filter(category=category) if category else rows
    else:
        rows = selectors.request_queue(user, compound, state=state or None, category=category or None)
    rows = rows.select_related("household__unit__building")
    return [_out(user, row, now) for row in rows[:MAX_ROWS]]


class VoiceCountsOut(Schema):
    compound: int
    day: datetime.date | None
    notices: int = Field(description="notices published")
    received: int = Field(description="requests received")
    answered: int = Field(description="requests answered at least once")
    closed: int = Field(description="requests closed: the problems solved")
    calls: int = Field(description="hotline calls logged")
    calls_answered: int
    late: int = Field(description="requests late now (no first answer past the target)")
    by_channel: dict[str, int]
    by_category: dict[str, int]


@router.get("/counts", response=VoiceCountsOut, url_name="voice_request_counts")
def counts(request, compound: int, day: datetime.date | None = None):
    """The report's figures for a compound: of a local day, or since the start without `day`."""
    require_role(request.user)
    place = registry_selectors.compound_get(request.user, compound)
    return {"compound": place.pk, "day": day, **compound_counts(request.user, place, day)}


class VoiceRequestIn(Schema):
    compound: int
    channel: Channel = Field(
        description="group, private, hotline or walk_in (portal requests are the residents')"
    )
    text: str = Field(..., max_length=2000)
    household: int | None = Field(None, description="a household of the compound the caller sees")
    where: str = Field("", max_length=40, description="a room (3-2-301) or a phone, instead of `household`")
    resident: int | None = Field(None, description="a resident of that household")
    asker: str = Field("", max_length=50)
    category: Category | None = Field(None, description="suggested from the text when empty")
    received_at: datetime.datetime | None = None


@router.post("", response={201: VoiceRequestDetailOut}, url_name="voice_request_create")
def create(request, payload: VoiceRequestIn):
    user = request.user
    require_role(user)
    place = registry_selectors.compound_get(user, payload.compound)
    household = None
    if payload.household is not None:
        household = registry_selectors.household_get(user, payload.household)
        if household.compound_id != place.pk:
            raise Http404
    elif payload.where.strip():
        try:
            found = households_for_intake(user, place, payload.where)
        except ValidationError as error:
            raise ValidationError({"where": error.messages}) from error
        if len(found) > 1:
            raise ValidationError({"where": [_("该手机号对应多户，请填写房号")]})
        household = found[0]
    resident = None
    if payload.resident is not None:
        resident = registry_selectors.resident_get(user, payload.resident)
    made = actions.request_create(
        actor=user,
        compound=place,
        channel=payload.channel,
        text=payload.text,
        household=household,
        resident=resident,
        asker=payload.asker,
        category=payload.category or None,
        received_at=payload.received_at,
    )
    return 201, _detail(user, made.pk)


@router.get("/{request_id}", response=VoiceRequestDetailOut, url_name="voice_request")
def detail(request, request_id: int):
    require_role(request.user)
    return _detail(request.user, request_id)


class VoiceSeenIn(Schema):
    state: State | None = Field(None, description="the state the caller read")
    seen: datetime.datetime | None = Field(None, description="the `updated_at` the caller read")


class VoiceAnswerIn(VoiceSeenIn):
    text: str = Field(..., max_length=2000)
    channel: Channel | None = Field(None, description="the request's own channel when empty")


class VoiceReopenIn(VoiceSeenIn):
    reason: str = Field(..., max_length=200)


class VoiceClassifyIn(VoiceSeenIn):
    category: Category
    urgent: bool


class VoiceHandOnIn(VoiceSeenIn):
    holder: int = Field(..., description="the user id of the new holder")


class VoiceHandOverIn(Schema):
    kind: RequestKind
    detail: str = Field("", max_length=500)


def _step(request, request_id: int, seen: VoiceSeenIn | None, run) -> dict:
    user = request.user
    require_role(user)
    found = selectors.request_detail(user, request_id)
    if seen is not None and seen.state and seen.seen and timezone.is_aware(seen.seen):
        found.state, found.updated_at = seen.state, seen.seen
    try:
        run(found)
    except ValidationError as error:
        if getattr(error, "code", None) == "conflict":
            raise Conflict(error) from error
        raise
    return _detail(user, request_id)


@router.post(
    "/{request_id}/acknowledge", response=VoiceRequestDetailOut, url_name="voice_request_acknowledge"
)
def acknowledge(request, request_id: int, payload: VoiceSeenIn | None = None):
    return _step(
        request, request_id, payload, lambda r: actions.request_acknowledge(actor=request.user, request=r)
    )


@router.post("/{request_id}/start", response=VoiceRequestDetailOut, url_name="voice_request_start")
def start(request, request_id: int, payload: VoiceSeenIn | None = None):
    return _step(request, request_id, payload, lambda r: actions.request_start(actor=request.user, request=r))


@router.post("/{request_id}/close", response=VoiceRequestDetailOut, url_name="voice_request_close")
def close(request, request_id: int, payload: VoiceSeenIn | None = None):
    return _step(request, request_id, payload, lambda r: actions.request_close(actor=request.user, request=r))


@router.post("/{request_id}/answer", response=VoiceRequestDetailOut, url_name="voice_request_answer")
def answer(request, request_id: int, payload: VoiceAnswerIn):
    return _step(
        request,
        request_id,
        payload,
        lambda r: actions.request_answer(
            actor=request.user, request=r, text=payload.text, channel=payload.channel or None
        ),
    )


@router.post("/{request_id}/reopen", response=VoiceRequestDetailOut, url_name="voice_request_reopen")
def reopen(request, request_id: int, payload: VoiceReopenIn):
    return _step(
        request,
        request_id,
        payload,
        lambda r: actions.request_reopen(actor=request.user, request=r, reason=payload.reason),
    )


@router.post("/{request_id}/hand-over", response=VoiceRequestDetailOut, url_name="voice_request_hand_over")
def hand_over(request, request_id: int, payload: VoiceHandOverIn):
    return _step(
        request,
        request_id,
        None,
        lambda r: actions.request_hand_over_to_supplies(
            actor=request.user, request=r, kind=payload.kind, detail=payload.detail
        ),
    )


@router.post("/{request_id}/classify", response=VoiceRequestDetailOut, url_name="voice_request_classify")
def classify(request, request_id: int, payload: VoiceClassifyIn):
    return _step(
        request,
        request_id,
        payload,
        lambda r: actions.request_classify(
            actor=request.user, request=r, category=payload.category, urgent=payload.urgent
        ),
    )


@router.post("/{request_id}/hand-on", response=VoiceRequestDetailOut, url_name="voice_request_hand_on")
def hand_on(request, request_id: int, payload: VoiceHandOnIn):
    """An unknown id is refused as one outside the team (ids of other compounds are not told)."""
    holder = get_user_model().objects.filter(pk=payload.holder).first()
    return _step(
        request,
        request_id,
        payload,
        lambda r: actions.request_hand_on(actor=request.user, request=r, holder=holder),
    )
