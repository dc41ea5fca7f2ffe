"""The day at a compound's gates: counts per gate, who is out now and for how long, who is over
their time, the visitors of the day. For the compound's team (not residents); lists that name
people follow the user's scope (a grid worker sees the residents of their buildings), counts are
the compound's. Each reads a fixed number of queries whatever the day's traffic.
"""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Q
from django.db.models.functions import ExtractHour
from django.utils import timezone

from tongxin.access.models import AccessEvent, Gate, Outing, Visitor
from tongxin.access.selectors.scope import require_sees_access, through
from tongxin.core.scoping import scope_q


def day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    """The local day as [start, end) aware datetimes."""
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


@dataclass
class GateCounts:
    gate: Gate | None  # None: the compound's total
    in_allowed: int = 0
    in_stopped: int = 0
    out_allowed: int = 0
    out_stopped: int = 0
    emergencies: int = 0
    visitors: int = 0

    @property
    def checks(self) -> int:
        return self.in_allowed + self.in_stopped + self.out_allowed + self.out_stopped

    @property
    def stopped(self) -> int:
        return self.in_stopped + self.out_stopped

    def add(self, other: "GateCounts") -> None:
        for name in ("in_allowed", "in_stopped", "out_allowed", "out_stopped", "emergencies", "visitors"):
            setattr(self, name, getattr(self, name) + getattr(other, name))


@dataclass
class DayCounts:
    day: datetime.date
    gates: list[GateCounts] = field(default_factory=list)
    total: GateCounts = field(default_factory=lambda: GateCounts(None))
    all_gates: list[Gate] = field(default_factory=list)  # the compound's, disabled ones included

    @property
    def peak(self) -> int:
        """The busiest gate's checks: the scale of the bars."""
        return max((g.checks for g in self.gates), default=0)


COUNTED = {
    "in_allowed": Q(direction="in", allowed=True),
    "in_stopped": Q(direction="in", allowed=False),
    "out_allowed": Q(direction="out", allowed=True),
    "out_stopped": Q(direction="out", allowed=False),
    "emergencies": Q(emergency=True),
}


def day_counts(user, compound, day: datetime.date) -> DayCounts:
    """Per gate (active ones, and any other with checks that day): checks in and out, let through
    and stopped, emergencies, visitors registered. Three queries: gates, events grouped by gate,
    visitors grouped by gate (one for a compound without gates)."""
    require_sees_access(user)
    result = DayCounts(day)
    gates = list(Gate.objects.filter(compound=compound).order_by("name", "pk"))
    result.all_gates = gates
    if not gates:  # no gate, no check: nothing more to read
        return result
    start, end = day_bounds(day)
    events = {
        row.pop("gate_id"): row
        for row in AccessEvent.objects.filter(compound=compound, at__gte=start, at__lt=end)
        .order_by()
        .values("gate_id")
        .annotate(**{name: Count("pk", filter=condition) for name, condition in COUNTED.items()})
    }
    visitors = dict(
        Visitor.objects.filter(compound=compound, arrived_at__gte=start, arrived_at__lt=end)
        .order_by()
        .values_list("gate_id")
        .annotate(n=Count("pk"))
    )
    for gate in gates:
        if not gate.active and gate.pk not in events and gate.pk not in visitors:
            continue
        counts = GateCounts(gate, **events.get(gate.pk, {}), visitors=visitors.get(gate.pk, 0))
        result.gates.append(counts)
        result.total.add(counts)
    result.total.visitors += visitors.get(None, 0)  # registered with no gate
    return result


def stop_reasons(user, compound, day: datetime.date) -> list[tuple[str, int]]:
    """The day's stops by reason code, most frequent first (one grouped query)."""
    require_sees_access(user)
    start, end = day_bounds(day)
    return list(
        AccessEvent.objects.filter(compound=compound, at__gte=start, at__lt=end, allowed=False)
        .order_by()
        .values_list("reason")
        .annotate(n=Count("pk"))
        .order_by("-n", "reason")
    )


