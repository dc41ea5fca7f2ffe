"""Who sees what of the access module: the registry's scope filters, read through a relation."""

from django.db.models import Q
from django.http import Http404

from tongxin.accounts.models import Role


def through(q: Q, prefix: str) -> Q:
    """A scope filter written for a registry model (`scope_q(user, level)`) as a filter on a model
    that points at it: `through(scope_q(user, "household"), "household")` filters passes."""
    clone = Q()
    clone.connector, clone.negated = q.connector, q.negated
    clone.children = [
        through(child, prefix) if isinstance(child, Q) else (f"{prefix}__{child[0]}", child[1])
        for child in q.children
    ]
    return clone


def sees_access(user) -> bool:
    """Gates, their figures and visitors: every active role of a compound's team; not residents."""
    return bool(user and user.is_authenticated and user.is_active and user.role != Role.RESIDENT)


def require_sees_access(user) -> None:
    if not sees_access(user):
        raise Http404
