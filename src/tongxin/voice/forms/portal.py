"""Forms of the resident portal: the phone, the code, the household to enter when a phone is in
several, and a request (for oneself or a member of the household)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.voice.models import Category


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("手机号"),
        max_length=20,
        error_messages={"required": _("请输入手机号")},
        widget=forms.TextInput(
            attrs={
                "inputmode": "tel",
                "autocomplete": "tel",
                "autofocus": True,
                "placeholder": _("11位手机号"),
            }
        ),
    )


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("验证码"),
        max_length=10,
        error_messages={"required": _("请输入验证码")},
        widget=forms.TextInput(
            attrs={"inputmode": "numeric", "autocomplete": "one-time-code", "autofocus": True}
        ),
    )


class ChooseForm(forms.Form):
    resident = forms.TypedChoiceField(
        label=_("请选择要进入的住户"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择住户")},
    )

    def __init__(self, *args, residents=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].choices = [(r.pk, f"{r.household}（{r.name}）") for r in residents]
        self.fields["resident"].error_messages["invalid_choice"] = _("请选择列表中的住户")


class AskForm(forms.Form):
    resident = forms.TypedChoiceField(
        label=_("为谁办理"),
        coerce=int,
        widget=forms.RadioSelect,
        error_messages={"required": _("请选择为哪位家人办理"), "invalid_choice": _("请选择本户的家人")},
    )
    category = forms.ChoiceField(
        label=_("什么事"),
        required=False,
        choices=[("", _("不确定，由社区判断"))] + list(Category.choices),
        error_messages={"invalid_choice": _("请选择列表中的类别")},
    )
    text = forms.CharField(
        label=_("请说明您的诉求"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 5}),
        error_messages={"required": _("请填写诉求内容"), "max_length": _("内容不能超过2000个字")},
    )

    def __init__(self, *args, members=(), **kwargs):
        super().__init__(*args, **kwargs)
        choices = []
        for member in members:
            label = member.name
            if member.is_elderly:
                label = _("%(name)s（老人）") % {"name": member.name}
            choices.append((member.pk, label))
        self.fields["resident"].choices = choices
        if members and not self.is_bound:
            self.initial.setdefault("resident", members[0].pk)

    def clean_text(self):
        text = (self.cleaned_data.get("text") or "").strip()
        if not text:
            raise forms.ValidationError(_("请填写诉求内容"), code="text_empty")
        return text
