"""The common questions' answer form: it parses; the actions check."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.voice.actions.groups import ANSWER_MAX
from tongxin.voice.models import Delivery


class GroupAnswerForm(forms.Form):
    """One text answering every request of the group, published as one notice to the compound."""

    title = forms.CharField(
        label=_("通知标题（可不填）"),
        max_length=100,
        required=False,
        error_messages={"max_length": _("标题不能超过 100 个字")},
    )
    text = forms.CharField(
        label=_("答复内容"),
        max_length=ANSWER_MAX,
        widget=forms.Textarea(attrs={"rows": 4}),
        error_messages={
            "required": _("请填写答复内容"),
            "max_length": _("答复内容不能超过 %(limit_value)s 个字"),
        },
    )
    channels = forms.MultipleChoiceField(
        label=_("发送渠道"),
        choices=Delivery.ChannelKind.choices,
        initial=[Delivery.ChannelKind.PORTAL],
        widget=forms.CheckboxSelectMultiple,
        error_messages={
            "required": _("请至少选择一个发送渠道"),
            "invalid_choice": _("未知的发送渠道：%(value)s"),
        },
    )

    def __init__(self, *args, channels=(), **kwargs):
        """`channels`: those the compound may use (`selectors.groups.answer_channels`)."""
        super().__init__(*args, **kwargs)
        offered = set(channels)
        self.fields["channels"].choices = [
            (value, label) for value, label in Delivery.ChannelKind.choices if value in offered
        ]
