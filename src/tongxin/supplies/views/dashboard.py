"""/supplies/: the overview of a compound's supplies: low stock, donations to thank, parcels,
requests from sealed homes, the latest distribution, visits overdue; each links to its page."""

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.cache import never_cache

from tongxin.accounts.models import Role
from tongxin.core.pages import compound_choice
from tongxin.supplies.selectors.overview import overview
from tongxin.supplies.selectors.scope import HANDS_OUT


@never_cache
@login_required
def index(request):
    user = request.user
    if user.role == Role.RESIDENT:
        return redirect("supplies:mine")
    if user.role not in HANDS_OUT:
        raise PermissionDenied
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(request, "supplies/choose.html", {"compounds": compounds, "target": "supplies:index"})
    return render(request, "supplies/index.html", {"compound": compound, **overview(user, compound)})


urlpatterns = [path("", index, name="index")]
