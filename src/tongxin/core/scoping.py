"""Who may see what: one filter per role and model level, used by every selector.

Every registry read goes through `scope_q(user, level)`, so that a user of one compound gets
nothing (and pages and the API answer 404) for another compound's records. The levels name the
standard fields each model carries: `compound`, `building`, `household`, and `compound__area_path`
(or `area_path` on the compound itself).
"""

from django.db.models import Q

from tongxin.accounts.models import Role

NOTHING = Q(pk__in=[])
LEVELS = ("compound", "building", "unit", "household", "resident")


def building_ids(user) -> list[int]:
    """The buildings assigned to a grid worker or volunteer, read once per user object."""
    cached = getattr(user, "_scope_building_ids", None)
    if cached is None:
        cached = list(user.buildings.values_list("pk", flat=True))
        user._scope_building_ids = cached
    return cached


def scope_q(user, level: str) -> Q:
    if level not in LEVELS:
        raise ValueError(f"unknown scope level {level!r}")
    if user is None or not user.is_authenticated or not user.is_active:
        return NOTHING
    role = user.role
    on_compound = level == "compound"
    if role == Role.PLATFORM_ADMIN:
        return Q()
    if role == Role.OFFICIAL:
        if not user.area_id:
            return NOTHING
        path = user.area.path
        return Q(area_path__startswith=path) if on_compound else Q(compound__area_path__startswith=path)
    if role in (Role.COMPOUND_MANAGER, Role.GRID_WORKER, Role.VOLUNTEER):
        if not user.compound_id:
            return NOTHING
        if on_compound:
            return Q(pk=user.compound_id)
        restricted = role == Role.GRID_WORKER or (role == Role.VOLUNTEER and building_ids(user))
        if restricted:
            ids = building_ids(user)
            field = "pk__in" if level == "building" else "building_id__in"
            return Q(compound_id=user.compound_id, **{field: ids})
        return Q(compound_id=user.compound_id)
    if role == Role.RESIDENT:
        if not user.household_id:
            return NOTHING
        if level == "household":
            return Q(pk=user.household_id)
        if level == "resident":
            return Q(household_id=user.household_id)
        return NOTHING
    return NOTHING


def scoped(user, queryset, level: str):
    return queryset.filter(scope_q(user, level))
