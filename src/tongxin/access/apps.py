from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "tongxin.access"
    label = "access"
    verbose_name = "出入管理"

    def ready(self):
        from tongxin.access.selectors.passes import resident_ids_by_pass_codes
        from tongxin.registry.selectors import register_person_code_resolver

        # The sampling station (and any module reading people's codes) turns a scanned entry pass
        # into its resident through the registry, without importing this module.
        register_person_code_resolver(resident_ids_by_pass_codes)
