from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Compound, Household
from tongxin.supplies.models.inventory import QUANTITY, Item


class RequestKind(models.TextChoices):
    WATER = "water", _("饮用水")
    RICE = "rice", _("大米")
    FLOUR = "flour", _("面粉")
    VEGETABLES = "vegetables", _("蔬菜")
    MEDICINE = "medicine", _("药品")
    DOCTOR = "doctor", _("就医/医生")
    OTHER = "other", _("其他")


class RequestState(models.TextChoices):
    NEW = "new", _("新提交")
    ACCEPTED = "accepted", _("已受理")
    BOUGHT = "bought", _("已采购")
    DELIVERED = "delivered", _("已送达")
    CANNOT = "cannot", _("无法办理")


class SupplyRequest(models.Model):
    """A sealed or isolated household asking for goods or help, by itself or through a worker on
    the phone. `urgent`: medicine (or a doctor) for a household with an elderly member, listed
    first. `source` names where it came from when another module handed it over (a resident
    request of the voice module), so it is never typed twice."""

    class Via(models.TextChoices):
        RESIDENT = "resident", _("居民自助")
        PHONE = "phone", _("电话代登记")
        WORKER = "worker", _("工作人员登记")

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    household = models.ForeignKey(Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=12, choices=RequestKind.choices)
    detail = models.CharField(_("说明"), max_length=500, blank=True)  # which medicine, what else
    via = models.CharField(_("来源"), max_length=10, choices=Via.choices, default=Via.RESIDENT)
    source = models.CharField(_("关联诉求"), max_length=50, blank=True)
    urgent = models.BooleanField(_("优先"), default=False)
    state = models.CharField(_("状态"), max_length=10, choices=RequestState.choices, default=RequestState.NEW)
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("负责人"),
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
    )
    asked_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    accepted_at = models.DateTimeField(_("受理时间"), null=True, blank=True)
    bought_at = models.DateTimeField(_("采购时间"), null=True, blank=True)
    delivered_at = models.DateTimeField(_("送达时间"), null=True, blank=True)
    delivered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    cannot_reason = models.CharField(_("无法办理原因"), max_length=200, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("物资需求")
        verbose_name_plural = _("物资需求")
        indexes = [
            models.Index(fields=["compound", "state", "asked_at"], name="supply_request_queue_idx"),
            models.Index(fields=["household", "asked_at"], name="supply_request_household_idx"),
            models.Index(fields=["compound", "delivered_at"], name="supply_request_delivered_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="cannot") | ~models.Q(cannot_reason=""),
                name="supply_request_cannot_has_reason",
            ),
            models.CheckConstraint(
                condition=models.Q(delivered_at__isnull=True)
                | models.Q(delivered_at__gte=models.F("asked_at")),
                name="supply_request_delivered_after_asked",
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.detail}".strip()


class SupplyRequestLine(models.Model):
    """What a request takes from stock (an item and a quantity in a unit), or a line to buy."""

    request = models.ForeignKey(SupplyRequest, on_delete=models.CASCADE, related_name="lines")
    item = models.ForeignKey(Item, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    description = models.CharField(_("物品"), max_length=100, blank=True)
    quantity = models.DecimalField(_("数量"), **QUANTITY)
    unit = models.CharField(_("单位"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("需求明细")
        verbose_name_plural = _("需求明细")
        constraints = [
            models.CheckConstraint(condition=models.Q(quantity__gt=0), name="supply_request_line_qty_gt_0"),
            models.CheckConstraint(
                condition=models.Q(item__isnull=False) | ~models.Q(description=""),
                name="supply_request_line_names_something",
            ),
        ]

    def __str__(self):
        return f"{self.item or self.description} {self.quantity.normalize():f}{self.unit}"
