"""/supplies/mine/: a resident's phone shows their household's parcels and their state (received,
disinfected and holding until HH:MM, ready, delivered, refused) and how the household gets them (at
the door, or at its building's pick-up slot). Only the household's own parcels; staff accounts are
sent to the gate's list."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache

from tongxin.accounts.models import Role
from tongxin.supplies.selectors.parcels import my_parcels


@never_cache
@login_required
def mine(request):
    if request.user.role != Role.RESIDENT:
        return redirect("supplies:parcels")
    return render(request, "supplies/mine.html", {"mine": my_parcels(request.user)})


urlpatterns = [path("mine/", mine, name="mine")]
