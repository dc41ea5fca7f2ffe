"""JSON API of the access module: gates (mounted at /api/v1/access/).

`POST gates/{id}/check`, `POST gates/{id}/sync`, `POST gates/{id}/visitors`: see the actions
(`access.actions.gates.gate_check`, `gate_events_sync`, `access.actions.visitors`).

`GET gates/{id}/snapshot`: what a gate device keeps to decide offline:
```
{"gate": {"id", "name", "compound": id, "compound_name"},
 "generated_at": iso, "server_time": iso,
 "key": {"id": "d43ba186", "public_key": "<base64url raw 32 bytes>"},
 "policy": {"exits_per_household", "exit_period_days", "exit_max_minutes", "sealed_no_exit",
            "exit_needs_test", "test_validity_hours"},
 "revoked": ["<pass number>", ...],       # revoked passes of the compound, not yet expired
 "passes": [["<number>", resident_id|null, household_id], ...],   # live passes
 "residents": [[id, household_id, name, room, color, status_reason, color_until_epoch|null,
                last_sampled_epoch|null, sealed 0|1], ...],
 "households": {"<household id>": {"room": "3-2-301",
                "exits": [out_epoch, ...],         # non-emergency outings in the policy's period
                "out": [[resident_id|null, out_epoch, due_epoch|null], ...]}}}   # open outings
```
Epochs are Unix seconds. `color` holds until `color_until_epoch` (green after it); the device
works out "overdue" from `last_sampled_epoch` and `test_validity_hours`. A household pass's
outing names no resident (null).
"""

import datetime
import json
from typing import Literal

from django.http import HttpResponse
from django.utils import timezone
from ninja import Router, Schema
from pydantic import BaseModel, Field

from tongxin.access.actions.gates import gate_check, gate_events_sync
from tongxin.access.actions.visitors import visitor_register
from tongxin.access.selectors.gates import gate_for_check, gate_get, gate_snapshot

router = Router()


def _compact(data, status: int = 200) -> HttpResponse:
    """JSON without spaces and with Chinese as UTF-8, built without a response schema's validation:
    a snapshot is thousands of rows, a check is the gate's hot path. Never stored by a cache (the
    browser's on disk included): a snapshot is the compound's names, rooms and health statuses."""
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
        status=status,
    )
    response["Cache-Control"] = "no-store"
    return response


@router.get("/gates/{gate_id}/snapshot", url_name="access_gate_snapshot")
def snapshot(request, gate_id: int):
    """What the gate device keeps to decide offline: public key, revoked and live passes, the
    residents' statuses now, the households' exits and open outings (names and rooms only)."""
    gate = gate_get(request.user, gate_id)
    return _compact(gate_snapshot(request.user, gate))


class CheckIn(BaseModel):
    """One check, as the gate device sends it (plain pydantic: ninja's Schema validator costs
    more on the hot path)."""

    id: str = Field(..., max_length=64, description="a UUID made on the device")
    at: datetime.datetime | None = Field(None, description="when, by the device's clock (now if left out)")
    direction: Literal["in", "out"]
    code: str | None = Field(None, max_length=600, description="the pass's QR text")
    resident: int | None = Field(None, description="picked by room or name")
    document: str | None = Field(None, max_length=40, description="an ID number (checked here only)")
    emergency: bool = False


class CheckOut(Schema):
    id: str
    allowed: bool
    reason: str
    text: str
    name: str
    room: str
    due_at: datetime.datetime | None
    late_minutes: int


@router.post("/gates/{gate_id}/check", response=CheckOut, url_name="access_gate_check")
def check(request, gate_id: int, payload: CheckIn):
    """Check someone at the gate and record it: the verdict, its few words, and the name and room to
    compare with the face. A resend of the same id answers what was decided then."""
    gate, policy = gate_for_check(request.user, gate_id)
    checked = gate_check(
        actor=request.user,
        gate=gate,
        scan_id=payload.id,
        at=payload.at,
        direction=payload.direction,
        code=payload.code,
        resident_id=payload.resident,
        document=payload.document,
        emergency=payload.emergency,
        policy=policy,
    )
    decided = checked.verdict
    return _compact(
        {
            "id": str(checked.event.scan_id),
            "allowed": decided.allowed,
            "reason": decided.reason,
            "text": checked.text,
            "name": checked.name,
            "room": checked.room,
            "due_at": timezone.localtime(decided.due_at).isoformat() if decided.due_at else None,
            "late_minutes": decided.late_minutes,
        }
    )


class SyncIn(BaseModel):
    """A batch of a gate device's events (see `access.actions.gates.gate_events_sync`), taken as
    the device sent them and checked one by one, so a malformed event is refused with its reason
    while the rest of the batch is stored."""

    events: list


class GateRefusedOut(Schema):
    id: str
    code: str
    message: str


class GateSyncOut(Schema):
    stored: list[str]
    refused: list[GateRefusedOut]
    server_time: datetime.datetime


@router.post("/gates/{gate_id}/sync", response=GateSyncOut, url_name="access_gate_sync")
def sync(request, gate_id: int, payload: SyncIn):
    """Store the events a gate device decided offline (checks, visitors): each is answered stored
    (a resend of a stored one too) or refused with a code and a sentence."""
    gate = gate_get(request.user, gate_id)
    result = gate_events_sync(actor=request.user, gate=gate, events=payload.events)
    return _compact({**result.to_dict(), "server_time": timezone.now().isoformat()})


class VisitorIn(BaseModel):
    id: str = Field(..., max_length=64, description="a UUID made on the device")
    at: datetime.datetime | None = None
    kind: Literal["visitor", "returning"]
    name: str = Field("", max_length=50)
    phone: str = Field("", max_length=20)
    reason: str = Field("", max_length=200)
    visiting: int | None = Field(None, description="the household visited")
    resident: int | None = Field(None, description="the returning resident")
    code_color: Literal["green", "yellow", "red"]
    came_from: str = Field("", max_length=100)


class VisitorOut(Schema):
    id: str
    allowed: bool
    reason: str
    text: str


@router.post("/gates/{gate_id}/visitors", response=VisitorOut, url_name="access_gate_visitors")
def visitors(request, gate_id: int, payload: VisitorIn):
    """Register a visitor or a returning resident at the gate: admitted on a green code only; an
    admitted returning resident gets the arrival rule on their status."""
    gate = gate_get(request.user, gate_id)
    visitor, decided = visitor_register(
        actor=request.user,
        gate=gate,
        scan_id=payload.id,
        at=payload.at,
        kind=payload.kind,
        name=payload.name,
        phone=payload.phone,
        reason=payload.reason,
        visiting=payload.visiting,
        resident=payload.resident,
        code_color=payload.code_color,
        came_from=payload.came_from,
    )
    return _compact(
        {
            "id": str(visitor.scan_id),
            "allowed": decided.allowed,
            "reason": decided.reason,
            "text": decided.text(),
        }
    )
