from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Compound, Household


class ParcelState(models.TextChoices):
    RECEIVED = "received", _("已登记")  # at the gate, waiting for disinfection
    DISINFECTED = "disinfected", _("已消杀")  # held until `ready_at`, then ready to carry in
    DELIVERED = "delivered", _("已送达")
    REFUSED = "refused", _("拒收")


class Parcel(models.Model):
    """A courier's parcel for a household: logged at the gate, disinfected, held for the compound's
    hold time (`ready_at` = disinfected + hold), then delivered at the door (sealed homes) or at a
    pick-up slot (controlled ones), or refused. "Ready" is `disinfected` with `ready_at` passed.

    State changes are conditional updates on the state read (`WHERE state = ...`): of two
    volunteers marking the same parcel at once, one wins and the other is told."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="+")
    courier = models.CharField(_("快递公司"), max_length=50, blank=True)
    tracking_number = models.CharField(_("运单号"), max_length=50, blank=True)
    pieces = models.PositiveSmallIntegerField(_("件数"), default=1)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    photo = models.FileField(_("照片"), upload_to="parcels/%Y/%m/", blank=True)
    state = models.CharField(
        _("状态"), max_length=12, choices=ParcelState.choices, default=ParcelState.RECEIVED
    )
    received_at = models.DateTimeField(_("登记时间"), default=timezone.now)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    disinfected_at = models.DateTimeField(_("消杀时间"), null=True, blank=True)
    disinfected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    ready_at = models.DateTimeField(_("可配送时间"), null=True, blank=True)
    handed_at = models.DateTimeField(_("送达/拒收时间"), null=True, blank=True)
    handed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    refusal_reason = models.CharField(_("拒收原因"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("快递")
        verbose_name_plural = _("快递")
        indexes = [
            models.Index(fields=["compound", "state", "ready_at"], name="parcel_compound_state_idx"),
            models.Index(fields=["household", "received_at"], name="parcel_household_idx"),
            models.Index(fields=["compound", "received_at"], name="parcel_compound_received_idx"),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(pieces__gte=1), name="parcel_pieces_ge_1"),
            models.CheckConstraint(
                condition=models.Q(state="received")
                | models.Q(disinfected_at__isnull=False, ready_at__isnull=False),
                name="parcel_disinfected_has_times",
            ),
        ]

    def __str__(self):
        return f"{self.courier} {self.tracking_number}".strip() or f"parcel {self.pk}"
