"""Pages of mass testing: coverage (应检尽检). The round's summary by compound, a compound by
building and unit, the missed list with its Excel export, exemptions.

Counts for everyone who sees the round but residents (404); results and people tested elsewhere for
the health roles; phones on the missed list in full for the roles that may see them (each view and
export audited), none for volunteers. Pages of a round being sampled refresh every 30 s (HTMX).
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.core.audit import client_ip
from tongxin.registry import selectors as registry_selectors
from tongxin.testing.actions.coverage import (
    NOTE_MAX,
    exemption_clear,
    exemption_set,
    may_exempt,
)
from tongxin.testing.actions.coverage import (
    missed_export as missed_export_action,
)
from tongxin.testing.models import Exemption, TestRound
from tongxin.testing.selectors import coverage as selectors

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class ExemptionForm(forms.Form):
    reason = forms.ChoiceField(label=gettext_lazy("免检原因"), choices=Exemption.Reason.choices)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=NOTE_MAX, required=False)


def _round(request, round_id) -> TestRound:
    if not selectors.sees_coverage(request.user):
        raise Http404
    return selectors.round_get(request.user, round_id)


def _context(request, round_, **extra) -> dict:
    user = request.user
    return {
        "round": round_,
        "health": bool(user.sees_health_data),
        "may_exempt": may_exempt(user),
        "live": round_.state == TestRound.State.SAMPLING,
        "refresh_seconds": 30,
        **extra,
    }


def _page(request, template: str, context: dict):
    """The whole page, or only its figures for the 30-second HTMX refresh."""
    if request.htmx and request.headers.get("HX-Target") == "coverage-figures":
        return render(request, f"{template}#figures", context)
    return render(request, template, context)


@login_required
def coverage(request, round_id: int):
    round_ = _round(request, round_id)
    report = selectors.round_coverage(request.user, round_)
    for row in report.compounds:
        row.missed_url = reverse("testing:missed", args=[round_.pk, row.place.pk])
    return _page(request, "testing/coverage.html", _context(request, round_, report=report))


@login_required
def coverage_compound(request, round_id: int, compound_id: int):
    round_ = _round(request, round_id)
    report = selectors.compound_coverage(request.user, round_, compound_id)
    base = reverse("testing:missed", args=[round_.pk, report.compound.pk])
    for entry in report.buildings:
        entry.missed_url = f"{base}?building={entry.place.pk}"
    return _page(
        request,
        "testing/coverage_compound.html",
        _context(request, round_, report=report, compound=report.compound),
    )


@login_required
def coverage_building(request, round_id: int, building_id: int):
    round_ = _round(request, round_id)
    building = selectors.building_get(request.user, round_, building_id)
    report = selectors.compound_coverage(request.user, round_, building.compound_id, building_id=building.pk)
    context = _context(request, round_, report=report, compound=report.compound, building=building)
    context["entry"] = report.buildings[0]
    base = reverse("testing:missed", args=[round_.pk, report.compound.pk])
    for unit in context["entry"].children:
        unit.missed_url = f"{base}?unit={unit.place.pk}"
    return _page(request, "testing/coverage_building.html", context)


def _int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "")
    # ASCII digits only ("²" is a digit to str.isdigit) and within a database integer.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


@never_cache
@login_required
def missed(request, round_id: int, compound_id: int):
    """The missed list, by room, a page at a time; each page with full phones is audited."""
    round_ = _round(request, round_id)
    compound = selectors.covered_compound(request.user, round_, compound_id)
    building_id, unit_id = _int_param(request, "building"), _int_param(request, "unit")
    page, rows = selectors.missed_page(
        request.user,
        round_,
        compound.pk,
        page=request.GET.get("page"),
        building_id=building_id,
        unit_id=unit_id,
        ip=client_ip(request),
    )
    filters = "&".join(
        f"{name}={value}" for name, value in (("building", building_id), ("unit", unit_id)) if value
    )
    context = _context(
        request,
        round_,
        compound=compound,
        page=page,
        rows=rows,
        filters=filters,
        place=_place_label(rows, building_id, unit_id),
        phones=selectors.phone_mode(request.user),
        form=ExemptionForm(),
        next_url=request.get_full_path(),
    )
    return render(request, "testing/missed.html", context)


def _place_label(rows, building_id, unit_id) -> str:
    if not rows or not (building_id or unit_id):
        return ""
    first = rows[0]
    if unit_id:
        return _("%(building)s号楼%(unit)s单元") % {"building": first.building, "unit": first.unit}
    return _("%(building)s号楼") % {"building": first.building}


@never_cache
@login_required
def missed_export(request, round_id: int, compound_id: int):
    round_ = _round(request, round_id)
    content, file_name = missed_export_action(
        actor=request.user,
        round=round_,
        compound_id=compound_id,
        building_id=_int_param(request, "building"),
        unit_id=_int_param(request, "unit"),
        ip=client_ip(request),
    )
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=file_name)
    return response


@login_required
def exemptions(request, round_id: int, compound_id: int):
    """Who was exempted and why (住院 is health data): for those who decide exemptions only."""
    if not may_exempt(request.user):
        raise Http404
    round_ = _round(request, round_id)
    compound = selectors.covered_compound(request.user, round_, compound_id)
    rows = selectors.exemptions_of_compound(request.user, round_, compound.pk)
    page = Paginator(rows, settings.TONGXIN_PAGE_SIZE).get_page(request.GET.get("page"))
    context = _context(request, round_, compound=compound, page=page, next_url=request.get_full_path())
    return render(request, "testing/exemptions.html", context)


def _next(request, fallback: str) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return fallback


@login_required
def exemption(request, round_id: int, resident_id: int):
    """GET: the form for one person. POST: exempt them; from the missed list's HTMX button, the
    answer replaces the person's row."""
    round_ = _round(request, round_id)
    if not may_exempt(request.user):
        raise PermissionDenied(_("当前角色不能设置免检"))
    resident = registry_selectors.resident_get(request.user, resident_id)
    current = selectors.exemption_of(request.user, round_, resident)
    fallback = reverse("testing:missed", args=[round_.pk, resident.compound_id])
    if request.method == "POST":
        form = ExemptionForm(request.POST)
        if form.is_valid():
            try:
                done = exemption_set(
                    actor=request.user,
                    round=round_,
                    resident=resident,
                    reason=form.cleaned_data["reason"],
                    note=form.cleaned_data["note"],
                )
            except ValidationError as error:
                _form_error(form, error)
            else:
                if request.htmx:
                    return render(
                        request,
                        "testing/missed.html#exempted",
                        _context(
                            request,
                            round_,
                            resident=resident,
                            exemption=done,
                            next_url=_next(request, fallback),
                        ),
                    )
                messages.success(
                    request,
                    _("已为%(name)s登记免检：%(reason)s")
                    % {"name": resident.name, "reason": done.get_reason_display()},
                )
                return redirect(_next(request, fallback))
        status = 400
    else:
        initial = {"reason": current.reason, "note": current.note} if current else {}
        form = ExemptionForm(initial=initial)
        status = 200
    context = _context(
        request, round_, resident=resident, form=form, current=current, next_url=_next(request, fallback)
    )
    if request.htmx and request.method == "POST":
        # HTMX swaps only successful answers: the row comes back with the error and the form.
        return render(request, "testing/missed.html#retry", context)
    return render(request, "testing/exemption_form.html", context, status=status)


