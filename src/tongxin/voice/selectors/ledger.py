"""The requests ledger (诉求台账): every request of a compound received in a span of days, with its
answers, for the team that keeps the books. One query for the requests and one for their answers
whatever the number of rows."""

import datetime
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.voice.models import Answer
from tongxin.voice.selectors.requests import answer_minutes
from tongxin.voice.selectors.scope import KEEPERS, requests_visible, require_compound

LONGEST_SPAN_DAYS = 366


@dataclass(frozen=True)
class Span:
    start: datetime.date
    end: datetime.date

    @property
    def bounds(self) -> tuple[datetime.datetime, datetime.datetime]:
        zone = timezone.get_current_timezone()
        first = datetime.datetime.combine(self.start, datetime.time.min, tzinfo=zone)
        after = datetime.datetime.combine(
            self.end + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone
        )
        return first, after


def ledger_span(start: str = "", end: str = "", *, today: datetime.date | None = None) -> Span:
    """The days asked for ("YYYY-MM-DD"; the last 30 days when empty), refused with a clear message
    when a day cannot be read, runs backwards, lies ahead or spans more than a year."""
    today = today or timezone.localdate()

    def day(value: str, field: str, default: datetime.date) -> datetime.date:
        if not value:
            return default
        try:
            return datetime.date.fromisoformat(value)
        except ValueError:
            raise ValidationError(
                {field: ValidationError(_("日期格式应为 YYYY-MM-DD"), code="bad_date")}
            ) from None

    last = day(end, "end", today)
    first = day(start, "start", last - datetime.timedelta(days=29))
    if last > today:
        raise ValidationError({"end": ValidationError(_("结束日期不能晚于今天"), code="future_date")})
    if first > last:
        raise ValidationError({"start": ValidationError(_("开始日期不能晚于结束日期"), code="backwards")})
    if (last - first).days >= LONGEST_SPAN_DAYS:
        raise ValidationError(
            {"start": ValidationError(_("一次最多导出%(n)s天") % {"n": LONGEST_SPAN_DAYS}, code="too_long")}
        )
    return Span(first, last)


def requests_ledger(user, compound_id: int, span: Span):
    """The compound's requests the user sees received in `span`, oldest first, answers prefetched
    in their order; each row carries `minutes_to_answer` and `within_target`."""
    require_compound(user, compound_id, roles=KEEPERS)
    first, after = span.bounds
    rows = list(
        requests_visible(user)
        .filter(compound_id=compound_id, received_at__gte=first, received_at__lt=after)
        .select_related("household__unit__building", "resident", "holder", "group")
        .prefetch_related(Prefetch("answers", queryset=Answer.objects.order_by("at", "pk")))
        .order_by("received_at", "pk")
    )
    for row in rows:
        if row.first_answer_at is None:
            row.minutes_to_answer = None
            row.within_target = None
        else:
            row.minutes_to_answer = int((row.first_answer_at - row.received_at).total_seconds() // 60)
            row.within_target = row.minutes_to_answer <= answer_minutes(row.urgent)
    return rows
