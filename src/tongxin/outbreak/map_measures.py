"""The outbreak module's colourings of the compound map, registered from OutbreakConfig.ready():
"cases" (units with active cases) and "risk" (each unit by the strictest active area covering it,
labelled with the level and the days until a lowering may be proposed: "高 3天")."""

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.selectors import (
    active_cases_by_unit,
    level_band,
    sees_risk_levels,
    short_level_label,
    unit_risk,
)
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
        return [("b4", _("有阳性病例")), ("b0", _("无阳性病例"))]


class RiskMeasure(MapMeasure):
    def __init__(self):
        super().__init__(gettext_lazy("风险等级"), "residents", share=False, palette="risk")
        self.today = None  # tests pin the date; pages use today's

    def visible_to(self, user) -> bool:
        return sees_risk_levels(user)

    def unit_rows(self, user, compound, unit_ids):
        today = self.today or timezone.localdate()
        rows = {}
        for unit_id, state in unit_risk(user, compound, unit_ids, today).items():
            if state.level is None:
                continue
            rows[unit_id] = {
                "risk_level": state.level.code,
                "risk_rank": state.level.rank,
                "risk_label": str(state.level.label),
                "risk_short": short_level_label(state.level),
                "risk_next": state.short(),
                "risk_days_left": state.days_left,
            }
        return rows

    def cell(self, row, peak):
        """Value rank/top, so that compound_map's bands fall as `level_band` says; 0.0 is "no risk"."""
        top = max((lv.rank for lv in active_rules().levels.values()), default=0)
        rank = row.get("risk_rank", 0)
        if not rank:
            return 0.0, _("无风险")
        value = {"b4": 1.0, "b3": 0.6, "b1": 0.2}[level_band(rank, top)]
        return value, " ".join(part for part in (row["risk_short"], row["risk_next"]) if part)

    def legend(self, peak):
        levels = active_rules().ordered_levels()
        top = levels[0].rank if levels else 0
        return [(level_band(lv.rank, top), str(lv.label)) for lv in levels] + [("b0", _("无风险"))]
