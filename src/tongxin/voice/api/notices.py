"""JSON API of notices and group robots, mounted at /api/v1/voice/notices; the team's, as its pages.

- `GET ?compound=` the compound's notices, newest first (at most 200), each with its deliveries'
  counts by status; `POST` a notice: `{"compound", "title", "body", "audience": "compound" |
  "buildings" | "units" | "sealed" | "list", "audience_ids": [building, unit or household ids],
  "rooms": ["3-2-301", ...] (for "list", instead of ids), "channels": ["portal", "sms", "wecom",
  "dingtalk"], "scheduled_at": null | time, "template": ""}`. The image and attachment are taken by
  the page only (a multipart form); their URLs are given here.
- `GET templates`: the notice templates with the values each needs; `POST templates/{key}/render`
  (`{"values": {...}}`) their title and body filled.
- `GET {id}`: a notice with its audience's size and places and each delivery (status, attempts,
  last error); `POST {id}/send`: a keeper sends its due deliveries now; `POST
  {id}/deliveries/{delivery_id}/retry`: a keeper puts a delivery that gave up back in line, due now
  with a fresh budget of attempts (the delivery as it is then; 400 for any other delivery).
- `GET endpoints?compound=`, `POST endpoints` (`{"compound", "kind", "name", "url", "secret"}`),
  `POST endpoints/{id}/active` (`{"active"}`): the group robots, their addresses masked.

The compound's team reads; keepers (not volunteers) write and see the robots; residents 403;
another compound's notice or robot 404; a refusal 400 with its message. Schemas are named Voice*
so that the OpenAPI document keeps them apart from other modules' (the portal's NoticeOut).
"""

import datetime

from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from tongxin.registry import selectors as registry_selectors
from tongxin.voice.actions.endpoints import endpoint_add, endpoint_set_active
from tongxin.voice.actions.notices import delivery_retry, notice_create, notice_send_due
from tongxin.voice.forms.notices import households_of_rooms
from tongxin.voice.models import Audience, Delivery, Endpoint, Notice
from tongxin.voice.notice_templates import TEMPLATES, render_template, template_fields
from tongxin.voice.selectors.endpoints import endpoint_get, endpoints_of_compound
from tongxin.voice.selectors.notices import (
    audience_households,
    audience_places,
    delivery_get,
    delivery_summary,
    notice_detail,
    notices_of_compound,
)
from tongxin.voice.selectors.scope import KEEPERS, TEAM, require_role

router = Router()
MAX_ROWS = 200


def _require(user, roles) -> None:
    require_role(user, _("当前角色不能进行该操作"), roles=roles)


class VoiceDeliveryOut(Schema):
    id: int
    channel: str
    channel_label: str
    endpoint: int | None
    endpoint_name: str
    status: str
    status_label: str
    attempts: int
    recipients: int
    last_error: str
    next_attempt_at: datetime.datetime | None
    sent_at: datetime.datetime | None


class VoiceNoticeOut(Schema):
    id: int
    compound: int
    title: str
    body: str
    audience: str
    audience_label: str
    audience_ids: list[int]
    template: str
    scheduled_at: datetime.datetime | None
    published_at: datetime.datetime | None
    created_at: datetime.datetime
    image_url: str | None
    attachment_url: str | None
    poster_url: str
    deliveries_by_status: dict[str, int]


class VoiceNoticeDetailOut(VoiceNoticeOut):
    households: int
    places: list[str]
    deliveries: list[VoiceDeliveryOut]


def _delivery(delivery: Delivery) -> dict:
    return {
        "id": delivery.pk,
        "channel": delivery.channel,
        "channel_label": str(delivery.get_channel_display()),
        "endpoint": delivery.endpoint_id,
        "endpoint_name": delivery.endpoint.name if delivery.endpoint else "",
        "status": delivery.status,
        "status_label": str(delivery.get_status_display()),
        "attempts": delivery.attempts,
        "recipients": delivery.recipients,
        "last_error": delivery.last_error,
        "next_attempt_at": delivery.next_attempt_at,
        "sent_at": delivery.sent_at,
    }


def _out(notice: Notice) -> dict:
    return {
        "id": notice.pk,
        "compound": notice.compound_id,
        "title": notice.title,
        "body": notice.body,
        "audience": notice.audience,
        "audience_label": str(notice.get_audience_display()),
        "audience_ids": [int(i) for i in notice.audience_ids or []],
        "template": notice.template,
        "scheduled_at": notice.scheduled_at,
        "published_at": notice.published_at,
        "created_at": notice.created_at,
        "image_url": reverse("voice:notice_image", args=[notice.pk]) if notice.image else None,
        "attachment_url": reverse("voice:notice_attachment", args=[notice.pk]) if notice.attachment else None,
        "poster_url": reverse("voice:notice_poster", args=[notice.pk]),
        "deliveries_by_status": delivery_summary(notice),
    }


def _detail(notice: Notice) -> dict:
    return {
        **_out(notice),
        "households": len(audience_households(notice)),
        "places": audience_places(notice),
        "deliveries": [_delivery(d) for d in notice.deliveries.all()],
    }


@router.get("", response=list[VoiceNoticeOut], url_name="voice_notices")
def notices(request, compound: int):
    _require(request.user, TEAM)
    place = registry_selectors.compound_get(request.user, compound)
    return [_out(n) for n in notices_of_compound(request.user, place)[:MAX_ROWS]]


