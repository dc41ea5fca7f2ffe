from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Building, Compound, Household, Unit
from tongxin.supplies.models.inventory import QUANTITY, Item, Store


class ShareBasis(models.TextChoices):
    HOUSEHOLD = "household", _("按户")
    PERSON = "person", _("按人")


class VisitOutcome(models.TextChoices):
    PENDING = "pending", _("未上门")
    DELIVERED = "delivered", _("已送达")
    NOBODY_HOME = "nobody_home", _("无人在家（需再访）")
    REFUSED = "refused", _("拒收")
    VACANT = "vacant", _("空置")


class Campaign(models.Model):
    """A bulk distribution (the donated cabbage): an item from a store shared per household or per
    person, over `days` days from `starts_on` by `teams` teams. Planning writes one task per unit
    (its day and team) and one visit row per household, so progress is a count."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("名称"), max_length=100)
    item = models.ForeignKey(Item, verbose_name=_("物资"), on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, verbose_name=_("出库仓库"), on_delete=models.PROTECT, related_name="+")
    total_quantity = models.DecimalField(_("总量"), **QUANTITY)  # in the item's unit
    share_basis = models.CharField(_("分配方式"), max_length=10, choices=ShareBasis.choices)
    share_quantity = models.DecimalField(_("每份数量"), **QUANTITY)  # in the item's unit
    starts_on = models.DateField(_("开始日期"))
    days = models.PositiveSmallIntegerField(_("天数"))
    teams = models.PositiveSmallIntegerField(_("小组数"))
    volunteers = models.PositiveSmallIntegerField(_("志愿者人数"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    closed_at = models.DateTimeField(_("结束时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("集中发放")
        verbose_name_plural = _("集中发放")
        indexes = [models.Index(fields=["compound", "starts_on"], name="campaign_compound_idx")]
        constraints = [
            models.CheckConstraint(condition=models.Q(total_quantity__gt=0), name="campaign_total_gt_0"),
            models.CheckConstraint(condition=models.Q(share_quantity__gt=0), name="campaign_share_gt_0"),
            models.CheckConstraint(condition=models.Q(days__gte=1, days__lte=60), name="campaign_days_1_60"),
            models.CheckConstraint(
                condition=models.Q(teams__gte=1, teams__lte=500), name="campaign_teams_1_500"
            ),
        ]

    def __str__(self):
        return self.name


class CampaignTask(models.Model):
    """The plan: which day and which team visits a unit's doors."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="tasks")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    day = models.DateField(_("日期"))
    team = models.PositiveSmallIntegerField(_("小组"))

    class Meta:
        verbose_name = _("发放任务")
        verbose_name_plural = _("发放任务")
        constraints = [models.UniqueConstraint(fields=["campaign", "unit"], name="campaign_task_unique_unit")]
        indexes = [models.Index(fields=["campaign", "day", "team"], name="campaign_task_day_idx")]

    def __str__(self):
        return f"{self.unit} {self.day} #{self.team}"


class CampaignVisit(models.Model):
    """One household's door in a campaign and what was found there. Marked by a conditional update
    on the outcome read, so of two volunteers at the same door one wins and the other is told."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="visits")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.CASCADE, related_name="+")
    building = models.ForeignKey(
        Building, on_delete=models.CASCADE, related_name="+"
    )  # grouping without a join
    share = models.DecimalField(_("应发数量"), **QUANTITY)
    outcome = models.CharField(
        _("结果"), max_length=12, choices=VisitOutcome.choices, default=VisitOutcome.PENDING
    )
    quantity = models.DecimalField(_("实发数量"), null=True, blank=True, **QUANTITY)
    attempts = models.PositiveSmallIntegerField(_("上门次数"), default=0)
    visited_at = models.DateTimeField(_("上门时间"), null=True, blank=True)
    visited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("发放到户")
        verbose_name_plural = _("发放到户")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "household"], name="campaign_visit_unique_household")
        ]
        indexes = [
            models.Index(fields=["campaign", "unit", "outcome"], name="campaign_visit_unit_idx"),
            models.Index(fields=["campaign", "building", "outcome"], name="campaign_visit_building_idx"),
        ]

    def __str__(self):
        return f"{self.household_id}: {self.outcome}"
