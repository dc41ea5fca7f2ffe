"""Care visits: the vulnerable residents to visit (from the registry's tags), each with the last
visit and the next one due; the overdue list; a resident's visit history; the overview's counts.

Every list is one query for its rows whatever its length: the last visit's fields come as
correlated subqueries on the (resident, -visited_at) index, never as a query per resident. Staff
only (`STOCK_KEEPERS`): volunteers and residents are refused; a grid worker sees his buildings.
"""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, OuterRef, Q, QuerySet, Subquery, Value
from django.db.models.functions import Coalesce, NullIf
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Compound, Resident, elderly_born_on_or_before
from tongxin.supplies.models import CareVisit, SupplySettings
from tongxin.supplies.selectors.scope import STOCK_KEEPERS, require_compound

# The groups visited, as the issue names them (and limited mobility: they cannot come out either);
# each is the registry's care-list condition of the same key.
VISIT_GROUPS = (
    "elderly_alone",
    "veteran",
    "serious_illness",
    "disabled",
    "limited_mobility",
    "regular_medication",
)
NEVER_VISITED = gettext_lazy("从未探访")
ORDER = ("building__sort_key", "building__number", "unit__sort_key", "household__room", "id")


def visit_groups() -> list[tuple[str, str]]:
    """(key, label) of the groups a list may be filtered by, labels as the registry's care list."""
    return [(key, registry_selectors.CARE_GROUPS[key][0]) for key in VISIT_GROUPS]


def group_condition(group: str = "") -> Q:
    """One group's condition, or any visited group's for "" (or an unknown key)."""
    born_before = elderly_born_on_or_before()
    if group in VISIT_GROUPS:
        return registry_selectors.CARE_GROUPS[group][1](born_before)
    condition = Q(pk__in=[])
    for key in VISIT_GROUPS:
        condition |= registry_selectors.CARE_GROUPS[key][1](born_before)
    return condition


def may_see_care(user) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in STOCK_KEEPERS)


def require_care(user) -> None:
    if not may_see_care(user):
        raise PermissionDenied(gettext_lazy("当前角色不能查看重点人群探访"))


def visit_days(compound_id: int) -> int:
    """The compound's interval between visits (its SupplySettings row, else the default)."""
    days = (
        SupplySettings.objects.filter(compound_id=compound_id)
        .values_list("care_visit_days", flat=True)
        .first()
    )
    return days or settings.TONGXIN_CARE_VISIT_DAYS


def _latest(field):
    """The resident's latest visit's `field` (latest by visit time, then by entry)."""
    return Subquery(
        CareVisit.objects.filter(resident_id=OuterRef("pk")).order_by("-visited_at", "-pk").values(field)[:1]
    )


def _with_last_visit(residents: QuerySet) -> QuerySet:
    by_name = (
        CareVisit.objects.filter(resident_id=OuterRef("pk"))
        .order_by("-visited_at", "-pk")
        .annotate(by=Coalesce(NullIf(F("visited_by__full_name"), Value("")), F("visited_by__username")))
        .values("by")[:1]
    )
    return residents.annotate(
        last_visited_at=_latest("visited_at"),
        last_visited_by=Subquery(by_name),
        last_brought=_latest("brought"),
        next_due=_latest("next_due"),
    )


def _overdue_q(today: datetime.date) -> Q:
    return Q(last_visited_at__isnull=True) | Q(next_due__lt=today)


def care_residents(
    user,
    compound: Compound,
    group: str = "",
    *,
    building_id: int | None = None,
    unit_id: int | None = None,
) -> QuerySet:
    """The compound's vulnerable residents still living there (of `group`, or of any visited
    group), in building, unit and room order, each annotated with `last_visited_at`,
    `last_visited_by` (a name), `last_brought` and `next_due` (None: never visited)."""
    require_compound(user, compound.pk)
    residents = (
        registry_selectors.residents_visible(user)
        .filter(group_condition(group), compound=compound)
        .exclude(presence=Resident.Presence.MOVED_OUT)
    )
    if building_id is not None:
        residents = residents.filter(building_id=building_id)
    if unit_id is not None:
        residents = residents.filter(unit_id=unit_id)
    return _with_last_visit(residents).select_related("household__unit__building").order_by(*ORDER)


def care_overdue(
    user,
    compound: Compound,
    group: str = "",
    *,
    building_id: int | None = None,
    unit_id: int | None = None,
    today: datetime.date | None = None,
) -> QuerySet:
    """Those of the list never visited or whose next visit was due before today: the never
    visited first, then the longest overdue, then by building, unit and room."""
    today = today or timezone.localdate()
    residents = care_residents(user, compound, group, building_id=building_id, unit_id=unit_id)
    return residents.filter(_overdue_q(today)).order_by(F("next_due").asc(nulls_first=True), *ORDER)


def care_summary(user, compound: Compound) -> dict:
    """The overview page's figures, in one query: vulnerable residents to visit, those visited
    since Monday, those overdue. Empty for a role that does not see care lists (volunteers,
    residents), so the overview leaves the section out; another compound is not found (404)."""
    if not may_see_care(user):
        if not registry_selectors.compounds_visible(user).filter(pk=compound.pk).exists():
            raise Http404
        return {}
    today = timezone.localdate()
    week_start = today - datetime.timedelta(days=today.weekday())
    since = timezone.make_aware(datetime.datetime.combine(week_start, datetime.time.min))
    counted = (
        care_residents(user, compound)
        .order_by()
        .aggregate(
            vulnerable=Count("pk"),
            visited_this_week=Count("pk", filter=Q(last_visited_at__gte=since)),
            overdue=Count("pk", filter=_overdue_q(today)),
        )
    )
    return {**counted, "visit_days": visit_days(compound.pk)}


def care_resident_get(user, resident_id: int) -> Resident:
    """A resident the user may log visits for: in their registry scope (404 otherwise), staff
    only (403), annotated with the last visit like the lists."""
    resident = (
        _with_last_visit(registry_selectors.residents_visible(user).filter(pk=resident_id))
        .select_related("household__unit__building", "compound")
        .first()
    )
    if resident is None:
        raise Http404
    require_care(user)
    return resident


def care_visits_of(user, resident: Resident) -> QuerySet:
    """The resident's visits, latest first (staff who see the resident only)."""
    require_care(user)
    if not registry_selectors.residents_visible(user).filter(pk=resident.pk).exists():
        raise Http404
    return (
        CareVisit.objects.filter(resident_id=resident.pk)
        .select_related("visited_by")
        .order_by("-visited_at", "-pk")
    )


def is_in_visit_groups(resident: Resident) -> bool:
    born_before = elderly_born_on_or_before()
    return bool(
        (resident.lives_alone and resident.birth_date and resident.birth_date <= born_before)
        or any(getattr(resident, tag) for tag in VISIT_GROUPS if tag in Resident.TAG_FIELDS)
    )
