"""Risk area and compound status pages: parse the request, call one selector or action, render.

Posts answer with a redirect and a message (the Chinese sentence of the action's refusal), so a
reload never posts twice.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from tongxin.outbreak import actions, selectors
from tongxin.outbreak.forms import (
    CompoundStatusForm,
    LiftForm,
    LowerForm,
    RaiseForm,
    ScreeningForm,
    first_error,
)
from tongxin.outbreak.rules import active_rules
from tongxin.registry import selectors as registry_selectors


def _message(error: ValidationError) -> str:
    return "；".join(error.messages)


def _visible_compound(user, compound_id: int):
    if not selectors.sees_risk_levels(user):
        raise Http404
    return registry_selectors.compound_get(user, compound_id)


@login_required
def index(request):
    """The "防控" link: the user's compound's overview, or the list of visible compounds."""
    if not selectors.sees_risk_levels(request.user):
        raise Http404
    compounds = list(registry_selectors.compounds_visible(request.user).order_by("name")[:200])
    if len(compounds) == 1:
        return redirect("outbreak:overview", compound_id=compounds[0].pk)
    return render(request, "outbreak/risk_index.html", {"compounds": compounds})


@login_required
def overview(request, compound_id: int):
    user = request.user
    compound = _visible_compound(user, compound_id)
    today = timezone.localdate()
    areas = selectors.areas_with_outlook(user, compound, today)
    bands = selectors.level_bands()
    for area in areas:
        area.band = bands.get(area.level, "b0")
    context = {
        "compound": compound,
        "today": today,
        "history": selectors.compound_status_history(user, compound, today),
        "areas": areas,
        "proposals": selectors.lowering_proposals(user, compound, today, areas=areas),
        "health": user.sees_health_data,
    }
    if user.sees_health_data:
        context["raise_form"] = RaiseForm(user=user, compound=compound)
        context["status_form"] = CompoundStatusForm()
    return render(request, "outbreak/risk_overview.html", context)


@login_required
def area(request, area_id: int):
    user = request.user
    area = selectors.area_get(user, area_id)
    events = selectors.area_timeline(user, area)
    screenings = [event for event in events if event.kind == "screening"]
    outlook = selectors.lowering_state(area, screenings, timezone.localdate())
    rules = active_rules()
    labels = {lv.code: lv.label for lv in rules.levels.values()}
    for event in events:
        event.from_label = labels.get(event.from_level, event.from_level)
        event.to_label = labels.get(event.to_level, event.to_level)
    context = {
        "area": area,
        "events": events,
        "outlook": outlook,
        "band": selectors.level_bands().get(area.level, "b0"),
        "health": user.sees_health_data,
    }
    if user.sees_health_data and area.lifted_on is None:
        context["screening_form"] = ScreeningForm()
        context["lift_form"] = LiftForm(initial={"version": area.version})
        if outlook.may_lower:
            context["lower_form"] = LowerForm(initial={"version": area.version})
            to_level = rules.level(outlook.to_level) if outlook.to_level else None
            context["lower_to"] = to_level.label if to_level else _("解除")
    return render(request, "outbreak/risk_area.html", context)


def _run(request, action, success: str) -> bool:
    try:
        action()
    except ValidationError as error:
        messages.error(request, _message(error))
        return False
    except PermissionDenied as error:
        messages.error(request, str(error) or _("无权进行该操作"))
        return False
    messages.success(request, success)
    return True


@login_required
@require_POST
def area_raise(request, compound_id: int):
    user = request.user
    compound = _visible_compound(user, compound_id)
    form = RaiseForm(request.POST, user=user, compound=compound)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return redirect("outbreak:overview", compound_id=compound.pk)
    data = form.cleaned_data
    try:
        place = form.place()
    except ValidationError as error:
        messages.error(request, _message(error))
        return redirect("outbreak:overview", compound_id=compound.pk)
    _run(
        request,
        lambda: actions.area_raise(
            actor=user,
            compound=compound,
            scope=data["scope"],
            level=data["level"] or None,
            reason=data["reason"],
            on=data["on"],
            **place,
        ),
        _("已划定风险区"),
    )
    return redirect("outbreak:overview", compound_id=compound.pk)


@login_required
@require_POST
def area_screening(request, area_id: int):
    area = selectors.area_get(request.user, area_id)
    form = ScreeningForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        data = form.cleaned_data
        _run(
            request,
            lambda: actions.area_record_screening(
                actor=request.user,
                area=area,
                on=data["on"],
                all_negative=data["all_negative"],
                note=data["note"],
            ),
            _("已记录筛查"),
        )
    return redirect("outbreak:area", area_id=area.pk)


@login_required
@require_POST
def area_lower(request, area_id: int):
    area = selectors.area_get(request.user, area_id)
    form = LowerForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        _run(
            request,
            lambda: actions.area_lower(
                actor=request.user,
                area=area,
                expected_version=form.cleaned_data["version"],
                reason=form.cleaned_data["reason"],
            ),
            _("已确认降级"),
        )
    if request.POST.get("next") == "overview":
        return redirect("outbreak:overview", compound_id=area.compound_id)
    return redirect("outbreak:area", area_id=area.pk)


@login_required
@require_POST
def area_lift(request, area_id: int):
    area = selectors.area_get(request.user, area_id)
    form = LiftForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        data = form.cleaned_data
        _run(
            request,
            lambda: actions.area_lift(
                actor=request.user,
                area=area,
                reason=data["reason"],
                expected_version=data["version"],
                on=data["on"],
            ),
            _("已解除风险区"),
        )
    return redirect("outbreak:area", area_id=area.pk)


@login_required
@require_POST
def compound_status(request, compound_id: int):
    compound = _visible_compound(request.user, compound_id)
    form = CompoundStatusForm(request.POST)
    if not form.is_valid():
        messages.error(request, first_error(form))
    else:
        data = form.cleaned_data
        _run(
            request,
            lambda: actions.compound_status_set(
                actor=request.user,
                compound=compound,
                status=data["status"],
                on=data["on"],
                reason=data["reason"],
            ),
            _("已更新小区状态"),
        )
    return redirect("outbreak:overview", compound_id=compound.pk)
