"""/voice/: a compound's figures as the report gives them (事事有回应): notices published, requests
received, answered and closed (the problems solved), hotline calls, for the day and since the
start; the requests late now; links to each page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tongxin.accounts.models import Role
from tongxin.core.pages import compound_choice, day_param
from tongxin.voice.models import Category, Channel
from tongxin.voice.selectors.counts import compound_counts
from tongxin.voice.selectors.requests import answer_due, late_requests
from tongxin.voice.views.common import choose, require_role

LATE_SHOWN = 10


def _bars(choices, counts: dict) -> list[tuple[str, int]]:
    """(label, count) of the kinds that occur, most first: drawn as bars of the total received."""
    return sorted(
        ((label, counts[value]) for value, label in choices if counts.get(value)), key=lambda bar: -bar[1]
    )


@never_cache  # the late requests' rooms and texts
@login_required
def index(request):
    user = request.user
    if user.role == Role.RESIDENT:
        return redirect("registry:home")
    require_role(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return choose(request, compounds, "voice:index")
    day = day_param(request)
    now = timezone.now()
    late = list(
        late_requests(user, compound.pk, now).select_related("household__unit__building")[:LATE_SHOWN]
    )
    for row in late:
        row.due = answer_due(row)
    overall = compound_counts(user, compound, now=now)
    context = {
        "compound": compound,
        "day": day,
        "today": timezone.localdate(),
        "on_day": compound_counts(user, compound, day, now=now),
        "overall": overall,
        "late": late,
        "bars": [
            (_("类别"), _bars(Category.choices, overall["by_category"])),
            (_("来源"), _bars(Channel.choices, overall["by_channel"])),
        ],
    }
    return render(request, "voice/index.html", context)


urlpatterns = [path("", index, name="index")]
