"""Notices: written for an audience of a compound, published now or when due, and delivered
through each chosen channel — one Delivery per group robot, one for SMS, one for the portal.

Each delivery is sent on its own (`deliveries_send`, from cron through `tongxin send-notices`):
success marks it sent with its recipients; a failure keeps the error and tries again later (1, 5,
15, then every 60 minutes) until TONGXIN_NOTICE_MAX_ATTEMPTS; a failing channel never stops the
others. A delivery that gave up is sent again only when a keeper asks (`delivery_retry`). The
portal reads published notices, so its delivery is sent at publication.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.uploads import IMAGES
from tongxin.registry.models import Building, Compound, Household, Unit
from tongxin.voice import senders
from tongxin.voice.attachments import checked_file
from tongxin.voice.models import Audience, Delivery, Endpoint, Notice
from tongxin.voice.notice_templates import TEMPLATES
from tongxin.voice.selectors.notices import audience_households
from tongxin.voice.selectors.scope import KEEPERS, require_compound

BACKOFF_MINUTES = (1, 5, 15, 60)
ROBOT_CHANNELS = {
    Delivery.ChannelKind.WECOM: Endpoint.Kind.WECOM,
    Delivery.ChannelKind.DINGTALK: Endpoint.Kind.DINGTALK,
}


def max_attempts() -> int:
    return int(getattr(settings, "TONGXIN_NOTICE_MAX_ATTEMPTS", 5))


def backoff(attempts: int) -> datetime.timedelta:
    """The wait after the `attempts`-th failure."""
    return datetime.timedelta(minutes=BACKOFF_MINUTES[min(max(attempts, 1), len(BACKOFF_MINUTES)) - 1])


def _clean_audience_ids(compound: Compound, audience: str, audience_ids) -> list[int]:
    if audience not in Audience.values:
        raise ValidationError(_("未知的通知对象"), code="notice_audience")
    if audience in (Audience.COMPOUND, Audience.SEALED):
        return []
    try:
        ids = sorted({int(i) for i in audience_ids})
    except (TypeError, ValueError):
        raise ValidationError(_("通知对象的编号不正确"), code="notice_audience_ids") from None
    if not ids:
        raise ValidationError(_("请选择通知对象"), code="notice_audience_empty")
    model = {Audience.BUILDINGS: Building, Audience.UNITS: Unit, Audience.LIST: Household}[audience]
    found = set(model.objects.filter(compound=compound, pk__in=ids).values_list("pk", flat=True))
    if found != set(ids):
        raise ValidationError(_("所选对象不属于本小区"), code="notice_audience_foreign")
    return ids


def _checked_notice_file(upload, field: str, *, image: bool):
    """An upload for the notice's `field`, checked like a request's attachment (an image or a PDF
    by its bytes, within the size limit); the image field takes images only."""
    if upload is None or upload == b"":
        return None
    try:
        checked = checked_file(upload)
    except ValidationError as error:
        raise ValidationError({field: error.message_dict["attachments"]}) from None
    if image and checked.content.name.rsplit(".", 1)[-1] not in IMAGES:
        raise ValidationError(
            {field: ValidationError(_("图片只能是JPEG、PNG或WebP格式"), code="notice_image_type")}
        )
    return checked.content


@transaction.atomic
def notice_create(
    *,
    actor,
    compound: Compound,
    title: str,
    body: str,
    audience: str = Audience.COMPOUND,
    audience_ids=(),
    scheduled_at: datetime.datetime | None = None,
    channels=(Delivery.ChannelKind.PORTAL,),
    template: str = "",
    image=None,
    attachment=None,
    now: datetime.datetime | None = None,
) -> Notice:
    """A notice with one delivery per channel (per active robot of the compound for WeCom and
    DingTalk); published at once unless scheduled later. `image` (JPEG, PNG, WebP) and
    `attachment` (an image or a PDF) are optional uploads, served only through a scoped view."""
    require_compound(actor, compound.pk, roles=KEEPERS)
    now = now or timezone.now()
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise ValidationError(_("请填写通知标题"), code="notice_title")
    if not body:
        raise ValidationError(_("请填写通知正文"), code="notice_body")
    if len(title) > 100:
        raise ValidationError(_("标题不能超过 100 个字"), code="notice_title")
    if len(body) > 5000:
        raise ValidationError(_("正文不能超过 5000 个字"), code="notice_body")
    if template and template not in TEMPLATES:
        raise ValidationError(_("没有这个通知模板：%(key)s") % {"key": template}, code="template_unknown")
    ids = _clean_audience_ids(compound, audience, audience_ids)
    if scheduled_at is not None and scheduled_at < now:
        raise ValidationError(_("计划发布时间已过，请选择以后的时间"), code="notice_past")
    channels = list(dict.fromkeys(channels))
    if not channels:
        raise ValidationError(_("请至少选择一个发送渠道"), code="notice_channels")
    unknown = [c for c in channels if c not in Delivery.ChannelKind.values]
    if unknown:
        raise ValidationError(_("未知的发送渠道：%(c)s") % {"c": "、".join(unknown)}, code="notice_channels")
    robots: dict[str, list[Endpoint]] = {}
    for channel, kind in ROBOT_CHANNELS.items():
        if channel in channels:
            robots[channel] = list(
                Endpoint.objects.filter(compound=compound, kind=kind, active=True).order_by("pk")
            )
            if not robots[channel]:
                raise ValidationError(
                    _("本小区没有启用的%(kind)s") % {"kind": Endpoint.Kind(kind).label},
                    code="notice_no_endpoint",
                )
    image_file = _checked_notice_file(image, "image", image=True)
    attachment_file = _checked_notice_file(attachment, "attachment", image=False)
    notice = Notice.objects.create(
        compound=compound,
        title=title,
        body=body,
        audience=audience,
        audience_ids=ids,
        template=template,
        image=image_file,
        attachment=attachment_file,
        scheduled_at=scheduled_at,
        created_at=now,
        created_by=actor,
    )
    deliveries = []
    for channel in channels:
        if channel in robots:
            deliveries += [Delivery(notice=notice, channel=channel, endpoint=e) for e in robots[channel]]
        else:
            deliveries.append(Delivery(notice=notice, channel=channel))
    Delivery.objects.bulk_create(deliveries)
    audit(
        actor=actor,
        action="create",
        obj=notice,
        label=title,
        detail={
            "audience": audience,
            "channels": channels,
            "scheduled_at": scheduled_at.isoformat() if scheduled_at else None,
            "image": bool(image_file),
            "attachment": bool(attachment_file),
        },
    )
    if scheduled_at is None:
        _publish(notice, now, actor)
    return notice


def _publish(notice: Notice, now: datetime.datetime, actor=None) -> bool:
    """Publish `notice` if no one has yet; the portal's delivery is sent at once."""
    if not Notice.objects.filter(pk=notice.pk, published_at__isnull=True).update(published_at=now):
        return False
    notice.published_at = now
    reached = len(audience_households(notice))
    notice.deliveries.filter(channel=Delivery.ChannelKind.PORTAL, status=Delivery.Status.PENDING).update(
        status=Delivery.Status.SENT, sent_at=now, recipients=reached, attempts=1
    )
    audit(actor=actor, action="publish", obj=notice, label=notice.title, detail={"households": reached})
    return True


