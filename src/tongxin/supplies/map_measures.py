"""The supplies module's colouring of the compound map, registered from SuppliesConfig.ready():
"campaign" (发放进度) colours each unit by the share of its households with a final outcome
(delivered, refused, vacant) in the compound's latest campaign."""

from django.db.models import Count, Q, Subquery
from django.utils.translation import gettext_lazy

from tongxin.registry.selectors import BANDS, MapMeasure
from tongxin.supplies.actions.campaigns import FINAL
from tongxin.supplies.models import Campaign, CampaignVisit
from tongxin.supplies.selectors.scope import HANDS_OUT, supplies_q

MEASURE_KEY = "campaign"


class CampaignProgressMeasure(MapMeasure):
    def __init__(self):
        # `key` only feeds the registry's peak count, which this measure does not use.
        super().__init__(gettext_lazy("发放进度"), "residents", share=False, palette="progress")

    def visible_to(self, user) -> bool:
        return getattr(user, "role", None) in HANDS_OUT

    def unit_rows(self, user, compound, unit_ids):
        """One query: the latest campaign as a subquery, its doors grouped by unit."""
        latest = (
            Campaign.objects.filter(supplies_q(user), compound=compound)
            .order_by("-starts_on", "-pk")
            .values("pk")[:1]
        )
        rows = (
            CampaignVisit.objects.filter(campaign=Subquery(latest), unit_id__in=unit_ids)
            .values("unit_id")
            .annotate(
                campaign_households=Count("id"), campaign_final=Count("id", filter=Q(outcome__in=FINAL))
            )
        )
        return {
            row["unit_id"]: {
                "campaign_households": row["campaign_households"],
                "campaign_final": row["campaign_final"],
            }
            for row in rows
        }

    def cell(self, row, peak):
        households = row.get("campaign_households", 0)
        if not households:
            return None, "–"
        value = row["campaign_final"] / households
        return value, f"{value:.0%}"

    def legend(self, peak):
        return [(name, label) for _start, name, label in BANDS]


def register() -> None:
    from tongxin.registry.selectors import register_map_measure

    register_map_measure(MEASURE_KEY, CampaignProgressMeasure())