def _form_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@login_required
@require_POST
def exemption_undo(request, round_id: int, resident_id: int):
    round_ = _round(request, round_id)
    if not may_exempt(request.user):
        raise PermissionDenied(_("当前角色不能设置免检"))
    resident = registry_selectors.resident_get(request.user, resident_id)
    try:
        cleared = exemption_clear(actor=request.user, round=round_, resident=resident)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        cleared = False
    fallback = reverse("testing:exemptions", args=[round_.pk, resident.compound_id])
    if request.htmx:
        return render(
            request,
            "testing/missed.html#undone",
            _context(request, round_, resident=resident, cleared=cleared, next_url=_next(request, fallback)),
        )
    if cleared:
        messages.success(request, _("已撤销%(name)s的免检") % {"name": resident.name})
    return redirect(_next(request, fallback))


urlpatterns = [
    path("rounds/<int:round_id>/coverage/", coverage, name="coverage"),
    path(
        "rounds/<int:round_id>/coverage/compounds/<int:compound_id>/",
        coverage_compound,
        name="coverage_compound",
    ),
    path(
        "rounds/<int:round_id>/coverage/buildings/<int:building_id>/",
        coverage_building,
        name="coverage_building",
    ),
    path("rounds/<int:round_id>/coverage/compounds/<int:compound_id>/missed/", missed, name="missed"),
    path(
        "rounds/<int:round_id>/coverage/compounds/<int:compound_id>/missed.xlsx",
        missed_export,
        name="missed_export",
    ),
    path(
        "rounds/<int:round_id>/coverage/compounds/<int:compound_id>/exemptions/",
        exemptions,
        name="exemptions",
    ),
    path("rounds/<int:round_id>/exemptions/<int:resident_id>/", exemption, name="exemption"),
    path("rounds/<int:round_id>/exemptions/<int:resident_id>/clear/", exemption_undo, name="exemption_clear"),
]
