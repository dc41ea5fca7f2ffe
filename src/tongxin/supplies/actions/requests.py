"""Requests from sealed and isolated homes: asked by the household or logged by a worker on the
phone, then accepted, bought, delivered (taking its stock out of a store in the same transaction)
or closed as "cannot be done" with a reason.

Every state change is a conditional UPDATE on the state the caller read, so two workers acting on
one request at once cannot both win: the second is told who did it first and when, and nothing of
theirs is written.

Handing a request over from another module (a resident request of the voice module, issue 7)::

    from tongxin.supplies.actions.requests import supply_request_create

    supply_request_create(
        actor=worker,
        household=household,
        kind="medicine",
        detail="硝苯地平缓释片",
        via="worker",
        source=f"voice:{voice_request.pk}",  # at most 50 characters
        asked_at=voice_request.created_at,
    )

A `source` is handed over once: calling again with the same source returns the request already
made (for the same household) instead of a second one.
"""

import datetime
from dataclasses import dataclass
from decimal import Decimal

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
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Compound, Household, elderly_born_on_or_before
from tongxin.supplies.actions.stock import stock_out
from tongxin.supplies.models import (
    Item,
    MoveKind,
    RequestKind,
    RequestState,
    Store,
    SupplyRequest,
    SupplyRequestLine,
)
from tongxin.supplies.selectors.scope import HANDS_OUT, STOCK_KEEPERS, require_compound
from tongxin.supplies.units import checked_quantity, convert

OPEN_STATES = (RequestState.NEW, RequestState.ACCEPTED, RequestState.BOUGHT)
TO_DELIVER = (RequestState.ACCEPTED, RequestState.BOUGHT)
URGENT_KINDS = (RequestKind.MEDICINE, RequestKind.DOCTOR)
# The catalogue item a kind's button asks for when the compound has an item of that name.
KIND_ITEMS = {
    RequestKind.WATER: "桶装水",
    RequestKind.RICE: "大米",
    RequestKind.FLOUR: "面粉",
    RequestKind.VEGETABLES: "蔬菜包",
}
MAX_LINES = 20
DETAIL_MAX = 500
REASON_MAX = 200
SOURCE_MAX = 50
OLDEST = datetime.timedelta(days=365)
# Who moves a request on: the team and volunteers accept, buy and deliver; only the team (not a
# volunteer) closes one as impossible.
MOVERS = HANDS_OUT
CLOSERS = STOCK_KEEPERS


@dataclass(frozen=True)
class LineInput:
    """One line of a request: a catalogue item (or None for something to buy), what it is, how
    many, in which unit ("" for the item's own)."""

    item: Item | None
    description: str
    quantity: Decimal
    unit: str


def _text(value: str | None) -> str:
    return " ".join((value or "").split())


def _local(moment: datetime.datetime) -> str:
    return date_format(timezone.localtime(moment), "Y-m-d H:i")


def _checked_time(at: datetime.datetime | None, now: datetime.datetime, label: str) -> datetime.datetime:
    if at is None:
        return now
    if timezone.is_naive(at):
        raise ValidationError(_("%(label)s缺少时区") % {"label": label}, code="naive_time")
    if at > now + CLOCK_SKEW:  # a phone's clock a little ahead
        raise ValidationError(_("%(label)s不能晚于现在") % {"label": label}, code="future_time")
    if at < now - OLDEST:
        raise ValidationError(_("%(label)s不能早于一年前") % {"label": label}, code="too_old")
    return at


def _lines(household: Household, lines) -> list[LineInput]:
    lines = list(lines or [])
    if len(lines) > MAX_LINES:
        raise ValidationError(_("一次最多%(n)s项物品") % {"n": MAX_LINES}, code="too_many_lines")
    checked = []
    for raw in lines:
        item, description, quantity, unit = raw
        description, unit = _text(description), _text(unit)
        if item is not None and item.compound_id != household.compound_id:
            raise ValidationError(_("物资不属于该小区"), code="other_compound")
        if item is None and not description:
            raise ValidationError(_("请写明需要的物品"), code="line_empty")
        if len(description) > 100:
            raise ValidationError(_("物品说明不能超过100个字"), code="line_too_long")
        if len(unit) > 10:
            raise ValidationError(_("单位不能超过10个字"), code="unit_too_long")
        amount = checked_quantity(quantity)
        if item is not None:
            unit = unit or item.unit
            # A unit that does not convert to the item's is refused, as is what it converts to.
            checked_quantity(convert(amount, from_unit=unit, to_unit=item.unit).normalize())
        checked.append(LineInput(item, description, amount, unit))
    return checked


