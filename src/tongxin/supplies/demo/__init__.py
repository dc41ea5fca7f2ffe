"""The supplies part of the demo, one story per part, each through the module's own actions:
煤田公交小区's stock and the 5,000-yuan donation, the 72 sealed households served, parcels held
two hours after disinfection, visits after the unsealing; 丁香苑小区's cabbage campaign."""

import datetime

from django.utils import timezone

from tongxin.supplies.demo import campaigns, care, parcels, requests, stock


def load_demo(*, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    summary = {}
    for part in (stock, requests, parcels, campaigns, care):
        summary.update(part.load(now=now))
    return summary
