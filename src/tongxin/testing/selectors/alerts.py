"""Alerts to a compound's team (a positive pool): health roles of the compound see them."""

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Compound
from tongxin.testing.models import Alert


def open_alerts(user, *, compound=None, limit: int = 20):
    """Unacknowledged alerts of the compounds the user sees, newest first; none for roles that do
    not see health data."""
    if not getattr(user, "sees_health_data", False):
        return Alert.objects.none()
    qs = Alert.objects.filter(
        compound__in=Compound.objects.filter(scope_q(user, "compound")), acknowledged_at__isnull=True
    ).select_related("compound", "round")
    if compound is not None:
        qs = qs.filter(compound=compound)
    return qs.order_by("-created_at")[:limit]
