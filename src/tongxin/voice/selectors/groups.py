"""Common questions of a compound: its groups with how many requests each holds and how many of
them still wait for an answer, and one group with its requests.

A group is shown to whoever sees every one of its requests: the compound's team and the officials
over it see all its groups; a grid worker only those made of his buildings' requests (and requests
with no household); a resident none."""

from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q
from django.http import Http404

from tongxin.voice.models import Delivery, Endpoint, QuestionGroup, Request, State
from tongxin.voice.selectors.scope import request_q, require_compound, voice_q

# A request still waiting to be answered; only these are grouped.
OPEN_STATES = (State.NEW, State.ACKNOWLEDGED, State.IN_PROGRESS)


def groups_visible(user):
    """Groups of the compounds `user` works on, none holding a request he may not see."""
    hidden = Request.objects.filter(group_id=OuterRef("pk")).exclude(request_q(user))
    return QuestionGroup.objects.filter(voice_q(user)).exclude(Exists(hidden))


def require_group(user, group_id) -> QuestionGroup:
    """The group if `user` sees it, else 404."""
    try:
        group_id = int(group_id)
    except (TypeError, ValueError):
        raise Http404 from None
    found = groups_visible(user).filter(pk=group_id).first()
    if found is None:
        raise Http404
    return found


def compound_groups(user, compound_id: int, *, answered: bool | None = None):
    """The compound's groups, those still to answer first (newest first), then the latest answered,
    each with
    `requests_count` and `unanswered_count` (requests not answered yet by any means)."""
    require_compound(user, compound_id)
    groups = groups_visible(user).filter(compound_id=compound_id)
    if answered is not None:
        groups = groups.filter(answered_at__isnull=not answered)
    return groups.annotate(
        requests_count=Count("requests"),
        unanswered_count=Count("requests", filter=Q(requests__first_answer_at__isnull=True)),
    ).order_by(F("answered_at").desc(nulls_first=True), "-created_at", "-pk")


def group_detail(user, group_id) -> QuestionGroup:
    """A group with its requests (oldest first) in `group.request_list`; 404 when not visible."""
    group = require_group(user, group_id)
    requests = (
        Request.objects.filter(group=group)
        .select_related("household__building", "household__unit")
        .order_by("received_at", "pk")
    )
    found = (
        QuestionGroup.objects.filter(pk=group.pk)
        .select_related("notice")
        .prefetch_related(Prefetch("requests", queryset=requests, to_attr="request_list"))
        .get()
    )
    return found


def _with_requests(groups):
    requests = Request.objects.select_related("household__building", "household__unit").order_by(
        "received_at", "pk"
    )
    return groups.select_related("notice").prefetch_related(
        Prefetch("requests", queryset=requests, to_attr="request_list")
    )


def groups_board(user, compound_id: int, *, answered_limit: int = 20) -> dict:
    """The common-questions page of a compound: `open` (groups to answer, newest first) and
    `answered` (the latest `answered_limit` answered), each group with its requests (oldest first)
    in `request_list`, the counts of `compound_groups`, and its notice. Four queries whatever the
    number of groups."""
    return {
        "open": list(_with_requests(compound_groups(user, compound_id, answered=False))),
        "answered": list(_with_requests(compound_groups(user, compound_id, answered=True))[:answered_limit]),
    }


def answer_channels(user, compound_id: int) -> list[str]:
    """The channels a group's answer notice may go by in this compound: the portal and SMS always,
    a group robot's kind when the compound has one active."""
    require_compound(user, compound_id)
    robots = set(
        Endpoint.objects.filter(compound_id=compound_id, active=True)
        .values_list("kind", flat=True)
        .distinct()
    )
    return [
        value
        for value in Delivery.ChannelKind.values
        if value in (Delivery.ChannelKind.PORTAL, Delivery.ChannelKind.SMS) or value in robots
    ]
