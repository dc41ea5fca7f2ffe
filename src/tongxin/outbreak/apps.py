from django.apps import AppConfig


class OutbreakConfig(AppConfig):
    name = "tongxin.outbreak"
    label = "outbreak"
    verbose_name = "疫情防控"

    def ready(self):
        from tongxin.outbreak.case_map import CasesMeasure
        from tongxin.registry.selectors import register_map_measure

        register_map_measure("cases", CasesMeasure())

        from tongxin.outbreak.views import resident_status_panel
        from tongxin.registry.selectors import register_resident_panel

        register_resident_panel(resident_status_panel)

        from tongxin.outbreak.risk_map import RiskMeasure
        from tongxin.registry.selectors import register_map_measure

        register_map_measure("risk", RiskMeasure())