class VoiceNoticeIn(Schema):
    compound: int
    title: str = Field("", max_length=200)
    body: str = Field("", max_length=10000)
    audience: str = Audience.COMPOUND
    audience_ids: list[int] = Field(default_factory=list, max_length=2000)
    rooms: list[str] = Field(default_factory=list, max_length=2000)
    channels: list[str] = Field(default_factory=lambda: [Delivery.ChannelKind.PORTAL], max_length=10)
    scheduled_at: datetime.datetime | None = None
    template: str = Field("", max_length=30)


@router.post("", response=VoiceNoticeDetailOut, url_name="voice_notice_create")
def create(request, body: VoiceNoticeIn):
    user = request.user
    _require(user, KEEPERS)
    place = registry_selectors.compound_get(user, body.compound)
    ids = body.audience_ids
    if body.audience == Audience.LIST and body.rooms:
        try:
            ids = households_of_rooms(user, place, [r.strip() for r in body.rooms if r.strip()])
        except ValidationError as error:
            raise ValidationError({"rooms": error.messages}) from None
    scheduled_at = body.scheduled_at
    if scheduled_at is not None and scheduled_at.tzinfo is None:
        raise ValidationError({"scheduled_at": [_("计划发布时间须带时区，如 2026-05-03T08:00:00+08:00")]})
    notice = notice_create(
        actor=user,
        compound=place,
        title=body.title,
        body=body.body,
        audience=body.audience,
        audience_ids=ids,
        scheduled_at=scheduled_at,
        channels=body.channels,
        template=body.template,
    )
    return _detail(notice_detail(user, notice.pk))


class VoiceNoticeTemplateOut(Schema):
    key: str
    label: str
    fields: list[str]
    title: str
    body: str


@router.get("/templates", response=list[VoiceNoticeTemplateOut], url_name="voice_notice_templates")
def templates(request):
    _require(request.user, TEAM)
    return [
        {
            "key": key,
            "label": str(t["label"]),
            "fields": template_fields(key),
            "title": str(t["title"]),
            "body": str(t["body"]),
        }
        for key, t in TEMPLATES.items()
    ]


class VoiceTemplateValuesIn(Schema):
    values: dict[str, str] = Field(default_factory=dict)


class VoiceTemplateRenderedOut(Schema):
    title: str
    body: str


@router.post(
    "/templates/{key}/render", response=VoiceTemplateRenderedOut, url_name="voice_notice_template_render"
)
def template_render(request, key: str, body: VoiceTemplateValuesIn):
    _require(request.user, TEAM)
    title, text = render_template(key, **{k[:30]: v[:100] for k, v in list(body.values.items())[:20]})
    return {"title": title, "body": text}


class VoiceEndpointOut(Schema):
    id: int
    compound: int
    kind: str
    kind_label: str
    name: str
    url_masked: str
    signed: bool
    active: bool


def _endpoint(endpoint: Endpoint) -> dict:
    return {
        "id": endpoint.pk,
        "compound": endpoint.compound_id,
        "kind": endpoint.kind,
        "kind_label": str(endpoint.get_kind_display()),
        "name": endpoint.name,
        "url_masked": endpoint.url_masked,
        "signed": bool(endpoint.secret_cipher),
        "active": endpoint.active,
    }


@router.get("/endpoints", response=list[VoiceEndpointOut], url_name="voice_endpoints")
def endpoints(request, compound: int):
    _require(request.user, KEEPERS)
    place = registry_selectors.compound_get(request.user, compound)
    return [_endpoint(e) for e in endpoints_of_compound(request.user, place)]


class VoiceEndpointIn(Schema):
    compound: int
    kind: str
    name: str = Field("", max_length=100)
    url: str = Field("", max_length=500)
    secret: str = Field("", max_length=200)


@router.post("/endpoints", response=VoiceEndpointOut, url_name="voice_endpoint_add")
def endpoint_create(request, body: VoiceEndpointIn):
    _require(request.user, KEEPERS)
    place = registry_selectors.compound_get(request.user, body.compound)
    added = endpoint_add(
        actor=request.user, compound=place, kind=body.kind, name=body.name, url=body.url, secret=body.secret
    )
    return _endpoint(added)


class VoiceEndpointActiveIn(Schema):
    active: bool


@router.post(
    "/endpoints/{int:endpoint_id}/active", response=VoiceEndpointOut, url_name="voice_endpoint_active"
)
def endpoint_active(request, endpoint_id: int, body: VoiceEndpointActiveIn):
    _require(request.user, KEEPERS)
    endpoint = endpoint_get(request.user, endpoint_id)
    return _endpoint(endpoint_set_active(actor=request.user, endpoint=endpoint, active=body.active))


@router.get("/{int:notice_id}", response=VoiceNoticeDetailOut, url_name="voice_notice")
def notice(request, notice_id: int):
    _require(request.user, TEAM)
    return _detail(notice_detail(request.user, notice_id))


class VoiceNoticeSendOut(Schema):
    sent: int
    failed: int
    gave_up: int
    notice: VoiceNoticeDetailOut


@router.post("/{int:notice_id}/send", response=VoiceNoticeSendOut, url_name="voice_notice_send")
def send(request, notice_id: int):
    user = request.user
    _require(user, KEEPERS)
    found = notice_detail(user, notice_id)
    counts = notice_send_due(actor=user, notice=found)
    return {**counts, "notice": _detail(notice_detail(user, notice_id))}


@router.post(
    "/{int:notice_id}/deliveries/{int:delivery_id}/retry",
    response=VoiceDeliveryOut,
    url_name="voice_delivery_retry",
)
def delivery_resend(request, notice_id: int, delivery_id: int):
    user = request.user
    _require(user, KEEPERS)
    return _delivery(delivery_retry(actor=user, delivery=delivery_get(user, notice_id, delivery_id)))
