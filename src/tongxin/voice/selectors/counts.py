"""The figures the report gives for a compound (事事有回应): notices published, requests received,
answered and closed (the problems solved), hotline calls, and the requests late now. For a local
day (`day`) or since the start (`day=None`); read with the acting user's scope."""

import datetime

from django.utils import timezone

from tongxin.voice.models import Notice
from tongxin.voice.selectors.hotline import hotline_counts
from tongxin.voice.selectors.requests import late_count, request_counts
from tongxin.voice.selectors.scope import TEAM, require_compound, voice_q


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The aware start and end of a local day (Asia/Shanghai)."""
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
    return start, end


def compound_counts(user, compound, day: datetime.date | None = None, *, now=None) -> dict:
    """{"notices", "received", "answered", "closed", "calls", "calls_answered", "late",
    "by_channel", "by_category"}. Counts of a day are of what happened that day (notices published,
    requests received, calls taken); "late" is always the requests late now, whatever their day."""
    compound_id = getattr(compound, "pk", compound)
    require_compound(user, compound_id, roles=TEAM)
    now = now or timezone.now()
    since, until = day_bounds(day) if day is not None else (None, None)
    notices = Notice.objects.filter(voice_q(user), compound_id=compound_id, published_at__isnull=False)
    if since is not None:
        notices = notices.filter(published_at__gte=since, published_at__lt=until)
    requests = request_counts(user, compound_id, since=since, until=until, now=now)
    calls = hotline_counts(user, compound_id, since=since, until=until)
    return {
        "notices": notices.count(),
        "received": requests["received"],
        "answered": requests["answered"],
        "closed": requests["closed"],
        "calls": calls["calls"],
        "calls_answered": calls["answered"],
        "late": late_count(user, compound_id, now) if day is not None else requests["late"],
        "by_channel": requests["by_channel"],
        "by_category": requests["by_category"],
    }
