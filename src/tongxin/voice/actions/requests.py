"""Requests (诉求): received from a channel, acknowledged, worked on, answered (by the channel they
came from), closed only once answered, reopened with a reason, or handed over to the supplies
module as a supply request.

Every state change is a conditional UPDATE on the state (and last change) the caller read: two
workers acting on one request at once cannot both win; the second is told who did it and when.
"""

import datetime

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.models import AuditLog
from tongxin.core.scoping import scope_q
from tongxin.core.sync import CLOCK_SKEW
from tongxin.registry.models import Compound, Household, Resident
from tongxin.voice.attachments import checked_files
from tongxin.voice.categories import is_urgent, suggest_category
from tongxin.voice.models import Answer, Attachment, Category, Channel, Request, State
from tongxin.voice.selectors.scope import KEEPERS, TEAM, requests_visible, require_compound, require_request

TEXT_MAX = 2000
ASKER_MAX = 50
REASON_MAX = 200
OLDEST = datetime.timedelta(days=365)
OPEN_STATES = (State.NEW, State.ACKNOWLEDGED, State.IN_PROGRESS)
# Who may hold a request handed on: the compound's own team (officials oversee, they hold none).
HOLDER_ROLES = (Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER)


def _text(value) -> str:
    return str(value or "").strip()


def _line(value) -> str:
    return " ".join(str(value or "").split())


