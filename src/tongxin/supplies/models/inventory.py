"""Inventory and donations: items, stores, every movement of stock, and the donations received.

Stock is the sum of its moves; `Balance` keeps that sum per item and store as the row that a
write locks (`select_for_update`), so two people taking the last bucket at once cannot both win.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Compound, Household

QUANTITY = {"max_digits": 13, "decimal_places": 6}
MONEY = {"max_digits": 12, "decimal_places": 2}


class StockUnit(models.TextChoices):
    BUCKET = "bucket", _("桶")
    KG = "kg", _("公斤")
    JIN = "jin", _("斤")
    BOX = "box", _("箱")
    PIECE = "piece", _("件")
    BAG = "bag", _("袋")
    BOTTLE = "bottle", _("瓶")


class Item(models.Model):
    """A compound's catalogue entry, counted in its base unit."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("名称"), max_length=100)
    unit = models.CharField(_("单位"), max_length=10, choices=StockUnit.choices)
    minimum_stock = models.DecimalField(_("最低库存"), default=0, **QUANTITY)

    class Meta:
        verbose_name = _("物资")
        verbose_name_plural = _("物资")
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="supplies_item_unique_name"),
            models.CheckConstraint(
                condition=models.Q(minimum_stock__gte=0), name="supplies_item_minimum_gte_0"
            ),
        ]

    def __str__(self):
        return self.name


class Store(models.Model):
    """A place where a compound keeps its supplies."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("名称"), max_length=100)

    class Meta:
        verbose_name = _("仓库")
        verbose_name_plural = _("仓库")
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="supplies_store_unique_name")
        ]

    def __str__(self):
        return self.name


class Balance(models.Model):
    """What a store holds of an item: the sum of its moves, the row locked by every write."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="balances")
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    quantity = models.DecimalField(_("数量"), default=0, **QUANTITY)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["item", "store"], name="supplies_balance_unique_item_store"),
            models.CheckConstraint(condition=models.Q(quantity__gte=0), name="supplies_balance_gte_0"),
        ]

    def __str__(self):
        return f"{self.store_id}/{self.item_id}: {self.quantity}"


class Donation(models.Model):
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    donor = models.CharField(_("捐赠方"), max_length=100)
    contact = models.CharField(_("联系方式"), max_length=100, blank=True)
    value = models.DecimalField(_("价值（元）"), null=True, blank=True, **MONEY)
    received_at = models.DateTimeField(_("接收时间"), default=timezone.now)
    thanked = models.BooleanField(_("已致谢"), default=False)
    note = models.CharField(_("备注"), max_length=200, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )

    class Meta:
        verbose_name = _("捐赠")
        verbose_name_plural = _("捐赠")
        indexes = [models.Index(fields=["compound", "received_at"])]

    def __str__(self):
        return self.donor


class MoveKind(models.TextChoices):
    DONATION_IN = "donation_in", _("捐赠入库")
    PURCHASE_IN = "purchase_in", _("采购入库")
    TRANSFER = "transfer", _("调拨")
    OUT_HOUSEHOLD = "out_household", _("发放到户")
    OUT_TEAM = "out_team", _("发放给工作人员")
    USED = "used", _("消耗")


class StockMove(models.Model):
    """One change of a store's stock of an item, in the item's base unit: positive in, negative
    out. A transfer is two moves, one out of each store, each naming the other store."""

    item = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="+")
    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+")
    quantity = models.DecimalField(_("数量"), **QUANTITY)
    kind = models.CharField(_("类型"), max_length=20, choices=MoveKind.choices)
    donation = models.ForeignKey(
        Donation, on_delete=models.PROTECT, null=True, blank=True, related_name="moves"
    )
    price = models.DecimalField(_("金额（元）"), null=True, blank=True, **MONEY)
    other_store = models.ForeignKey(Store, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    team = models.CharField(_("队伍"), max_length=100, blank=True)
    at = models.DateTimeField(_("时间"), default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    note = models.CharField(_("备注"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("出入库记录")
        verbose_name_plural = _("出入库记录")
        indexes = [models.Index(fields=["item", "at"])]
        constraints = [models.CheckConstraint(condition=~models.Q(quantity=0), name="supplies_move_nonzero")]

    def __str__(self):
        return f"{self.get_kind_display()} {self.quantity}"
