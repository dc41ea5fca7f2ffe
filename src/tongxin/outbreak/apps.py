from django.apps import AppConfig


class OutbreakConfig(AppConfig):
    name = "tongxin.outbreak"
    label = "outbreak"
    verbose_name = "疫情防控"
