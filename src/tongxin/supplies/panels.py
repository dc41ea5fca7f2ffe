"""The supplies sections of the registry's resident page (registered in SuppliesConfig.ready)."""

from django.utils import timezone

from tongxin.registry.models import Resident
from tongxin.supplies.models import CareVisit
from tongxin.supplies.selectors.care import is_in_visit_groups, may_see_care

SHOWN = 3


def resident_care_panel(user, resident: Resident) -> dict | None:
    """探访记录: the last visits and the next one due, for the staff who keep the care list
    (cadres, grid workers, officials); nothing for volunteers and residents. Shown for a resident
    of the visited groups or one visited before. The page's own badges show the tags, as the
    registry decides: the panel repeats none of them."""
    if not may_see_care(user):
        return None
    visits = list(
        CareVisit.objects.filter(resident_id=resident.pk)
        .select_related("visited_by")
        .order_by("-visited_at", "-pk")[: SHOWN + 1]
    )
    if not visits and not is_in_visit_groups(resident):
        return None
    next_due = visits[0].next_due if visits else None
    return {
        "template": "supplies/care/_resident_panel.html",
        "care": {
            "visits": visits[:SHOWN],
            "more": len(visits) > SHOWN,
            "next_due": next_due,
            "overdue": not visits or next_due < timezone.localdate(),
            "may_log": resident.presence != Resident.Presence.MOVED_OUT,
        },
    }
