"""The hotline log: when, who called (the number kept encrypted, hashed and masked), what was
asked, what was answered, the follow-up; a call may become a request (channel hotline)."""

import datetime
import re

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.audit import audit
from tongxin.core.models import AuditLog
from tongxin.registry.actions import protected_phone_fields
from tongxin.registry.models import Compound, Household
from tongxin.voice.actions.requests import (
    _checked_time,
    _line,
    _require_actor,
    request_answer,
    request_create,
)
from tongxin.voice.models import Channel, HotlineCall
from tongxin.voice.selectors.hotline import require_call
from tongxin.voice.selectors.scope import TEAM, require_compound

CALLER_MAX = 50
TEXT_MAX = 2000
FOLLOW_UP_MAX = 500
MOBILE_RE = re.compile(r"1[3-9]\d{9}")
LANDLINE_RE = re.compile(r"0\d{2,3}\d{7,8}|[2-9]\d{6,7}|400\d{7}|1\d{4}")  # with area code, local, 400, 12345


def normalised_phone(raw) -> str:
    """A mobile or landline number as digits: spaces, dashes, dots and brackets dropped, a +86 or
    0086 prefix dropped, an extension ("转123", "-123" after a full number) refused. Empty stays
    empty; anything else raises ValidationError."""
    phone = "".join(str(raw or "").split())
    if not phone:
        return ""
    for sep in "-()（）.":
        phone = phone.replace(sep, "")
    for prefix in ("+86", "0086"):
        if phone.startswith(prefix):
            phone = phone[len(prefix) :]
            break
    if not phone.isascii() or not (MOBILE_RE.fullmatch(phone) or LANDLINE_RE.fullmatch(phone)):
        raise ValidationError({"phone": ValidationError(_("电话号码格式不对"), code="invalid_phone")})
    return phone


def _limited(value, *, name: str, limit: int, label: str, multiline: bool = True) -> str:
    text = str(value or "").strip() if multiline else _line(value)
    if len(text) > limit:
        raise ValidationError(
            {
                name: ValidationError(
                    _("%(label)s不能超过%(n)s个字") % {"label": label, "n": limit}, code="too_long"
                )
            }
        )
    return text


def hotline_log(
    *,
    actor,
    compound: Compound,
    caller: str,
    phone: str,
    asked: str,
    answered: str = "",
    follow_up: str = "",
    at: datetime.datetime | None = None,
    make_request: bool = False,
    household: Household | None = None,
) -> HotlineCall:
    """One call logged by the team. With `make_request`, what was asked also becomes a request
    (channel hotline, of `household` when known) linked to the call, in the same transaction; what
    was answered on the phone is that request's first answer, at the call's time."""
    _require_actor(actor)
    require_compound(actor, compound.pk, roles=TEAM)
    caller = _limited(caller, name="caller", limit=CALLER_MAX, label=_("来电人"), multiline=False)
    phone = normalised_phone(phone)
    asked = _limited(asked, name="asked", limit=TEXT_MAX, label=_("来电内容"))
    if not asked:
        raise ValidationError({"asked": ValidationError(_("请填写来电内容"), code="asked_empty")})
    answered = _limited(answered, name="answered", limit=TEXT_MAX, label=_("答复内容"))
    follow_up = _limited(follow_up, name="follow_up", limit=FOLLOW_UP_MAX, label=_("后续跟进"))
    now = timezone.now()
    at = _checked_time(at, now, field="at")
    with transaction.atomic():
        request = None
        if make_request:
            request = request_create(
                actor=actor,
                compound=compound,
                channel=Channel.HOTLINE,
                text=asked,
                household=household,
                asker=caller,
                received_at=at,
            )
            if answered:  # what was said on the phone is the request's first answer, not typed again
                request_answer(actor=actor, request=request, text=answered, channel=Channel.HOTLINE, at=at)
        call = HotlineCall.objects.create(
            compound=compound,
            at=at,
            caller=caller,
            asked=asked,
            answered=answered,
            follow_up=follow_up,
            request=request,
            taken_by=actor,
            **(protected_phone_fields(phone) if phone else {}),
        )
        audit(
            actor=actor,
            action=AuditLog.Action.CREATE,
            obj=call,
            detail={"request": request.pk if request else None},
        )
    return call


@transaction.atomic
def hotline_follow_up(*, actor, call: HotlineCall, follow_up: str) -> HotlineCall:
    """Write down (or clear, once done) what still has to be done after a call."""
    _require_actor(actor)
    call = require_call(actor, call.pk)
    require_compound(actor, call.compound_id, roles=TEAM)
    follow_up = _limited(follow_up, name="follow_up", limit=FOLLOW_UP_MAX, label=_("后续跟进"))
    before = call.follow_up
    HotlineCall.objects.filter(pk=call.pk).update(follow_up=follow_up)
    call.follow_up = follow_up
    audit(
        actor=actor,
        action=AuditLog.Action.UPDATE,
        obj=call,
        reason="hotline_follow_up",
        detail={"before": before, "after": follow_up},
    )
    return call
