"""/voice/hotline/: a compound's hotline log of a day (?day=YYYY-MM-DD, today by default): each
call's time, caller, masked number, what was asked and answered, the follow-up still to do; a
form to log a call, optionally opening a request (channel hotline) for what was asked; the
follow-up of a call written or cleared afterwards (HTMX row swap).

For the compound's team (`TEAM`, volunteers included); residents are refused (403); another
compound's calls are not found (404). The caller's number is only ever shown masked."""

import datetime
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.core.pages import day_param
from tongxin.registry import selectors as registry_selectors
from tongxin.voice.actions.hotline import hotline_follow_up, hotline_log
from tongxin.voice.forms.hotline import CallForm, FollowUpForm
from tongxin.voice.selectors.hotline import hotline_calls, hotline_counts, require_call
from tongxin.voice.views.common import choose, require_role, team_compound


def _require_team(user) -> None:
    require_role(user, _("当前角色不能查看热线记录"))


def _compound(request):
    return team_compound(request, _("当前角色不能查看热线记录"))


def _hotline_url(compound_id: int, day: datetime.date | None = None) -> str:
    query = {"compound": compound_id}
    if day is not None and day != timezone.localdate():
        query["day"] = day.isoformat()
    return f"{reverse('voice:hotline')}?{urlencode(query)}"


def _error_dict(error: ValidationError) -> dict:
    return error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}


def _page(request, compound, *, form=None, status=200):
    user = request.user
    day = day_param(request)
    pending_only = request.GET.get("follow_up") == "1"
    calls = hotline_calls(user, compound.pk, day)
    if pending_only:
        calls = calls.exclude(follow_up="")
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    counts = hotline_counts(user, compound.pk, since=start, until=start + datetime.timedelta(days=1))
    is_today = day == timezone.localdate()
    if form is None:
        initial = {"at": timezone.localtime().replace(second=0, microsecond=0)} if is_today else {}
        form = CallForm(initial=initial)
    context = {
        "compound": compound,
        "day": day,
        "is_today": is_today,
        "previous_day": day - datetime.timedelta(days=1),
        "next_day": day + datetime.timedelta(days=1) if not is_today else None,
        "pending_only": pending_only,
        "calls": list(calls),
        "counts": counts,
        "form": form,
    }
    return render(request, "voice/hotline.html", context, status=status)


@never_cache  # callers, their numbers (masked) and what they asked
@login_required
def hotline(request):
    compound, compounds = _compound(request)
    if compound is None:
        return choose(request, compounds, "voice:hotline")
    return _page(request, compound)


@never_cache
@login_required
@require_POST
def log_call(request):
    compound, _compounds = _compound(request)
    if compound is None:
        raise Http404
    form = CallForm(request.POST)
    if not form.is_valid():
        return _page(request, compound, form=form, status=400)
    data = form.cleaned_data
    household = None
    if data["make_request"] and data["room"]:
        household = registry_selectors.household_by_room(request.user, compound, data["room"])
        if household is None:
            form.add_error("room", _("本小区没有这个房号，或不在您负责的范围"))
            return _page(request, compound, form=form, status=400)
    try:
        call = hotline_log(
            actor=request.user,
            compound=compound,
            caller=data["caller"],
            phone=data["phone"],
            asked=data["asked"],
            answered=data["answered"],
            follow_up=data["follow_up"],
            at=data["at"],
            make_request=data["make_request"],
            household=household,
        )
    except ValidationError as error:
        for name, found in _error_dict(error).items():
            form.add_error(name if name in form.fields else None, found)
        return _page(request, compound, form=form, status=400)
    if call.request_id:
        messages.success(request, _("已记录来电，并登记为诉求"))
    else:
        messages.success(request, _("已记录来电"))
    return redirect(_hotline_url(compound.pk, timezone.localdate(call.at)))


def _call_row(request, call, *, form=None, status=200, row_done=""):
    context = {"call": call, "follow_form": form, "row_done": row_done}
    return render(request, "voice/hotline.html#call", context, status=status)


@never_cache
@login_required
@require_POST
def follow_up(request, call_id: int):
    _require_team(request.user)
    call = require_call(request.user, call_id)
    form = FollowUpForm(request.POST)
    error = None
    if form.is_valid():
        text = "" if request.POST.get("done") else form.cleaned_data["follow_up"]
        try:
            call = hotline_follow_up(actor=request.user, call=call, follow_up=text)
        except ValidationError as found:
            error = found
            form.add_error(None, found.messages)
    if error is not None or form.errors:
        if request.htmx:
            return _call_row(request, call, form=form, status=400)
        messages.error(request, "；".join(m for ms in form.errors.values() for m in ms))
    elif request.htmx:
        done = _("已跟进完成") if not call.follow_up else _("已保存跟进")
        return _call_row(request, call, row_done=done)
    else:
        messages.success(request, _("已保存跟进"))
    return redirect(_hotline_url(call.compound_id, timezone.localdate(call.at)))


urlpatterns = [
    path("hotline/", hotline, name="hotline"),
    path("hotline/log/", log_call, name="hotline_log"),
    path("hotline/<int:call_id>/follow-up/", follow_up, name="hotline_follow_up"),
]
