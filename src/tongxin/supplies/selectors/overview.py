"""The supplies overview of one compound: each part's figures, only the parts the user's role uses.

A constant number of queries whatever the compound's size: one or two per part."""

import datetime
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from tongxin.registry.models import Compound
from tongxin.supplies.models import ParcelState
from tongxin.supplies.selectors import campaigns, care, parcels, requests, stock
from tongxin.supplies.selectors.scope import HANDS_OUT, STOCK_KEEPERS


def _since(days: int) -> datetime.datetime:
    start = timezone.localdate() - datetime.timedelta(days=days - 1)
    return timezone.make_aware(datetime.datetime.combine(start, datetime.time.min))


def parcel_counts(user, compound: Compound) -> dict:
    """Parcels still open (waiting for disinfection, holding, ready) and handed today."""
    now = timezone.now()
    today = _since(1)
    return (
        parcels.parcels_visible(user)
        .filter(compound=compound)
        .aggregate(
            received=Count("pk", filter=Q(state=ParcelState.RECEIVED)),
            holding=Count("pk", filter=Q(state=ParcelState.DISINFECTED, ready_at__gt=now)),
            ready=Count("pk", filter=Q(state=ParcelState.DISINFECTED, ready_at__lte=now)),
            delivered_today=Count("pk", filter=Q(state=ParcelState.DELIVERED, handed_at__gte=today)),
        )
    )


def donation_figures(user, compound: Compound, days: int = 30) -> dict:
    """Donations received in the last `days` days and their value; those not yet thanked, ever."""
    since = _since(days)
    figures = stock.donations(user, compound_id=compound.pk).aggregate(
        count=Count("pk", filter=Q(received_at__gte=since)),
        value=Sum("value", filter=Q(received_at__gte=since)),
        unthanked=Count("pk", filter=Q(thanked=False)),
    )
    figures["value"] = figures["value"] or Decimal(0)
    figures["days"] = days
    return figures


def overview(user, compound: Compound) -> dict:
    """{"low_stock", "donations", "parcels", "requests", "campaign", "care"}: a part the user's
    role does not use is None."""
    keeps = user.role in STOCK_KEEPERS
    hands_out = user.role in HANDS_OUT
    latest = campaigns.campaigns_of_compound(user, compound)[:1] if hands_out else []
    return {
        "low_stock": list(stock.items_below_minimum(user, compound_id=compound.pk)) if keeps else None,
        "donations": donation_figures(user, compound) if keeps else None,
        "parcels": parcel_counts(user, compound) if hands_out else None,
        "requests": requests.request_counts(user, compound) if hands_out else None,
        "campaign": latest[0] if latest else None,
        "care": (care.care_summary(user, compound) or None) if keeps else None,
    }
