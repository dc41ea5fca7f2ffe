"""Accounts with one role and the area that role covers."""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("平台管理员")
    OFFICIAL = "official", _("区/街道/社区干部")
    COMPOUND_MANAGER = "compound_manager", _("包联干部")
    GRID_WORKER = "grid_worker", _("网格员")
    VOLUNTEER = "volunteer", _("志愿者")
    RESIDENT = "resident", _("居民")


# Roles that may reveal full ID numbers and phones (each reveal audited) and export unmasked.
ROLES_WITH_FULL_DATA = frozenset(
    {Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER}
)
# Roles that see health data (cases, contacts, isolations, the reasons of a status); every view of a
# case or contact record is audited. Volunteers see a status colour only; residents their own.
HEALTH_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER})
# Roles that manage the registry: import, edit, export.
ROLES_THAT_MANAGE = frozenset({Role.PLATFORM_ADMIN, Role.OFFICIAL, Role.COMPOUND_MANAGER, Role.GRID_WORKER})


class User(AbstractUser):
    """A person who logs in. The scope of each role is one field (or the building list)."""

    role = models.CharField(_("角色"), max_length=20, choices=Role.choices, default=Role.VOLUNTEER)
    full_name = models.CharField(_("姓名"), max_length=50, blank=True)
    area = models.ForeignKey(
        "registry.Area",
        verbose_name=_("负责区域"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("区/街道/社区干部"),
    )
    compound = models.ForeignKey(
        "registry.Compound",
        verbose_name=_("负责小区"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        help_text=_("包联干部、网格员、志愿者"),
    )
    buildings = models.ManyToManyField(
        "registry.Building",
        verbose_name=_("负责楼栋"),
        blank=True,
        help_text=_("网格员负责的楼栋；志愿者可留空表示整个小区"),
    )
    household = models.ForeignKey(
        "registry.Household",
        verbose_name=_("所在户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        help_text=_("居民账号"),
    )

    class Meta:
        verbose_name = _("账号")
        verbose_name_plural = _("账号")

    def __str__(self) -> str:
        return self.full_name or self.username

    @property
    def may_see_full_data(self) -> bool:
        return self.is_active and self.role in ROLES_WITH_FULL_DATA

    @property
    def sees_health_data(self) -> bool:
        return self.is_active and self.role in HEALTH_ROLES

    @property
    def manages_registry(self) -> bool:
        return self.is_active and self.role in ROLES_THAT_MANAGE
