"""/supplies/donations/: a compound's donations for those who keep its stock (volunteers and
residents are refused): donor, contact, value, the goods and when they came, whether thanked; a
form recording a donation of several lines into a store; "mark thanked"; and the daily report's
thank-you lines of a day as a block to copy."""

import datetime

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from tongxin.accounts.models import Role
from tongxin.core.masking import mask_phone
from tongxin.core.pages import day_param
from tongxin.supplies.actions.donations import donation_mark_thanked, donation_record
from tongxin.supplies.forms.stock import DonationForm, DonationLineFormSet, add_action_error
from tongxin.supplies.selectors import stock as selectors
from tongxin.supplies.selectors.scope import require_compound
from tongxin.supplies.views.stock import keeper_compound


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    start = timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))
    return start, start + datetime.timedelta(days=1)


def _page(request, compound, form=None, lines=None, status=200):
    user = request.user
    items = selectors.items_of(user, compound.pk)
    day = day_param(request)
    since, until = _day_bounds(day)
    page = Paginator(
        selectors.donations_with_lines(user, compound_id=compound.pk), settings.TONGXIN_PAGE_SIZE
    ).get_page(request.GET.get("page"))
    shows_contact = user.role != Role.VOLUNTEER
    rows = [
        {
            "donation": donation,
            "contact": donation.contact if shows_contact else mask_phone(donation.contact),
            "goods": [
                (move.item.name, move.quantity.normalize(), move.item.get_unit_display())
                for move in donation.moves.all()
            ],
            "thanks": selectors.donation_thanks_line(donation),
            "value": selectors.money(donation.value) if donation.value is not None else "",
        }
        for donation in page.object_list
    ]
    context = {
        "compound": compound,
        "page": page,
        "rows": rows,
        "day": day,
        "thanks": selectors.donation_thanks(user, compound, since, until),
        "form": form or DonationForm(items=items, stores=selectors.stores_of(user, compound.pk)),
        "lines": lines or DonationLineFormSet(items=items, prefix="lines"),
        "open_form": form is not None,
    }
    return render(request, "supplies/stock/donations.html", context, status=status)


@never_cache  # donors' contacts
@login_required
def donations(request):
    compound, choose = keeper_compound(request, "supplies:donations")
    if compound is None:
        return choose
    return _page(request, compound)


@login_required
@require_POST
def donation_add(request):
    user = request.user
    compound, choose = keeper_compound(request, "supplies:donations")
    if compound is None:
        return choose
    items = selectors.items_of(user, compound.pk)
    form = DonationForm(request.POST, items=items, stores=selectors.stores_of(user, compound.pk))
    lines = DonationLineFormSet(request.POST, items=items, prefix="lines")
    if form.is_valid() and lines.is_valid():
        data = form.cleaned_data
        try:
            donation = donation_record(
                actor=user,
                compound=compound,
                donor=data["donor"],
                contact=data["contact"],
                value=data["value"],
                store=data["store"],
                lines=lines.lines(),
                received_at=data["received_at"],
                note=data["note"],
            )
        except ValidationError as error:
            add_action_error(form, error)
        else:
            messages.success(request, _("已登记%(donor)s的捐赠并入库") % {"donor": donation.donor})
            return redirect(f"{reverse('supplies:donations')}?compound={compound.pk}")
    return _page(request, compound, form=form, lines=lines, status=400)


@login_required
@require_POST
def donation_thanked(request, donation_id: int):
    user = request.user
    if user.role == Role.RESIDENT:
        raise PermissionDenied(_("居民不能查看捐赠"))
    donation = selectors.donation_get(user, donation_id)
    require_compound(user, donation.compound_id)
    try:
        donation_mark_thanked(actor=user, donation=donation)
    except ValidationError as error:
        messages.error(request, "；".join(error.messages))
    else:
        messages.success(request, _("已标记致谢：%(donor)s") % {"donor": donation.donor})
    return redirect(f"{reverse('supplies:donations')}?compound={donation.compound_id}")


urlpatterns = [
    path("donations/", donations, name="donations"),
    path("donations/new/", donation_add, name="donation_add"),
    path("donations/<int:donation_id>/thanked/", donation_thanked, name="donation_thanked"),
]
