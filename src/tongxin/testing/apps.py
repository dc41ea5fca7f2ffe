from django.apps import AppConfig


class TestingConfig(AppConfig):
    name = "tongxin.testing"
    label = "testing"
    verbose_name = "核酸检测"

    def ready(self):
        from tongxin.outbreak.status import register_hold_source, register_test_source
        from tongxin.registry.selectors import register_resident_panel
        from tongxin.testing import map_measures, status_sources
        from tongxin.testing.panels import resident_samples_panel

        # The outbreak module reads a resident's samples and household reviews from here when it
        # recomputes their status, without importing this module.
        register_test_source(status_sources.samples_for_status)
        register_hold_source(status_sources.household_review_holds)
        register_resident_panel(resident_samples_panel)
        map_measures.register()
