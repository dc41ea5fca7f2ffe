"""JSON API of the resident portal (mounted at /api/v1/voice/portal/), for the logged-in
resident's own household only:

- `GET portal/`: the household, its members (status colour, pass number and the signed text of
  its QR), the household's own pass, notices, the next testing time, parcels and requests with
  their answers.
- `GET portal/requests/{id}`: one of the household's requests with its answers.
- `POST portal/requests`: `{"text", "resident"?, "category"?}` sends a request (channel portal) for
  oneself or a member of the household.

Anyone but a resident with a household: 404; another household's request: 404.
"""

import datetime
import functools

from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from ninja import Router, Schema

from tongxin.voice.actions.portal import portal_login_own_resident_id, proxy_asker
from tongxin.voice.actions.requests import request_create
from tongxin.voice.models import Channel
from tongxin.voice.selectors import portal as selectors

router = Router()


def _live_link_session(view):
    """A session that came in by a household's link whose pass was since revoked is ended."""

    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        from tongxin.voice.views.portal import link_session_live

        if request.user.is_authenticated and not link_session_live(request):
            return JsonResponse({"detail": _("出入证已注销或过期，该登录链接已失效")}, status=401)
        return view(request, *args, **kwargs)

    return wrapper


router.add_decorator(_live_link_session, mode="view")


class PortalAnswerOut(Schema):
    text: str
    channel: str
    at: datetime.datetime


class PortalRequestOut(Schema):
    id: int
    text: str
    category: str
    state: str
    state_label: str
    urgent: bool
    received_at: datetime.datetime
    resident: str
    asker: str
    answers: list[PortalAnswerOut]


class PortalMemberOut(Schema):
    id: int
    name: str
    elderly: bool
    color: str
    color_label: str
    overdue: bool
    pass_number: str
    pass_code: str
    pass_expires_at: datetime.datetime | None


class PortalPassOut(Schema):
    number: str
    code: str
    expires_at: datetime.datetime


class PortalNoticeOut(Schema):
    id: int
    title: str
    body: str
    published_at: datetime.datetime


class PortalSlotOut(Schema):
    day: datetime.date
    starts_at: datetime.datetime
    ends_at: datetime.datetime
    mode: str
    point: str
    text: str


class PortalParcelOut(Schema):
    id: int
    courier: str
    tracking_number: str
    pieces: int
    state: str
    state_label: str
    received_at: datetime.datetime
    ready_at: datetime.datetime | None


class PortalHomeOut(Schema):
    household: int
    room: str
    compound: str
    members: list[PortalMemberOut]
    household_pass: PortalPassOut | None
    testing: PortalSlotOut | None
    notices: list[PortalNoticeOut]
    parcels: list[PortalParcelOut]
    requests: list[PortalRequestOut]


class PortalRequestIn(Schema):
    text: str
    resident: int | None = None
    category: str | None = None


def _request_out(item) -> dict:
    return {
        "id": item.pk,
        "text": item.text,
        "category": item.category,
        "state": item.state,
        "state_label": str(item.get_state_display()),
        "urgent": item.urgent,
        "received_at": item.received_at,
        "resident": item.resident.name if item.resident_id else "",
        "asker": item.asker,
        "answers": [{"text": a.text, "channel": a.channel, "at": a.at} for a in item.answers.all()],
    }


@router.get("/", response=PortalHomeOut)
def summary(request):
    home = selectors.portal_home(request.user)
    household = home.household
    slot = home.slot
    return {
        "household": household.pk,
        "room": str(household),
        "compound": household.compound.name,
        "members": [
            {
                "id": m.resident.pk,
                "name": m.resident.name,
                "elderly": m.is_elderly,
                "color": m.color,
                "color_label": m.color_label,
                "overdue": m.overdue,
                "pass_number": m.pass_number,
                "pass_code": m.pass_code,
                "pass_expires_at": m.pass_expires_at,
            }
            for m in home.members
        ],
        "household_pass": home.household_pass,
        "testing": None
        if slot is None
        else {
            "day": slot.day,
            "starts_at": slot.slot.starts_at,
            "ends_at": slot.slot.ends_at,
            "mode": slot.slot.mode,
            "point": slot.slot.point.name if slot.slot.point else "",
            "text": slot.text,
        },
        "notices": [
            {"id": n.pk, "title": n.title, "body": n.body, "published_at": n.published_at}
            for n in home.notices
        ],
        "parcels": [
            {
                "id": p.pk,
                "courier": p.courier,
                "tracking_number": p.tracking_number,
                "pieces": p.pieces,
                "state": p.state,
                "state_label": str(p.get_state_display()),
                "received_at": p.received_at,
                "ready_at": p.ready_at,
            }
            for p in home.parcels.parcels
        ],
        "requests": [_request_out(item) for item in home.requests],
    }


@router.get("/requests/{request_id}", response=PortalRequestOut)
def request_get(request, request_id: int):
    return _request_out(selectors.portal_request(request.user, request_id))


@router.post("/requests", response={201: PortalRequestOut})
def request_send(request, payload: PortalRequestIn):
    user = request.user
    household = selectors.portal_household(user)
    members = selectors.portal_members(user)
    resident_id = payload.resident if payload.resident is not None else portal_login_own_resident_id(user)
    resident = next((m for m in members if m.pk == resident_id), None) if resident_id is not None else None
    if resident is None and payload.resident is not None:
        raise ValidationError(
            {"resident": ValidationError(_("请选择本户的家人"), code="resident_other_household")}
        )
    created = request_create(
        actor=user,
        compound=household.compound,
        channel=Channel.PORTAL,
        text=payload.text,
        household=household,
        resident=resident,
        asker=proxy_asker(user, resident),
        category=payload.category or None,
    )
    return 201, _request_out(selectors.portal_request(user, created.pk))
