"""JSON API of mass testing: the sampling tables' sync (and what a table needs offline)."""

import datetime
import json

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from ninja import Router, Schema
from pydantic import BaseModel

from tongxin.testing.actions.sampling import sampling_sync
from tongxin.testing.selectors.station import (
    station_roster,
    station_table_get,
    table_samples_since,
    tables_visible,
)

router = Router(tags=["testing"])


class SyncIn(BaseModel):
    """A batch of a table's events (see tongxin.testing.actions.sampling for their fields).

    Each event is taken as the device sent it and checked one by one by the action, so a
    malformed event is refused with its reason while the rest of the batch is stored: a device
    must never be stuck resending a batch the server rejects as a whole. (Plain pydantic, not
    ninja's Schema, whose per-object validator costs a third of a large request.)"""

    events: list[dict]


class StationRefusedOut(Schema):
    id: str
    code: str
    message: str
    where: dict | None = None


class StationSyncOut(Schema):
    stored: list[str]
    refused: list[StationRefusedOut]
    server_time: datetime.datetime


@router.post("/tables/{table_id}/sync", response=StationSyncOut)
def sync(request, table_id: int, payload: SyncIn):
    """Store a batch of a sampling table's events: each is answered stored or refused with why."""
    table = get_object_or_404(tables_visible(request.user), pk=table_id)
    result = sampling_sync(actor=request.user, table=table, events=payload.events)
    return {**result.to_dict(), "server_time": datetime.datetime.now(tz=datetime.UTC)}


def _compact(data) -> HttpResponse:
    """JSON without spaces and with Chinese as UTF-8: a compound's roster is thousands of rows.
    Never stored by an HTTP cache, as the gate API's answers: a roster is names and rooms, and the
    browser's disk cache is not emptied by logging out. The station's service worker keeps its own
    copy, dropped once the server turns the device away."""
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")), content_type="application/json"
    )
    response["Cache-Control"] = "no-store"
    return response


@router.get("/tables/{table_id}/roster", url_name="testing_station_roster")
def roster(request, table_id: int):
    """What a sampling table keeps to work offline: its settings and the people its round covers,
    for the name search (names, rooms and an age band; no phone, no document number)."""
    table = station_table_get(request.user, table_id)
    return _compact(station_roster(request.user, table))


@router.get("/tables/{table_id}/samples", url_name="testing_station_samples")
def samples(request, table_id: int, since: datetime.datetime | None = None):
    """The samples this table stored (from `since` on) as `[scan id, resident id, tube code]`, so
    the device can show the names behind the ID cards and passes it scanned."""
    table = station_table_get(request.user, table_id)
    return _compact({"samples": table_samples_since(request.user, table, since)})
