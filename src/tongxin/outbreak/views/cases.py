"""Pages of cases, contacts, transfers, isolations, check-ins, the follow-up list and the
transmission graph, and the status panel of the registry's resident page: parse the request, call
one selector or action, render."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.outbreak import actions, selectors
from tongxin.outbreak.forms import (
    BecameCaseForm,
    CaseForm,
    CaseOutcomeForm,
    CaseTransferForm,
    CheckinForm,
    ContactForm,
    IsolationForm,
    ReleaseForm,
    TransferForm,
)
from tongxin.outbreak.rules import active_rules
from tongxin.registry import selectors as registry_selectors

# Resident status


def resident_status_panel(user, resident) -> dict:
    """The status section of the registry's resident page (registered in OutbreakConfig.ready):
    a coloured badge for everyone who sees the resident, the reasons for health roles and the
    resident's own household only."""
    shown = selectors.resident_status_of(user, resident)
    return {
        "template": "outbreak/_resident_status.html",
        "status": shown.status,
        "shows_reasons": shown.shows_reasons,
    }


# -- cases, contacts, transfers, isolations, check-ins, follow-up, transmission graph ------------


def _health_compound(request, compound_id: int):
    """Health roles only (403 otherwise); another compound's pages are not found (404)."""
    if not request.user.sees_health_data:
        raise PermissionDenied(_("当前角色不能查看病例和密接信息"))
    return registry_selectors.compound_get(request.user, compound_id)


def _require_health(request) -> None:
    if not request.user.sees_health_data:
        raise Http404


def _person_choices(request, compound):
    user = request.user
    residents = registry_selectors.residents_visible(user).filter(compound=compound)
    residents = residents.select_related("household__unit__building").order_by(
        "building__sort_key", "unit__sort_key", "household__room", "id"
    )
    households = registry_selectors.households_visible(user).filter(compound=compound)
    households = households.select_related("unit__building").order_by(
        "building__sort_key", "unit__sort_key", "room"
    )
    return {"residents": residents, "households": households}


def _form_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error)


