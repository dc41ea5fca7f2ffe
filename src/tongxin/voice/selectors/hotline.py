"""Reading the hotline log: a compound's calls of a day, and the counts the report gives."""

import datetime

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from tongxin.voice.models import HotlineCall
from tongxin.voice.selectors.scope import TEAM, call_q, require_compound


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    end = timezone.make_aware(datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min))
    return start, end


def hotline_calls(user, compound_id: int, day: datetime.date):
    """The calls of a local day, in order; the phone only masked (the cipher is never read)."""
    require_compound(user, compound_id, roles=TEAM)
    start, end = _day_bounds(day)
    return (
        HotlineCall.objects.filter(call_q(user), compound_id=compound_id, at__gte=start, at__lt=end)
        .defer("phone_cipher", "phone_hash")
        .select_related("taken_by", "request")
        .order_by("at", "pk")
    )


def hotline_counts(
    user, compound_id: int, *, since: datetime.datetime | None = None, until: datetime.datetime | None = None
) -> dict:
    """Calls logged and calls answered (an answer written), in one query."""
    require_compound(user, compound_id, roles=TEAM)
    rows = HotlineCall.objects.filter(call_q(user), compound_id=compound_id)
    if since is not None:
        rows = rows.filter(at__gte=since)
    if until is not None:
        rows = rows.filter(at__lt=until)
    return rows.aggregate(calls=Count("pk"), answered=Count("pk", filter=~Q(answered="")))


def require_call(user, call_id) -> HotlineCall:
    """One call of a compound `user` works on (the phone only masked), else 404."""
    try:
        call_id = int(call_id)
    except (TypeError, ValueError):
        raise Http404 from None
    found = (
        HotlineCall.objects.filter(call_q(user), pk=call_id)
        .defer("phone_cipher", "phone_hash")
        .select_related("taken_by", "request")
        .first()
    )
    if found is None:
        raise Http404
    return found