def hourly_checks(user, compound, day: datetime.date) -> list[dict]:
    """Checks of the day by local hour, 0 to 23 (one grouped query)."""
    require_sees_access(user)
    start, end = day_bounds(day)
    # Aliased apart from the field: an aggregate named "allowed" would be what its filter reads.
    rows = {
        hour: (allowed, stopped)
        for hour, allowed, stopped in AccessEvent.objects.filter(compound=compound, at__gte=start, at__lt=end)
        .annotate(hour=ExtractHour("at", tzinfo=timezone.get_current_timezone()))
        .order_by()
        .values("hour")
        .annotate(
            n_allowed=Count("pk", filter=Q(allowed=True)), n_stopped=Count("pk", filter=Q(allowed=False))
        )
        .values_list("hour", "n_allowed", "n_stopped")
    }
    return [
        {"hour": hour, "allowed": rows.get(hour, (0, 0))[0], "stopped": rows.get(hour, (0, 0))[1]}
        for hour in range(24)
    ]


@dataclass
class OutRow:
    outing: Outing
    room: str
    minutes_out: int
    minutes_late: int  # 0 when not past due

    @property
    def resident(self):
        return self.outing.resident

    @property
    def hours_out(self) -> int:
        return self.minutes_out // 60

    @property
    def minutes_past_hour(self) -> int:
        return self.minutes_out % 60


def _outings(user, compound):
    # Scoped by household: an outing by a household pass names no resident.
    return Outing.objects.filter(
        through(scope_q(user, "household"), "household"), compound=compound, back_at=None
    ).select_related("resident", "household__building", "household__unit")


def _rows(outings, now: datetime.datetime) -> list[OutRow]:
    from tongxin.access.selectors.passes import room_label

    rows = []
    for outing in outings:
        late = (
            int((now - outing.due_at).total_seconds() // 60) if outing.due_at and now > outing.due_at else 0
        )
        rows.append(
            OutRow(
                outing=outing,
                room=room_label(outing.household),
                minutes_out=max(0, int((now - outing.out_at).total_seconds() // 60)),
                minutes_late=late,
            )
        )
    return rows


def out_now(user, compound, *, now: datetime.datetime | None = None, limit: int = 200) -> list[OutRow]:
    """Residents out now (an open outing), longest out first, with how long they have been out."""
    require_sees_access(user)
    now = now or timezone.now()
    return _rows(_outings(user, compound).order_by("out_at", "pk")[:limit], now)


def out_now_count(user, compound) -> int:
    require_sees_access(user)
    return _outings(user, compound).order_by().count()


def over_time(user, compound, *, now: datetime.datetime | None = None, limit: int = 200) -> list[OutRow]:
    """Residents out past the time they were due back, the latest first (most minutes late)."""
    require_sees_access(user)
    now = now or timezone.now()
    return _rows(_outings(user, compound).filter(due_at__lt=now).order_by("due_at", "pk")[:limit], now)


def visitors_of_day(user, compound, day: datetime.date):
    """The visitors and returning residents registered that day, the latest first; phones only
    in their masked form (the page shows them to the roles that see phones). Like the other lists
    that name people, within the user's scope: a grid worker sees those who visit or return to
    the households of their buildings (as they may register only those), and visitors who named
    no household."""
    require_sees_access(user)
    start, end = day_bounds(day)
    seen = (
        Q(visiting__isnull=True, resident__isnull=True)
        | (Q(visiting__isnull=False) & through(scope_q(user, "household"), "visiting"))
        | (Q(resident__isnull=False) & through(scope_q(user, "resident"), "resident"))
    )
    return (
        Visitor.objects.filter(seen, compound=compound, arrived_at__gte=start, arrived_at__lt=end)
        .select_related("gate", "visiting__building", "visiting__unit", "resident", "registered_by")
        .order_by("-arrived_at", "-pk")
    )
