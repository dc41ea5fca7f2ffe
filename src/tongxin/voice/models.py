"""Resident voice: requests (诉求) from every channel and their answers, groups of common questions
answered once, the hotline log, notices to residents and each channel's delivery of them."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from tongxin.registry.models import Compound, Household, Resident

USER = settings.AUTH_USER_MODEL


class Channel(models.TextChoices):
    """Where a request came from, and so where its answer goes back."""

    GROUP = "group", _("微信群消息")
    PRIVATE = "private", _("私信")
    HOTLINE = "hotline", _("热线电话")
    WALK_IN = "walk_in", _("来访")
    PORTAL = "portal", _("居民端")


class Category(models.TextChoices):
    SUPPLIES = "supplies", pgettext_lazy("request category", "物资")
    MEDICAL = "medical", _("就医")
    TESTING = "testing", _("核酸")
    ACCESS = "access", _("出入")
    COMPLAINT = "complaint", _("投诉")
    PRAISE = "praise", _("表扬")
    OTHER = "other", _("其他")


class State(models.TextChoices):
    NEW = "new", _("新诉求")
    ACKNOWLEDGED = "acknowledged", _("已确认")
    IN_PROGRESS = "in_progress", _("办理中")
    ANSWERED = "answered", _("已答复")
    CLOSED = "closed", _("已办结")


class QuestionGroup(models.Model):
    """Open requests that ask the same thing ("什么时候解封"), answered once, to everyone, by a notice."""

    compound = models.ForeignKey(Compound, on_delete=models.CASCADE, related_name="+")
    label = models.CharField(_("问题"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    answered_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    notice = models.ForeignKey(
        "Notice", on_delete=models.SET_NULL, null=True, blank=True, related_name="answered_groups"
    )

    class Meta:
        verbose_name = _("共性问题")
        verbose_name_plural = _("共性问题")
        indexes = [models.Index(fields=["compound", "answered_at"], name="voice_group_compound_idx")]

    def __str__(self):
        return self.label


class Request(models.Model):
    """诉求: what a resident asked, by which channel, who holds it, and the times that the response
    targets are measured on. It is never closed without an answer."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    household = models.ForeignKey(
        Household, verbose_name=_("户"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resident = models.ForeignKey(
        Resident, verbose_name=_("居民"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    asker = models.CharField(_("提出人"), max_length=50, blank=True)  # a group nickname, a caller's name
    channel = models.CharField(_("渠道"), max_length=10, choices=Channel.choices)
    text = models.TextField(_("内容"), max_length=2000)
    category = models.CharField(_("类别"), max_length=10, choices=Category.choices, default=Category.OTHER)
    urgent = models.BooleanField(_("紧急"), default=False)
    state = models.CharField(_("状态"), max_length=12, choices=State.choices, default=State.NEW)
    holder = models.ForeignKey(
        USER, verbose_name=_("经办人"), on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    group = models.ForeignKey(
        QuestionGroup, on_delete=models.SET_NULL, null=True, blank=True, related_name="requests"
    )
    supply_request = models.ForeignKey(
        "supplies.SupplyRequest", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField(_("收到时间"), default=timezone.now)
    acknowledged_at = models.DateTimeField(_("确认时间"), null=True, blank=True)
    first_answer_at = models.DateTimeField(_("首次答复时间"), null=True, blank=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("诉求")
        verbose_name_plural = _("诉求")
        indexes = [
            models.Index(fields=["compound", "state", "received_at"], name="voice_request_queue_idx"),
            models.Index(fields=["compound", "received_at"], name="voice_request_received_idx"),
            models.Index(fields=["household", "received_at"], name="voice_request_household_idx"),
            models.Index(fields=["group"], name="voice_request_group_idx"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="closed") | models.Q(first_answer_at__isnull=False),
                name="voice_request_closed_has_answer",
            ),
        ]

    def __str__(self):
        return self.text[:30]


class Answer(models.Model):
    """An answer kept with its request: sent back by the channel it came from, or by a notice."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="answers")
    text = models.TextField(_("答复"), max_length=2000)
    channel = models.CharField(_("答复渠道"), max_length=10, choices=Channel.choices)
    notice = models.ForeignKey("Notice", on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    at = models.DateTimeField(_("答复时间"), default=timezone.now)
    by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("答复")
        verbose_name_plural = _("答复")
        indexes = [models.Index(fields=["request", "at"], name="voice_answer_request_idx")]

    def __str__(self):
        return self.text[:30]


class Attachment(models.Model):
    """A photo or PDF given with a request; served only through a scoped view."""

    request = models.ForeignKey(Request, on_delete=models.CASCADE, related_name="attachments")
    file = models.FileField(upload_to="voice/%Y/%m/")
    name = models.CharField(max_length=100)
    content_type = models.CharField(max_length=30)
    size = models.PositiveIntegerField()

    class Meta:
        verbose_name = _("附件")
        verbose_name_plural = _("附件")

    def __str__(self):
        return self.name


class HotlineCall(models.Model):
    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    at = models.DateTimeField(_("来电时间"), default=timezone.now)
    caller = models.CharField(_("来电人"), max_length=50, blank=True)
    phone_cipher = models.TextField(blank=True, editable=False)
    phone_hash = models.CharField(max_length=64, blank=True, editable=False)
    phone_masked = models.CharField(_("来电号码"), max_length=20, blank=True, editable=False)
    asked = models.TextField(_("来电内容"), max_length=2000)
    answered = models.TextField(_("答复内容"), max_length=2000, blank=True)
    follow_up = models.CharField(_("后续跟进"), max_length=500, blank=True)
    request = models.ForeignKey(Request, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    taken_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("热线记录")
        verbose_name_plural = _("热线记录")
        indexes = [models.Index(fields=["compound", "at"], name="voice_call_compound_idx")]

    def __str__(self):
        return f"{self.caller} {self.at:%m-%d %H:%M}"


class Audience(models.TextChoices):
    COMPOUND = "compound", _("全小区")
    BUILDINGS = "buildings", _("指定楼栋")
    UNITS = "units", _("指定单元")
    SEALED = "sealed", _("封控住户")
    LIST = "list", _("指定名单")


class Notice(models.Model):
    """A notice to an audience of a compound, published now or at `scheduled_at`."""

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    title = models.CharField(_("标题"), max_length=100)
    body = models.TextField(_("正文"), max_length=5000)
    image = models.FileField(_("图片"), upload_to="notices/%Y/%m/", blank=True)
    attachment = models.FileField(_("附件"), upload_to="notices/%Y/%m/", blank=True)
    audience = models.CharField(_("对象"), max_length=10, choices=Audience.choices, default=Audience.COMPOUND)
    audience_ids = models.JSONField(default=list, blank=True)  # building, unit or household ids
    template = models.CharField(_("模板"), max_length=30, blank=True)
    scheduled_at = models.DateTimeField(_("计划发布时间"), null=True, blank=True)
    published_at = models.DateTimeField(_("发布时间"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(USER, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")

    class Meta:
        verbose_name = _("通知")
        verbose_name_plural = _("通知")
        indexes = [
            models.Index(fields=["compound", "published_at"], name="voice_notice_compound_idx"),
            models.Index(
                fields=["scheduled_at"], name="voice_notice_due_idx", condition=models.Q(published_at=None)
            ),
        ]

    def __str__(self):
        return self.title


class Endpoint(models.Model):
    """A compound's group robot (WeCom or DingTalk) by its webhook URL; URL and secret encrypted."""

    class Kind(models.TextChoices):
        WECOM = "wecom", _("企业微信群机器人")
        DINGTALK = "dingtalk", _("钉钉群机器人")

    compound = models.ForeignKey(Compound, verbose_name=_("小区"), on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(_("类型"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("名称"), max_length=50)
    url_cipher = models.TextField(editable=False)
    url_masked = models.CharField(_("地址"), max_length=120, editable=False)
    secret_cipher = models.TextField(blank=True, editable=False)  # DingTalk's signed mode
    active = models.BooleanField(_("启用"), default=True)

    class Meta:
        verbose_name = _("群机器人")
        verbose_name_plural = _("群机器人")
        constraints = [
            models.UniqueConstraint(fields=["compound", "name"], name="voice_endpoint_unique_name")
        ]

    def __str__(self):
        return self.name


class Delivery(models.Model):
    """One channel's delivery of a notice: its result, retried on failure without touching the
    other channels' deliveries."""

    class ChannelKind(models.TextChoices):
        WECOM = "wecom", _("企业微信")
        DINGTALK = "dingtalk", _("钉钉")
        SMS = "sms", _("短信")
        PORTAL = "portal", _("居民端")

    class Status(models.TextChoices):
        PENDING = "pending", _("待发送")
        SENT = "sent", _("已发送")
        FAILED = "failed", _("发送失败")

    notice = models.ForeignKey(Notice, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("渠道"), max_length=10, choices=ChannelKind.choices)
    endpoint = models.ForeignKey(Endpoint, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    status = models.CharField(_("状态"), max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    recipients = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("发送记录")
        verbose_name_plural = _("发送记录")
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="voice_delivery_due_idx",
                condition=models.Q(status="pending") | models.Q(status="failed"),
            )
        ]

    def __str__(self):
        return f"{self.notice_id} {self.channel} {self.status}"


class PortalCode(models.Model):
    """A one-time code sent by SMS to log a resident into the portal. Only the code's keyed hash is
    kept; a code works once, before it expires, and within a few wrong tries. Kept in the database
    (not the cache) so that every app server and worker checks the same codes."""

    phone_hash = models.CharField(max_length=64)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name = _("登录验证码")
        verbose_name_plural = _("登录验证码")
        indexes = [models.Index(fields=["phone_hash", "created_at"], name="voice_portal_code_phone_idx")]

    def __str__(self):
        return f"{self.phone_hash[:8]} {self.created_at:%Y-%m-%d %H:%M}"
