"""/access/passes/: the compound's passes by building and unit, for those who manage them
(compound managers, grid workers, officials, admins). Issue the missing ones (of the compound, a
building or a unit), issue one, reissue or revoke one with a reason (HTMX: the row is swapped in
place), and print A6 cards: one per pass, the QR as inline SVG, the name and the room, no ID number
and no phone.
"""

import segno
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import mark_safe
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.access.actions import passes as actions
from tongxin.access.forms import ReissueForm, RevokeForm
from tongxin.access.selectors import passes as selectors
from tongxin.access.selectors.policy import policy_of
from tongxin.accounts.models import Role
from tongxin.core.audit import client_ip
from tongxin.core.pages import compound_choice, int_param, place_filters
from tongxin.registry import selectors as registry_selectors

PRINT_MAX = 600
PRINT_MASK = 2


def _require_manager(user) -> None:
    if user.role == Role.RESIDENT:
        raise Http404
    if not actions.may_manage_passes(user):
        raise PermissionDenied(_("当前角色不能管理出入证"))


def _query(compound_id: int, building_id: int | None, unit_id: int | None) -> str:
    return urlencode(
        {
            k: v
            for k, v in (("compound", compound_id), ("building", building_id), ("unit", unit_id))
            if v is not None
        }
    )


@never_cache
@login_required
def passes(request):
    user = request.user
    _require_manager(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(request, "access/choose.html", {"compounds": compounds, "target": "access:passes"})
    policy = policy_of(compound)
    building_id, unit_id, buildings, units = place_filters(request, compound)
    place = {"building_id": building_id, "unit_id": unit_id}
    page = Paginator(
        selectors.holders(user, compound, policy.pass_per, **place), settings.TONGXIN_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    context = {
        "compound": compound,
        "policy": policy,
        "per_household": policy.pass_per == policy.PassPer.HOUSEHOLD,
        "buildings": buildings,
        "units": units,
        "building_id": building_id,
        "unit_id": unit_id,
        "query": _query(compound.pk, building_id, unit_id),
        "page": page,
        "rows": selectors.roster_rows(page.object_list, policy.pass_per),
        "missing": selectors.missing_count(user, compound, policy.pass_per, **place),
        "reissue_form": ReissueForm(),
        "revoke_form": RevokeForm(),
    }
    return render(request, "access/passes.html", context)


def _back(request, compound_id: int) -> str:
    query = _query(compound_id, int_param(request, "building"), int_param(request, "unit"))
    return f"{reverse('access:passes')}?{query}"


def _row_response(request, row, *, status: int = 200, error: str = "", done: str = ""):
    context = {
        "row": row,
        "per_household": row.resident is None,
        "reissue_form": ReissueForm(),
        "revoke_form": RevokeForm(),
        "row_error": error,
        "row_done": done,
    }
    return render(request, "access/passes.html#row", context, status=status)


def _after(request, compound_id: int, row_of, action, done):
    """Run the action; an HTMX request gets the changed row (with the refusal, if any), a plain
    post a redirect to the list with a message."""
    try:
        result = action()
    except (ValidationError, PermissionDenied) as error:
        message = "；".join(error.messages) if isinstance(error, ValidationError) else str(error)
        if request.htmx:
            return _row_response(request, row_of(), status=400, error=message)
        messages.error(request, message)
    else:
        if request.htmx:
            return _row_response(request, row_of(), done=done(result))
        messages.success(request, done(result))
    return redirect(_back(request, compound_id))


def _row_of(user, pass_):
    if pass_.resident_id is not None:
        return lambda: selectors.roster_row(user, resident_id=pass_.resident_id)
    return lambda: selectors.roster_row(user, household_id=pass_.household_id)


@login_required
@require_POST
def issue(request):
    """Issue one pass: ?resident= (per-resident compounds) or ?household= (per-household)."""
    user = request.user
    _require_manager(user)
    resident_id, household_id = int_param(request, "resident"), int_param(request, "household")
    if resident_id is not None:
        resident = registry_selectors.resident_get(user, resident_id)
        compound_id, holder = resident.compound_id, {"resident": resident}

        def row_of():
            return selectors.roster_row(user, resident_id=resident_id)
    elif household_id is not None:
        household = registry_selectors.household_get(user, household_id)
        compound_id, holder = household.compound_id, {"household": household}

        def row_of():
            return selectors.roster_row(user, household_id=household_id)
    else:
        raise Http404
    return _after(
        request,
        compound_id,
        row_of,
        lambda: actions.pass_issue(actor=user, **holder),
        lambda new: _("已发证，证号%(number)s") % {"number": new.number},
    )


@login_required
@require_POST
def issue_missing(request):
    user = request.user
    _require_manager(user)
    compound, _compounds = compound_choice(request)
    if compound is None:
        raise Http404
    building_id, unit_id, buildings, units = place_filters(request, compound)
    building = next((b for b in buildings if b.pk == building_id), None)
    unit = next((u for u in units if u.pk == unit_id), None)
    try:
        issued = actions.passes_issue_missing(actor=user, compound=compound, building=building, unit=unit)
    except (ValidationError, PermissionDenied) as error:
        messages.error(request, "；".join(getattr(error, "messages", [str(error)])))
    else:
        if issued:
            messages.success(request, _("已发放%(n)s张出入证") % {"n": issued})
        else:
            messages.info(request, _("没有缺证的居民"))
    return redirect(f"{reverse('access:passes')}?{_query(compound.pk, building_id, unit_id)}")


@login_required
@require_POST
def reissue(request, pass_id: int):
    user = request.user
    _require_manager(user)
    pass_ = selectors.pass_get(user, pass_id)
    form = ReissueForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _after(
        request,
        pass_.compound_id,
        _row_of(user, pass_),
        lambda: actions.pass_reissue(actor=user, pass_=pass_, reason=reason),
        lambda new: (
            _("已补发，新证号%(number)s，旧证%(old)s已注销") % {"number": new.number, "old": pass_.number}
        ),
    )


@login_required
@require_POST
def revoke(request, pass_id: int):
    user = request.user
    _require_manager(user)
    pass_ = selectors.pass_get(user, pass_id)
    form = RevokeForm(request.POST)
    reason = form.cleaned_data["reason"] if form.is_valid() else ""
    return _after(
        request,
        pass_.compound_id,
        _row_of(user, pass_),
        lambda: actions.pass_revoke(actor=user, pass_=pass_, reason=reason),
        lambda revoked: _("出入证%(number)s已注销") % {"number": revoked.number},
    )


def qr_svg(code: str, *, mask: int | None = None) -> str:
    """The code as an inline SVG QR (medium error correction, no size: the CSS sizes it).
    `mask`: a fixed mask pattern, for printing hundreds at once (segno's choice of the best of
    the eight is nine tenths of the time, and any of them scans)."""
    return segno.make(code, error="m", micro=False, mask=mask).svg_inline(
        scale=1, border=2, omitsize=True, svgclass="qr", lineclass="qr-line"
    )


@never_cache
@login_required
def print_cards(request):
    """A6 cards, one per live pass of the compound (or ?building=, ?unit=, or one ?pass=). Up to
    hundreds of names, rooms and QR codes: no cache keeps the page, and each print is audited."""
    user = request.user
    _require_manager(user)
    compound, compounds = compound_choice(request)
    if compound is None:
        return render(request, "access/choose.html", {"compounds": compounds, "target": "access:print"})
    building_id, unit_id, buildings, units = place_filters(request, compound)
    cards = selectors.print_cards(user, compound, building_id=building_id, unit_id=unit_id)
    pass_id = int_param(request, "pass")
    if pass_id is not None:
        cards = cards.filter(pk=pass_id)
    cards = list(cards[: PRINT_MAX + 1])
    too_many = len(cards) > PRINT_MAX
    for card in cards[:PRINT_MAX]:
        card.qr = mark_safe(qr_svg(actions.pass_code(card), mask=PRINT_MASK))  # noqa: S308 - segno's SVG
    actions.passes_printed(
        actor=user,
        compound=compound,
        cards=len(cards[:PRINT_MAX]),
        building=next((b for b in buildings if b.pk == building_id), None),
        unit=next((u for u in units if u.pk == unit_id), None),
        pass_id=pass_id,
        ip=client_ip(request),
    )
    return render(
        request,
        "access/print.html",
        {
            "compound": compound,
            "cards": cards[:PRINT_MAX],
            "too_many": too_many,
            "print_max": PRINT_MAX,
            "back": f"{reverse('access:passes')}?{_query(compound.pk, building_id, unit_id)}",
        },
    )


urlpatterns = [
    path("passes/", passes, name="passes"),
    path("passes/issue/", issue, name="pass_issue"),
    path("passes/issue-missing/", issue_missing, name="passes_issue_missing"),
    path("passes/<int:pass_id>/reissue/", reissue, name="pass_reissue"),
    path("passes/<int:pass_id>/revoke/", revoke, name="pass_revoke"),
    path("passes/print/", print_cards, name="print"),
]
