"""Pages of round planning: the rounds, a round with its points and tables, the schedule, the
notices to post, the staffing. Parse, call one action or selector, render.

Posts answer with a redirect and a message (the action's refusal in Chinese), so a reload never
posts twice; a form with errors is shown again with them.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy as _lazy
from django.views.decorators.http import require_POST

from tongxin.accounts.models import Role
from tongxin.registry.selectors import compound_get
from tongxin.testing.actions import planning as actions
from tongxin.testing.forms import PointForm, RoundEditForm, RoundFieldsForm, RoundForm, StateForm, TableForm
from tongxin.testing.models import ScheduleSlot, TestRound
from tongxin.testing.selectors import planning as selectors
from tongxin.testing.selectors.alerts import open_alerts


def _message(error: ValidationError) -> str:
    return "；".join(error.messages)


def _form_error(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, field_messages in error.message_dict.items():
            form.add_error(field if field in form.fields else None, field_messages)
    else:
        form.add_error(None, error)


def _first_error(form) -> str:
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return ""


def _require_testing_user(user) -> None:
    if user.role == Role.RESIDENT:
        raise Http404


def _require_planner(user) -> None:
    if not selectors.may_plan(user):
        raise PermissionDenied(_("当前角色不能安排核酸检测"))


REBUILT = _lazy("排班已按新的设置重新生成，请重新打印通知")


def _run(request, action, success, *, rebuilt=lambda result: False) -> None:
    """Run the action; say what it did (`success(result)`) or why it refused, and whether it
    rebuilt the schedule (`rebuilt(result)`)."""
    try:
        result = action()
    except ValidationError as error:
        messages.error(request, _message(error))
    except PermissionDenied as error:
        messages.error(request, str(error) or _("无权进行该操作"))
    else:
        messages.success(request, success(result))
        if rebuilt(result):
            messages.info(request, REBUILT)


@login_required
def index(request):
    """The rounds the user sees, newest first, and the open alerts of their compounds."""
    user = request.user
    _require_testing_user(user)
    page = Paginator(selectors.rounds_with_compounds(user), settings.TONGXIN_PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "testing/index.html",
        {"page": page, "alerts": open_alerts(user), "may_plan": selectors.may_plan(user)},
    )


@login_required
def round_new(request):
    user = request.user
    _require_testing_user(user)
    _require_planner(user)
    form = RoundForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            round_ = actions.round_create(
                actor=user,
                name=data["name"],
                day=data["day"],
                compounds=list(data["compounds"]),
                buildings=list(data.get("buildings") or []),
                pool_size=data["pool_size"],
                starts_at=data["starts_at"],
                sealed_household_tubes=data["sealed_household_tubes"],
                isolated_single_tubes=data["isolated_single_tubes"],
                note=data["note"],
            )
        except ValidationError as error:
            _form_error(form, error)
        else:
            messages.success(request, _("已创建检测轮次：%(name)s") % {"name": round_})
            return redirect("testing:round", round_id=round_.pk)
    status = 400 if form.is_bound else 200
    return render(request, "testing/round_form.html", {"form": form, "round": None}, status=status)


def _round_page(request, round_: TestRound, *, status: int = 200, **forms_):
    user = request.user
    covers = selectors.round_compounds_visible(user, round_)
    points = selectors.points_of_round(user, round_)
    planner = selectors.may_plan(user)
    editable = planner and selectors.round_editable(round_)
    whole = planner and selectors.round_fully_visible(user, round_)
    next_state = actions.STATE_STEPS.get(round_.state)
    context = {
        "round": round_,
        "covers": covers,
        "points": points,
        "tables": [table for point in points for table in point.table_list],
        "summary": selectors.schedule_summary(user, round_),
        "planner": planner,
        "editable": editable,
        "whole": whole,
        "alerts": open_alerts(user),
    }
    if whole and next_state:
        context["state_form"] = StateForm(initial={"version": round_.version, "state": next_state})
        context["next_state"] = TestRound.State(next_state)
    if editable:
        context["point_form"] = forms_.get("point_form") or PointForm(covers=covers)
        if points:
            context["table_form"] = forms_.get("table_form") or TableForm(
                points=points, pool_size=round_.pool_size
            )
    return render(request, "testing/round_detail.html", context, status=status)


@login_required
def round_detail(request, round_id: int):
    return _round_page(request, selectors.round_get(request.user, round_id))


@login_required
def round_edit(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    _require_planner(user)
    if not selectors.round_fully_visible(user, round_):
        raise PermissionDenied(_("无权为该小区安排核酸检测"))
    if not selectors.round_editable(round_):
        messages.error(request, _("本轮检测已结束或已过去，不能修改"))
        return redirect("testing:round", round_id=round_.pk)
    if request.method == "POST":
        form = RoundEditForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            changes = {name: data[name] for name in RoundFieldsForm.base_fields}
            try:
                actions.round_update(actor=user, round=round_, version=data["version"], **changes)
            except PermissionDenied as error:
                messages.error(request, str(error))
                return redirect("testing:round", round_id=round_.pk)
            except ValidationError as error:
                _form_error(form, error)
            else:
                messages.success(request, _("已保存"))
                if changes.keys() & actions.SCHEDULE_FIELDS and round_.slots.exists():
                    messages.info(request, _("如已打印通知，请核对排班后重新打印"))
                return redirect("testing:round", round_id=round_.pk)
        status = 400
    else:
        form, status = RoundEditForm.for_round(round_), 200
    return render(request, "testing/round_form.html", {"form": form, "round": round_}, status=status)


@login_required
@require_POST
def round_state(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    form = StateForm(request.POST)
    if not form.is_valid():
        messages.error(request, _first_error(form))
    else:
        data = form.cleaned_data
        state = TestRound.State(data["state"])
        _run(
            request,
            lambda: actions.round_set_state(actor=user, round=round_, state=state, version=data["version"]),
            lambda _round: _("状态已改为：%(state)s") % {"state": state.label},
        )
    return redirect("testing:round", round_id=round_.pk)


@login_required
@require_POST
def point_add(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    form = PointForm(request.POST, covers=selectors.round_compounds_visible(user, round_))
    if not form.is_valid():
        return _round_page(request, round_, status=400, point_form=form)
    data = form.cleaned_data
    try:
        point = actions.point_add(
            actor=user,
            round=round_,
            compound=compound_get(user, data["compound"]),
            name=data["name"],
            location=data["location"],
        )
    except ValidationError as error:
        _form_error(form, error)
        return _round_page(request, round_, status=400, point_form=form)
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已添加采样点：%(name)s") % {"name": point.name})
        if point.schedule_rebuilt:
            messages.info(request, REBUILT)
    return redirect("testing:round", round_id=round_.pk)


@login_required
@require_POST
def point_remove(request, point_id: int):
    user = request.user
    point = selectors.point_get(user, point_id)
    name = point.name
    _run(
        request,
        lambda: actions.point_remove(actor=user, point=point),
        lambda _rebuilt: _("已移除采样点：%(name)s") % {"name": name},
        rebuilt=bool,
    )
    return redirect("testing:round", round_id=point.round_id)


@login_required
@require_POST
def table_add(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    points = selectors.points_of_round(user, round_)
    form = TableForm(request.POST, points=points, pool_size=round_.pool_size)
    if not form.is_valid():
        return _round_page(request, round_, status=400, table_form=form)
    data = form.cleaned_data
    point = next(p for p in points if p.pk == data["point"])
    try:
        table = actions.table_add(
            actor=user, point=point, label=data["label"], pool_size=data["pool_size"], mode=data["mode"]
        )
    except ValidationError as error:
        _form_error(form, error)
        return _round_page(request, round_, status=400, table_form=form)
    except PermissionDenied as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("已添加采样台：%(label)s") % {"label": table.label})
        if table.schedule_rebuilt:
            messages.info(request, REBUILT)
    return redirect("testing:round", round_id=round_.pk)


@login_required
@require_POST
def table_remove(request, table_id: int):
    user = request.user
    table = selectors.table_get(user, table_id)
    label = table.label
    _run(
        request,
        lambda: actions.table_remove(actor=user, table=table),
        lambda _rebuilt: _("已移除采样台：%(label)s") % {"label": label},
        rebuilt=bool,
    )
    return redirect("testing:round", round_id=table.round_id)


def _compound_filter(request, covers):
    """The compound chosen with ?compound=<id> among the round's visible ones, or None."""
    wanted = request.GET.get("compound")
    for cover in covers:
        if wanted and str(cover.compound_id) == wanted:
            return cover.compound
    return None


