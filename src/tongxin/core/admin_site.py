"""The Django admin, for platform administrators only.

The admin is not scoped: it lists every compound's residents. A district official or a compound
manager who is marked staff must not get there; their pages and the API are scoped instead.
"""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig


class TongxinAdminSite(admin.AdminSite):
    def has_permission(self, request) -> bool:
        from tongxin.accounts.models import Role

        user = request.user
        return super().has_permission(request) and (user.is_superuser or user.role == Role.PLATFORM_ADMIN)


class TongxinAdminConfig(AdminConfig):
    default_site = "tongxin.core.admin_site.TongxinAdminSite"
