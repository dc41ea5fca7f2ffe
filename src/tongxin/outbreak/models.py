"""Outbreak control: cases, contacts, transfers, isolations, check-ins, test facts, risk areas,
compound status, and each resident's stored status.

Every record carries its compound for scoping. Records two people may edit at once (cases,
isolations, risk areas) carry a `version`: an action saves only when the version it read is still
current, so a stale edit is refused instead of overwriting the other one.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Building, Compound, Household, Resident, Unit


class PersonFields(models.Model):
    """A resident of the registry, or someone who is not (a visitor, a worker, a person elsewhere)."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    name = models.CharField(_("姓名"), max_length=50)
    phone_cipher = models.TextField(blank=True, editable=False)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True, editable=False)
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    unit = models.ForeignKey(
        Unit, verbose_name=_("单元"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household, verbose_name=_("户"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.CharField(_("备注"), max_length=500, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )

    class Meta:
        abstract = True

    def __str__(self) -> str:
        return self.name


class Case(PersonFields):
    class Source(models.TextChoices):
        POOL_RETEST = "pool_retest", _("混采复核阳性")
        SINGLE_TEST = "single_test", _("单采阳性")
        ANTIGEN = "antigen", _("抗原阳性")
        EXTERNAL = "external", _("外地通报")

    class TakenTo(models.TextChoices):
        NOT_YET = "", _("待转运")
        HOSPITAL = "hospital", _("定点医院")
        SHELTER = "shelter", _("方舱")
        HOME = "home", _("居家")

    class Outcome(models.TextChoices):
        ACTIVE = "active", _("治疗/隔离中")
        RECOVERED = "recovered", _("已出院/解除")
        MOVED_AWAY = "moved_away", _("已转出")
        DIED = "died", _("死亡")

    confirmed_on = models.DateField(_("确诊日期"), db_index=True)
    sampled_at = models.DateTimeField(_("采样时间"), null=True, blank=True)
    source = models.CharField(_("阳性来源"), max_length=16, choices=Source.choices)
    taken_to = models.CharField(_("转运去向"), max_length=12, choices=TakenTo.choices, blank=True, default="")
    taken_to_place = models.CharField(_("转运地点"), max_length=100, blank=True)
    taken_at = models.DateTimeField(_("转运时间"), null=True, blank=True)
    outcome = models.CharField(_("转归"), max_length=12, choices=Outcome.choices, default=Outcome.ACTIVE)
    outcome_on = models.DateField(_("转归日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("阳性病例")
        verbose_name_plural = _("阳性病例")
        ordering = ["-confirmed_on", "-id"]
        indexes = [models.Index(fields=["compound", "confirmed_on"], name="case_compound_date_idx")]


class Contact(PersonFields):
    class Kind(models.TextChoices):
        CLOSE = "close", _("密接")
        SECONDARY = "secondary", _("次密接")

    kind = models.CharField(_("类别"), max_length=10, choices=Kind.choices, default=Kind.CLOSE)
    cases = models.ManyToManyField(Case, verbose_name=_("暴露的病例"), related_name="contacts")
    last_exposure_on = models.DateField(_("末次暴露日期"), null=True, blank=True)
    identified_on = models.DateField(_("判定日期"))
    became_case = models.OneToOneField(
        Case,
        verbose_name=_("后转为阳性"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="from_contact",
    )

    class Meta:
        verbose_name = _("密接")
        verbose_name_plural = _("密接")
        ordering = ["-identified_on", "-id"]
        indexes = [models.Index(fields=["compound", "identified_on"], name="contact_compound_date_idx")]


class TransferBatch(models.Model):
    """One trip to central isolation: who went, in what, when, where to, escorted by whom."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    vehicle = models.CharField(_("车辆"), max_length=50)
    departed_at = models.DateTimeField(_("出发时间"))
    destination = models.CharField(_("隔离点"), max_length=100)
    escort = models.CharField(_("随车人员"), max_length=100, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("转运批次")
        verbose_name_plural = _("转运批次")
        ordering = ["-departed_at"]

    def __str__(self) -> str:
        return f"{self.departed_at:%m-%d %H:%M} {self.vehicle} → {self.destination}"


class Isolation(models.Model):
    """A period of central isolation, home isolation or health monitoring of one person.

    Days count from `starts_on` as day 1; `planned_end_on` and `test_days` come from the rule set
    when the isolation is created. Release before or after the plan needs a reason.
    """

    class Kind(models.TextChoices):
        CENTRAL = "central", _("集中隔离")
        HOME = "home", _("居家隔离")
        MONITORING = "monitoring", _("居家健康监测")

    class Rule(models.TextChoices):
        CLOSE_CONTACT = "close_contact", _("密接")
        HIGH_RISK_LEAVER = "high_risk_leaver", _("高风险区外出人员")
        ARRIVAL = "arrival", _("外地返回")
        OTHER = "other", _("其他")

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    contact = models.ForeignKey(
        Contact,
        verbose_name=_("密接"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="isolations",
    )
    name = models.CharField(_("姓名"), max_length=50)
    kind = models.CharField(_("方式"), max_length=12, choices=Kind.choices)
    rule = models.CharField(_("依据"), max_length=20, choices=Rule.choices)
    batch = models.ForeignKey(
        TransferBatch,
        verbose_name=_("转运批次"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="isolations",
    )
    starts_on = models.DateField(_("开始日期"))
    planned_end_on = models.DateField(_("计划解除日期"))
    test_days = models.JSONField(_("检测日"), default=list)
    released_on = models.DateField(_("解除日期"), null=True, blank=True)
    release_reason = models.CharField(_("提前/延后解除原因"), max_length=200, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    version = models.PositiveIntegerField(default=1, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("隔离/监测")
        verbose_name_plural = _("隔离/监测")
        ordering = ["starts_on", "id"]
        indexes = [
            models.Index(fields=["compound", "released_on", "planned_end_on"], name="isolation_open_idx"),
            models.Index(fields=["resident", "starts_on"], name="isolation_resident_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.get_kind_display()} {self.starts_on}–{self.planned_end_on}"


class HealthCheckin(models.Model):
    class By(models.TextChoices):
        STAFF = "staff", _("工作人员")
        SELF = "self", _("本人")

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    isolation = models.ForeignKey(
        Isolation, null=True, blank=True, on_delete=models.CASCADE, related_name="checkins"
    )
    resident = models.ForeignKey(Resident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("时间"))
    temperature = models.DecimalField(_("体温"), max_digits=3, decimal_places=1)
    symptoms = models.CharField(_("症状"), max_length=200, blank=True)
    by = models.CharField(_("填报人"), max_length=6, choices=By.choices)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("健康打卡")
        verbose_name_plural = _("健康打卡")
        ordering = ["-at"]
        indexes = [
            models.Index(fields=["isolation", "at"], name="checkin_isolation_idx"),
            models.Index(fields=["resident", "at"], name="checkin_resident_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.temperature}"


class TestFact(models.Model):
    """A nucleic-acid or antigen result as far as a resident's status is concerned.

    Mass testing (a later module) writes these through `outbreak.actions.test_fact_record`; staff
    can record one by hand. Validity counts from the sampling time, not the result time.
    """

    __test__ = False  # not a pytest test class, whatever its name

    class Result(models.TextChoices):
        PENDING = "pending", _("待出结果")
        NEGATIVE = "negative", _("阴性")
        POOL_POSITIVE = "pool_positive", _("混采阳性待复核")
        POSITIVE = "positive", _("阳性")

    class Method(models.TextChoices):
        POOL = "pool", _("混采")
        SINGLE = "single", _("单采")
        ANTIGEN = "antigen", _("抗原")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    sampled_at = models.DateTimeField(_("采样时间"))
    method = models.CharField(_("方式"), max_length=8, choices=Method.choices)
    result = models.CharField(_("结果"), max_length=16, choices=Result.choices, default=Result.PENDING)
    result_at = models.DateTimeField(_("出结果时间"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("检测结果")
        verbose_name_plural = _("检测结果")
        ordering = ["-sampled_at"]
        indexes = [models.Index(fields=["resident", "sampled_at"], name="testfact_resident_idx")]

    def __str__(self) -> str:
        return f"{self.sampled_at:%Y-%m-%d %H:%M} {self.get_result_display()}"


class StatusFlag(models.Model):
    """A yellow flag set by a person or a rule: time-space overlap, missed test, arrival, other.

    It clears by itself after the rule set's negatives (2 in 3 days, 24 h apart) or by a person.
    """

    class Kind(models.TextChoices):
        OVERLAP = "overlap", _("时空伴随")
        MISSED_TEST = "missed_test", _("未按要求检测")
        ARRIVAL = "arrival", _("外地返回")
        OTHER = "other", _("其他风险")

    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=12, choices=Kind.choices)
    reason = models.CharField(_("原因"), max_length=200, blank=True)
    starts_at = models.DateTimeField(_("开始"))
    cleared_at = models.DateTimeField(_("解除"), null=True, blank=True)
    cleared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("黄码标记")
        verbose_name_plural = _("黄码标记")
        indexes = [models.Index(fields=["resident", "cleared_at"], name="flag_resident_idx")]

    def __str__(self) -> str:
        return self.get_kind_display()


class RiskArea(models.Model):
    """A household, unit, building or whole compound at a level of the active rule set.

    `clock_from` is the day the no-new-positive count starts (the last positive in the area); a new
    positive moves it. `lifted_on` set means the area is no longer at any risk level.
    """

    class Scope(models.TextChoices):
        HOUSEHOLD = "household", _("户")
        UNIT = "unit", _("单元")
        BUILDING = "building", _("楼栋")
        COMPOUND = "compound", _("小区")

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.PROTECT, related_name="+")
    scope = models.CharField(_("范围"), max_length=10, choices=Scope.choices)
    building = models.ForeignKey(Building, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    level = models.CharField(_("风险等级"), max_length=20)
    raised_on = models.DateField(_("划定日期"))
    level_since = models.DateField(_("当前等级起始"))
    clock_from = models.DateField(_("计时起点（最近阳性）"))
    lifted_on = models.DateField(_("解除日期"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    class Meta:
        verbose_name = _("风险区")
        verbose_name_plural = _("风险区")
        ordering = ["compound", "scope", "id"]
        indexes = [
            models.Index(fields=["compound", "lifted_on"], name="riskarea_active_idx"),
            models.Index(fields=["building", "lifted_on"], name="riskarea_building_idx"),
            models.Index(fields=["unit", "lifted_on"], name="riskarea_unit_idx"),
            models.Index(fields=["household", "lifted_on"], name="riskarea_household_idx"),
        ]

    def __str__(self) -> str:
        place = {"household": self.household, "unit": self.unit, "building": self.building}.get(self.scope)
        return str(place or self.compound)


class RiskAreaEvent(models.Model):
    """The timeline of an area: raised, clock restarted, screening, lowering proposed, lowered, lifted."""

    class Kind(models.TextChoices):
        RAISE = "raise", _("划定/升级")
        RESTART = "restart", _("新增阳性，重新计时")
        SCREENING = "screening", _("区域筛查")
        PROPOSE = "propose", _("系统建议降级")
        LOWER = "lower", _("降级")
        LIFT = "lift", _("解除")

    area = models.ForeignKey(RiskArea, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"))
    on = models.DateField(_("日期"))
    kind = models.CharField(_("事件"), max_length=10, choices=Kind.choices)
    from_level = models.CharField(max_length=20, blank=True)
    to_level = models.CharField(max_length=20, blank=True)
    all_negative = models.BooleanField(_("筛查全阴"), null=True, blank=True)
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("风险区记录")
        verbose_name_plural = _("风险区记录")
        ordering = ["area", "at", "id"]

    def __str__(self) -> str:
        return f"{self.on} {self.get_kind_display()}"


class CompoundStatusChange(models.Model):
    class Status(models.TextChoices):
        NORMAL = "normal", _("常态")
        QUIET = "quiet", _("静默")
        SEALED = "sealed", _("封控")
        UNSEALED = "unsealed", _("解封")

    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices)
    on = models.DateField(_("日期"))
    reason = models.CharField(_("原因"), max_length=300, blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("小区状态")
        verbose_name_plural = _("小区状态")
        ordering = ["compound", "on", "id"]
        indexes = [models.Index(fields=["compound", "on"], name="compound_status_idx")]

    def __str__(self) -> str:
        return f"{self.on} {self.get_status_display()}"


class ResidentStatus(models.Model):
    """The stored facts a resident's status is read from, in one primary-key lookup.

    `holds` is a list of {"color", "code", "text", "since", "until"} written when a fact changes
    (`outbreak.status.status_recompute`); a hold whose `until` has passed drops out at read time,
    and the overdue flag is worked out from `last_sampled_at` at read time, so time passing needs
    no batch job. `risk_level` is the strictest active area covering the resident's home.
    """

    resident = models.OneToOneField(Resident, primary_key=True, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    holds = models.JSONField(default=list)
    last_sampled_at = models.DateTimeField(null=True, blank=True)
    risk_level = models.CharField(max_length=20, blank=True)
    risk_area = models.ForeignKey(
        RiskArea, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("居民状态")
        verbose_name_plural = _("居民状态")
        # The few statuses that hold anything: a lab file of ten million negatives looks up who
        # among them could change without reading every resident's row.
        indexes = [models.Index(fields=["resident"], condition=~Q(holds=[]), name="status_holding_idx")]

    def __str__(self) -> str:
        return f"status of resident {self.resident_id}"
