"""Gates: entry passes (出入证), each compound's exit policy, gates and the checks made at them,
visitors and returning residents, and the outings of residents who are out.

A pass is a signed code (see `signing.py`): a gate device verifies it with the public key alone.
Every check at a gate is an `AccessEvent` with an id made on the device, so a gate that decided
offline sends its events later and a resend never stores one twice. An `Outing` is a resident's
exit and return, kept so that "who is out now", "who is over their time" and the household's exit
quota are one indexed query each.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Compound, Household, Resident


class AccessPolicy(models.Model):
    """A compound's rules at the gate, as data (one row per compound; defaults when it has none)."""

    class PassPer(models.TextChoices):
        RESIDENT = "resident", _("每人一证")
        HOUSEHOLD = "household", _("每户一证")

    compound = models.OneToOneField(Compound, on_delete=models.CASCADE, related_name="+")
    pass_per = models.CharField(
        _("发证方式"), max_length=10, choices=PassPer.choices, default=PassPer.RESIDENT
    )
    pass_valid_days = models.PositiveSmallIntegerField(_("出入证有效天数"), default=30)
    # "One person per household every 2 days": exits_per_household people over exit_period_days
    # days; None: no quota.
    exits_per_household = models.PositiveSmallIntegerField(_("每户外出人次"), null=True, blank=True)
    exit_period_days = models.PositiveSmallIntegerField(_("外出周期（天）"), default=2)
    # "For at most 2 hours"; None: no limit.
    exit_max_minutes = models.PositiveIntegerField(_("每次外出时限（分钟）"), null=True, blank=True)
    # No exit at all while the household lives under the strictest risk level (封控/高风险).
    sealed_no_exit = models.BooleanField(_("封控区不得外出"), default=True)
    # Going out needs a valid test (the status's overdue flag: TONGXIN_RULES test_validity_hours).
    exit_needs_test = models.BooleanField(_("外出须有有效核酸"), default=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("出入政策")
        verbose_name_plural = _("出入政策")

    def __str__(self) -> str:
        return f"{self.compound}"


class Pass(models.Model):
    """An entry pass: a resident's, or a household's when the compound issues one per household.
    `number` is what the QR code names; the code itself is signed, never stored."""

    class Revoked(models.TextChoices):
        LOST = "lost", _("丢失")
        MOVED_OUT = "moved_out", _("已搬离")
        REISSUED = "reissued", _("已补发新证")
        OTHER = "other", _("其他")

    number = models.CharField(_("证号"), max_length=16, unique=True)
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+", db_index=False)
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    issued_at = models.DateTimeField(_("发证时间"))
    expires_at = models.DateTimeField(_("有效期至"))
    revoked_at = models.DateTimeField(_("注销时间"), null=True, blank=True)
    revoked_reason = models.CharField(_("注销原因"), max_length=10, choices=Revoked.choices, blank=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("出入证")
        verbose_name_plural = _("出入证")
        indexes = [models.Index(fields=["compound", "revoked_at"], name="pass_compound_revoked_idx")]
        constraints = [
            # At most one live pass per resident (per household for household passes).
            models.UniqueConstraint(
                fields=["resident"],
                condition=Q(revoked_at__isnull=True, resident__isnull=False),
                name="pass_one_live_per_resident",
            ),
            models.UniqueConstraint(
                fields=["household"],
                condition=Q(revoked_at__isnull=True, resident__isnull=True),
                name="pass_one_live_per_household",
            ),
        ]

    def __str__(self) -> str:
        return self.number


class Gate(models.Model):
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    name = models.CharField(_("卡口名称"), max_length=40)
    active = models.BooleanField(_("启用"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("卡口")
        verbose_name_plural = _("卡口")
        constraints = [models.UniqueConstraint(fields=["compound", "name"], name="gate_name_unique")]

    def __str__(self) -> str:
        return self.name


class Visitor(models.Model):
    """Someone let in who is not checked by pass: a visitor, or a resident returning from
    elsewhere (who then gets the arrival rule on their status)."""

    class Kind(models.TextChoices):
        VISITOR = "visitor", _("访客")
        RETURNING = "returning", _("返回居民")

    class CodeColor(models.TextChoices):
        GREEN = "green", _("绿码")
        YELLOW = "yellow", _("黄码")
        RED = "red", _("红码")

    scan_id = models.UUIDField(unique=True)  # made on the gate device
    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices)
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+", db_index=False)
    gate = models.ForeignKey(
        Gate, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone_cipher = models.TextField(blank=True, editable=False)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True, editable=False)
    reason = models.CharField(_("事由"), max_length=200, blank=True)
    visiting = models.ForeignKey(
        Household,
        verbose_name=_("被访住户"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    resident = models.ForeignKey(  # the returning resident
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    code_color = models.CharField(_("健康码颜色"), max_length=10, choices=CodeColor.choices)
    came_from = models.CharField(_("从何处来"), max_length=100, blank=True)
    arrived_at = models.DateTimeField(_("到达时间"))
    left_at = models.DateTimeField(_("离开时间"), null=True, blank=True)
    admitted = models.BooleanField(_("准入"), default=True)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )

    class Meta:
        verbose_name = _("访客与返回人员")
        verbose_name_plural = _("访客与返回人员")
        indexes = [models.Index(fields=["compound", "arrived_at"], name="visitor_compound_day_idx")]

    def __str__(self) -> str:
        return self.name


class AccessEvent(models.Model):
    """One check at a gate: who (a resident, by pass or looked up; or a visitor), which way, the
    verdict and its reason, who was on duty, and whether the device decided it offline."""

    class Direction(models.TextChoices):
        IN = "in", _("进")
        OUT = "out", _("出")

    class Method(models.TextChoices):
        PASS = "pass", _("出入证")
        DOCUMENT = "document", _("证件号")
        ROOM = "room", _("房号/姓名")
        VISITOR = "visitor", _("访客登记")

    scan_id = models.UUIDField(unique=True)  # made on the gate device
    # No reference carries a database constraint: the check writes them from rows it has just read,
    # and a constraint's check would lock the gate's, the compound's and the volunteer's rows from
    # every check at once (Django still applies on_delete). The same holds for Outing.
    gate = models.ForeignKey(
        Gate, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    at = models.DateTimeField(_("时间"))
    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    method = models.CharField(_("核验方式"), max_length=10, choices=Method.choices)
    resident = models.ForeignKey(
        Resident, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_constraint=False
    )
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    pass_number = models.CharField(_("证号"), max_length=16, blank=True)
    visitor = models.ForeignKey(
        Visitor,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    allowed = models.BooleanField(_("放行"))
    reason = models.CharField(_("原因"), max_length=20)  # a code of access.verdict.REASONS
    emergency = models.BooleanField(_("紧急就医"), default=False)
    offline = models.BooleanField(_("离线判定"), default=False)
    on_duty = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("出入记录")
        verbose_name_plural = _("出入记录")
        indexes = [
            models.Index(fields=["compound", "at"], name="access_compound_at_idx"),
            models.Index(fields=["gate", "at"], name="access_gate_at_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.gate_id} {self.direction} {self.at:%Y-%m-%d %H:%M}"


class Outing(models.Model):
    """A resident's exit through a gate and, later, their return."""

    # None: out by a household pass with nobody of the household named (the pass names no one).
    resident = models.ForeignKey(
        Resident,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    household = models.ForeignKey(
        Household, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    out_at = models.DateTimeField(_("外出时间"))
    due_at = models.DateTimeField(_("应返回时间"), null=True, blank=True)  # None: no time limit
    back_at = models.DateTimeField(_("返回时间"), null=True, blank=True)
    emergency = models.BooleanField(_("紧急就医"), default=False)
    out_event = models.ForeignKey(
        AccessEvent, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )

    class Meta:
        verbose_name = _("外出")
        verbose_name_plural = _("外出")
        indexes = [
            models.Index(fields=["household", "out_at"], name="outing_household_idx"),
            models.Index(fields=["resident", "out_at"], name="outing_resident_idx"),
            models.Index(
                fields=["compound", "due_at"], condition=Q(back_at__isnull=True), name="outing_out_now_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id} {self.out_at:%Y-%m-%d %H:%M}"
