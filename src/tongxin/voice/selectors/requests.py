"""Reading requests: the team's queue (urgent first, then oldest), the late ones (no first answer
past the target), one request with its answers, a household's own requests, and the counts per
compound the report gives."""

import datetime

from django.conf import settings
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.utils import timezone

from tongxin.voice.models import Answer, Category, Channel, Request, State
from tongxin.voice.selectors.scope import TEAM, requests_visible, require_compound

OPEN_STATES = (State.NEW, State.ACKNOWLEDGED, State.IN_PROGRESS)


def answer_minutes(urgent: bool) -> int:
    return (
        settings.TONGXIN_VOICE_URGENT_ANSWER_MINUTES
        if urgent
        else settings.TONGXIN_VOICE_FIRST_ANSWER_MINUTES
    )


def answer_due(request: Request) -> datetime.datetime:
    """When the first answer is due: received + the target (the urgent one when urgent)."""
    return request.received_at + datetime.timedelta(minutes=answer_minutes(request.urgent))


def is_late(request: Request, now: datetime.datetime | None = None) -> bool:
    """No first answer yet, and its target passed."""
    now = now or timezone.now()
    return request.first_answer_at is None and now > answer_due(request)


def late_q(now: datetime.datetime) -> Q:
    urgent_before = now - datetime.timedelta(minutes=answer_minutes(True))
    normal_before = now - datetime.timedelta(minutes=answer_minutes(False))
    return Q(first_answer_at__isnull=True) & (
        Q(urgent=True, received_at__lt=urgent_before) | Q(urgent=False, received_at__lt=normal_before)
    )


def request_queue(
    user,
    compound_id: int,
    *,
    state: str | None = None,
    category: str | None = None,
    channel: str | None = None,
    holder_id: int | None = None,
):
    """The compound's requests the user sees, urgent first then oldest; open ones unless a state
    is named. Unknown filter values match nothing."""
    require_compound(user, compound_id, roles=TEAM)
    rows = requests_visible(user).filter(compound_id=compound_id)
    rows = rows.filter(state=state) if state else rows.filter(state__in=OPEN_STATES)
    if category:
        rows = rows.filter(category=category)
    if channel:
        rows = rows.filter(channel=channel)
    if holder_id:
        rows = rows.filter(holder_id=holder_id)
    return rows.select_related("household", "holder", "resident").order_by("-urgent", "received_at", "pk")


def late_requests(user, compound_id: int, now: datetime.datetime | None = None):
    """Requests with no first answer past their target, urgent first then oldest."""
    now = now or timezone.now()
    require_compound(user, compound_id, roles=TEAM)
    return (
        requests_visible(user)
        .filter(late_q(now), compound_id=compound_id)
        .exclude(state=State.CLOSED)
        .select_related("household", "holder")
        .order_by("-urgent", "received_at", "pk")
    )


def late_count(user, compound_id: int, now: datetime.datetime | None = None) -> int:
    return late_requests(user, compound_id, now).count()


def request_detail(user, request_id: int) -> Request:
    """One request the user sees, with its answers (oldest first) and attachments; 404 otherwise."""
    found = (
        requests_visible(user)
        .filter(pk=request_id)
        .select_related("household", "resident", "holder", "supply_request", "compound")
        .prefetch_related(
            Prefetch("answers", queryset=Answer.objects.select_related("by").order_by("at", "pk")),
            "attachments",
        )
        .first()
    )
    if found is None:
        raise Http404
    return found


def household_requests(user, household_id: int):
    """A household's requests, newest first, with their answers: a resident sees only his own
    household's; the team its scope's."""
    return (
        requests_visible(user)
        .filter(household_id=household_id)
        .prefetch_related(Prefetch("answers", queryset=Answer.objects.order_by("at", "pk")))
        .order_by("-received_at", "-pk")
    )


def request_counts(
    user,
    compound_id: int,
    *,
    since: datetime.datetime | None = None,
    until: datetime.datetime | None = None,
    now: datetime.datetime | None = None,
) -> dict:
    """Counts for the report, in one query: received, answered (at least once), closed, late
    now, and received per channel and per category (every choice present, 0 when none)."""
    now = now or timezone.now()
    require_compound(user, compound_id, roles=TEAM)
    rows = requests_visible(user).filter(compound_id=compound_id)
    if since is not None:
        rows = rows.filter(received_at__gte=since)
    if until is not None:
        rows = rows.filter(received_at__lt=until)
    aggregates = {
        "n_received": Count("pk"),
        "n_answered": Count("pk", filter=Q(first_answer_at__isnull=False)),
        "n_closed": Count("pk", filter=Q(state=State.CLOSED)),
        "n_late": Count("pk", filter=late_q(now) & ~Q(state=State.CLOSED)),
    }
    for value in Channel.values:
        aggregates[f"ch_{value}"] = Count("pk", filter=Q(channel=value))
    for value in Category.values:
        aggregates[f"cat_{value}"] = Count("pk", filter=Q(category=value))
    got = rows.aggregate(**aggregates)
    return {
        "received": got["n_received"],
        "answered": got["n_answered"],
        "closed": got["n_closed"],
        "late": got["n_late"],
        "by_channel": {value: got[f"ch_{value}"] for value in Channel.values},
        "by_category": {value: got[f"cat_{value}"] for value in Category.values},
    }


def hand_on_holders(request: Request) -> list:
    """Who a request may be handed on to: the active manager, grid workers and volunteers of its
    compound who see it (as `request_q`: a grid worker, or a volunteer given buildings, only the
    households of his buildings, and requests with no household), by role then name. Two queries."""
    from django.contrib.auth import get_user_model

    from tongxin.accounts.models import Role

    order = {Role.COMPOUND_MANAGER: 0, Role.GRID_WORKER: 1, Role.VOLUNTEER: 2}
    building_id = request.household.building_id if request.household_id else None
    found = []
    team = (
        get_user_model()
        .objects.filter(is_active=True, compound_id=request.compound_id, role__in=list(order))
        .prefetch_related("buildings")
    )
    for user in team:
        buildings = {b.pk for b in user.buildings.all()}
        restricted = user.role == Role.GRID_WORKER or (user.role == Role.VOLUNTEER and buildings)
        if not restricted or building_id is None or building_id in buildings:
            found.append(user)
    return sorted(found, key=lambda u: (order[u.role], str(u), u.pk))
