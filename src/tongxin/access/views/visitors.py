"""/access/visitors/: the visitors and returning residents registered at the compound's gates on a
day. Phones masked, and not shown at all to volunteers (names and rooms only)."""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import render
from django.urls import path
from django.utils import timezone
from django.views.decorators.cache import never_cache

from tongxin.access.selectors.activity import visitors_of_day
from tongxin.access.selectors.scope import require_sees_access
from tongxin.accounts.models import Role
from tongxin.core.pages import compound_choice, day_param

PAGE_SIZE = 100


@never_cache  # visitors' names, masked phones, whom they visit
@login_required
def visitors(request):
    user = request.user
    require_sees_access(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(request, "access/choose.html", {"compounds": compounds, "target": "access:visitors"})
    day = day_param(request)
    page = Paginator(visitors_of_day(user, compound, day), PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "compound": compound,
        "day": day,
        "is_today": day == timezone.localdate(),
        "page": page,
        "shows_phone": user.role != Role.VOLUNTEER,
    }
    return render(request, "access/visitors.html", context)


urlpatterns = [path("visitors/", visitors, name="visitors")]
