"""/access/mine/: a resident's phone shows their household's passes as big QR codes, to hold up to
the gate's scanner. Only the household's own passes; staff accounts have their pages elsewhere."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.utils import timezone
from django.utils.html import mark_safe
from django.views.decorators.cache import never_cache

from tongxin.access.actions.passes import pass_code
from tongxin.access.selectors.passes import household_passes
from tongxin.access.views.passes import qr_svg
from tongxin.accounts.models import Role
from tongxin.registry import selectors as registry_selectors


@never_cache
@login_required
def mine(request):
    user = request.user
    if user.role != Role.RESIDENT:
        return redirect("access:index")
    passes = []
    household = None
    if user.household_id:
        household = registry_selectors.household_get(user, user.household_id)
        passes = household_passes(user, household)
    now = timezone.now()
    for pass_ in passes:
        pass_.expired = pass_.expires_at <= now
        if not pass_.expired:
            pass_.qr = mark_safe(qr_svg(pass_code(pass_)))  # noqa: S308 - segno's own SVG
    return render(request, "access/mine.html", {"household": household, "passes": passes})


urlpatterns = [path("mine/", mine, name="mine")]
