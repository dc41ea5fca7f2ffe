"""JSON API of mass testing: the sampling tables' sync (and what a table needs offline)."""

import datetime
import uuid

from django.shortcuts import get_object_or_404
from ninja import Field, Router, Schema

from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.selectors.station import tables_visible

router = Router(tags=["testing"])


class PersonIn(Schema):
    resident: int | None = None
    document: str | None = Field(None, max_length=40)
    code: str | None = Field(None, max_length=400)


class EventIn(Schema):
    id: uuid.UUID
    type: str = Field(..., max_length=12)
    at: datetime.datetime
    tube: str | None = Field(None, max_length=40)
    pool_size: int | None = None
    kind: str | None = Field(None, max_length=10)
    person: PersonIn | None = None
    bag: str | None = Field(None, max_length=40)
    tubes: list[str] | None = None


class SyncIn(Schema):
    events: list[EventIn]


class RefusedOut(Schema):
    id: str
    code: str
    message: str
    where: dict | None = None


class SyncOut(Schema):
    stored: list[str]
    refused: list[RefusedOut]
    server_time: datetime.datetime


@router.post("/tables/{table_id}/sync", response=SyncOut)
def sync(request, table_id: int, payload: SyncIn):
    """Store a batch of a sampling table's events: each is answered stored or refused with why."""
    table = get_object_or_404(tables_visible(request.user), pk=table_id)
    events = [event.model_dump() for event in payload.events]
    for event in events:
        if event.get("person"):
            event["person"] = {k: v for k, v in event["person"].items() if v not in (None, "")}
    result = sampling_sync(actor=request.user, table=table, events=events)
    return {**result.to_dict(), "server_time": datetime.datetime.now(tz=datetime.UTC)}
