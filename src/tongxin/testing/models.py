"""Mass testing: rounds and their schedule, sampling tables, tubes, bags, person-samples, lab
results, retests of positive pools, exemptions, alerts to the team.

The person-sample (`Sample`) is the record of "this resident was swabbed into this tube at this
time"; its result is the tube's (a pooled tube is negative or positive for everyone in it), so a
lab file of a million tubes updates a million rows, not ten million. The outbreak module reads
samples and results through `status_sources` when it recomputes a resident's status.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Building, Compound, Household, Resident, Unit

POOL_SIZES = (1, 5, 10, 20)
POOL_SIZE_CHOICES = [(n, _("单管") if n == 1 else format_lazy(_("{n}混1"), n=n)) for n in POOL_SIZES]


class TestRound(models.Model):
    """One screening (e.g. 丁香苑小区 2022-11-24): the compounds or buildings it covers, its
    sampling points and tables, its schedule by unit and the pool size per group."""

    __test__ = False

    class State(models.TextChoices):
        PLANNED = "planned", _("计划中")
        SAMPLING = "sampling", _("采样中")
        CLOSED = "closed", _("已结束")

    name = models.CharField(_("名称"), max_length=80)
    day = models.DateField(_("日期"))
    starts_at = models.TimeField(_("开始时间"), default="06:00")
    compounds = models.ManyToManyField(Compound, through="RoundCompound", related_name="+")
    pool_size = models.PositiveSmallIntegerField(_("混采人数"), choices=POOL_SIZE_CHOICES, default=10)
    sealed_household_tubes = models.BooleanField(_("封控楼栋一户一管"), default=True)
    isolated_single_tubes = models.BooleanField(_("隔离人员单管"), default=True)
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.PLANNED)
    note = models.CharField(_("备注"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检测轮次")
        verbose_name_plural = _("检测轮次")
        ordering = ["-day", "-id"]
        indexes = [models.Index(fields=["day"], name="round_day_idx")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.name}"


class RoundCompound(models.Model):
    """A compound a round covers; `buildings` empty means the whole compound."""

    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="covers")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    buildings = models.ManyToManyField(Building, blank=True, related_name="+")

    class Meta:
        verbose_name = _("轮次覆盖小区")
        verbose_name_plural = _("轮次覆盖小区")
        constraints = [models.UniqueConstraint(fields=["round", "compound"], name="round_compound_unique")]
        indexes = [models.Index(fields=["compound", "round"], name="roundcompound_compound_idx")]

    def __str__(self) -> str:
        return f"{self.round_id}:{self.compound_id}"


class SamplingPoint(models.Model):
    """A sampling point of a round (采样点), with its tables (采样台)."""

    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="points")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    name = models.CharField(_("名称"), max_length=60)
    location = models.CharField(_("位置"), max_length=120, blank=True)

    class Meta:
        verbose_name = _("采样点")
        verbose_name_plural = _("采样点")
        ordering = ["round", "id"]

    def __str__(self) -> str:
        return self.name


class SamplingTable(models.Model):
    """A sampling table (or a door-to-door team) of a point: tubes opened there take its pool
    size unless the tube code says otherwise."""

    class Mode(models.TextChoices):
        STATION = "station", _("定点采样")
        DOOR_TO_DOOR = "door", _("上门采样")

    point = models.ForeignKey(SamplingPoint, on_delete=models.CASCADE, related_name="tables")
    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="tables")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    label = models.CharField(_("采样台"), max_length=40)
    pool_size = models.PositiveSmallIntegerField(_("混采人数"), choices=POOL_SIZE_CHOICES, default=10)
    mode = models.CharField(_("方式"), max_length=8, choices=Mode.choices, default=Mode.STATION)

    class Meta:
        verbose_name = _("采样台")
        verbose_name_plural = _("采样台")
        ordering = ["round", "id"]

    def __str__(self) -> str:
        return self.label


class ScheduleSlot(models.Model):
    """When a unit comes down to test (or is sampled at the door), at which point."""

    class Mode(models.TextChoices):
        COME_DOWN = "down", _("下楼检测")
        DOOR_TO_DOOR = "door", _("上门采样")

    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="slots")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="+")
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+")
    point = models.ForeignKey(
        SamplingPoint, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    starts_at = models.DateTimeField(_("开始"))
    ends_at = models.DateTimeField(_("结束"))
    people = models.PositiveIntegerField(_("人数"), default=0)
    mode = models.CharField(_("方式"), max_length=6, choices=Mode.choices, default=Mode.COME_DOWN)
    pool_size = models.PositiveSmallIntegerField(_("混采人数"), default=10)

    class Meta:
        verbose_name = _("检测时段")
        verbose_name_plural = _("检测时段")
        ordering = ["round", "starts_at", "id"]
        constraints = [models.UniqueConstraint(fields=["round", "unit"], name="slot_round_unit_unique")]
        indexes = [models.Index(fields=["unit", "round"], name="slot_unit_idx")]

    def __str__(self) -> str:
        return f"{self.unit_id} {self.starts_at:%H:%M}"


class Bag(models.Model):
    """A sealed bag of up to 20 tubes; the courier scans it, the lab checks tubes against it."""

    code = models.CharField(_("袋码"), max_length=40, unique=True)
    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="bags")
    table = models.ForeignKey(
        SamplingTable, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    sealed_at = models.DateTimeField(_("封袋时间"))
    scan_id = models.UUIDField(unique=True)
    sealed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("转运袋")
        verbose_name_plural = _("转运袋")

    def __str__(self) -> str:
        return self.code


class Tube(models.Model):
    """A sampling tube: opened at a table, filled with up to `pool_size` people, closed, bagged,
    and given one result by the lab."""

    class Kind(models.TextChoices):
        POOL = "pool", _("混采")
        SINGLE = "single", _("单采")
        HOUSEHOLD = "household", _("一户一管")
        RETEST = "retest", _("单管复核")

    class Result(models.TextChoices):
        PENDING = "pending", _("待出结果")
        NEGATIVE = "negative", _("阴性")
        POSITIVE = "positive", _("阳性")

    code = models.CharField(_("管码"), max_length=40, unique=True)
    # A lab file updates a million tubes at once: every index on a column it changes (result,
    # result_at) makes each update rewrite the row's index entries, and every index at all keeps
    # the update from staying on its page. So the indexes are the code, the bag's tubes and
    # (round, compound); the round, table, compound and opener carry no index of their own.
    # Nor a database constraint: the sync action writes them from the table and round it has just
    # read, and a constraint's check would lock the round's row from every table's transaction
    # at once (Django still applies on_delete).
    round = models.ForeignKey(
        TestRound, on_delete=models.CASCADE, related_name="tubes", db_index=False, db_constraint=False
    )
    table = models.ForeignKey(
        SamplingTable,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices, default=Kind.POOL)
    pool_size = models.PositiveSmallIntegerField(_("混采人数"))
    people = models.PositiveSmallIntegerField(_("已采人数"), default=0)
    opened_at = models.DateTimeField(_("开管时间"))
    closed_at = models.DateTimeField(_("封管时间"), null=True, blank=True)
    bag = models.ForeignKey(Bag, null=True, blank=True, on_delete=models.SET_NULL, related_name="tubes")
    result = models.CharField(_("结果"), max_length=10, choices=Result.choices, default=Result.PENDING)
    result_at = models.DateTimeField(_("出结果时间"), null=True, blank=True)
    scan_id = models.UUIDField(unique=True)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("试管")
        verbose_name_plural = _("试管")
        indexes = [models.Index(fields=["round", "compound"], name="tube_round_compound_idx")]

    def __str__(self) -> str:
        return self.code


class Sample(models.Model):
    """One person swabbed into one tube. `scan_id` is made on the sampling device, so a resend
    never stores a scan twice; a person is sampled once per round except for retests."""

    __test__ = False

    scan_id = models.UUIDField(unique=True)
    # Every index and foreign-key check costs each of millions of inserts: the round and the
    # resident are covered by the composite indexes below. No reference carries a database
    # constraint: the sync action writes them all from rows it has just read in the same
    # transaction (the round, the tubes locked FOR UPDATE, the residents in the actor's scope, the
    # place copies: compound, building, unit, the resident's at sampling time, for coverage by
    # unit), and a constraint's check would lock each resident's row, a write to the resident
    # table per scan. Django still applies on_delete.
    round = models.ForeignKey(
        TestRound, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="samples", db_constraint=False)
    resident = models.ForeignKey(
        Resident, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    compound = models.ForeignKey(
        Compound, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    building = models.ForeignKey(
        Building, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    unit = models.ForeignKey(
        Unit, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    sampled_at = models.DateTimeField(_("采样时间"))
    is_retest = models.BooleanField(_("复核"), default=False)
    table = models.ForeignKey(
        SamplingTable,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )

    class Meta:
        verbose_name = _("采样记录")
        verbose_name_plural = _("采样记录")
        constraints = [
            models.UniqueConstraint(
                fields=["round", "resident"], condition=Q(is_retest=False), name="sample_once_per_round"
            ),
        ]
        indexes = [
            models.Index(fields=["resident", "sampled_at"], name="sample_resident_idx"),
            models.Index(fields=["round", "compound", "unit"], name="sample_round_unit_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.resident_id}@{self.tube_id}"


class Exemption(models.Model):
    """A person not expected in a round, with the reason (away, moved out, in hospital, sampled
    elsewhere)."""

    class Reason(models.TextChoices):
        AWAY = "away", _("外出")
        MOVED_OUT = "moved_out", _("已搬离")
        HOSPITAL = "hospital", _("住院")
        ELSEWHERE = "elsewhere", _("已在别处采样")
        OTHER = "other", _("其他")

    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="exemptions")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(_("原因"), max_length=10, choices=Reason.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("免检")
        verbose_name_plural = _("免检")
        constraints = [models.UniqueConstraint(fields=["round", "resident"], name="exemption_unique")]
        indexes = [models.Index(fields=["round", "compound"], name="exemption_round_idx")]

    def __str__(self) -> str:
        return f"{self.resident_id}: {self.reason}"


class Retest(models.Model):
    """A single-tube retest owed by a person whose pooled tube was positive (待复核)."""

    class State(models.TextChoices):
        OPEN = "open", _("待复核采样")
        SAMPLED = "sampled", _("已采样待结果")
        NEGATIVE = "negative", _("复核阴性")
        POSITIVE = "positive", _("复核阳性")

    round = models.ForeignKey(TestRound, on_delete=models.CASCADE, related_name="retests")
    resident = models.ForeignKey(Resident, on_delete=models.CASCADE, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="+")
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+")
    pool_tube = models.ForeignKey(Tube, on_delete=models.CASCADE, related_name="retests")
    pool_sampled_at = models.DateTimeField(_("混采采样时间"))
    state = models.CharField(_("状态"), max_length=10, choices=State.choices, default=State.OPEN)
    sample = models.ForeignKey(Sample, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("复核任务")
        verbose_name_plural = _("复核任务")
        ordering = ["compound", "household", "id"]
        constraints = [
            models.UniqueConstraint(fields=["pool_tube", "resident"], name="retest_once_per_pool"),
        ]
        indexes = [
            models.Index(fields=["compound", "state"], name="retest_compound_state_idx"),
            models.Index(fields=["household", "state"], name="retest_household_idx"),
            models.Index(fields=["resident", "state"], name="retest_resident_idx"),
        ]

    def __str__(self) -> str:
        return f"retest {self.resident_id} ({self.state})"


class LabImport(models.Model):
    """One lab result file applied (or refused): what it held and what it did."""

    round = models.ForeignKey(TestRound, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file_name = models.CharField(_("文件"), max_length=200)
    rows = models.PositiveIntegerField(default=0)
    applied = models.PositiveIntegerField(default=0)
    positive_tubes = models.PositiveIntegerField(default=0)
    people_under_review = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("检测结果导入")
        verbose_name_plural = _("检测结果导入")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name


class Alert(models.Model):
    """Something the compound's team must act on now (a positive pool), shown to its health roles
    until someone acknowledges it."""

    class Kind(models.TextChoices):
        POSITIVE_POOL = "positive_pool", _("混采阳性")
        POSITIVE_SINGLE = "positive_single", _("单管阳性")

    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    round = models.ForeignKey(TestRound, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类别"), max_length=20, choices=Kind.choices)
    text = models.CharField(_("内容"), max_length=300)
    created_at = models.DateTimeField(auto_now_add=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("提醒")
        verbose_name_plural = _("提醒")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["compound", "acknowledged_at"], name="alert_open_idx")]

    def __str__(self) -> str:
        return self.text
