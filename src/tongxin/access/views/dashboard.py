"""/access/: the day at the user's compound's gates. The gates (each a link to its gate page), the
day's checks per gate and by hour, why people were stopped, who is out now and for how long, who
is over their time (red), and the visitors of the day. For the compound's team; residents go to
their passes. The figures refresh every minute (HTMX), the page stays as it is around them.
Compound managers, officials and admins also add gates and disable or enable them here (plain
forms that come back to the page).
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.access import verdict
from tongxin.access.actions.gates import gate_create, gate_set_active, may_manage_gates
from tongxin.access.actions.passes import may_manage_passes
from tongxin.access.actions.policy import may_edit_policy
from tongxin.access.selectors import activity
from tongxin.access.selectors.gates import gate_get
from tongxin.access.selectors.policy import policy_of
from tongxin.access.selectors.scope import require_sees_access
from tongxin.accounts.models import Role
from tongxin.core.pages import compound_choice, day_param
from tongxin.outbreak.rules import active_rules

LISTED = 50
REFRESH_SECONDS = 60


def hour_columns(hours: list[dict], *, height: int = 100) -> list[dict]:
    """The hourly checks as SVG columns (allowed under stopped), scaled to the busiest hour."""
    peak = max((h["allowed"] + h["stopped"] for h in hours), default=0) or 1
    columns = []
    for h in hours:
        allowed = round(h["allowed"] * height / peak, 1)
        stopped = round(h["stopped"] * height / peak, 1)
        columns.append(
            {
                **h,
                "x": h["hour"] * 10 + 1,
                "allowed_y": round(height - allowed, 1),
                "allowed_h": allowed,
                "stopped_y": round(height - allowed - stopped, 1),
                "stopped_h": stopped,
            }
        )
    return columns


def gate_bars(counts: activity.DayCounts) -> list[dict]:
    """Each gate's checks as a bar of four parts (in/out, let through/stopped), in percent of the
    busiest gate, for an SVG drawn without inline styles."""
    peak = counts.peak or 1
    bars = []
    for row in counts.gates:
        x = 0.0
        parts = []
        for name in ("in_allowed", "out_allowed", "in_stopped", "out_stopped"):
            n = getattr(row, name)
            width = round(n * 100 / peak, 2)
            if n:
                parts.append({"name": name, "x": x, "width": width, "n": n})
            x = round(x + width, 2)
        bars.append({"row": row, "parts": parts})
    return bars


def reason_rows(counted: list[tuple[str, int]]) -> list[tuple[str, str, int]]:
    """(code, the gate's words for it, count)."""
    hours = active_rules().test_validity_hours
    policy = verdict.Policy(test_validity_hours=hours)
    return [
        (code, verdict.Verdict(False, code).text(policy) if code in verdict.REASONS else code, n)
        for code, n in counted
    ]


@never_cache  # names and rooms of who is out, visitors' names
@login_required
def index(request):
    user = request.user
    if user.role == Role.RESIDENT:
        return redirect("access:mine")
    require_sees_access(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(request, "access/choose.html", {"compounds": compounds, "target": "access:index"})
    day = day_param(request)
    today = timezone.localdate()
    now = timezone.now()
    counts = activity.day_counts(user, compound, day)
    context = {
        "compound": compound,
        "day": day,
        "is_today": day == today,
        "counts": counts,
        "bars": gate_bars(counts),
        "hours": hour_columns(activity.hourly_checks(user, compound, day)),
        "reasons": reason_rows(activity.stop_reasons(user, compound, day)),
        "out": activity.out_now(user, compound, now=now, limit=LISTED),
        "out_count": activity.out_now_count(user, compound),
        "over": activity.over_time(user, compound, now=now, limit=LISTED),
        "visitors": list(activity.visitors_of_day(user, compound, day)[:LISTED]),
        "policy": policy_of(compound),
        "may_manage_passes": may_manage_passes(user),
        "may_edit_policy": may_edit_policy(user),
        "may_manage_gates": may_manage_gates(user),
        "refresh_seconds": REFRESH_SECONDS,
    }
    if request.htmx and request.headers.get("HX-Target") == "access-figures":
        return render(request, "access/dashboard.html#figures", context)
    return render(request, "access/dashboard.html", context)


def _back(compound_id: int):
    return redirect(f"{reverse('access:index')}?compound={compound_id}")


@require_POST
@login_required
def gate_add(request):
    user = request.user
    require_sees_access(user)
    if not may_manage_gates(user):
        raise PermissionDenied(_("当前角色不能设置卡口"))
    compound, _compounds = compound_choice(request)
    if compound is None:
        raise Http404
    try:
        gate = gate_create(actor=user, compound=compound, name=request.POST.get("name", ""))
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已添加卡口“%(name)s”") % {"name": gate.name})
    return _back(compound.pk)


@require_POST
@login_required
def gate_active(request, gate_id: int):
    user = request.user
    require_sees_access(user)
    if not may_manage_gates(user):
        raise PermissionDenied(_("当前角色不能设置卡口"))
    gate = gate_get(user, gate_id)
    active = request.POST.get("active") == "1"
    gate_set_active(actor=user, gate=gate, active=active)
    if active:
        messages.success(request, _("已启用卡口“%(name)s”") % {"name": gate.name})
    else:
        messages.success(request, _("已停用卡口“%(name)s”") % {"name": gate.name})
    return _back(gate.compound_id)


urlpatterns = [
    path("", index, name="index"),
    path("gates/add/", gate_add, name="gate_add"),
    path("gates/<int:gate_id>/active/", gate_active, name="gate_active"),
]
