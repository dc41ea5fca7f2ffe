"""/supplies/care/: the vulnerable residents to visit with their last visit and the next one due,
the overdue list (and its Excel file), a resident's visits with the form to log one. For the
compound's team (cadres, grid workers) and officials; volunteers and residents are refused."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache

from tongxin.core.audit import client_ip
from tongxin.core.pages import compound_choice, place_filters
from tongxin.supplies.actions.care import care_overdue_export, care_visit_log
from tongxin.supplies.forms.care import CareVisitForm
from tongxin.supplies.selectors.care import (
    VISIT_GROUPS,
    care_overdue,
    care_resident_get,
    care_residents,
    care_visits_of,
    require_care,
    visit_days,
    visit_groups,
)

PAGE_SIZE = 50
HISTORY_SIZE = 20
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _filters(request, compound) -> dict:
    group = request.GET.get("group", "")
    group = group if group in VISIT_GROUPS else ""
    building_id, unit_id, buildings, units = place_filters(request, compound)
    params = {"compound": compound.pk, "group": group, "building": building_id, "unit": unit_id}
    return {
        "group": group,
        "groups": visit_groups(),
        "building_id": building_id,
        "unit_id": unit_id,
        "buildings": buildings,
        "units": units,
        "query": urlencode({k: v for k, v in params.items() if v not in ("", None)}),
    }


def _list_page(request, *, overdue: bool):
    user = request.user
    require_care(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        target = "supplies:care_overdue" if overdue else "supplies:care"
        return render(request, "supplies/choose.html", {"compounds": compounds, "target": target})
    filters = _filters(request, compound)
    select = care_overdue if overdue else care_residents
    residents = select(
        user, compound, filters["group"], building_id=filters["building_id"], unit_id=filters["unit_id"]
    )
    page = Paginator(residents, PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "compound": compound,
        "page": page,
        "today": timezone.localdate(),
        "overdue": overdue,
        "visit_days": visit_days(compound.pk),
        "here": request.get_full_path(),
        **filters,
    }
    return render(request, "supplies/care/list.html", context)


@never_cache  # names, rooms, health tags
@login_required
def care(request):
    return _list_page(request, overdue=False)


@never_cache
@login_required
def care_overdue_list(request):
    return _list_page(request, overdue=True)


@never_cache
@login_required
def care_overdue_xlsx(request):
    require_care(request.user)
    compound, _compounds = compound_choice(request)
    if compound is None:
        return redirect("supplies:care_overdue")
    filters = _filters(request, compound)
    content, file_name = care_overdue_export(
        actor=request.user,
        compound=compound,
        group=filters["group"],
        building_id=filters["building_id"],
        unit_id=filters["unit_id"],
        ip=client_ip(request),
    )
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=file_name)
    return response


def _next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # A path of this site only: redirect() would take "abc" for a view name (NoReverseMatch, 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return fallback


@never_cache
@login_required
def care_resident(request, resident_id: int):
    """A resident's visits, latest first, with the form to log one (a row's 记录探访 opens it)."""
    user = request.user
    resident = care_resident_get(user, resident_id)
    here = reverse("supplies:care_resident", args=[resident.pk])
    status = 200
    if request.method == "POST":
        form = CareVisitForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                care_visit_log(
                    actor=user,
                    resident=resident,
                    visited_at=data["visited_at"],
                    brought=data["brought_text"],
                    notes=data["notes"],
                    next_due=data["next_due"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("已记录对%(name)s的探访") % {"name": resident.name})
                return redirect(_next(request, here))
        status = 400
    else:
        form = CareVisitForm()
    page = Paginator(care_visits_of(user, resident), HISTORY_SIZE).get_page(request.GET.get("page"))
    context = {
        "compound": resident.compound,
        "resident": resident,
        "form": form,
        "page": page,
        "today": timezone.localdate(),
        "visit_days": visit_days(resident.compound_id),
        "next": _next(request, ""),
        "back": _next(request, f"{reverse('supplies:care')}?compound={resident.compound_id}"),
    }
    return render(request, "supplies/care/resident.html", context, status=status)


urlpatterns = [
    path("care/", care, name="care"),
    path("care/overdue/", care_overdue_list, name="care_overdue"),
    path("care/overdue.xlsx", care_overdue_xlsx, name="care_overdue_export"),
    path("care/residents/<int:resident_id>/", care_resident, name="care_resident"),
]
