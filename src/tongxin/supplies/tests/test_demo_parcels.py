"""The demo's parcels at 煤田公交小区: couriers' batches logged by volunteer_mt, disinfected, held
the compound's two hours and handed over at least two hours after disinfection; two ready for the round,
some holding, some just received, one refused; a second run changes nothing."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tongxin.registry.models import Compound
from tongxin.supplies.demo import parcels as parcels_demo
from tongxin.supplies.models import Parcel, ParcelState, SupplySettings

pytestmark = pytest.mark.django_db


def test_the_demo_parcels_at_meitian():
    out = StringIO()
    call_command("demo", stdout=out)
    summary = json.loads(out.getvalue().splitlines()[-1])["supplies"]
    meitian = Compound.objects.get(code="MTGJ")
    parcels = Parcel.objects.filter(compound=meitian)
    batches = parcels_demo._batches(timezone.now())
    total = sum(b["count"] for b in batches)
    handed = sum(b.get("handed", b["count"]) for b in batches if b["hand"] is not None)
    assert not SupplySettings.objects.filter(compound=meitian).exists()
    assert summary["hold_minutes"] == 120
    assert summary["parcels"] == parcels.count() == total == 33
    assert (
        summary["parcels_delivered"]
        == parcels.filter(state=ParcelState.DELIVERED).count()
        == handed - 1
        == 21
    )
    assert parcels.filter(state=ParcelState.REFUSED).count() == 1
    assert parcels.get(state=ParcelState.REFUSED).refusal_reason == parcels_demo.REFUSAL
    assert parcels.filter(state=ParcelState.RECEIVED).count() == 4  # just received
    now = timezone.now()
    holding = parcels.filter(state=ParcelState.DISINFECTED, ready_at__gt=now)
    assert holding.count() == 5
    ready = parcels.filter(state=ParcelState.DISINFECTED, ready_at__lte=now)
    assert ready.count() == 2  # waiting for the round
    hold = datetime.timedelta(minutes=120)
    for parcel in parcels.exclude(state=ParcelState.RECEIVED):
        assert parcel.ready_at - parcel.disinfected_at == hold
        assert parcel.disinfected_at > parcel.received_at
    for parcel in parcels.filter(state__in=[ParcelState.DELIVERED, ParcelState.REFUSED]):
        assert parcel.handed_at - parcel.disinfected_at >= hold
        assert parcel.handed_at <= now
    people = set(parcels.values_list("received_by__username", flat=True)) | set(
        parcels.exclude(disinfected_by=None).values_list("disinfected_by__username", flat=True)
    )
    assert people == {"volunteer_mt"}
    days = {timezone.localtime(p.received_at).date() for p in parcels}
    assert timezone.localdate() - datetime.timedelta(days=1) in days
    assert not Parcel.objects.exclude(compound=meitian).exists()

    again = parcels_demo.load(now=timezone.now())
    assert again == {"parcels": 33, "parcels_delivered": 21, "hold_minutes": 120}
    assert Parcel.objects.count() == 33
