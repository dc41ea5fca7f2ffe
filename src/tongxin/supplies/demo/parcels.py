"""The demo's parcels at 煤田公交小区: couriers' batches logged at the gate by the volunteer
(volunteer_mt), disinfected there, held exactly the compound's hold time (no settings row: the
default two hours) and carried in at least two hours after disinfection, as the report tells.
Yesterday's two batches all handed over but one refused; today's first batch mostly delivered
(two ready, waiting for the round), the second still holding, the third just received. Through the module's own actions, deterministic
(fixed seed), and a second run changes nothing (guarded on the compound's parcels)."""

import datetime
import random

from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions.parcels import (
    BatchLine,
    parcel_deliver,
    parcel_refuse,
    parcels_disinfect,
    parcels_intake,
)
from tongxin.supplies.demo.common import MEITIAN, compound
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.selectors.parcels import room_label
from tongxin.supplies.selectors.settings import settings_of

SEED = 20221125
VOLUNTEER = "volunteer_mt"
REFUSAL = "收件人称未网购，拒收"
TRACKING_PREFIX = {"顺丰": "SF", "中通": "ZT", "京东": "JD", "韵达": "YD", "邮政": "YZ"}


def _batches(now: datetime.datetime) -> list[dict]:
    """Each batch's courier, parcel count, reception, minutes to disinfection (None: not yet),
    minutes after the hold to hand over (None: not yet) and how many are handed over (all by
    default): yesterday at fixed hours, today in the hours before `now`."""
    local = timezone.localtime(now)
    yesterday = (local - datetime.timedelta(days=1)).replace(second=0, microsecond=0)
    today = local.replace(second=0, microsecond=0)
    return [
        {
            "courier": "顺丰",
            "count": 10,
            "at": yesterday.replace(hour=10, minute=5),
            "disinfect": 20,
            "hand": 15,
        },
        {
            "courier": "中通",
            "count": 8,
            "at": yesterday.replace(hour=15, minute=10),
            "disinfect": 15,
            "hand": 30,
        },
        {  # four handed over, two ready and waiting for the round
            "courier": "京东",
            "count": 6,
            "at": today - datetime.timedelta(minutes=300),
            "disinfect": 20,
            "hand": 40,
            "handed": 4,
        },
        {
            "courier": "韵达",
            "count": 5,
            "at": today - datetime.timedelta(minutes=75),
            "disinfect": 15,
            "hand": None,
        },
        {
            "courier": "邮政",
            "count": 4,
            "at": today - datetime.timedelta(minutes=10),
            "disinfect": None,
            "hand": None,
        },
    ]


def load(*, now: datetime.datetime) -> dict:
    place = compound(MEITIAN)
    volunteer = User.objects.get(username=VOLUNTEER)
    if not Parcel.objects.filter(compound=place).exists():
        _story(place, volunteer, now)
    parcels = Parcel.objects.filter(compound=place)
    return {
        "parcels": parcels.count(),
        "parcels_delivered": parcels.filter(state=ParcelState.DELIVERED).count(),
        "hold_minutes": settings_of(place).parcel_hold_minutes,
    }


def _story(place, volunteer, now: datetime.datetime) -> None:
    rng = random.Random(SEED)
    homes = list(
        registry_selectors.households_visible(volunteer)
        .filter(compound_id=place.pk)
        .select_related("unit", "building")
        .order_by("building__sort_key", "unit__sort_key", "room")
    )
    hold = datetime.timedelta(minutes=settings_of(place).parcel_hold_minutes)
    refused = False
    for batch in _batches(now):
        chosen = rng.sample(homes, batch["count"])
        prefix = TRACKING_PREFIX[batch["courier"]]
        lines = [
            BatchLine(
                lookup=room_label(home),
                tracking_number=f"{prefix}{rng.randrange(10**11, 10**12)}",
                pieces=rng.choice((1, 1, 1, 2)),
            )
            for home in chosen
        ]
        created = parcels_intake(
            actor=volunteer, compound=place, courier=batch["courier"], lines=lines, at=batch["at"]
        )
        if batch["disinfect"] is None:
            continue
        disinfected_at = batch["at"] + datetime.timedelta(minutes=batch["disinfect"])
        done = parcels_disinfect(actor=volunteer, parcels=[p.pk for p in created], at=disinfected_at)
        if batch["hand"] is None:
            continue
        handed_at = disinfected_at + hold + datetime.timedelta(minutes=batch["hand"])
        for index, parcel in enumerate(done[: batch.get("handed", len(done))]):
            at = handed_at + datetime.timedelta(minutes=2 * index)
            if not refused:
                parcel_refuse(actor=volunteer, parcel=parcel, reason=REFUSAL, at=at)
                refused = True
            else:
                parcel_deliver(actor=volunteer, parcel=parcel, at=at)
