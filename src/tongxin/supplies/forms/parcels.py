"""Forms of the parcel pages and the supply settings page: they parse; the actions check."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.supplies.models import SupplySettings


class IntakeForm(forms.Form):
    lookup = forms.CharField(
        label=_("房号或手机号"),
        max_length=80,
        required=False,
        widget=forms.TextInput(attrs={"placeholder": _("3-2-301 或 手机号"), "autocomplete": "off"}),
    )
    household = forms.IntegerField(required=False, widget=forms.HiddenInput, min_value=1)
    courier = forms.CharField(label=_("快递公司"), max_length=50, required=False)
    tracking_number = forms.CharField(label=_("运单号"), max_length=50, required=False)
    pieces = forms.IntegerField(label=_("件数"), min_value=1, max_value=99, initial=1)
    note = forms.CharField(label=_("备注"), max_length=200, required=False)
    photo = forms.FileField(
        label=_("照片（可选）"),
        required=False,
        widget=forms.ClearableFileInput(
            attrs={"accept": "image/jpeg,image/png,image/webp", "capture": "environment"}
        ),
    )


class BatchForm(forms.Form):
    courier = forms.CharField(label=_("快递公司"), max_length=50, required=False)
    lines = forms.CharField(
        label=_("一行一件：房号或手机号 运单号 件数"),
        max_length=20000,
        widget=forms.Textarea(
            attrs={
                "rows": 5,
                "placeholder": _("3-2-301 SF1234567 1\n3号楼1单元502 YT7654321\n手机号 运单号 件数"),
            }
        ),
    )


class RefuseForm(forms.Form):
    reason = forms.CharField(label=_("拒收原因"), max_length=200)


class SettingsForm(forms.ModelForm):
    class Meta:
        model = SupplySettings
        fields = ["parcel_hold_minutes", "pickup_start", "pickup_slot_minutes", "care_visit_days"]
        widgets = {
            "pickup_start": forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
            "parcel_hold_minutes": forms.NumberInput(attrs={"min": 0, "max": 10080}),
            "pickup_slot_minutes": forms.NumberInput(attrs={"min": 5, "max": 1440}),
            "care_visit_days": forms.NumberInput(attrs={"min": 1, "max": 365}),
        }
