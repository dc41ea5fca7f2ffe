from django.apps import AppConfig


class OutbreakConfig(AppConfig):
    name = "tongxin.outbreak"
    label = "outbreak"
    verbose_name = "疫情防控"

    def ready(self):
        from tongxin.outbreak.map_measures import CasesMeasure, RiskMeasure
        from tongxin.outbreak.status import status_recompute
        from tongxin.outbreak.views import resident_status_panel
        from tongxin.registry.actions import register_residents_moved_listener
        from tongxin.registry.selectors import register_map_measure, register_resident_panel

        register_map_measure("cases", CasesMeasure())
        register_resident_panel(resident_status_panel)
        register_map_measure("risk", RiskMeasure())
        # A resident who moves lives under another risk area: their stored status follows.
        register_residents_moved_listener(status_recompute)
