"""What list pages share: the compound being looked at, query-string numbers and days, building and
unit filters. Used by the access and supplies pages."""

import datetime

from django.http import Http404
from django.utils import timezone

from tongxin.registry import selectors as registry_selectors

COMPOUND_CHOICES = 200


def int_param(request, name: str) -> int | None:
    value = request.GET.get(name, "") or request.POST.get(name, "")
    # ASCII digits only ("²" is a digit to str.isdigit) and within a database integer.
    return int(value) if value.isascii() and value.isdigit() and len(value) <= 18 else None


def day_param(request) -> datetime.date:
    """?day=YYYY-MM-DD within the last year, today otherwise."""
    today = timezone.localdate()
    try:
        day = datetime.date.fromisoformat(request.GET.get("day", ""))
    except ValueError:
        return today
    return day if today - datetime.timedelta(days=366) <= day <= today else today


def compound_choice(request):
    """(the compound looked at, the compounds to choose from). ?compound= picks one of the user's
    (404 outside their area); without it, the user's own compound or their only one; None when
    they see several and have not chosen."""
    user = request.user
    chosen = int_param(request, "compound")
    if chosen is None and request.GET.get("compound"):
        raise Http404
    if chosen is not None:
        return registry_selectors.compound_get(user, chosen), []
    if user.compound_id:
        return registry_selectors.compound_get(user, user.compound_id), []
    compounds = list(registry_selectors.compounds_visible(user).order_by("code")[: COMPOUND_CHOICES + 1])
    if len(compounds) == 1:
        return compounds[0], []
    return None, compounds[:COMPOUND_CHOICES]


def place_filters(request, compound) -> tuple[int | None, int | None, list, list]:
    """?building= and ?unit= of the compound the user sees (ignored otherwise), and the buildings
    and units to choose from."""
    user = request.user
    buildings = list(registry_selectors.buildings_visible(user, compound).order_by("sort_key", "number"))
    building_id = int_param(request, "building")
    if building_id not in {b.pk for b in buildings}:
        building_id = None
    units = []
    unit_id = int_param(request, "unit")
    if building_id is not None:
        units = list(
            registry_selectors.units_visible(user, compound)
            .filter(building_id=building_id)
            .order_by("sort_key", "number")
        )
    if unit_id not in {u.pk for u in units}:
        unit_id = None
    return building_id, unit_id, buildings, units
