"""Registry pages: parse the request, call one selector or action, render."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render

from tongxin.registry import selectors


@login_required
def home(request):
    user = request.user
    if user.role == "resident":
        if user.household_id:
            return redirect("registry:household", household_id=user.household_id)
        return render(request, "registry/home.html", {"compounds": []})
    compounds = list(selectors.compounds_visible(request.user)[:200])
    if len(compounds) == 1:
        return redirect("registry:compound", compound_id=compounds[0].pk)
    return render(request, "registry/home.html", {"compounds": compounds})
