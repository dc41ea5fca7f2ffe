from django.apps import AppConfig


class AccessConfig(AppConfig):
    name = "tongxin.access"
    label = "access"
    verbose_name = "出入管理"

    def ready(self):
        from tongxin.access.actions.passes import revoke_passes_of_moved
        from tongxin.access.panels import compound_gates_panel
        from tongxin.access.selectors.passes import resident_ids_by_pass_codes
        from tongxin.registry.actions import register_residents_moved_listener
        from tongxin.registry.selectors import register_compound_panel, register_person_code_resolver

        # The sampling station (and any module reading people's codes) turns a scanned entry pass
        # into its resident through the registry, without importing this module.
        register_person_code_resolver(resident_ids_by_pass_codes)
        # A resident who moves out (or to another home) no longer holds the pass of this one.
        register_residents_moved_listener(revoke_passes_of_moved)
        # The compound page shows the day at its gates.
        register_compound_panel(compound_gates_panel)
