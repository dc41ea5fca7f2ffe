"""Who may see the voice of a compound's residents: its team (the supplies' HANDS_OUT roles) and
the officials over it. A grid worker (or a volunteer given buildings) sees only the requests of his
buildings' households; a request with no household stays visible to the whole team. A resident sees
only his own household's requests."""

from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.core.scoping import NOTHING, building_ids
from tongxin.supplies.selectors.scope import HANDS_OUT, STOCK_KEEPERS, supplies_q
from tongxin.supplies.selectors.scope import require_compound as _require_compound

# Who works the requests and the hotline (volunteers included); who may reopen or hand over.
TEAM = HANDS_OUT
KEEPERS = STOCK_KEEPERS


def voice_q(user, prefix: str = "") -> Q:
    """The filter on a model carrying `compound` (or reaching it through `prefix`): the compounds
    whose voice records (calls, notices, requests) `user` works on. Residents get nothing here."""
    return supplies_q(user, prefix)


def _restricted(user) -> bool:
    return user.role == Role.GRID_WORKER or (user.role == Role.VOLUNTEER and bool(building_ids(user)))


def request_q(user, prefix: str = "") -> Q:
    """The filter on Request (or a model reaching it through `prefix`, as "request__")."""
    if not user or not user.is_authenticated or not user.is_active:
        return NOTHING
    if user.role == Role.RESIDENT:
        return Q(**{f"{prefix}household_id": user.household_id}) if user.household_id else NOTHING
    base = voice_q(user, prefix)
    if user.role in TEAM and user.role not in (Role.PLATFORM_ADMIN, Role.OFFICIAL) and _restricted(user):
        base &= Q(**{f"{prefix}household__isnull": True}) | Q(
            **{f"{prefix}household__building_id__in": building_ids(user)}
        )
    return base


def call_q(user) -> Q:
    """The filter on HotlineCall: the compounds' calls, and for a grid worker (or a volunteer given
    buildings) not those that became a request of a household outside his buildings, as with the
    requests themselves; a call of no known household stays visible to the whole team."""
    base = voice_q(user)
    if user.role in TEAM and user.role not in (Role.PLATFORM_ADMIN, Role.OFFICIAL) and _restricted(user):
        base &= Q(request__household__isnull=True) | Q(request__household__building_id__in=building_ids(user))
    return base


def requests_visible(user):
    from tongxin.voice.models import Request

    return Request.objects.filter(request_q(user))


def require_role(user, message: str = "", *, roles=TEAM) -> None:
    """Another role is refused (403) with `message` (the generic refusal when empty)."""
    if user.role not in roles:
        raise PermissionDenied(message)


def require_compound(user, compound_id: int, *, roles=TEAM) -> None:
    """Another compound is not found (404); a role that may not do this is refused (403)."""
    if user is None or not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    _require_compound(user, compound_id, roles=roles)


def require_request(user, request_id: int):
    """The request if `user` sees it, else 404."""
    found = requests_visible(user).filter(pk=request_id).first()
    if found is None:
        raise Http404
    return found
