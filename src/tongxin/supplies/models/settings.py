from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Compound


def default_hold_minutes() -> int:
    return settings.TONGXIN_PARCEL_HOLD_MINUTES


def default_care_days() -> int:
    return settings.TONGXIN_CARE_VISIT_DAYS


class SupplySettings(models.Model):
    """A compound's own supply settings; a compound without a row uses the defaults (the
    environment's `TONGXIN_PARCEL_HOLD_MINUTES`, `TONGXIN_CARE_VISIT_DAYS`)."""

    compound = models.OneToOneField(
        Compound, primary_key=True, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+"
    )
    parcel_hold_minutes = models.PositiveIntegerField(
        _("快递消杀后静置（分钟）"), default=default_hold_minutes
    )
    pickup_start = models.TimeField(_("管控区取件开始时间"), default="09:00")
    pickup_slot_minutes = models.PositiveSmallIntegerField(_("每栋楼取件时段（分钟）"), default=30)
    care_visit_days = models.PositiveSmallIntegerField(_("重点人群探访间隔（天）"), default=default_care_days)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("物资设置")
        verbose_name_plural = _("物资设置")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(parcel_hold_minutes__lte=7 * 24 * 60),
                name="supplies_settings_hold_le_week",
            ),
            models.CheckConstraint(
                condition=models.Q(pickup_slot_minutes__gte=5), name="supplies_settings_slot_ge_5"
            ),
            models.CheckConstraint(
                condition=models.Q(care_visit_days__gte=1), name="supplies_settings_care_ge_1"
            ),
        ]

    def __str__(self):
        return f"settings of compound {self.compound_id}"