@login_required
def schedule(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    covers = selectors.round_compounds_visible(user, round_)
    compound = _compound_filter(request, covers)
    slots = list(selectors.slots_of_round(user, round_, compound))
    groups: dict[int, dict] = {}
    for slot in slots:
        group = groups.setdefault(slot.compound_id, {"compound": slot.compound, "points": {}})
        at_point = group["points"].setdefault(slot.point_id, {"point": slot.point, "slots": []})
        at_point["slots"].append(slot)
    for group in groups.values():
        group["points"] = list(group["points"].values())
    homebound = selectors.homebound_by_unit(
        user, round_, [s.unit_id for s in slots if s.mode == ScheduleSlot.Mode.COME_DOWN]
    )
    for slot in slots:
        slot.homebound = homebound.get(slot.unit_id, 0) if slot.mode == ScheduleSlot.Mode.COME_DOWN else 0
    planner = selectors.may_plan(user)
    return render(
        request,
        "testing/schedule.html",
        {
            "round": round_,
            "covers": covers,
            "compound": compound,
            "groups": list(groups.values()),
            "summary": selectors.schedule_summary(user, round_),
            "homebound": sum(homebound.values()),
            "may_build": planner and selectors.round_editable(round_),
            "per_hour": settings.TONGXIN_TABLE_PEOPLE_PER_HOUR,
            "step": settings.TONGXIN_SLOT_ROUND_MINUTES,
        },
    )


@login_required
@require_POST
def schedule_build(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    _run(
        request,
        lambda: actions.schedule_build(actor=user, round=round_),
        lambda slots: _("已生成排班：%(n)d个单元") % {"n": len(slots)},
    )
    return redirect("testing:schedule", round_id=round_.pk)


@login_required
def notices(request, round_id: int):
    """The notices to post, one per unit: cards to print (A4, several to a page) and the same
    lines as a list to copy into a group chat."""
    user = request.user
    round_ = selectors.round_get(user, round_id)
    covers = selectors.round_compounds_visible(user, round_)
    compound = _compound_filter(request, covers)
    items = selectors.notices(user, round_, compound)
    return render(
        request,
        "testing/notices.html",
        {
            "round": round_,
            "covers": covers,
            "compound": compound,
            "notices": items,
            "text": _notices_text(items),
        },
    )


def _notices_text(items) -> str:
    lines, current = [], None
    for notice in items:
        if notice.slot.compound_id != current:
            if lines:
                lines.append("")
            current = notice.slot.compound_id
            lines.append(notice.slot.compound.name)
        lines.append(notice.text)
    return "\n".join(lines)


@login_required
def notices_text(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    covers = selectors.round_compounds_visible(user, round_)
    items = selectors.notices(user, round_, _compound_filter(request, covers))
    return HttpResponse(_notices_text(items) + "\n", content_type="text/plain; charset=utf-8")


@login_required
def staffing(request, round_id: int):
    user = request.user
    round_ = selectors.round_get(user, round_id)
    return render(
        request,
        "testing/staffing.html",
        {"round": round_, "staffing": selectors.staffing(user, round_)},
    )


urlpatterns = [
    path("", index, name="index"),
    path("rounds/new/", round_new, name="round_new"),
    path("rounds/<int:round_id>/", round_detail, name="round"),
    path("rounds/<int:round_id>/edit/", round_edit, name="round_edit"),
    path("rounds/<int:round_id>/state/", round_state, name="round_state"),
    path("rounds/<int:round_id>/points/", point_add, name="point_add"),
    path("points/<int:point_id>/remove/", point_remove, name="point_remove"),
    path("rounds/<int:round_id>/tables/", table_add, name="table_add"),
    path("tables/<int:table_id>/remove/", table_remove, name="table_remove"),
    path("rounds/<int:round_id>/schedule/", schedule, name="schedule"),
    path("rounds/<int:round_id>/schedule/build/", schedule_build, name="schedule_build"),
    path("rounds/<int:round_id>/notices/", notices, name="notices"),
    path("rounds/<int:round_id>/notices.txt", notices_text, name="notices_text"),
    path("rounds/<int:round_id>/staffing/", staffing, name="staffing"),
]
