from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Compound, Resident


class CareVisit(models.Model):
    """A visit to a vulnerable resident (veteran, elderly living alone, seriously ill...): when,
    by whom, what was brought, notes, and when the next one is due (the compound's interval from
    this visit unless set)."""

    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    resident = models.ForeignKey(Resident, verbose_name=_("居民"), on_delete=models.PROTECT, related_name="+")
    visited_at = models.DateTimeField(_("探访时间"), default=timezone.now)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    brought = models.CharField(_("带去物品"), max_length=200, blank=True)  # 大米、面粉、油
    notes = models.CharField(_("情况记录"), max_length=1000, blank=True)
    next_due = models.DateField(_("下次探访"))

    class Meta:
        verbose_name = _("探访记录")
        verbose_name_plural = _("探访记录")
        indexes = [
            models.Index(fields=["resident", "-visited_at"], name="care_visit_resident_idx"),
            models.Index(fields=["compound", "visited_at"], name="care_visit_compound_idx"),
        ]

    def __str__(self):
        return f"{self.resident_id} {self.visited_at:%Y-%m-%d}"