def _has_elderly(actor, household: Household, on: datetime.date) -> bool:
    return (
        registry_selectors.residents_of_household(actor, household)
        .filter(birth_date__lte=elderly_born_on_or_before(on))
        .exclude(presence="moved_out")
        .exists()
    )


def _require_household(actor, household: Household, *, roles, own_household: bool = False) -> None:
    """A household outside the actor's area (a grid worker's other buildings) is not found; a
    resident reaches only their own household, and only where `own_household` allows."""
    if actor is None or not getattr(actor, "is_authenticated", False):
        raise PermissionDenied
    if actor.role == Role.RESIDENT:
        if not own_household or actor.household_id != household.pk:
            raise Http404
        return
    require_compound(actor, household.compound_id, roles=roles)
    if not Household.objects.filter(scope_q(actor, "household"), pk=household.pk).exists():
        raise Http404


def supply_request_create(
    *,
    actor,
    household: Household,
    kind: str,
    detail: str = "",
    lines=(),
    via: str | None = None,
    source: str = "",
    asked_at: datetime.datetime | None = None,
) -> SupplyRequest:
    """A household asks for goods or help: a resident for their own household (via "resident"),
    a worker on its behalf ("phone" or "worker"). `lines` are (item or None, description,
    quantity, unit) tuples. Medicine needs a note of which; medicine or a doctor for a household
    with an elderly member (the registry's elderly age, on the day asked) is urgent."""
    _require_household(actor, household, roles=HANDS_OUT, own_household=True)
    if actor.role == Role.RESIDENT:
        if via not in (None, SupplyRequest.Via.RESIDENT):
            raise ValidationError(_("居民只能为本户提交需求"), code="invalid_via")
        # The queue is served oldest first and a source is another module's hand-over key: a
        # household backdating its request would jump the queue, and one naming a source would
        # take (or block) the hand-over of someone else's request.
        if asked_at is not None:
            raise ValidationError(_("居民提交的需求以提交时间为准"), code="asked_at_not_allowed")
        if source:
            raise ValidationError(_("居民不能填写关联诉求编号"), code="source_not_allowed")
        via = SupplyRequest.Via.RESIDENT
    else:
        via = via or SupplyRequest.Via.PHONE
        if via not in (SupplyRequest.Via.PHONE, SupplyRequest.Via.WORKER):
            raise ValidationError(_("工作人员代登记请选择电话或上门登记"), code="invalid_via")
    if kind not in RequestKind.values:
        raise ValidationError(_("未知的需求类别"), code="unknown_kind")
    detail = _text(detail)
    if len(detail) > DETAIL_MAX:
        raise ValidationError(_("说明不能超过500个字"), code="detail_too_long")
    if kind == RequestKind.MEDICINE and not detail:
        raise ValidationError(_("请注明需要哪种药品"), code="medicine_note_required")
    source = _text(source)
    if len(source) > SOURCE_MAX:
        raise ValidationError(_("关联诉求编号不能超过50个字"), code="source_too_long")
    now = timezone.now()
    asked_at = _checked_time(asked_at, now, _("提出时间"))
    checked = _lines(household, lines)
    urgent = kind in URGENT_KINDS and _has_elderly(actor, household, timezone.localdate(asked_at))
    with transaction.atomic():
        if source:
            # The compound's row locked: the same hand-over sent twice at once (a task retried)
            # waits for the first and gets its request, instead of making a second one.
            list(Compound.objects.select_for_update().filter(pk=household.compound_id).values_list("pk"))
            existing = SupplyRequest.objects.filter(compound_id=household.compound_id, source=source).first()
            if existing is not None:
                if existing.household_id != household.pk:
                    raise ValidationError(_("该诉求已转为另一户的物资需求"), code="source_other_household")
                return existing
        request = SupplyRequest.objects.create(
            compound_id=household.compound_id,
            household=household,
            kind=kind,
            detail=detail,
            via=via,
            source=source,
            urgent=urgent,
            asked_at=asked_at,
            asked_by=actor,
        )
        SupplyRequestLine.objects.bulk_create(
            SupplyRequestLine(
                request=request,
                item=line.item,
                description=line.description,
                quantity=line.quantity,
                unit=line.unit,
            )
            for line in checked
        )
        audit(
            actor=actor,
            action="create",
            obj=request,
            detail={
                "household": household.pk,
                "kind": kind,
                "via": via,
                "urgent": urgent,
                "source": source,
                "lines": len(checked),
            },
        )
    return request


