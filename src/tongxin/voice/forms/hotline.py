"""The hotline page's forms: they parse; the actions check."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.voice.actions.hotline import CALLER_MAX, FOLLOW_UP_MAX, TEXT_MAX


class CallForm(forms.Form):
    at = forms.DateTimeField(
        label=_("来电时间"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        error_messages={"invalid": _("请填写正确的来电时间")},
    )
    caller = forms.CharField(label=_("来电人"), max_length=CALLER_MAX, required=False)
    phone = forms.CharField(
        label=_("来电号码"),
        max_length=30,
        required=False,
        widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
    )
    asked = forms.CharField(
        label=_("来电内容"),
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        error_messages={"required": _("请填写来电内容")},
    )
    answered = forms.CharField(
        label=_("答复内容"), max_length=TEXT_MAX, required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    follow_up = forms.CharField(label=_("后续跟进"), max_length=FOLLOW_UP_MAX, required=False)
    make_request = forms.BooleanField(label=_("同时登记为诉求"), required=False)
    room = forms.CharField(
        label=_("房号（登记诉求时可填）"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": "3-2-301", "autocomplete": "off"}),
    )


class FollowUpForm(forms.Form):
    follow_up = forms.CharField(
        label=_("后续跟进"),
        max_length=FOLLOW_UP_MAX,
        required=False,
        error_messages={"max_length": _("后续跟进不能超过%(limit_value)s个字")},
    )
