"""Registry pages: parse the request, call one selector or action, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.registry import actions, selectors
from tongxin.registry.forms import PresenceForm, RevealForm


@login_required
def home(request):
    user = request.user
    if user.role == "resident":
        return redirect("portal:home")
    compounds = list(selectors.compounds_overview(request.user)[:200])
    if len(compounds) == 1:
        return redirect("registry:compound", compound_id=compounds[0].pk)
    return render(request, "registry/home.html", {"compounds": compounds})


def _shows_numbers(user) -> bool:
    """Masked ID numbers and phones and the registered address: not for volunteers."""
    return user.may_see_full_data or user.role == Role.RESIDENT


def _shows_notes(user) -> bool:
    """Notes are written by staff for staff: not for volunteers, nor for the residents they are about."""
    return user.may_see_full_data


@login_required
def compound(request, compound_id: int):
    compound = selectors.compound_get(request.user, compound_id)
    context = {
        "compound": compound,
        "stats": selectors.compound_stats(request.user, compound),
        "map": selectors.compound_map(request.user, compound, request.GET.get("measure", "verified")),
        "panels": selectors.compound_panels(request.user, compound),
    }
    return render(request, "registry/compound.html", context)


@login_required
def unit_households(request, unit_id: int):
    """The unit's households: the partial below the map for HTMX, a page of its own otherwise."""
    unit = selectors.unit_get(request.user, unit_id)
    context = {"unit": unit, "households": selectors.households_of_unit(request.user, unit)}
    if request.htmx:
        return render(request, "registry/compound.html#households", context)
    return render(request, "registry/unit.html", context)


@login_required
def care_list(request, compound_id: int):
    compound = selectors.compound_get(request.user, compound_id)
    group = request.GET.get("group", "")
    residents = selectors.care_list(request.user, compound, group)
    page = Paginator(residents, settings.TONGXIN_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "compound": compound,
        "page": page,
        "group": group if group in selectors.CARE_GROUPS else "",
        "groups": [(key, label) for key, (label, _condition) in selectors.CARE_GROUPS.items()],
    }
    return render(request, "registry/care_list.html", context)


@login_required
def household(request, household_id: int):
    household = selectors.household_get(request.user, household_id)
    context = {
        "household": household,
        "residents": selectors.residents_of_household(request.user, household),
        "shows_numbers": _shows_numbers(request.user),
        "shows_notes": _shows_notes(request.user),
    }
    return render(request, "registry/household.html", context)


def _resident_context(request, resident, **forms) -> dict:
    user = request.user
    own_household = user.role == Role.RESIDENT and user.household_id == resident.household_id
    return {
        "resident": resident,
        "shows_numbers": _shows_numbers(user),
        "shows_notes": _shows_notes(user),
        "may_reveal": user.may_see_full_data or own_household,
        "may_verify": user.role != Role.RESIDENT,
        "reveal_form": forms.get("reveal_form") or RevealForm(),
        "presence_form": forms.get("presence_form") or PresenceForm(initial={"presence": resident.presence}),
        "revealed": forms.get("revealed"),
        "panels": selectors.resident_panels(user, resident),
    }


@login_required
def resident(request, resident_id: int):
    resident = selectors.resident_get(request.user, resident_id)
    return render(request, "registry/resident.html", _resident_context(request, resident))


@never_cache
@login_required
@require_POST
def resident_reveal(request, resident_id: int):
    """Show one full number once; the action checks the role and writes the audit row."""
    resident = selectors.resident_get(request.user, resident_id)
    form = RevealForm(request.POST)
    revealed = None
    if form.is_valid():
        field = form.cleaned_data["field"]
        try:
            value = actions.resident_reveal(
                actor=request.user,
                resident=resident,
                field=field,
                reason=form.cleaned_data["reason"],
                ip=client_ip(request),
            )
        except ValidationError as error:
            form.add_error("reason", error)
        else:
            revealed = {"label": dict(form.fields["field"].choices)[field], "value": value}
            form = RevealForm()
    elif not (request.user.may_see_full_data or request.user.household_id == resident.household_id):
        raise PermissionDenied(_("当前角色不能查看完整证件号码和手机号"))
    context = _resident_context(request, resident, reveal_form=form, revealed=revealed)
    if request.htmx:
        return render(request, "registry/resident.html#reveal", context)
    return render(request, "registry/resident.html", context, status=200 if revealed else 400)


@login_required
@require_POST
def resident_presence(request, resident_id: int):
    resident = selectors.resident_get(request.user, resident_id)
    form = PresenceForm(request.POST)
    if form.is_valid():
        try:
            actions.resident_set_presence(
                actor=request.user,
                resident=resident,
                presence=form.cleaned_data["presence"],
                on=form.cleaned_data["on"],
            )
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, _("已记录%(name)s的居住状态") % {"name": resident.name})
            return redirect("registry:resident", resident_id=resident.pk)
    context = _resident_context(request, resident, presence_form=form)
    return render(request, "registry/resident.html", context, status=400)


