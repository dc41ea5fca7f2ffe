"""Forms of the registry pages: they parse input only; the actions decide and write."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.registry.models import Resident


class RevealForm(forms.Form):
    field = forms.ChoiceField(label=_("查看"), choices=[("document", _("证件号码")), ("phone", _("手机号"))])
    reason = forms.CharField(
        label=_("查看原因"),
        max_length=200,
        min_length=2,
        error_messages={"required": _("请填写查看原因"), "min_length": _("请填写查看原因")},
    )


class PresenceForm(forms.Form):
    presence = forms.ChoiceField(label=_("居住状态"), choices=Resident.Presence.choices)
    on = forms.DateField(label=_("核实日期"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean_on(self):
        on = self.cleaned_data.get("on")
        if on and on > timezone.localdate():
            raise forms.ValidationError(_("核实日期不能晚于今天"))
        return on
