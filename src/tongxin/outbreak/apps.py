from django.apps import AppConfig


class OutbreakConfig(AppConfig):
    name = "tongxin.outbreak"
    label = "outbreak"
    verbose_name = "疫情防控"

    def ready(self):
        from tongxin.outbreak.map_measures import CasesMeasure, RiskMeasure
        from tongxin.outbreak.views import resident_status_panel
        from tongxin.registry.selectors import register_map_measure, register_resident_panel

        register_map_measure("cases", CasesMeasure())
        register_resident_panel(resident_status_panel)
        register_map_measure("risk", RiskMeasure())
