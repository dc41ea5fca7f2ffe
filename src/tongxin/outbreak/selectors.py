"""Every read of the outbreak module, scoped to the acting user. Cases and contacts are health
data: only HEALTH_ROLES see them, and every view of a case or contact record is audited."""

import datetime
from dataclasses import dataclass

from tongxin.accounts.models import Role
from tongxin.outbreak.status import Status, status_read
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Resident

# Resident status


@dataclass(frozen=True)
class ResidentStatusView:
    """A resident's status as the acting user may see it: volunteers get the colour, not why."""

    resident: Resident
    status: Status
    shows_reasons: bool

    def as_dict(self) -> dict:
        data = self.status.to_dict()
        return data if self.shows_reasons else {"color": data["color"], "overdue": data["overdue"]}


def resident_status_get(user, resident_id: int, *, at: datetime.datetime | None = None) -> ResidentStatusView:
    """Raises Http404 for a resident outside the user's area (registry scoping)."""
    return resident_status_of(user, registry_selectors.resident_get(user, resident_id), at=at)


def resident_status_of(
    user, resident: Resident, *, at: datetime.datetime | None = None
) -> ResidentStatusView:
    """The status of a resident already read through the user's scope: one primary-key lookup."""
    own_household = user.role == Role.RESIDENT and user.household_id == resident.household_id
    return ResidentStatusView(
        resident=resident,
        status=status_read(resident.pk, at=at),
        shows_reasons=bool(user.sees_health_data or own_household),
    )


# -- risk areas and compound status (read in risk_selectors.py) ----------------------------------
from tongxin.outbreak.risk_selectors import (  # noqa: E402, F401
    area_get,
    area_timeline,
    areas_visible,
    areas_with_outlook,
    compound_status_current,
    compound_status_history,
    lowering_proposals,
    lowering_state,
    unit_risk,
)