def kind_line(household: Household, kind: str, quantity) -> list[tuple]:
    """The line a resident's kind button asks for: the compound's catalogue item of that kind
    (桶装水 for water...) in its own unit, or nothing when the compound has none."""
    name = KIND_ITEMS.get(kind)
    if not name:
        return []
    item = Item.objects.filter(compound_id=household.compound_id, name=name).first()
    if item is None:
        return [(None, str(RequestKind(kind).label), quantity, "")]
    return [(item, "", quantity, item.unit)]


def _last_change(request: SupplyRequest) -> str:
    row = (
        AuditLog.objects.filter(object_type="supplies.supplyrequest", object_id=str(request.pk))
        .order_by("-at", "-pk")
        .values_list("actor_name", flat=True)
        .first()
    )
    return row or _("他人")


def _changed_at(request: SupplyRequest) -> datetime.datetime:
    return {
        RequestState.ACCEPTED: request.accepted_at,
        RequestState.BOUGHT: request.bought_at,
        RequestState.DELIVERED: request.delivered_at,
        RequestState.CANNOT: request.closed_at,
    }.get(request.state) or request.updated_at


def _stale(request: SupplyRequest) -> ValidationError:
    fresh = SupplyRequest.objects.get(pk=request.pk)
    return ValidationError(
        _("该需求已由%(who)s于%(when)s改为“%(state)s”，请刷新后再操作")
        % {
            "who": _last_change(fresh),
            "when": _local(_changed_at(fresh)),
            "state": fresh.get_state_display(),
        },
        code="stale",
    )


def _refuse_transition(request: SupplyRequest, verb: str) -> ValidationError:
    """The state does not allow the step; past "new", say who moved it there and when (a worker
    whose list was stale learns who has it)."""
    message = _("该需求当前为“%(state)s”，不能%(verb)s") % {
        "state": request.get_state_display(),
        "verb": verb,
    }
    if request.state != RequestState.NEW:
        message += _("（%(who)s于%(when)s办理）") % {
            "who": _last_change(request),
            "when": _local(_changed_at(request)),
        }
    return ValidationError(message, code="invalid_transition")


def _not_before(at: datetime.datetime, earlier: datetime.datetime | None, message: str) -> None:
    if earlier is not None and at < earlier:
        raise ValidationError(message % {"when": _local(earlier)}, code="time_before_previous")


def _apply(request: SupplyRequest, expected: str, **changes) -> None:
    """The conditional update on the state read; 0 rows means someone else moved it first."""
    changes["updated_at"] = timezone.now()
    if not SupplyRequest.objects.filter(pk=request.pk, state=expected).update(**changes):
        raise _stale(request)
    for field, value in changes.items():
        setattr(request, field, value)


def _assignee_checked(request: SupplyRequest, assignee):
    if assignee.role not in HANDS_OUT or not assignee.is_active:
        raise ValidationError(_("负责人须为工作人员或志愿者"), code="invalid_assignee")
    if assignee.role in (Role.PLATFORM_ADMIN, Role.OFFICIAL):
        require_compound(assignee, request.compound_id, roles=HANDS_OUT)
    elif assignee.compound_id != request.compound_id:
        raise ValidationError(_("负责人不属于该小区"), code="invalid_assignee")
    return assignee


def supply_request_accept(*, actor, request: SupplyRequest, assignee=None, at=None) -> SupplyRequest:
    """New -> accepted: someone (the actor, or the assignee named) takes it on."""
    _require_household(actor, request.household, roles=MOVERS)
    if request.state != RequestState.NEW:
        raise _refuse_transition(request, _("受理"))
    assignee = _assignee_checked(request, assignee or actor)
    at = _checked_time(at, timezone.now(), _("受理时间"))
    _not_before(at, request.asked_at, _("受理时间不能早于提出时间（%(when)s）"))
    with transaction.atomic():
        _apply(request, RequestState.NEW, state=RequestState.ACCEPTED, assignee=assignee, accepted_at=at)
        audit(
            actor=actor,
            action="update",
            obj=request,
            fields="state,assignee",
            detail={"state": RequestState.ACCEPTED, "assignee": assignee.pk, "at": at.isoformat()},
        )
    return request