@login_required
def case_list(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    page = Paginator(selectors.cases_of_compound(request.user, compound), settings.TONGXIN_PAGE_SIZE)
    return render(
        request,
        "outbreak/case_list.html",
        {"compound": compound, "page": page.get_page(request.GET.get("page"))},
    )


@login_required
def case_new(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    form = CaseForm(request.POST or None, **_person_choices(request, compound))
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            case = actions.case_register(
                actor=request.user,
                compound=compound,
                confirmed_on=data["confirmed_on"],
                source=data["source"],
                note=data["note"],
                **form.person(),
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已登记阳性病例%(name)s") % {"name": case.name})
            return redirect("outbreak:case_detail", case_id=case.pk)
    status = 400 if form.is_bound else 200
    return render(request, "outbreak/case_form.html", {"compound": compound, "form": form}, status=status)


def _case_page(request, case, *, status=200, **forms_):
    return render(
        request,
        "outbreak/case_detail.html",
        {
            "case": case,
            "compound": case.compound,
            "contacts": selectors.contacts_of_case(request.user, case),
            "transfer_form": forms_.get("transfer_form")
            or CaseTransferForm(initial={"version": case.version, "taken_to": case.taken_to or "hospital"}),
            "outcome_form": forms_.get("outcome_form")
            or CaseOutcomeForm(initial={"version": case.version, "outcome": case.outcome}),
        },
        status=status,
    )


@login_required
def case_detail(request, case_id: int):
    _require_health(request)
    case = selectors.case_get(request.user, case_id, ip=client_ip(request))
    return _case_page(request, case)


@login_required
@require_POST
def case_transfer(request, case_id: int):
    _require_health(request)
    case = selectors.case_get(request.user, case_id, ip=client_ip(request))
    form = CaseTransferForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.case_transfer(
                actor=request.user,
                case=case,
                version=data["version"],
                taken_to=data["taken_to"],
                place=data["place"],
                taken_at=data["taken_at"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已记录转运"))
            return redirect("outbreak:case_detail", case_id=case.pk)
    return _case_page(request, case, transfer_form=form, status=409 if _is_stale(form) else 400)


@login_required
@require_POST
def case_outcome(request, case_id: int):
    _require_health(request)
    case = selectors.case_get(request.user, case_id, ip=client_ip(request))
    form = CaseOutcomeForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        try:
            actions.case_set_outcome(
                actor=request.user, case=case, version=data["version"], outcome=data["outcome"], on=data["on"]
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已记录转归"))
            return redirect("outbreak:case_detail", case_id=case.pk)
    return _case_page(request, case, outcome_form=form, status=409 if _is_stale(form) else 400)


def _is_stale(form) -> bool:
    return any(error.code == "stale" for error in form.errors.as_data().get("__all__", []))


@login_required
def contact_list(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    page = Paginator(selectors.contacts_of_compound(request.user, compound), settings.TONGXIN_PAGE_SIZE)
    return render(
        request,
        "outbreak/contact_list.html",
        {"compound": compound, "page": page.get_page(request.GET.get("page"))},
    )


@login_required
def contact_new(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    cases = selectors.cases_visible(request.user).filter(compound=compound).order_by("-confirmed_on", "-id")
    initial = {"cases": request.GET.getlist("case")} if request.method == "GET" else None
    form = ContactForm(
        request.POST or None, initial=initial, cases=cases, **_person_choices(request, compound)
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            contact = actions.contact_register(
                actor=request.user,
                cases=data["cases"],
                identified_on=data["identified_on"],
                kind=data["kind"],
                last_exposure_on=data["last_exposure_on"],
                note=data["note"],
                **form.person(),
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已登记密接%(name)s") % {"name": contact.name})
            return redirect("outbreak:contact_detail", contact_id=contact.pk)
    status = 400 if form.is_bound else 200
    return render(request, "outbreak/contact_form.html", {"compound": compound, "form": form}, status=status)


def _contact_page(request, contact, *, form=None, status=200):
    return render(
        request,
        "outbreak/contact_detail.html",
        {
            "contact": contact,
            "compound": contact.compound,
            "became_form": form or BecameCaseForm(),
        },
        status=status,
    )


@login_required
def contact_detail(request, contact_id: int):
    _require_health(request)
    return _contact_page(request, selectors.contact_get(request.user, contact_id, ip=client_ip(request)))


@login_required
@require_POST
def contact_became_case(request, contact_id: int):
    _require_health(request)
    contact = selectors.contact_get(request.user, contact_id, ip=client_ip(request))
    form = BecameCaseForm(request.POST)
    if form.is_valid():
        try:
            case = actions.contact_became_case(
                actor=request.user,
                contact=contact,
                confirmed_on=form.cleaned_data["confirmed_on"],
                source=form.cleaned_data["source"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已登记为阳性病例"))
            return redirect("outbreak:case_detail", case_id=case.pk)
    return _contact_page(request, contact, form=form, status=400)


@login_required
def transfer_new(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    candidates = selectors.contacts_to_transfer(request.user, compound)
    form = TransferForm(request.POST or None, contacts=candidates)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            batch = actions.transfer_batch_create(
                actor=request.user,
                compound=compound,
                vehicle=data["vehicle"],
                departed_at=data["departed_at"],
                destination=data["destination"],
                escort=data["escort"],
                contacts=data["contacts"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已登记转运批次"))
            return redirect("outbreak:transfer_detail", batch_id=batch.pk)
    status = 400 if form.is_bound else 200
    return render(
        request,
        "outbreak/transfer_form.html",
        {"compound": compound, "form": form, "rules": active_rules()},
        status=status,
    )


@login_required
def transfer_detail(request, batch_id: int):
    _require_health(request)
    batch, isolations = selectors.transfer_batch_get(request.user, batch_id)
    return render(
        request,
        "outbreak/transfer_detail.html",
        {"batch": batch, "compound": batch.compound, "isolations": isolations},
    )


@login_required
def isolation_list(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    show_all = request.GET.get("all") == "1"
    rows = selectors.isolations_of_compound(request.user, compound, open_only=not show_all)
    page = Paginator(rows, settings.TONGXIN_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "outbreak/isolation_list.html",
        {"compound": compound, "page": page, "show_all": show_all, "today": timezone.localdate()},
    )


@login_required
def isolation_new(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    residents = _person_choices(request, compound)["residents"]
    form = IsolationForm(
        request.POST or None, residents=residents, initial={"starts_on": timezone.localdate()}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            actions.isolation_create(
                actor=request.user,
                compound=compound,
                rule=data["rule"],
                kind=data["kind"],
                starts_on=data["starts_on"],
                resident=data["resident"],
                days=data["days"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已登记隔离/监测"))
            return redirect("outbreak:isolation_list", compound_id=compound.pk)
    status = 400 if form.is_bound else 200
    return render(
        request, "outbreak/isolation_form.html", {"compound": compound, "form": form}, status=status
    )


@login_required
def isolation_release(request, isolation_id: int):
    _require_health(request)
    isolation = selectors.isolation_get(request.user, isolation_id)
    form = ReleaseForm(
        request.POST or None, initial={"version": isolation.version, "released_on": timezone.localdate()}
    )
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                actions.isolation_release(
                    actor=request.user,
                    isolation=isolation,
                    version=data["version"],
                    released_on=data["released_on"],
                    reason=data["reason"],
                )
            except ValidationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("已解除%(name)s的隔离") % {"name": isolation.name})
                return redirect("outbreak:isolation_list", compound_id=isolation.compound_id)
        status = 409 if _is_stale(form) else 400
    return render(
        request,
        "outbreak/isolation_release.html",
        {"isolation": isolation, "compound": isolation.compound, "form": form},
        status=status,
    )


def _parse_day(request, value: str | None):
    """The day asked for; a date that cannot be read shows today, and says so."""
    import datetime

    try:
        return datetime.date.fromisoformat(value) if value else timezone.localdate()
    except ValueError:
        messages.error(request, _("日期格式不对（应为2022-11-14这样的格式），已显示今天。"))
        return timezone.localdate()


@login_required
def followup(request, compound_id: int):
    import datetime

    compound = _health_compound(request, compound_id)
    on = _parse_day(request, request.GET.get("date"))
    data = selectors.followup_list(request.user, compound, on)
    return render(
        request,
        "outbreak/followup.html",
        {
            "compound": compound,
            "data": data,
            "on": on,
            "is_today": on == timezone.localdate(),
            "previous": on - datetime.timedelta(days=1),
            "next": on + datetime.timedelta(days=1),
            "checkin_form": CheckinForm(),
        },
    )


def _followup_row(request, isolation, *, form=None, status=200):
    """Re-read the row from the follow-up list so the HTMX swap shows what the list would."""
    on = timezone.localdate()
    data = selectors.followup_list(request.user, isolation.compound, on)
    row = next((r for r in data["rows"] if r.isolation.pk == isolation.pk), None)
    context = {
        "row": row,
        "on": on,
        "is_today": True,
        "checkin_form": form or CheckinForm(),
        "error_for": isolation.pk,
    }
    if request.htmx and row is not None:
        return render(request, "outbreak/followup.html#row", context, status=status)
    if status != 200:
        return render(
            request,
            "outbreak/followup_error.html",
            {**context, "form": form, "isolation": isolation},
            status=status,
        )
    return redirect("outbreak:followup", compound_id=isolation.compound_id)


@login_required
@require_POST
def followup_checkin(request, isolation_id: int):
    _require_health(request)
    isolation = selectors.isolation_get(request.user, isolation_id)
    form = CheckinForm(request.POST)
    if form.is_valid():
        try:
            actions.checkin_record(
                actor=request.user,
                isolation=isolation,
                temperature=form.cleaned_data["temperature"],
                symptoms=form.cleaned_data["symptoms"],
                symptoms_text=form.cleaned_data["symptoms_text"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            return _followup_row(request, isolation)
    return _followup_row(request, isolation, form=form, status=400)


@login_required
@require_POST
def followup_sampled(request, isolation_id: int):
    _require_health(request)
    isolation = selectors.isolation_get(request.user, isolation_id)
    try:
        actions.followup_sampled_record(actor=request.user, isolation=isolation)
    except ValidationError as error:
        form = CheckinForm()
        _form_error(form, error)
        return _followup_row(request, isolation, form=form, status=400)
    return _followup_row(request, isolation)


@login_required
def my_checkin(request):
    """A resident's own page: their household members under isolation or monitoring check in."""
    if request.user.role != Role.RESIDENT:
        raise PermissionDenied(_("此页面供居民本人打卡"))
    isolations = list(selectors.own_isolations(request.user))
    form = CheckinForm(request.POST or None)
    status = 200
    if request.method == "POST":
        chosen = next((i for i in isolations if str(i.pk) == request.POST.get("isolation")), None)
        if chosen is None:
            raise Http404
        if form.is_valid():
            try:
                actions.checkin_record(
                    actor=request.user,
                    isolation=chosen,
                    temperature=form.cleaned_data["temperature"],
                    symptoms=form.cleaned_data["symptoms"],
                    symptoms_text=form.cleaned_data["symptoms_text"],
                )
            except ValidationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("%(name)s今日已打卡") % {"name": chosen.name})
                return redirect("outbreak:my_checkin")
        status = 400
    return render(
        request, "outbreak/my_checkin.html", {"isolations": isolations, "form": form}, status=status
    )


@login_required
def graph(request, compound_id: int):
    compound = _health_compound(request, compound_id)
    data = selectors.transmission_graph(request.user, compound)
    return render(request, "outbreak/graph.html", {"compound": compound, "graph": data})