def notice_publish_due(now: datetime.datetime | None = None) -> int:
    """Publish the scheduled notices now due, each in its own transaction; how many."""
    now = now or timezone.now()
    due = Notice.objects.filter(published_at__isnull=True, scheduled_at__lte=now).order_by(
        "scheduled_at", "pk"
    )
    published = 0
    for notice in due.select_related("compound", "created_by"):
        with transaction.atomic():
            published += _publish(notice, now)
    return published


def _due_q(now: datetime.datetime) -> Q:
    return (
        Q(notice__published_at__isnull=False, attempts__lt=max_attempts())
        & (
            Q(status=Delivery.Status.PENDING)
            | Q(status=Delivery.Status.FAILED, next_attempt_at__isnull=False)
        )
        & (Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
    )


# A delivery being sent is claimed for this long: a second run (two crons overlapping) skips it,
# and a run that died while sending leaves it due again afterwards.
CLAIM = datetime.timedelta(minutes=10)


def deliveries_send(now: datetime.datetime | None = None, limit: int = 100) -> dict[str, int]:
    """Send the due pending or failed deliveries (the portal's excepted: sent at publication), each
    claimed and recorded in its own transaction; counts {"sent", "failed", "gave_up"}."""
    now = now or timezone.now()
    counts = {"sent": 0, "failed": 0, "gave_up": 0}
    due = (
        Delivery.objects.filter(_due_q(now))
        .exclude(channel=Delivery.ChannelKind.PORTAL)
        .select_related("notice__compound", "notice__created_by", "endpoint")
        .order_by("next_attempt_at", "pk")[:limit]
    )
    for delivery in list(due):
        outcome = delivery_send(delivery, now)
        if outcome:
            counts[outcome] += 1
    return counts


def delivery_send(delivery: Delivery, now: datetime.datetime) -> str:
    """Claim `delivery` as read (another run that read it too is told no: ""), send it outside any
    transaction, record the result; "sent", "failed" or "gave_up"."""
    with transaction.atomic():
        claimed = Delivery.objects.filter(
            pk=delivery.pk,
            status=delivery.status,
            attempts=delivery.attempts,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + CLAIM)
    if not claimed:
        return ""
    try:
        result = senders.send(delivery, delivery.notice)
    except Exception as exc:  # noqa: BLE001 - one channel's bug never stops the others
        result = senders.SendResult(False, error=(str(exc) or exc.__class__.__name__)[:300])
    attempts = delivery.attempts + 1
    mine = Delivery.objects.filter(pk=delivery.pk, status=delivery.status, attempts=delivery.attempts)
    with transaction.atomic():
        if result.ok:
            changed = mine.update(
                status=Delivery.Status.SENT,
                attempts=attempts,
                recipients=result.recipients,
                sent_at=now,
                last_error="",
                next_attempt_at=None,
            )
            return "sent" if changed else ""
        gave_up = attempts >= max_attempts()
        changed = mine.update(
            status=Delivery.Status.FAILED,
            attempts=attempts,
            last_error=(result.error or _("发送失败"))[:300],
            next_attempt_at=None if gave_up else now + backoff(attempts),
        )
        if not changed:
            return ""
        return "gave_up" if gave_up else "failed"


def notice_send_due(*, actor, notice: Notice, now: datetime.datetime | None = None) -> dict[str, int]:
    """A keeper's "send now" on one published notice: its due deliveries (pending, or failed and
    waiting for a retry) sent at once, each claimed and recorded on its own as cron would, so two
    clicks or a cron run at the same time never send one twice. Counts {"sent", "failed",
    "gave_up"}; the press is audited."""
    require_compound(actor, notice.compound_id, roles=KEEPERS)
    now = now or timezone.now()
    if notice.published_at is None:
        raise ValidationError(_("通知尚未发布，到计划时间后才会发送"), code="notice_unpublished")
    counts = {"sent": 0, "failed": 0, "gave_up": 0}
    due = (
        Delivery.objects.filter(_due_q(now), notice_id=notice.pk)
        .exclude(channel=Delivery.ChannelKind.PORTAL)
        .select_related("notice__compound", "notice__created_by", "endpoint")
        .order_by("pk")
    )
    for delivery in list(due):
        outcome = delivery_send(delivery, now)
        if outcome:
            counts[outcome] += 1
    audit(actor=actor, action="update", obj=notice, label=notice.title, fields="deliveries", detail=counts)
    return counts


def given_up(delivery: Delivery) -> bool:
    """A failed delivery that will not be tried again by itself: its last failure reached
    TONGXIN_NOTICE_MAX_ATTEMPTS (no next attempt set), or the attempts are at the limit."""
    return delivery.status == Delivery.Status.FAILED and (
        delivery.next_attempt_at is None or delivery.attempts >= max_attempts()
    )


@transaction.atomic
def delivery_retry(*, actor, delivery: Delivery, now: datetime.datetime | None = None) -> Delivery:
    """A keeper's resend of a delivery that gave up (`given_up`), on a published notice: made due
    now, sent by the next cron run or "send now" like any pending delivery.

    It gets a fresh budget: attempts back to 0, so it is tried up to TONGXIN_NOTICE_MAX_ATTEMPTS
    times again with the usual waits (1, 5, 15, then 60 minutes). Kept attempts would leave it at
    the limit, which the sending never picks up, and "one more try" would give up again at the
    first hiccup of a robot that was just fixed. What it had before (attempts, last error) is
    kept in the audit row; the last error stays shown until the next try replaces it. Another
    delivery (pending, sent, still retrying) is refused; two keepers pressing at once reset it
    once."""
    notice = delivery.notice
    require_compound(actor, notice.compound_id, roles=KEEPERS)
    now = now or timezone.now()
    if notice.published_at is None:
        raise ValidationError(_("通知尚未发布，到计划时间后才会发送"), code="notice_unpublished")
    refused = ValidationError(_("只能重发已放弃的发送记录"), code="delivery_not_given_up")
    if not given_up(delivery):
        raise refused
    before = {"attempts": delivery.attempts, "last_error": delivery.last_error}
    changed = Delivery.objects.filter(
        pk=delivery.pk,
        status=Delivery.Status.FAILED,
        attempts=delivery.attempts,
        next_attempt_at=delivery.next_attempt_at,
    ).update(status=Delivery.Status.PENDING, attempts=0, next_attempt_at=now)
    if not changed:
        raise refused
    delivery.status, delivery.attempts, delivery.next_attempt_at = Delivery.Status.PENDING, 0, now
    channel = str(delivery.get_channel_display())
    audit(
        actor=actor,
        action="update",
        obj=delivery,
        label=f"{notice.title} · {delivery.endpoint.name if delivery.endpoint else channel}",
        fields="status,attempts,next_attempt_at",
        detail={"notice": notice.pk, "channel": delivery.channel, "endpoint": delivery.endpoint_id, **before},
    )
    return delivery


def send_due(now: datetime.datetime | None = None, limit: int = 100) -> dict[str, int]:
    """What cron runs: publish the due notices, then send the due deliveries."""
    now = now or timezone.now()
    published = notice_publish_due(now)
    return {"published": published, **deliveries_send(now, limit)}
