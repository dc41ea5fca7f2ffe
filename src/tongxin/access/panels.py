"""The access section of the registry's compound page (registered in AccessConfig.ready)."""

from django.utils import timezone

from tongxin.access.selectors.activity import day_counts, out_now_count
from tongxin.access.selectors.scope import sees_access


def compound_gates_panel(user, compound) -> dict | None:
    """Today's checks per gate and how many are out now: for the compound's team. Nothing for a
    compound without gates."""
    if not sees_access(user):
        return None
    counts = day_counts(user, compound, timezone.localdate())
    if not counts.gates:
        return None
    return {"template": "access/_compound_panel.html", "counts": counts, "out": out_now_count(user, compound)}
