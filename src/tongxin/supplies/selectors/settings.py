"""A compound's supply settings: its own row, or the defaults when it has none."""

import datetime

from tongxin.registry.models import Compound
from tongxin.supplies.models import SupplySettings
from tongxin.supplies.selectors.scope import STOCK_KEEPERS, require_compound


def settings_of(compound: Compound) -> SupplySettings:
    """The compound's settings; an unsaved row holding the defaults when it has none (so that
    every reader gets the same values whether or not a manager ever saved the page). Not scoped:
    callers have checked the compound already."""
    found = SupplySettings.objects.filter(compound_id=compound.pk).first()
    if found is not None:
        return found
    defaults = SupplySettings(compound=compound)
    if isinstance(defaults.pickup_start, str):  # the field's default is written as text
        defaults.pickup_start = datetime.time.fromisoformat(defaults.pickup_start)
    return defaults


def settings_for(user, compound: Compound) -> SupplySettings:
    """The settings as the page shows them: the compound's team and officials over it (404 outside
    the user's area, 403 for volunteers and residents)."""
    require_compound(user, compound.pk, roles=STOCK_KEEPERS)
    return settings_of(compound)
