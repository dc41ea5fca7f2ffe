"""What the offline pages' syncs share (a sampling table's, a gate's): the answer to a batch of
events made on a device, the events' ids and times as the devices send them."""

import datetime
import re
import uuid
from dataclasses import dataclass, field

from django.utils.dateparse import parse_datetime

CLOCK_SKEW = datetime.timedelta(minutes=10)  # a device clock this far ahead is still believed

_CANONICAL_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@dataclass
class SyncResult:
    """Every event of a batch answered: stored (a resend of something stored is stored) or refused
    with a code and a sentence."""

    stored: list[str] = field(default_factory=list)
    refused: list[dict] = field(default_factory=list)

    def refuse(self, event_id, code: str, message: str, **extra) -> None:
        self.refused.append({"id": str(event_id), "code": code, "message": message, **extra})

    def to_dict(self) -> dict:
        return {"stored": self.stored, "refused": self.refused}


def event_id(value) -> str | None:
    """A device-made event id in canonical text form, or None if it is not a UUID."""
    if isinstance(value, str) and _CANONICAL_UUID.fullmatch(value):
        return value  # what the devices send: no need to build a UUID object to know
    if isinstance(value, uuid.UUID):
        return str(value)
    try:
        return str(uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def event_time(value) -> datetime.datetime | None:
    """An event's time as the device sent it (ISO 8601 text, or a datetime from Python callers);
    None when it is not a time with its zone."""
    if isinstance(value, str):
        try:
            value = datetime.datetime.fromisoformat(value)  # C; the devices' form
        except ValueError:
            try:
                value = parse_datetime(value)
            except ValueError:
                return None
    if not isinstance(value, datetime.datetime) or value.utcoffset() is None:
        return None
    return value
