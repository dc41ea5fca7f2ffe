from django.contrib import admin

from tongxin.core.models import AuditLog


@admin.register(AuditLog)
class AuditLogAdmin(admin.ModelAdmin):
    """The audit trail, read-only: rows are only ever added, by actions."""

    list_display = ("at", "actor_name", "action", "object_label", "fields", "reason", "ip")
    list_filter = ("action",)
    search_fields = ("actor_name", "object_label", "reason")
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