@login_required
def search(request):
    """Name or room as typed; phones and ID numbers exact, and never echoed back into the page."""
    if request.user.role == Role.RESIDENT:
        raise PermissionDenied(_("居民账号不能查找其他居民"))
    # The form posts, so that a full phone or ID number never lands in a URL (access logs, history);
    # a number arriving in a URL anyway is not looked up.
    query = (request.POST if request.method == "POST" else request.GET).get("q", "").strip()[:60]
    exact = selectors.search_is_exact_number(query)
    number_in_url = bool(exact) and request.method != "POST"
    searched = bool(query) and not number_in_url
    context = {
        "query": "" if exact else query,
        "exact": exact,
        "number_in_url": number_in_url,
        "searched": searched,
        "results": list(selectors.resident_search(request.user, query)) if searched else [],
        "shows_numbers": _shows_numbers(request.user),
    }
    return render(request, "registry/search.html", context)


# Import wizard (upload -> preview -> confirm -> result), import template, export.

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PREVIEW_ERRORS = 500


def _require_registry_manager(user) -> None:
    if not user.manages_registry:
        raise PermissionDenied(_("当前角色不能导入或导出居民信息"))


def _xlsx_response(content: bytes, file_name: str):
    from django.http import HttpResponse
    from django.utils.http import content_disposition_header

    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=file_name)
    return response


def _import_page(request, form, *, reveal_form=None, status=200):
    from tongxin.registry.import_forms import ExportRevealForm

    return render(
        request,
        "registry/import_upload.html",
        {
            "form": form,
            "compounds": form.fields["compound"].queryset,
            "reveal_form": reveal_form or ExportRevealForm(),
            "may_reveal": request.user.may_see_full_data,
            "max_rows": settings.TONGXIN_IMPORT_MAX_ROWS,
        },
        status=status,
    )


@never_cache
@login_required
def import_upload(request):
    from tongxin.registry.import_forms import ImportUploadForm

    _require_registry_manager(request.user)
    compounds = selectors.compounds_visible(request.user)
    if request.method != "POST":
        return _import_page(request, ImportUploadForm(compounds=compounds))
    form = ImportUploadForm(request.POST, request.FILES, compounds=compounds)
    if not form.is_valid():
        return _import_page(request, form, status=400)
    upload = actions.import_upload_create(
        actor=request.user,
        compound=form.cleaned_data["compound"],
        file_name=form.cleaned_data["file"].name,
        content=form.cleaned_data["content"],
    )
    return redirect("registry:import_preview", upload_id=upload.pk)


@never_cache
@login_required
def import_preview(request, upload_id):
    _require_registry_manager(request.user)
    upload = selectors.import_upload_get(request.user, upload_id)
    report = actions.residents_import(
        actor=request.user,
        compound=upload.compound,
        file_name=upload.file_name,
        content=upload.content,
        dry_run=True,
        valid_only=False,
    )
    return render(
        request,
        "registry/import_preview.html",
        {
            "upload": upload,
            "report": report,
            "errors": report.invalid[:PREVIEW_ERRORS],
            "more_errors": max(0, len(report.invalid) - PREVIEW_ERRORS),
        },
    )


@never_cache
@login_required
@require_POST
def import_confirm(request, upload_id):
    _require_registry_manager(request.user)
    upload = selectors.import_upload_get(request.user, upload_id)
    valid_only = request.POST.get("mode") == "valid_only"
    report = actions.import_upload_confirm(actor=request.user, upload=upload, valid_only=valid_only)
    return render(
        request,
        "registry/import_result.html",
        {
            "upload": upload,
            "compound": upload.compound,
            "report": report,
            "errors": report.invalid[:PREVIEW_ERRORS],
            "more_errors": max(0, len(report.invalid) - PREVIEW_ERRORS),
        },
        status=200 if report.applied else 400,
    )


@login_required
def import_template(request):
    from tongxin.registry.exporting import template_workbook

    _require_registry_manager(request.user)
    return _xlsx_response(template_workbook(), "居民导入模板.xlsx")


@never_cache
@login_required
def export(request, compound_id: int):
    """GET: the compound's residents, masked. POST with a reason (roles that may): full numbers."""
    from django.utils import timezone

    from tongxin.registry.import_forms import ExportRevealForm, ImportUploadForm

    compound = selectors.compound_get(request.user, compound_id)
    _require_registry_manager(request.user)
    reason = ""
    if request.method == "POST":
        if not request.user.may_see_full_data:
            raise PermissionDenied(_("当前角色不能导出完整证件号码和手机号"))
        form = ExportRevealForm(request.POST)
        if not form.is_valid():
            upload_form = ImportUploadForm(compounds=selectors.compounds_visible(request.user))
            return _import_page(request, upload_form, reveal_form=form, status=400)
        reason = form.cleaned_data["reason"]
    content = actions.residents_export(
        actor=request.user, compound=compound, reveal_reason=reason, ip=client_ip(request)
    )
    suffix = "完整" if reason else "脱敏"
    return _xlsx_response(content, f"{compound.name}居民{timezone.localdate():%Y%m%d}{suffix}.xlsx")
