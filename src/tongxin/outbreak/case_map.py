"""The compound map's "cases" colouring, registered from OutbreakConfig.ready()."""

from django.utils.translation import gettext, gettext_lazy

from tongxin.outbreak.selectors import active_cases_by_unit
from tongxin.registry.selectors import MapMeasure


class CasesMeasure(MapMeasure):
    """Units with active cases in the darkest band; health roles only."""

    def __init__(self):
        # `key` only feeds the registry's peak count, which this measure does not use.
        super().__init__(gettext_lazy("阳性病例"), "residents", share=False)

    def visible_to(self, user) -> bool:
        return bool(getattr(user, "sees_health_data", False))

    def unit_rows(self, user, compound, unit_ids):
        counts = active_cases_by_unit(user, compound, unit_ids)
        return {unit_id: {"active_cases": n} for unit_id, n in counts.items()}

    def cell(self, row, peak):
        n = row.get("active_cases", 0)
        return (1.0 if n else 0.0), str(n)

    def legend(self, peak):
        return [("b4", gettext("有阳性病例")), ("b0", gettext("无阳性病例"))]
