"""Visitors and returning residents registered at a gate.

A visitor (or a resident coming back from elsewhere, who has no check by pass to go through) gives
their name, phone, reason, whom they visit, where they come from, and shows their health code: the
volunteer records its colour. They come in on a green code only (`verdict.decide_visitor`). An
admitted returning resident gets the arrival flag on their status (`outbreak.actions.flag_set`,
kind "arrival", set by the system): the outbreak rules' arrival rule then asks for their tests.

Phones are kept encrypted and shown masked. Every registration is a Visitor row and an AccessEvent
(method "visitor", direction "in") with the same id made on the device, so a resend (online, or in
a gate's sync) stores nothing twice.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.access import verdict
from tongxin.access.actions.gates import check_input, insert_row, require_gate_worker
from tongxin.access.models import AccessEvent, Gate, Visitor
from tongxin.core import crypto
from tongxin.core.audit import audit
from tongxin.core.documents import DocumentError, parse_mobile
from tongxin.core.masking import mask_phone
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Household, Resident

NAME_MAX = 50
REASON_MAX = 200
CAME_FROM_MAX = 100


def _text(value, limit: int, field: str, label: str) -> str:
    text = (value or "").strip() if isinstance(value, str | type(None)) else None
    if text is None:
        raise ValidationError({field: _("%(label)s格式不对") % {"label": label}})
    if len(text) > limit:
        raise ValidationError({field: _("%(label)s最多%(n)d个字") % {"label": label, "n": limit}})
    return text


def _id(value, field: str):
    if value in (None, ""):
        return None
    if isinstance(value, Household | Resident):
        return value.pk
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise ValidationError({field: _("编号无效")}) from None
    if not 0 < number < 2**63:
        raise ValidationError({field: _("编号无效")})
    return number


def clean_visitor(actor, gate: Gate, fields: dict) -> dict:
    """The registration's fields checked (Chinese messages by field), with the household visited
    and the returning resident read within the actor's area and the gate's compound."""
    kind = fields.get("kind")
    if kind not in Visitor.Kind.values:
        raise ValidationError({"kind": _("请选择访客或返回居民")})
    code_color = fields.get("code_color")
    if code_color not in Visitor.CodeColor.values:
        raise ValidationError({"code_color": _("请选择健康码颜色")})
    name = _text(fields.get("name"), NAME_MAX, "name", _("姓名"))
    reason = _text(fields.get("reason"), REASON_MAX, "reason", _("事由"))
    came_from = _text(fields.get("came_from"), CAME_FROM_MAX, "came_from", _("从何处来"))
    raw_phone = fields.get("phone")
    if raw_phone is not None and not isinstance(raw_phone, str | int):
        raise ValidationError({"phone": _("手机号格式不对：应为1开头的11位数字")})
    try:
        phone = parse_mobile(raw_phone)
    except DocumentError as error:
        raise ValidationError({"phone": str(error)}) from None

    resident = None
    resident_id = _id(fields.get("resident"), "resident")
    if kind == Visitor.Kind.RETURNING:
        if resident_id is None:
            raise ValidationError({"resident": _("请选择返回的本小区居民")})
        resident = (
            Resident.objects.filter(scope_q(actor, "resident"), pk=resident_id, compound_id=gate.compound_id)
            .exclude(presence=Resident.Presence.MOVED_OUT)
            .order_by()
            .first()
        )
        if resident is None:
            raise ValidationError({"resident": _("不是本小区的在册居民")})
        name = name or resident.name
    elif resident_id is not None:
        raise ValidationError({"resident": _("访客不能选择本小区居民，返回居民请按返回居民登记")})
    if not name:
        raise ValidationError({"name": _("请填写姓名")})
    if kind == Visitor.Kind.VISITOR and not phone:
        raise ValidationError({"phone": _("请填写访客手机号")})

    visiting = None
    visiting_id = _id(fields.get("visiting"), "visiting")
    if visiting_id is not None:
        visiting = (
            Household.objects.filter(
                scope_q(actor, "household"), pk=visiting_id, compound_id=gate.compound_id
            )
            .order_by()
            .first()
        )
        if visiting is None:
            raise ValidationError({"visiting": _("被访住户不在本小区")})
    return {
        "kind": kind,
        "name": name,
        "phone": phone,
        "reason": reason,
        "came_from": came_from,
        "code_color": code_color,
        "resident": resident,
        "visiting": visiting,
    }


@transaction.atomic
def visitor_register(
    *,
    actor,
    gate: Gate,
    scan_id,
    at: datetime.datetime | None = None,
    kind: str,
    name: str = "",
    phone: str = "",
    reason: str = "",
    visiting=None,
    resident=None,
    code_color: str,
    came_from: str = "",
    offline: bool = False,
) -> tuple[Visitor, verdict.Verdict]:
    """Register a visitor or a returning resident at a gate (see the module's docstring): admitted
    on a green code only. `visiting`: the household visited (id or Household, optional);
    `resident`: the returning resident (id or Resident). A resend of a stored id returns the
    stored registration and writes nothing."""
    require_gate_worker(actor, gate)
    scan, at = check_input(scan_id, at, "in")
    stored = Visitor.objects.filter(scan_id=scan).first()
    if stored is not None:
        if stored.compound_id != gate.compound_id:
            raise ValidationError({"id": _("记录编号已被其他卡口使用")})
        return stored, verdict.decide_visitor(code_color=stored.code_color)
    if AccessEvent.objects.filter(scan_id=scan).exists():
        raise ValidationError({"id": _("记录编号已被使用")})
    if not gate.active and not offline:
        raise ValidationError(_("该卡口已停用"))
    clean = clean_visitor(
        actor,
        gate,
        {
            "kind": kind,
            "name": name,
            "phone": phone,
            "reason": reason,
            "visiting": visiting,
            "resident": resident,
            "code_color": code_color,
            "came_from": came_from,
        },
    )
    decided = verdict.decide_visitor(code_color=clean["code_color"])
    returning = clean["resident"]
    visitor = Visitor(
        scan_id=scan,
        kind=clean["kind"],
        compound_id=gate.compound_id,
        gate_id=gate.pk,
        name=clean["name"],
        phone_cipher=crypto.encrypt(clean["phone"]),
        phone_masked=mask_phone(clean["phone"]),
        reason=clean["reason"],
        visiting=clean["visiting"],
        resident=returning,
        code_color=clean["code_color"],
        came_from=clean["came_from"],
        arrived_at=at,
        admitted=decided.allowed,
        registered_by=actor,
    )
    visitor.save()
    household = clean["visiting"] or (returning.household if returning else None)
    insert_row(
        AccessEvent(
            scan_id=scan,
            gate_id=gate.pk,
            compound_id=gate.compound_id,
            at=at,
            direction=AccessEvent.Direction.IN,
            method=AccessEvent.Method.VISITOR,
            resident_id=returning.pk if returning else None,
            household_id=household.pk if household else None,
            visitor_id=visitor.pk,
            allowed=decided.allowed,
            reason=decided.reason,
            emergency=False,
            offline=offline,
            on_duty_id=actor.pk,
        )
    )
    if returning is not None and decided.allowed:
        from tongxin.outbreak.actions import flag_set

        came = clean["came_from"]
        flag_set(
            actor=None,
            resident=returning,
            kind="arrival",
            reason=_("从%(place)s返回，卡口登记") % {"place": came} if came else _("外地返回，卡口登记"),
            starts_at=min(at, timezone.now()),
        )
    audit(
        actor=actor,
        action="visitor_register",
        obj=visitor,
        fields="phone" if clean["phone"] else "",
        detail={
            "gate": gate.pk,
            "kind": visitor.kind,
            "admitted": visitor.admitted,
            "resident": returning.pk if returning else None,
            "offline": offline,
        },
    )
    return visitor, decided
