"""Forms of the requests pages: a request logged by the team (channel, room or phone, who, text,
category, when received, files), an answer, the reason to reopen, the hand-over to supplies, the
category and urgency corrected, the request handed on to another holder."""

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.supplies.models import RequestKind
from tongxin.voice.attachments import MAX_FILES
from tongxin.voice.models import Category, Channel

# The channels the team logs a request by; the portal's requests are the residents' own.
STAFF_CHANNELS = [(value, label) for value, label in Channel.choices if value != Channel.PORTAL]


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files in one input; their kind and size are checked by `attachments.checked_files`."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault(
            "widget", MultipleFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,application/pdf"})
        )
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        if not data:
            return []
        files = data if isinstance(data, list | tuple) else [data]
        if len(files) > MAX_FILES:
            raise forms.ValidationError(_("附件最多%(n)s个") % {"n": MAX_FILES}, code="too_many_attachments")
        return [super(MultipleFileField, self).clean(f, initial) for f in files]


class RequestForm(forms.Form):
    """A request as the team logs it. `where` is a room ("3-2-301") or a phone, or empty for a
    message whose sender is not known (a group nickname in `asker`)."""

    channel = forms.ChoiceField(label=gettext_lazy("渠道"), choices=STAFF_CHANNELS, initial=Channel.GROUP)
    where = forms.CharField(
        label=gettext_lazy("房号或手机号"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("如 3-2-301 或 13812345678；不知道可不填"),
    )
    resident = forms.IntegerField(label=gettext_lazy("居民"), required=False, min_value=1)
    asker = forms.CharField(label=gettext_lazy("提出人（群昵称、来电人）"), max_length=50, required=False)
    text = forms.CharField(
        label=gettext_lazy("诉求内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={"required": gettext_lazy("请填写诉求内容")},
    )
    category = forms.ChoiceField(
        label=gettext_lazy("类别"),
        choices=[("", gettext_lazy("按内容自动判断")), *Category.choices],
        required=False,
    )
    received_at = forms.DateTimeField(
        label=gettext_lazy("收到时间（不填为现在）"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": gettext_lazy("请填写正确的时间")},
    )
    attachments = MultipleFileField(label=gettext_lazy("照片或PDF"), required=False)

    def clean_text(self):
        text = (self.cleaned_data.get("text") or "").strip()
        if not text:
            raise forms.ValidationError(_("请填写诉求内容"), code="text_empty")
        return text


class AnswerForm(forms.Form):
    text = forms.CharField(
        label=gettext_lazy("答复内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": gettext_lazy("请填写答复内容")},
    )
    channel = forms.ChoiceField(
        label=gettext_lazy("答复渠道"),
        choices=[("", gettext_lazy("原渠道")), *Channel.choices],
        required=False,
    )


class ReopenForm(forms.Form):
    reason = forms.CharField(
        label=gettext_lazy("重新办理的原因"),
        max_length=200,
        error_messages={"required": gettext_lazy("请填写重新办理的原因")},
    )


class HandOverForm(forms.Form):
    kind = forms.ChoiceField(label=gettext_lazy("物资类别"), choices=RequestKind.choices)
    detail = forms.CharField(
        label=gettext_lazy("说明（药品请写明名称）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class ClassifyForm(forms.Form):
    category = forms.ChoiceField(label=gettext_lazy("类别"), choices=Category.choices)
    urgent = forms.BooleanField(label=gettext_lazy("紧急"), required=False)


class HandOnForm(forms.Form):
    """The holder among `holders` (the compound's team members who see the request)."""

    holder = forms.TypedChoiceField(
        label=gettext_lazy("转交给"),
        coerce=int,
        error_messages={
            "required": gettext_lazy("请选择经办人"),
            "invalid_choice": gettext_lazy("只能转交给本小区能看到该诉求的工作人员"),
        },
    )

    def __init__(self, *args, holders=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.holders = {user.pk: user for user in holders}
        self.fields["holder"].choices = [
            ("", _("请选择")),
            *((user.pk, f"{user}（{user.get_role_display()}）") for user in holders),
        ]

    def clean_holder(self):
        return self.holders[self.cleaned_data["holder"]]