def supply_request_bought(*, actor, request: SupplyRequest, at=None) -> SupplyRequest:
    """Accepted -> bought: what was not in stock has been bought."""
    _require_household(actor, request.household, roles=MOVERS)
    if request.state != RequestState.ACCEPTED:
        raise _refuse_transition(request, _("标记为已采购"))
    at = _checked_time(at, timezone.now(), _("采购时间"))
    _not_before(at, request.accepted_at, _("采购时间不能早于受理时间（%(when)s）"))
    with transaction.atomic():
        _apply(request, RequestState.ACCEPTED, state=RequestState.BOUGHT, bought_at=at)
        audit(
            actor=actor,
            action="update",
            obj=request,
            fields="state",
            detail={"state": RequestState.BOUGHT, "at": at.isoformat()},
        )
    return request


def supply_request_deliver(
    *, actor, request: SupplyRequest, store: Store | None = None, at=None
) -> SupplyRequest:
    """Accepted or bought -> delivered (when, by whom). Its lines with a catalogue item are taken
    out of `store` to the household in the same transaction: a short stock refuses the delivery
    with the stock's message and nothing is written."""
    _require_household(actor, request.household, roles=MOVERS)
    if request.state not in TO_DELIVER:
        raise _refuse_transition(request, _("标记为已送达"))
    at = _checked_time(at, timezone.now(), _("送达时间"))
    if at < request.asked_at:
        raise ValidationError(
            _("送达时间不能早于提出时间（%(when)s）") % {"when": _local(request.asked_at)},
            code="delivered_before_asked",
        )
    _not_before(at, request.bought_at or request.accepted_at, _("送达时间不能早于受理或采购时间（%(when)s）"))
    stock_lines = sorted(
        (line for line in request.lines.select_related("item") if line.item_id),
        key=lambda line: (line.item_id, line.pk),
    )
    if stock_lines:
        if store is None:
            raise ValidationError(_("请选择出库的仓库"), code="store_required")
        if store.compound_id != request.compound_id:
            raise ValidationError(_("仓库不属于该小区"), code="other_compound")
    expected = request.state
    with transaction.atomic():
        _apply(
            request, expected, state=RequestState.DELIVERED, delivered_at=at, delivered_by=actor, closed_at=at
        )
        for line in stock_lines:
            stock_out(
                actor=actor,
                item=line.item,
                store=store,
                quantity=line.quantity,
                unit=line.unit or None,
                kind=MoveKind.OUT_HOUSEHOLD,
                household=request.household,
                at=at,
                note=_("物资需求#%(pk)s") % {"pk": request.pk},
            )
        audit(
            actor=actor,
            action="update",
            obj=request,
            fields="state,delivered_at,delivered_by",
            detail={
                "state": RequestState.DELIVERED,
                "at": at.isoformat(),
                "store": store.pk if stock_lines else None,
                "stock_lines": len(stock_lines),
            },
        )
    return request


def supply_request_cannot(*, actor, request: SupplyRequest, reason: str, at=None) -> SupplyRequest:
    """An open request closed as impossible, with the reason the household is told."""
    _require_household(actor, request.household, roles=CLOSERS)
    if request.state not in OPEN_STATES:
        raise _refuse_transition(request, _("标记为无法办理"))
    reason = _text(reason)
    if not reason:
        raise ValidationError(_("请填写无法办理的原因"), code="reason_required")
    if len(reason) > REASON_MAX:
        raise ValidationError(_("原因不能超过200个字"), code="reason_too_long")
    at = _checked_time(at, timezone.now(), _("办结时间"))
    _not_before(at, request.asked_at, _("办结时间不能早于提出时间（%(when)s）"))
    expected = request.state
    with transaction.atomic():
        _apply(request, expected, state=RequestState.CANNOT, cannot_reason=reason, closed_at=at)
        audit(
            actor=actor,
            action="update",
            obj=request,
            fields="state,cannot_reason",
            reason=reason,
            detail={"state": RequestState.CANNOT, "at": at.isoformat()},
        )
    return request


def requests_today_export(*, actor, compound, building_id=None, store_id=None, ip=None) -> tuple[bytes, str]:
    """The day's delivery list as .xlsx (rooms, masked phones, what to bring), audited."""
    from tongxin.supplies import requests_export as exporting
    from tongxin.supplies.selectors.requests import day_list

    require_compound(actor, compound.pk, roles=MOVERS)
    day = day_list(actor, compound, building_id=building_id, store_id=store_id)
    content = exporting.write_day_list(day, compound=compound)
    audit(
        actor=actor,
        action="export",
        object_type="supplies.supplyrequest",
        label=f"{compound.name} {_('配送清单')}",
        fields="requests_today",
        detail={"compound": compound.pk, "building": building_id, "count": day.count},
        ip=ip,
    )
    return content, exporting.day_list_file_name(compound)
