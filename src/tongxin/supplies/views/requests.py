"""Requests from sealed and isolated homes.

/supplies/requests/: the queue (urgent first, then oldest) with the form to log a request taken on
the phone, and accept / bought / delivered / cannot buttons on each row (HTMX swaps the row).
/supplies/requests/today/: the day's delivery list by building and unit with the stock it takes,
printable, and as Excel (audited). /supplies/mine/requests/: a resident asks (a big button per
kind) and follows their household's requests; staff are sent to the queue.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.core.pages import compound_choice, int_param, place_filters
from tongxin.registry import selectors as registry_selectors
from tongxin.supplies.actions import requests as actions
from tongxin.supplies.forms.requests import AskForm, CannotForm, DeliverForm, PhoneRequestForm
from tongxin.supplies.models import Item, RequestKind, RequestState
from tongxin.supplies.selectors import requests as selectors
from tongxin.supplies.selectors.scope import STOCK_KEEPERS

XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The kinds a resident's buttons ask for, in the order shown.
ASK_KINDS = [
    RequestKind.WATER,
    RequestKind.RICE,
    RequestKind.FLOUR,
    RequestKind.VEGETABLES,
    RequestKind.MEDICINE,
    RequestKind.DOCTOR,
    RequestKind.OTHER,
]


def _items(compound) -> dict:
    return {item.name: item for item in Item.objects.filter(compound=compound)}


def _messages(error) -> str:
    return (
        "；".join(error.messages)
        if isinstance(error, ValidationError)
        else (str(error) or _("无权进行该操作"))
    )


def _row_context(user, request, now, **extra) -> dict:
    request.late = selectors.is_late(request, now)
    return {
        "r": request,
        "stores": selectors.stores_of(user, request.compound),
        "may_close": user.role in STOCK_KEEPERS,
        **extra,
    }


def _filters(request) -> dict:
    state = request.GET.get("state", "")
    kind = request.GET.get("kind", "")
    return {
        "state": state if state in RequestState.values else "",
        "kind": kind if kind in RequestKind.values else "",
    }


@never_cache  # rooms, masked phones, medicines
@login_required
def queue(request, form=None):
    user = request.user
    selectors.require_team(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(
            request, "supplies/choose.html", {"compounds": compounds, "target": "supplies:requests"}
        )
    building_id, _unit_id, buildings, _units = place_filters(request, compound)
    filters = _filters(request)
    rows = selectors.request_queue(
        user, compound, state=filters["state"] or None, kind=filters["kind"] or None, building_id=building_id
    )
    page = Paginator(rows, settings.TONGXIN_PAGE_SIZE).get_page(request.GET.get("page"))
    now = timezone.now()
    for row in page.object_list:
        row.late = selectors.is_late(row, now)
    selectors.label_lines(page.object_list)
    query = urlencode(
        {k: v for k, v in {"compound": compound.pk, "building": building_id, **filters}.items() if v}
    )
    context = {
        "compound": compound,
        "page": page,
        "counts": selectors.request_counts(user, compound, now=now),
        "buildings": buildings,
        "building_id": building_id,
        "filters": filters,
        "states": RequestState.choices,
        "kinds": RequestKind.choices,
        "query": query,
        "form": form or PhoneRequestForm(),
        "stores": selectors.stores_of(user, compound),
        "may_close": user.role in STOCK_KEEPERS,
    }
    return render(request, "supplies/requests/queue.html", context, status=400 if form is not None else 200)


@login_required
@require_POST
def create(request):
    """A request taken on the phone or at the door, for a room of the compound."""
    user = request.user
    selectors.require_team(user)
    compound, _compounds = compound_choice(request)
    if compound is None:
        raise Http404
    form = PhoneRequestForm(request.POST, items=_items(compound))
    if form.is_valid():
        household = registry_selectors.household_by_room(user, compound, form.cleaned_data["room"])
        if household is None:
            form.add_error("room", _("找不到该房号（或不在您负责的范围内）"))
        else:
            try:
                made = actions.supply_request_create(
                    actor=user,
                    household=household,
                    kind=form.cleaned_data["kind"],
                    detail=form.cleaned_data["detail"],
                    lines=form.cleaned_data["lines"],
                    via=form.cleaned_data["via"],
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(
                    request,
                    _("已登记：%(room)s %(kind)s") % {"room": household, "kind": made.get_kind_display()},
                )
                return redirect(f"{reverse('supplies:requests')}?compound={compound.pk}")
    request.GET = request.GET.copy()
    request.GET["compound"] = str(compound.pk)
    return queue(request, form=form)


def _move(request, pk: int, run, done: str):
    """Run a state change; HTMX gets the changed row (with the refusal, if any), a plain post a
    redirect to the queue with a message."""
    user = request.user
    selectors.require_team(user)
    supply_request = selectors.request_get(user, pk)
    status, error, message = 200, "", ""
    try:
        run(supply_request)
    except (ValidationError, PermissionDenied) as refusal:
        status, error = (400 if isinstance(refusal, ValidationError) else 403), _messages(refusal)
    else:
        message = done
    if request.htmx:
        fresh = selectors.request_row(user, pk)
        context = _row_context(user, fresh, timezone.now(), row_error=error, row_done=message)
        return render(request, "supplies/requests/queue.html#row", context, status=status)
    if error:
        messages.error(request, error)
    else:
        messages.success(request, message)
    back = request.POST.get("back", "")
    if back not in ("today",):
        back = ""
    target = "supplies:requests_today" if back else "supplies:requests"
    return redirect(f"{reverse(target)}?compound={supply_request.compound_id}")


@login_required
@require_POST
def accept(request, pk: int):
    return _move(
        request,
        pk,
        lambda r: actions.supply_request_accept(actor=request.user, request=r),
        _("已受理"),
    )


@login_required
@require_POST
def bought(request, pk: int):
    return _move(
        request, pk, lambda r: actions.supply_request_bought(actor=request.user, request=r), _("已采购")
    )


@login_required
@require_POST
def deliver(request, pk: int):
    form = DeliverForm(request.POST)
    store_id = form.cleaned_data["store"] if form.is_valid() else None

    def run(r):
        stores = {s.pk: s for s in selectors.stores_of(request.user, r.compound)}
        return actions.supply_request_deliver(actor=request.user, request=r, store=stores.get(store_id))

    return _move(request, pk, run, _("已送达"))


@login_required
@require_POST
def cannot(request, pk: int):
    form = CannotForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _move(
        request,
        pk,
        lambda r: actions.supply_request_cannot(actor=request.user, request=r, reason=reason),
        _("已标记为无法办理"),
    )


@never_cache
@login_required
def today(request):
    """The day's delivery list, grouped by building and unit, with the stock it takes."""
    user = request.user
    selectors.require_team(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(
            request, "supplies/choose.html", {"compounds": compounds, "target": "supplies:requests_today"}
        )
    building_id, _unit_id, buildings, _units = place_filters(request, compound)
    day = selectors.day_list(user, compound, building_id=building_id, store_id=int_param(request, "store"))
    query = urlencode(
        {
            k: v
            for k, v in {
                "compound": compound.pk,
                "building": building_id,
                "store": day.store and day.store.pk,
            }.items()
            if v
        }
    )
    context = {
        "compound": compound,
        "day": day,
        "buildings": buildings,
        "building_id": building_id,
        "query": query,
        "today": timezone.localdate(),
        "may_close": user.role in STOCK_KEEPERS,
    }
    return render(request, "supplies/requests/today.html", context)


@never_cache
@login_required
def today_export(request):
    user = request.user
    selectors.require_team(user)
    compound, _compounds = compound_choice(request)
    if compound is None:
        raise Http404
    building_id, _unit_id, _buildings, _units = place_filters(request, compound)
    content, file_name = actions.requests_today_export(
        actor=user,
        compound=compound,
        building_id=building_id,
        store_id=int_param(request, "store"),
        ip=client_ip(request),
    )
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = content_disposition_header(as_attachment=True, filename=file_name)
    return response


@never_cache
@login_required
def mine(request):
    """A resident's household: ask for something and follow what was asked."""
    user = request.user
    if user.role != Role.RESIDENT:
        return redirect("supplies:requests")

    household = registry_selectors.household_get(user, user.household_id) if user.household_id else None
    form = AskForm(initial={"kind": request.GET.get("kind", "")})
    status = 200
    if request.method == "POST":
        if household is None:
            raise Http404
        form = AskForm(request.POST)
        if form.is_valid():
            kind = form.cleaned_data["kind"]
            try:
                actions.supply_request_create(
                    actor=user,
                    household=household,
                    kind=kind,
                    detail=form.cleaned_data["detail"],
                    lines=actions.kind_line(household, kind, form.cleaned_data["quantity"] or 1),
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                messages.success(request, _("已提交，社区工作人员会尽快处理"))
                return redirect("supplies:mine_requests")
        status = 400
    own = list(selectors.own_requests(user)[:50])
    selectors.label_lines(own)
    context = {
        "household": household,
        "form": form,
        "kinds": [(kind.value, kind.label) for kind in ASK_KINDS],
        "chosen": form["kind"].value() or "",
        "requests": own,
    }
    return render(request, "supplies/requests/mine.html", context, status=status)


urlpatterns = [
    path("requests/", queue, name="requests"),
    path("requests/new/", create, name="request_create"),
    path("requests/<int:pk>/accept/", accept, name="request_accept"),
    path("requests/<int:pk>/bought/", bought, name="request_bought"),
    path("requests/<int:pk>/deliver/", deliver, name="request_deliver"),
    path("requests/<int:pk>/cannot/", cannot, name="request_cannot"),
    path("requests/today/", today, name="requests_today"),
    path("requests/today/export/", today_export, name="requests_today_export"),
    path("mine/requests/", mine, name="mine_requests"),
]
