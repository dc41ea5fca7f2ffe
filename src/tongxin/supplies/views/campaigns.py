"""/supplies/campaigns/: bulk distributions. The list and the planning form (cadres), a campaign's
progress by building, day and team with the vacant flats found and the doors to come back to, the
door list of a unit or of a team's day for volunteers on a phone (one big button per outcome, the
row swapped by HTMX), and a team's day as .xlsx."""

import datetime
from urllib.parse import quote

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST

from tongxin.core.audit import client_ip
from tongxin.core.pages import compound_choice, int_param
from tongxin.supplies.actions.campaigns import (
    CAMPAIGN_MANAGERS,
    FINAL,
    campaign_close,
    campaign_create,
    campaign_doors_export,
    campaign_visit_record,
)
from tongxin.supplies.forms.campaigns import CampaignForm, VisitForm
from tongxin.supplies.map_measures import MEASURE_KEY
from tongxin.supplies.models import VisitOutcome
from tongxin.supplies.selectors.campaigns import (
    campaign_coverage,
    campaign_get,
    campaign_progress,
    campaign_team_days,
    campaign_units,
    campaigns_of_compound,
    door_list,
    require_hands_out,
    visit_get,
)

BUTTONS = [
    (VisitOutcome.DELIVERED, gettext_lazy("已送达")),
    (VisitOutcome.NOBODY_HOME, gettext_lazy("无人")),
    (VisitOutcome.REFUSED, gettext_lazy("拒收")),
    (VisitOutcome.VACANT, gettext_lazy("空置")),
]


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def campaigns(request):
    user = request.user
    require_hands_out(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(
            request, "supplies/choose.html", {"compounds": compounds, "target": "supplies:campaigns"}
        )
    may_plan = user.role in CAMPAIGN_MANAGERS
    form = CampaignForm(request.POST or None, compound=compound) if may_plan else None
    if request.method == "POST":
        if not may_plan:
            raise PermissionDenied
        if form.is_valid():
            try:
                campaign = campaign_create(actor=user, compound=compound, **form.action_fields())
            except ValidationError as error:
                for field, errors in error.message_dict.items():
                    form.add_error(field if field in form.fields else None, errors)
            else:
                messages.success(request, _("已生成发放计划：%(n)s户") % {"n": campaign.visits.count()})
                for warning in campaign.coverage.warnings():
                    messages.warning(request, warning)
                return redirect("supplies:campaign", campaign.pk)
    context = {
        "compound": compound,
        "campaigns": campaigns_of_compound(user, compound),
        "form": form,
    }
    return render(
        request, "supplies/campaigns/list.html", context, status=400 if form and form.errors else 200
    )


@never_cache  # rooms of the vacant flats and of the doors to come back to
@login_required
def campaign(request, pk: int):
    user = request.user
    require_hands_out(user)
    found = campaign_get(user, pk)
    context = {
        "compound": found.compound,
        "campaign": found,
        "progress": campaign_progress(user, found),
        "coverage": campaign_coverage(found),
        "vacant": door_list(user, found, outcomes=[VisitOutcome.VACANT]),
        "come_back": door_list(user, found, outcomes=[VisitOutcome.NOBODY_HOME]),
        "map_url": reverse("registry:compound", args=[found.compound_id]) + f"?measure={MEASURE_KEY}",
        "may_close": user.role in CAMPAIGN_MANAGERS and found.closed_at is None,
    }
    return render(request, "supplies/campaigns/detail.html", context)


@login_required
@require_POST
def campaign_end(request, pk: int):
    """A cadre ends the campaign: its doors take no more marks."""
    user = request.user
    require_hands_out(user)
    found = campaign_get(user, pk)
    try:
        campaign_close(actor=user, campaign=found)
    except ValidationError as error:
        messages.error(request, error.messages[0])
    else:
        messages.success(request, _("该发放已结束，不再登记上门结果"))
    return redirect("supplies:campaign", found.pk)


def _day(request, campaign) -> datetime.date | None:
    text = request.GET.get("day", "")
    if not text:
        return None
    try:
        day = datetime.date.fromisoformat(text)
    except ValueError:
        raise Http404 from None
    if not campaign.starts_on <= day < campaign.starts_on + datetime.timedelta(days=campaign.days):
        raise Http404
    return day


@never_cache
@login_required
def campaign_doors(request, pk: int):
    """?unit= (a unit's doors), ?day=&team= (a team's day), ?list=come_back (nobody home)."""
    user = request.user
    require_hands_out(user)
    found = campaign_get(user, pk)
    unit_id, day, team = int_param(request, "unit"), _day(request, found), int_param(request, "team")
    come_back = request.GET.get("list") == "come_back"
    units = campaign_units(user, found)
    unit = next((u for u in units if u.pk == unit_id), None)
    if unit_id is not None and unit is None:
        raise Http404
    if team is not None and not 1 <= team <= found.teams:
        raise Http404
    chosen = unit is not None or day is not None or team is not None or come_back
    rows = (
        door_list(
            user,
            found,
            unit_id=unit_id,
            day=day,
            team=team,
            outcomes=[VisitOutcome.NOBODY_HOME] if come_back else None,
        )
        if chosen
        else []
    )
    context = {
        "compound": found.compound,
        "campaign": found,
        "units": units,
        "unit": unit,
        "day": day,
        "team": team,
        "come_back": come_back,
        "chosen": chosen,
        "rows": rows,
        "team_days": campaign_team_days(user, found),
        "buttons": BUTTONS,
        "final": FINAL,
        "is_manager": user.role in CAMPAIGN_MANAGERS,
        "back": request.get_full_path(),
    }
    return render(request, "supplies/campaigns/doors.html", context)


@never_cache
@login_required
@require_POST
def campaign_visit(request, pk: int):
    user = request.user
    require_hands_out(user)
    visit = visit_get(user, pk)
    form = VisitForm(request.POST)
    error = None
    if not form.is_valid():
        error = _("上门结果无效")
    else:
        try:
            visit = campaign_visit_record(
                actor=user,
                visit=visit,
                outcome=form.cleaned_data["outcome"],
                note=form.cleaned_data["note"],
                expected_outcome=form.cleaned_data["expected"] or None,
            )
        except ValidationError as refused:
            error = "；".join(refused.messages)
            visit = visit_get(user, pk)
    if request.htmx:
        context = {
            "visit": visit,
            "campaign": visit.campaign,
            "buttons": BUTTONS,
            "final": FINAL,
            "is_manager": user.role in CAMPAIGN_MANAGERS,
            "error": error,
        }
        return render(request, "supplies/campaigns/doors.html#door", context)
    if error:
        messages.error(request, error)
    else:
        messages.success(
            request,
            _("%(door)s：%(outcome)s") % {"door": visit.household, "outcome": visit.get_outcome_display()},
        )
    back = request.POST.get("back", "")
    doors = reverse("supplies:campaign_doors", args=[visit.campaign_id])
    if not back.startswith(doors + "?"):
        back = f"{doors}?unit={visit.unit_id}"
    return redirect(back)


@login_required
def campaign_doors_xlsx(request, pk: int):
    user = request.user
    require_hands_out(user)
    found = campaign_get(user, pk)
    day, team = _day(request, found), int_param(request, "team")
    if day is None or team is None or not 1 <= team <= found.teams:
        raise Http404
    content, name = campaign_doors_export(
        actor=user, campaign=found, day=day, team=team, ip=client_ip(request)
    )
    response = HttpResponse(
        content, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    response["Cache-Control"] = "no-store"
    return response


urlpatterns = [
    path("campaigns/", campaigns, name="campaigns"),
    path("campaigns/<int:pk>/", campaign, name="campaign"),
    path("campaigns/<int:pk>/close/", campaign_end, name="campaign_close"),
    path("campaigns/<int:pk>/doors/", campaign_doors, name="campaign_doors"),
    path("campaigns/<int:pk>/doors.xlsx", campaign_doors_xlsx, name="campaign_doors_xlsx"),
    path("campaigns/visits/<int:pk>/", campaign_visit, name="campaign_visit"),
]
