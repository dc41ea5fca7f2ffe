"""Who may keep a compound's supplies: its team and the officials over it, never residents;
volunteers only hand stock out to a household."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.core.scoping import NOTHING, scope_q
from tongxin.registry.models import Compound

STOCK_KEEPERS = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER})
HANDS_OUT = STOCK_KEEPERS | {Role.VOLUNTEER}


def supplies_q(user, prefix: str = "") -> Q:
    """The filter on a model carrying `compound` (or reaching it through `prefix`, as "item__"):
    the compounds whose supplies `user` sees."""
    if not user or not user.is_authenticated or not user.is_active or user.role not in HANDS_OUT:
        return NOTHING
    if user.role == Role.PLATFORM_ADMIN:
        return Q()
    if user.role != Role.OFFICIAL:
        return Q(**{f"{prefix}compound_id": user.compound_id}) if user.compound_id else NOTHING
    if not user.area_id:
        return NOTHING
    return Q(**{f"{prefix}compound__area_path__startswith": user.area.path})


def require_compound(user, compound_id: int, *, roles=STOCK_KEEPERS) -> None:
    """A compound outside the user's area is not found (404); within it, a role that may not do
    this is refused."""
    if not Compound.objects.filter(scope_q(user, "compound"), pk=compound_id).exists():
        raise Http404
    if user.role not in roles:
        raise PermissionDenied
