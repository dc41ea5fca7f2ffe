from django.apps import AppConfig


class SuppliesConfig(AppConfig):
    name = "tongxin.supplies"
    label = "supplies"
    verbose_name = "物资管理"

    def ready(self):
        from tongxin.supplies.map_measures import register as register_campaign_measure

        register_campaign_measure()  # "发放进度" on the compound map

        from tongxin.registry.selectors import register_resident_panel
        from tongxin.supplies.panels import resident_care_panel

        register_resident_panel(resident_care_panel)  # 探访记录 on the resident page
