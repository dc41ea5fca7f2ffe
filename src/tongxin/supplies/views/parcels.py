"""/supplies/parcels/: the gate's parcels on a volunteer's phone. Log a parcel (room or phone,
courier, pieces, an optional photo) or a courier's whole batch, the day's parcels by state with
their counts, disinfect the selected ones, search by room. /supplies/parcels/round/: the ready
parcels as a delivery round by building and unit, each household's way of getting them, big
deliver and refuse buttons (HTMX), what is still holding. A parcel's photo is only served here,
to the staff who see the parcel and to its household (never a public media URL).

For the compound's team, volunteers included (`HANDS_OUT`); residents are refused (403) and have
/supplies/mine/."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.core.files import serve_by_suffix
from tongxin.core.pages import compound_choice, day_param
from tongxin.supplies.actions.parcels import (
    PHOTO_KINDS,
    parcel_deliver,
    parcel_intake,
    parcel_refuse,
    parcels_disinfect,
    parcels_intake,
    parse_batch,
)
from tongxin.supplies.forms.parcels import BatchForm, IntakeForm, RefuseForm
from tongxin.supplies.models import ParcelState
from tongxin.supplies.selectors.parcels import (
    annotate_parcel,
    delivery_modes,
    delivery_round,
    intake_choices,
    parcel_for_photo,
    parcel_get,
    parcels_of_day,
    room_label,
)
from tongxin.supplies.selectors.scope import HANDS_OUT, require_compound


def _require_team(user) -> None:
    if user.role not in HANDS_OUT:
        raise PermissionDenied(_("当前角色不能处理快递"))


def _compound(request, target: str):
    _require_team(request.user)
    compound, compounds = compound_choice(request)
    if compound is not None:
        require_compound(request.user, compound.pk, roles=HANDS_OUT)
    return compound, compounds, target


def _error_dict(error: ValidationError) -> dict:
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


def _form_error(form, error: ValidationError) -> None:
    for name, found in _error_dict(error).items():
        form.add_error(name if name in form.fields else None, found)


def _list_url(compound, **params) -> str:
    query = {"compound": compound.pk, **{k: v for k, v in params.items() if v}}
    return f"{reverse('supplies:parcels')}?{urlencode(query)}"


def _choices(error: ValidationError) -> list[int]:
    """The households a phone named, when the action asked which."""
    for items in getattr(error, "error_dict", {}).values():
        for item in items:
            if item.code == "several_households":
                return list(item.params["households"])
    return []


def _list_page(request, compound, *, intake=None, batch=None, choices=None, status=200):
    user = request.user
    day = day_param(request)
    room = (request.GET.get("room") or "").strip()[:40]
    state = request.GET.get("state", "")
    state = state if state in ParcelState.values else ""
    found = parcels_of_day(user, compound, day, room=room, state=state)
    context = {
        "compound": compound,
        "day": day,
        "is_today": day == timezone.localdate(),
        "room": room,
        "state": state,
        "states": ParcelState.choices,
        "found": found,
        "intake_form": intake or IntakeForm(),
        "batch_form": batch or BatchForm(),
        "choices": choices or [],
        "list_url": _list_url(compound),
    }
    return render(request, "supplies/parcels/list.html", context, status=status)


@never_cache  # rooms and the households' parcels
@login_required
def parcels(request):
    compound, compounds, target = _compound(request, "supplies:parcels")
    if compound is None:
        return render(request, "supplies/choose.html", {"compounds": compounds, "target": target})
    return _list_page(request, compound)


@never_cache
@login_required
@require_POST
def intake(request):
    compound, _compounds, _target = _compound(request, "supplies:parcels")
    if compound is None:
        raise Http404
    form = IntakeForm(request.POST, request.FILES)
    if not form.is_valid():
        return _list_page(request, compound, intake=form, status=400)
    data = form.cleaned_data
    try:
        parcel = parcel_intake(
            actor=request.user,
            compound=compound,
            household=data["household"],
            lookup=data["lookup"],
            courier=data["courier"],
            tracking_number=data["tracking_number"],
            pieces=data["pieces"],
            note=data["note"],
            photo=data["photo"],
        )
    except ValidationError as error:
        households = _choices(error)
        choices = intake_choices(request.user, households) if households else []
        _form_error(form, error)
        return _list_page(request, compound, intake=form, choices=choices, status=400)
    messages.success(
        request,
        _("已登记：%(room)s %(pieces)s件") % {"room": room_label(parcel.household), "pieces": parcel.pieces},
    )
    return redirect(_list_url(compound))


@never_cache
@login_required
@require_POST
def batch(request):
    compound, _compounds, _target = _compound(request, "supplies:parcels")
    if compound is None:
        raise Http404
    form = BatchForm(request.POST)
    if not form.is_valid():
        return _list_page(request, compound, batch=form, status=400)
    try:
        created = parcels_intake(
            actor=request.user,
            compound=compound,
            courier=form.cleaned_data["courier"],
            lines=parse_batch(form.cleaned_data["lines"]),
        )
    except ValidationError as error:
        _form_error(form, error)
        return _list_page(request, compound, batch=form, status=400)
    messages.success(request, _("已登记一批%(n)s件快递") % {"n": len(created)})
    return redirect(_list_url(compound))


@login_required
@require_POST
def disinfect(request):
    compound, _compounds, _target = _compound(request, "supplies:parcels")
    if compound is None:
        raise Http404
    ids = [value for value in request.POST.getlist("parcel") if value.isascii() and value.isdigit()][:500]
    try:
        done = parcels_disinfect(actor=request.user, parcels=ids)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        ready_at = timezone.localtime(done[0].ready_at).strftime("%H:%M") if done else ""
        messages.success(request, _("已消杀%(n)s件，%(at)s后可配送") % {"n": len(done), "at": ready_at})
    return redirect(_list_url(compound))


# -- the delivery round ---------------------------------------------------------------------------


@never_cache
@login_required
def parcel_round(request):
    compound, compounds, target = _compound(request, "supplies:parcel_round")
    if compound is None:
        return render(request, "supplies/choose.html", {"compounds": compounds, "target": target})
    found = delivery_round(request.user, compound)
    context = {"compound": compound, "round": found, "refuse_form": RefuseForm(), "now": timezone.now()}
    return render(request, "supplies/parcels/round.html", context)


def _back(request, parcel) -> str:
    target = request.POST.get("next") or ""
    # A path of this site only: redirect() would take "abc" for a view name (NoReverseMatch, 500).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, {request.get_host()}, request.is_secure()
    ):
        return target
    return f"{reverse('supplies:parcel_round')}?compound={parcel.compound_id}"


def _parcel_row(request, parcel_id, *, status=200, error="", done=""):
    parcel = annotate_parcel(parcel_get(request.user, parcel_id), timezone.now())
    delivery = delivery_modes(request.user, parcel.compound, [parcel.household])[parcel.household_id]
    context = {
        "parcel": parcel,
        "delivery": delivery,
        "refuse_form": RefuseForm(),
        "row_error": error,
        "row_done": done,
    }
    return render(request, "supplies/parcels/round.html#parcel", context, status=status)


def _hand(request, parcel_id, act, done_text):
    parcel = parcel_get(request.user, parcel_id)
    try:
        act(parcel)
    except ValidationError as error:
        message = "；".join(error.messages)
        if request.htmx:
            return _parcel_row(request, parcel.pk, status=400, error=message)
        messages.error(request, message)
    else:
        if request.htmx:
            return _parcel_row(request, parcel.pk, done=done_text)
        messages.success(request, f"{room_label(parcel.household)} {done_text}")
    return redirect(_back(request, parcel))


@login_required
@require_POST
def deliver(request, parcel_id: int):
    _require_team(request.user)
    return _hand(request, parcel_id, lambda p: parcel_deliver(actor=request.user, parcel=p), _("已送达"))


@login_required
@require_POST
def refuse(request, parcel_id: int):
    _require_team(request.user)
    reason = (request.POST.get("reason") or "")[:400]
    return _hand(
        request, parcel_id, lambda p: parcel_refuse(actor=request.user, parcel=p, reason=reason), _("已拒收")
    )


# -- the photo --------------------------------------------------------------------------------------


@never_cache
@login_required
def photo(request, parcel_id: int):
    """The parcel's photo, to the staff who see the parcel and to its own household only."""
    parcel = parcel_for_photo(request.user, parcel_id)
    return serve_by_suffix(parcel.photo, stem=f"parcel-{parcel.pk}", content_types=PHOTO_KINDS)


urlpatterns = [
    path("parcels/", parcels, name="parcels"),
    path("parcels/intake/", intake, name="parcel_intake"),
    path("parcels/batch/", batch, name="parcel_batch"),
    path("parcels/disinfect/", disinfect, name="parcel_disinfect"),
    path("parcels/round/", parcel_round, name="parcel_round"),
    path("parcels/<int:parcel_id>/deliver/", deliver, name="parcel_deliver"),
    path("parcels/<int:parcel_id>/refuse/", refuse, name="parcel_refuse"),
    path("parcels/<int:parcel_id>/photo/", photo, name="parcel_photo"),
]