def _local(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _checked_text(value, *, empty: str, code: str = "text_empty") -> str:
    text = _text(value)
    if not text:
        raise ValidationError({"text": ValidationError(empty, code=code)})
    if len(text) > TEXT_MAX:
        raise ValidationError(
            {"text": ValidationError(_("内容不能超过%(n)s个字") % {"n": TEXT_MAX}, code="text_too_long")}
        )
    return text


def _checked_time(at, now: datetime.datetime, field: str = "received_at") -> datetime.datetime:
    def error(message: str, code: str) -> ValidationError:
        return ValidationError({field: ValidationError(message, code=code)})

    if at is None:
        return now
    if not isinstance(at, datetime.datetime) or timezone.is_naive(at):
        raise error(_("时间缺少时区"), "naive_time")
    if at > now + CLOCK_SKEW:
        raise error(_("时间不能晚于现在"), "future_time")
    if at < now - OLDEST:
        raise error(_("时间不能早于一年前"), "too_old")
    return at


def _require_actor(actor) -> None:
    if actor is None or not getattr(actor, "is_authenticated", False) or not actor.is_active:
        raise PermissionDenied


def request_create(
    *,
    actor,
    compound: Compound,
    channel: str,
    text: str,
    household: Household | None = None,
    resident: Resident | None = None,
    asker: str = "",
    category: str | None = None,
    received_at: datetime.datetime | None = None,
    attachments=(),
) -> Request:
    """A request as received. A resident asks for his own household through the portal; the
    team logs what came by a group, a private message, the hotline or a visit, for a household
    in its scope or for none (a group nickname in `asker`). The category is suggested from the
    text when not given; medical requests and elderly residents living alone are urgent."""
    _require_actor(actor)
    if actor.role == Role.RESIDENT:
        if not actor.household_id:
            raise PermissionDenied
        household = household or Household.objects.filter(pk=actor.household_id).first()
        if household is None or household.pk != actor.household_id or household.compound_id != compound.pk:
            raise Http404
        if channel != Channel.PORTAL:
            raise ValidationError(
                {"channel": ValidationError(_("居民只能通过居民端提交诉求"), code="invalid_channel")}
            )
        if received_at is not None:
            raise ValidationError(
                {
                    "received_at": ValidationError(
                        _("居民提交的诉求以提交时间为准"), code="received_at_not_allowed"
                    )
                }
            )
    else:
        require_compound(actor, compound.pk, roles=TEAM)
        if channel not in Channel.values:
            raise ValidationError({"channel": ValidationError(_("未知的渠道"), code="unknown_channel")})
        if channel == Channel.PORTAL:
            raise ValidationError(
                {"channel": ValidationError(_("居民端诉求只能由居民本人提交"), code="invalid_channel")}
            )
        if household is None and resident is not None:
            household = resident.household
        if household is not None:
            if household.compound_id != compound.pk:
                raise Http404
            if not Household.objects.filter(scope_q(actor, "household"), pk=household.pk).exists():
                raise Http404
    if resident is not None and (household is None or resident.household_id != household.pk):
        raise ValidationError(
            {"resident": ValidationError(_("该居民不属于这一户"), code="resident_other_household")}
        )
    text = _checked_text(text, empty=_("请填写诉求内容"))
    asker = _line(asker)
    if len(asker) > ASKER_MAX:
        raise ValidationError(
            {"asker": ValidationError(_("提出人不能超过%(n)s个字") % {"n": ASKER_MAX}, code="asker_too_long")}
        )
    if category is None or category == "":
        category = suggest_category(text)
    elif category not in Category.values:
        raise ValidationError({"category": ValidationError(_("未知的诉求类别"), code="unknown_category")})
    now = timezone.now()
    received_at = _checked_time(received_at, now)
    files = checked_files(attachments)
    urgent = is_urgent(category, household, timezone.localdate(received_at))
    with transaction.atomic():
        request = Request.objects.create(
            compound=compound,
            household=household,
            resident=resident,
            asker=asker,
            channel=channel,
            text=text,
            category=category,
            urgent=urgent,
            received_at=received_at,
            created_by=actor,
        )
        for checked in files:
            Attachment.objects.create(
                request=request,
                file=checked.content,
                name=checked.name,
                content_type=checked.content_type,
                size=checked.size,
            )
        audit(
            actor=actor,
            action=AuditLog.Action.CREATE,
            obj=request,
            detail={"channel": channel, "category": category, "urgent": urgent, "attachments": len(files)},
        )
    return request


def _who_and_when(request: Request) -> dict:
    name = (
        AuditLog.objects.filter(object_type="voice.request", object_id=str(request.pk))
        .order_by("-at", "-pk")
        .values_list("actor_name", flat=True)
        .first()
    )
    return {"who": name or _("他人"), "when": _local(request.updated_at)}


def _conflict(request_id: int) -> ValidationError:
    fresh = Request.objects.get(pk=request_id)
    return ValidationError(
        _("该诉求已被%(who)s于%(when)s处理（现为“%(state)s”），请刷新后再操作")
        % {**_who_and_when(fresh), "state": fresh.get_state_display()},
        code="conflict",
    )


def _move(
    actor,
    request: Request,
    *,
    allowed,
    action: str,
    reason: str = "",
    audit_fields: str = "state",
    audit_detail: dict | None = None,
    **changes,
) -> Request:
    """The conditional update on the state and last change read; raises when someone was first."""
    if request.state not in allowed:
        raise ValidationError(
            _("诉求当前为“%(state)s”，不能%(action)s")
            % {"state": request.get_state_display(), "action": action},
            code="invalid_state",
        )
    now = changes.pop("now", None) or timezone.now()
    changes["updated_at"] = now
    with transaction.atomic():
        done = Request.objects.filter(
            pk=request.pk, state=request.state, updated_at=request.updated_at
        ).update(**changes)
        if not done:
            raise _conflict(request.pk)
        for field, value in changes.items():
            setattr(request, field, value)
        audit(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            obj=request,
            fields=audit_fields,
            reason=reason,
            detail={"state": request.state, "step": action, **(audit_detail or {})},
        )
    return request


def _staff_request(actor, request: Request) -> Request:
    """The actor is on the request's team and sees it (404 otherwise); residents are refused."""
    _require_actor(actor)
    if actor.role == Role.RESIDENT:
        raise PermissionDenied
    require_compound(actor, request.compound_id, roles=TEAM)
    require_request(actor, request.pk)
    return request


def request_acknowledge(*, actor, request: Request) -> Request:
    """A worker takes the request: it is his until handed on."""
    _staff_request(actor, request)
    now = timezone.now()
    return _move(
        actor,
        request,
        allowed=(State.NEW,),
        action=_("确认"),
        state=State.ACKNOWLEDGED,
        holder=actor,
        acknowledged_at=now,
        now=now,
    )


def request_start(*, actor, request: Request) -> Request:
    _staff_request(actor, request)
    now = timezone.now()
    changes = {"state": State.IN_PROGRESS, "now": now}
    if request.holder_id is None:
        changes["holder"] = actor
    if request.acknowledged_at is None:
        changes["acknowledged_at"] = now
    return _move(actor, request, allowed=(State.NEW, State.ACKNOWLEDGED), action=_("开始办理"), **changes)


def _checked_step_time(at, now: datetime.datetime, *, after: datetime.datetime, field: str = "at"):
    """When a step happened: now, or earlier when it is written down afterwards (an answer given on
    the phone and typed in later), never before the step it follows."""
    moment = _checked_time(at, now, field=field)
    if moment < after:
        raise ValidationError(
            {
                field: ValidationError(
                    _("时间不能早于%(when)s") % {"when": _local(after)}, code="before_previous_step"
                )
            }
        )
    return moment


def request_answer(
    *, actor, request: Request, text: str, channel: str | None = None, at: datetime.datetime | None = None
) -> Answer:
    """An answer kept with the request, sent back by the channel it came from unless another is
    named. The first answer's time is the one the targets are measured on; a closed request is
    reopened before it is answered again. `at` is when it was given, if not now."""
    _staff_request(actor, request)
    text = _checked_text(text, empty=_("请填写答复内容"), code="answer_empty")
    channel = channel or request.channel
    if channel not in Channel.values:
        raise ValidationError({"channel": ValidationError(_("未知的渠道"), code="unknown_channel")})
    now = timezone.now()
    answered_at = _checked_step_time(at, now, after=request.received_at)
    changes = {"state": State.ANSWERED, "now": now}
    if request.first_answer_at is None:
        changes["first_answer_at"] = answered_at
    if request.holder_id is None:
        changes["holder"] = actor
    with transaction.atomic():
        _move(
            actor,
            request,
            allowed=(*OPEN_STATES, State.ANSWERED),
            action=_("答复"),
            **changes,
        )
        return Answer.objects.create(request=request, text=text, channel=channel, at=answered_at, by=actor)


def request_close(*, actor, request: Request, at: datetime.datetime | None = None) -> Request:
    _staff_request(actor, request)
    if request.state == State.CLOSED:
        raise ValidationError(_("诉求已办结"), code="already_closed")
    if request.first_answer_at is None:
        raise ValidationError(_("诉求尚未答复，不能办结"), code="not_answered")
    now = timezone.now()
    return _move(
        actor,
        request,
        allowed=(*OPEN_STATES, State.ANSWERED),
        action=_("办结"),
        state=State.CLOSED,
        closed_at=_checked_step_time(at, now, after=request.first_answer_at),
        now=now,
    )


def request_reopen(*, actor, request: Request, reason: str) -> Request:
    """An answered or closed request back in progress (the resident was not satisfied, the
    answer was wrong), with the reason kept in the audit."""
    _staff_request(actor, request)
    reason = _line(reason)
    if not reason:
        raise ValidationError({"reason": ValidationError(_("请填写重新办理的原因"), code="reason_required")})
    if len(reason) > REASON_MAX:
        raise ValidationError(
            {
                "reason": ValidationError(
                    _("原因不能超过%(n)s个字") % {"n": REASON_MAX}, code="reason_too_long"
                )
            }
        )
    return _move(
        actor,
        request,
        allowed=(State.ANSWERED, State.CLOSED),
        action=_("重新办理"),
        reason=reason,
        state=State.IN_PROGRESS,
        closed_at=None,
    )


def request_classify(*, actor, request: Request, category: str, urgent: bool) -> Request:
    """The category and urgency the team corrects after the request was received (the suggestion
    from the text was wrong, an elderly neighbour turned out to be alone), at any state: the
    counts per category and the answer target follow. Nothing changed is refused."""
    _staff_request(actor, request)
    if category not in Category.values:
        raise ValidationError({"category": ValidationError(_("未知的诉求类别"), code="unknown_category")})
    if not isinstance(urgent, bool):
        raise ValidationError({"urgent": ValidationError(_("请选择是否紧急"), code="urgent_invalid")})
    if category == request.category and urgent == request.urgent:
        raise ValidationError(_("类别和紧急程度都没有变化"), code="unchanged")
    return _move(
        actor,
        request,
        allowed=State.values,
        action=_("更正类别"),
        audit_fields="category,urgent",
        audit_detail={
            "category": category,
            "urgent": urgent,
            "was": {"category": request.category, "urgent": request.urgent},
        },
        category=category,
        urgent=urgent,
    )


def _checked_holder(request: Request, holder) -> None:
    """The new holder works on the request's compound (its manager, grid workers, volunteers) and
    sees the request (a grid worker only his buildings' households)."""
    if (
        holder is None
        or not getattr(holder, "is_active", False)
        or holder.role not in HOLDER_ROLES
        or holder.compound_id != request.compound_id
    ):
        raise ValidationError(
            {"holder": ValidationError(_("只能转交给本小区的工作人员"), code="holder_not_team")}
        )
    if not requests_visible(holder).filter(pk=request.pk).exists():
        raise ValidationError(
            {
                "holder": ValidationError(
                    _("%(name)s不负责这户所在的楼栋，看不到这条诉求，不能接手") % {"name": holder},
                    code="holder_out_of_scope",
                )
            }
        )


def request_hand_on(*, actor, request: Request, holder) -> Request:
    """The request handed on to another holder of the compound's team, who sees it; its state is
    kept. Only the keepers (包联干部, grid worker, officials) hand requests on: a volunteer works
    the ones he holds. A closed request is not handed on; to the holder it has is refused."""
    _staff_request(actor, request)
    if actor.role not in KEEPERS:
        raise PermissionDenied(_("只有包联干部、网格员或上级干部可以转交诉求"))
    _checked_holder(request, holder)
    if holder.pk == request.holder_id:
        raise ValidationError(
            {"holder": ValidationError(_("该诉求已由%(name)s经办") % {"name": holder}, code="unchanged")}
        )
    return _move(
        actor,
        request,
        allowed=(*OPEN_STATES, State.ANSWERED),
        action=_("转交经办人"),
        audit_fields="holder",
        audit_detail={"holder": holder.pk, "was": request.holder_id},
        holder=holder,
    )


def request_hand_over_to_supplies(*, actor, request: Request, kind: str, lines=(), detail: str = ""):
    """The request becomes a supply request of its household (issue 6's queue) instead of being
    typed twice: linked, and the request in progress. Handing over again returns the same supply
    request; a request with no household cannot be handed over."""
    from tongxin.supplies.actions.requests import supply_request_create

    _staff_request(actor, request)
    if request.supply_request_id:
        return request.supply_request
    if request.household_id is None:
        raise ValidationError(_("该诉求没有关联住户，不能转为物资需求"), code="no_household")
    if request.state == State.CLOSED:
        raise ValidationError(_("诉求已办结，不能转为物资需求"), code="already_closed")
    via = "phone" if request.channel == Channel.HOTLINE else "worker"
    with transaction.atomic():
        supply = supply_request_create(
            actor=actor,
            household=request.household,
            kind=kind,
            detail=detail,
            lines=lines,
            via=via,
            source=f"voice:{request.pk}",
            asked_at=min(request.received_at, timezone.now()),
        )
        now = timezone.now()
        changes = {"supply_request": supply, "updated_at": now}
        if request.state in (State.NEW, State.ACKNOWLEDGED, State.ANSWERED):
            changes["state"] = State.IN_PROGRESS
        if request.holder_id is None:
            changes["holder"] = actor
        done = (
            Request.objects.filter(pk=request.pk, supply_request__isnull=True)
            .exclude(state=State.CLOSED)
            .update(**changes)
        )
        if not done:
            fresh = Request.objects.select_related("supply_request").get(pk=request.pk)
            if fresh.supply_request_id:
                request.supply_request = fresh.supply_request
                request.state = fresh.state
                return fresh.supply_request
            raise _conflict(request.pk)
        for field, value in changes.items():
            setattr(request, field, value)
        audit(
            actor=actor,
            action=AuditLog.Action.UPDATE,
            obj=request,
            fields="supply_request",
            detail={"supply_request": supply.pk, "kind": kind},
        )
    return supply
