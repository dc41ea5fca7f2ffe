from django.apps import AppConfig


class SuppliesConfig(AppConfig):
    name = "tongxin.supplies"
    label = "supplies"
    verbose_name = "物资管理"
