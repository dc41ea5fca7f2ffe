"""The compound map's "coverage" colouring (核酸覆盖率): each unit by the share of its expected
people sampled in the compound's latest round, written in the cell ("87%").

`register()` must be called from TestingConfig.ready(), as the outbreak module registers its
measures from OutbreakConfig.ready().
"""

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.accounts.models import Role
from tongxin.registry.selectors import MapMeasure, register_map_measure


class CoverageMeasure(MapMeasure):
    """Green bands by share sampled; a unit the round does not cover, or with nobody expected,
    stays grey ("–")."""

    def __init__(self):
        # `key` only feeds the registry's peak count, which this measure does not use.
        super().__init__(gettext_lazy("核酸覆盖率"), "residents", share=True, palette="progress")
        self.today = None  # tests pin the date; pages use today's

    def visible_to(self, user) -> bool:
        return bool(getattr(user, "is_authenticated", False)) and user.role != Role.RESIDENT

    def unit_rows(self, user, compound, unit_ids):
        from tongxin.testing.selectors.coverage import unit_shares

        round_, tallies = unit_shares(user, compound, unit_ids, on=self.today)
        rows = {}
        for unit_id, tally in tallies.items():
            rows[unit_id] = {
                "coverage_round": str(round_),
                "coverage_expected": tally.expected,
                "coverage_sampled": tally.sampled,
                "coverage_missed": tally.missed,
                "coverage_percent": tally.percent,
            }
        return rows

    def cell(self, row, peak):
        percent = row.get("coverage_percent")
        if percent is None:
            return None, "–"
        return percent / 100, f"{percent}%"

    def legend(self, peak):
        return [(name, label) for name, label in super().legend(peak)] + [("none", _("未覆盖或无应检"))]


def register() -> None:
    register_map_measure("coverage", CoverageMeasure())
