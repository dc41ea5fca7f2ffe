"""JSON API of the hotline log (mounted at /api/v1/voice/hotline/), mirroring /voice/hotline/.

- `GET hotline?compound=&day=YYYY-MM-DD&follow_up=`: the calls of a local day (today by default),
  in order, with the day's counts; `follow_up=true` only the calls with a follow-up still to do.
- `POST hotline`: `{"compound", "asked", "caller"?, "phone"?, "answered"?, "follow_up"?, "at"?,
  "make_request"?, "room"? | "household"?}`: log a call; with `make_request` what was asked also
  becomes a request (channel hotline) of the household named by room or id, when given.
- `POST hotline/{id}/follow-up`: `{"follow_up"}`: write, or clear (empty) once done.

The caller's number is only ever answered masked. The compound's team, volunteers included;
residents 403; another compound's calls 404.
"""

import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Router, Schema
from pydantic import Field

from tongxin.registry import selectors as registry_selectors
from tongxin.voice.actions import hotline as actions
from tongxin.voice.models import HotlineCall
from tongxin.voice.selectors import hotline as selectors
from tongxin.voice.selectors.scope import require_compound, require_role

router = Router()


def _team(user) -> None:
    require_role(user, _("当前角色不能查看热线记录"))


class CallOut(Schema):
    id: int
    compound: int
    at: datetime.datetime
    caller: str
    phone_masked: str
    asked: str
    answered: str
    follow_up: str
    request: int | None
    taken_by: str


def _out(call: HotlineCall) -> dict:
    return {
        "id": call.pk,
        "compound": call.compound_id,
        "at": call.at,
        "caller": call.caller,
        "phone_masked": call.phone_masked,
        "asked": call.asked,
        "answered": call.answered,
        "follow_up": call.follow_up,
        "request": call.request_id,
        "taken_by": str(call.taken_by) if call.taken_by_id else "",
    }


class HotlineDayOut(Schema):
    day: datetime.date
    calls: int
    answered: int
    items: list[CallOut]


@router.get("", response=HotlineDayOut, url_name="voice_hotline")
def calls(request, compound: int, day: datetime.date | None = None, follow_up: bool = False):
    user = request.user
    _team(user)
    place = registry_selectors.compound_get(user, compound)
    require_compound(user, place.pk)
    day = day or timezone.localdate()
    found = selectors.hotline_calls(user, place.pk, day)
    if follow_up:
        found = found.exclude(follow_up="")
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    counts = selectors.hotline_counts(user, place.pk, since=start, until=start + datetime.timedelta(days=1))
    return {"day": day, **counts, "items": [_out(c) for c in found]}


class CallIn(Schema):
    compound: int
    asked: str = Field(..., max_length=actions.TEXT_MAX)
    caller: str = Field("", max_length=actions.CALLER_MAX)
    phone: str = Field("", max_length=30)
    answered: str = Field("", max_length=actions.TEXT_MAX)
    follow_up: str = Field("", max_length=actions.FOLLOW_UP_MAX)
    at: datetime.datetime | None = None
    make_request: bool = False
    room: str = Field("", max_length=40)
    household: int | None = None


@router.post("", response=CallOut, url_name="voice_hotline_log")
def log_call(request, body: CallIn):
    user = request.user
    _team(user)
    place = registry_selectors.compound_get(user, body.compound)
    require_compound(user, place.pk)
    household = None
    if body.make_request and (body.room or body.household):
        if body.room:
            household = registry_selectors.household_by_room(user, place, body.room)
        else:
            household = (
                registry_selectors.households_visible(user).filter(compound=place, pk=body.household).first()
            )
        if household is None:
            raise ValidationError({"room": ValidationError(_("本小区没有这个房号，或不在您负责的范围"))})
    at = body.at
    if at is not None and timezone.is_naive(at):
        at = timezone.make_aware(at)
    call = actions.hotline_log(
        actor=user,
        compound=place,
        caller=body.caller,
        phone=body.phone,
        asked=body.asked,
        answered=body.answered,
        follow_up=body.follow_up,
        at=at,
        make_request=body.make_request,
        household=household,
    )
    return _out(selectors.require_call(user, call.pk))


class FollowUpIn(Schema):
    follow_up: str = Field("", max_length=actions.FOLLOW_UP_MAX)


@router.post("/{int:call_id}/follow-up", response=CallOut, url_name="voice_hotline_follow_up")
def follow_up(request, call_id: int, body: FollowUpIn):
    user = request.user
    _team(user)
    call = selectors.require_call(user, call_id)
    return _out(actions.hotline_follow_up(actor=user, call=call, follow_up=body.follow_up))
