"""Places and people: area (city > district > subdistrict > community) > compound > building > unit >
household > resident.

Residents, households and units carry their compound (and building) as well as their parent, so
that scoping and per-unit counts are one indexed filter at any scale. Actions keep them in step.
"""

import datetime
import re
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def number_sort_key(number: str) -> int:
    """ "10" sorts after "9": the leading digits of a building or unit number, 0 when none."""
    match = re.match(r"\d+", number or "")
    return int(match.group()) if match else 0


class Area(models.Model):
    """An administrative area. `path` is the codes from the city down, so a prefix selects a subtree."""

    class Level(models.TextChoices):
        CITY = "city", _("市")
        DISTRICT = "district", _("区")
        SUBDISTRICT = "subdistrict", _("街道")
        COMMUNITY = "community", _("社区")

    level = models.CharField(_("层级"), max_length=12, choices=Level.choices)
    code = models.CharField(_("代码"), max_length=12, unique=True, help_text=_("市、区用GB/T 2260代码"))
    name = models.CharField(_("名称"), max_length=60)
    parent = models.ForeignKey(
        "self", verbose_name=_("上级"), null=True, blank=True, on_delete=models.PROTECT
    )
    path = models.CharField(_("路径"), max_length=80, unique=True, editable=False)

    class Meta:
        verbose_name = _("行政区域")
        verbose_name_plural = _("行政区域")
        ordering = ["path"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.path = (self.parent.path if self.parent else "") + self.code + "/"
        super().save(*args, **kwargs)


class Compound(models.Model):
    """小区. `area_path` copies its community's path so scoping by area needs no join."""

    code = models.CharField(_("小区代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    community = models.ForeignKey(
        Area, verbose_name=_("社区"), on_delete=models.PROTECT, related_name="compounds"
    )
    area_path = models.CharField(max_length=80, editable=False, db_index=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("小区")
        verbose_name_plural = _("小区")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name

    def save(self, *args, **kwargs):
        self.area_path = self.community.path
        super().save(*args, **kwargs)


class Building(models.Model):
    compound = models.ForeignKey(
        Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="buildings"
    )
    number = models.CharField(_("楼号"), max_length=20)
    floors = models.PositiveSmallIntegerField(_("层数"), null=True, blank=True)
    sort_key = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("楼栋")
        verbose_name_plural = _("楼栋")
        ordering = ["compound", "sort_key", "number"]
        constraints = [models.UniqueConstraint(fields=["compound", "number"], name="building_number_unique")]

    def __str__(self) -> str:
        return f"{self.number}号楼"

    def save(self, *args, **kwargs):
        self.sort_key = number_sort_key(self.number)
        super().save(*args, **kwargs)


class Unit(models.Model):
    building = models.ForeignKey(
        Building, verbose_name=_("楼栋"), on_delete=models.CASCADE, related_name="units"
    )
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+", editable=False)
    number = models.CharField(_("单元号"), max_length=20)
    sort_key = models.PositiveIntegerField(default=0, editable=False)

    class Meta:
        verbose_name = _("单元")
        verbose_name_plural = _("单元")
        ordering = ["building", "sort_key", "number"]
        constraints = [models.UniqueConstraint(fields=["building", "number"], name="unit_number_unique")]

    def __str__(self) -> str:
        return f"{self.building}{self.number}单元"

    def save(self, *args, **kwargs):
        self.sort_key = number_sort_key(self.number)
        self.compound_id = self.building.compound_id
        super().save(*args, **kwargs)


class Household(models.Model):
    class Occupancy(models.TextChoices):
        UNKNOWN = "unknown", _("未核实")
        OCCUPIED = "occupied", _("有人居住")
        VACANT = "vacant", _("空置")

    unit = models.ForeignKey(
        Unit, verbose_name=_("单元"), on_delete=models.CASCADE, related_name="households"
    )
    building = models.ForeignKey(Building, on_delete=models.CASCADE, related_name="+", editable=False)
    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+", editable=False)
    room = models.CharField(_("房号"), max_length=20)
    note = models.CharField(_("备注"), max_length=500, blank=True)
    # Whether anyone really lives here, as last found at the door (a distribution, a visit).
    occupancy = models.CharField(
        _("入住情况"),
        max_length=10,
        choices=Occupancy.choices,
        default=Occupancy.UNKNOWN,
        db_default=Occupancy.UNKNOWN,  # the bulk loaders (synth, COPY) insert without it
    )
    occupancy_verified_on = models.DateField(_("入住核实日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("户")
        verbose_name_plural = _("户")
        ordering = ["unit", "room"]
        constraints = [models.UniqueConstraint(fields=["unit", "room"], name="household_room_unique")]

    def __str__(self) -> str:
        return f"{self.unit}{self.room}室"

    def save(self, *args, **kwargs):
        self.building_id = self.unit.building_id
        self.compound_id = self.unit.compound_id
        super().save(*args, **kwargs)


class Resident(models.Model):
    class DocumentType(models.TextChoices):
        MAINLAND_ID = "mainland_id", _("居民身份证")
        PASSPORT = "passport", _("护照")
        HK_MACAU = "hk_macau", _("港澳居民来往内地通行证")
        TAIWAN = "taiwan", _("台湾居民来往大陆通行证")
        FOREIGN_PR = "foreign_pr", _("外国人永久居留身份证")
        OTHER = "other", _("其他证件")

    class Sex(models.TextChoices):
        MALE = "M", _("男")
        FEMALE = "F", _("女")
        UNKNOWN = "", _("未知")

    class Relation(models.TextChoices):
        HEAD = "head", _("户主")
        SPOUSE = "spouse", _("配偶")
        CHILD = "child", _("子女")
        PARENT = "parent", _("父母")
        GRANDPARENT = "grandparent", _("祖父母/外祖父母")
        GRANDCHILD = "grandchild", _("孙子女/外孙子女")
        SIBLING = "sibling", _("兄弟姐妹")
        CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
        TENANT = "tenant", _("租户")
        OTHER = "other", _("其他")

    class Presence(models.TextChoices):
        LIVING = "living", _("在住")
        AWAY = "away", _("外出")
        MOVED_OUT = "moved_out", _("已搬离")
        UNVERIFIED = "unverified", _("未核实")

    class Mobility(models.TextChoices):
        NONE = "", _("常住")
        RETURNING = "returning", _("返回人员")
        MOBILE = "mobile", _("流动人员")

    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.PROTECT, related_name="residents"
    )
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="+", editable=False)
    building = models.ForeignKey(Building, on_delete=models.PROTECT, related_name="+", editable=False)
    compound = models.ForeignKey(Compound, on_delete=models.PROTECT, related_name="+", editable=False)

    name = models.CharField(_("姓名"), max_length=50, db_index=True)
    document_type = models.CharField(
        _("证件类型"), max_length=12, choices=DocumentType.choices, default=DocumentType.MAINLAND_ID
    )
    document_cipher = models.TextField(editable=False)
    document_hash = models.CharField(max_length=64, editable=False)
    document_masked = models.CharField(_("证件号码"), max_length=40, editable=False)
    birth_date = models.DateField(_("出生日期"), null=True, blank=True, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices, blank=True)
    phone_cipher = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("手机号"), max_length=20, blank=True, editable=False)
    relation = models.CharField(
        _("与户主关系"), max_length=16, choices=Relation.choices, default=Relation.OTHER
    )

    lives_alone = models.BooleanField(_("独居"), default=False)
    veteran = models.BooleanField(_("退役军人"), default=False)
    serious_illness = models.BooleanField(_("重病"), default=False)
    disabled = models.BooleanField(_("残疾"), default=False)
    pregnant = models.BooleanField(_("孕妇"), default=False)
    infant = models.BooleanField(_("婴幼儿"), default=False)
    regular_medication = models.BooleanField(_("长期服药"), default=False)
    limited_mobility = models.BooleanField(_("行动不便"), default=False)

    presence = models.CharField(
        _("居住状态"), max_length=12, choices=Presence.choices, default=Presence.UNVERIFIED
    )
    presence_verified_on = models.DateField(_("核实日期"), null=True, blank=True)
    presence_verified_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("核实人"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    mobility = models.CharField(
        _("人员类别"), max_length=12, choices=Mobility.choices, blank=True, default=""
    )
    arrived_on = models.DateField(_("抵达日期"), null=True, blank=True)
    arrived_from = models.CharField(_("来自"), max_length=100, blank=True)
    registered_address = models.CharField(_("户籍地址"), max_length=200, blank=True)
    note = models.CharField(_("备注"), max_length=500, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    TAG_FIELDS = (
        "lives_alone",
        "veteran",
        "serious_illness",
        "disabled",
        "pregnant",
        "infant",
        "regular_medication",
        "limited_mobility",
    )
    VULNERABLE_FIELDS = ("lives_alone", "veteran", "serious_illness")

    class Meta:
        verbose_name = _("居民")
        verbose_name_plural = _("居民")
        ordering = ["household", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["document_hash", "document_type"], name="resident_document_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["compound", "name"], name="resident_compound_name_idx"),
            # Hashes are only ever matched exactly: a plain index, without PostgreSQL's LIKE twin.
            models.Index(fields=["phone_hash"], name="resident_phone_hash_idx"),
            models.Index(fields=["compound", "birth_date"], name="resident_compound_birth_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def age(self, on: datetime.date | None = None) -> int | None:
        if not self.birth_date:
            return None
        on = on or timezone.localdate()
        return (
            on.year
            - self.birth_date.year
            - ((on.month, on.day) < (self.birth_date.month, self.birth_date.day))
        )

    @property
    def is_elderly(self) -> bool:
        age = self.age()
        return age is not None and age >= settings.TONGXIN_ELDERLY_AGE

    def tags(self) -> list[str]:
        """Labels of the resident's tags, elderly first (derived from the birth date)."""
        labels = [str(_("老年人"))] if self.is_elderly else []
        labels += [str(self._meta.get_field(f).verbose_name) for f in self.TAG_FIELDS if getattr(self, f)]
        return labels

    @property
    def is_vulnerable(self) -> bool:
        return self.is_elderly or any(getattr(self, f) for f in self.VULNERABLE_FIELDS)


def elderly_born_on_or_before(on: datetime.date | None = None) -> datetime.date:
    """The latest birth date of an elderly resident on `on` (today by default)."""
    on = on or timezone.localdate()
    years = settings.TONGXIN_ELDERLY_AGE
    try:
        return on.replace(year=on.year - years)
    except ValueError:  # 29 February
        return on.replace(year=on.year - years, day=28)


class ImportUpload(models.Model):
    """A file uploaded to the import wizard, kept (encrypted) between the preview and the confirm.

    Stored in the database so that the confirm may reach another app server than the upload.
    Only its uploader may use it; it expires after TONGXIN_IMPORT_UPLOAD_HOURS and is deleted once
    imported.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    uploader = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("上传人"), on_delete=models.CASCADE, related_name="+"
    )
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    file_name = models.CharField(_("文件名"), max_length=200)
    content_cipher = models.TextField(editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("待导入文件")
        verbose_name_plural = _("待导入文件")

    def __str__(self) -> str:
        return self.file_name

    @property
    def expires_at(self) -> datetime.datetime:
        return self.created_at + datetime.timedelta(hours=settings.TONGXIN_IMPORT_UPLOAD_HOURS)

    @property
    def content(self) -> bytes:
        from tongxin.core.crypto import decrypt_bytes

        return decrypt_bytes(self.content_cipher)

    @content.setter
    def content(self, data: bytes) -> None:
        from tongxin.core.crypto import encrypt_bytes

        self.content_cipher = encrypt_bytes(data)
