"""The campaign form: it parses what is typed (full-width digits, thousands commas) and labels it;
`campaign_create` decides."""

import unicodedata

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.supplies.models import Item, ShareBasis, StockUnit, Store


def _plain(text) -> str:
    return unicodedata.normalize("NFKC", str(text or "")).strip().replace(",", "")


class TypedQuantity(forms.CharField):
    """Kept as text, normalised: the action checks and converts it with its own messages."""

    def __init__(self, **kwargs):
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def to_python(self, value):
        return _plain(super().to_python(value))


class CampaignForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=100)
    item = forms.ModelChoiceField(label=_("物资"), queryset=Item.objects.none())
    store = forms.ModelChoiceField(label=_("出库仓库"), queryset=Store.objects.none())
    total_quantity = TypedQuantity(label=_("总量"))
    unit = forms.ChoiceField(label=_("总量单位"), choices=StockUnit.choices)
    share_basis = forms.ChoiceField(
        label=_("分配方式"), choices=ShareBasis.choices, initial=ShareBasis.HOUSEHOLD
    )
    share_quantity = TypedQuantity(label=_("每份数量"))
    share_unit = forms.ChoiceField(label=_("每份单位"), choices=StockUnit.choices)
    starts_on = forms.DateField(
        label=_("开始日期"), widget=forms.DateInput(format="%Y-%m-%d", attrs={"type": "date"})
    )
    days = forms.IntegerField(label=_("天数"), min_value=1, max_value=60, initial=3)
    teams = forms.IntegerField(label=_("小组数"), min_value=1, max_value=500, initial=1)
    volunteers = forms.IntegerField(
        label=_("志愿者人数"), min_value=0, max_value=10000, initial=0, required=False
    )

    def __init__(self, *args, compound, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["item"].queryset = Item.objects.filter(compound=compound).order_by("name")
        stores = Store.objects.filter(compound=compound).order_by("name")
        self.fields["store"].queryset = stores
        self.fields["store"].initial = stores.values_list("pk", flat=True).first()
        self.fields["starts_on"].initial = timezone.localdate()

    def clean_starts_on(self):
        day = self.cleaned_data["starts_on"]
        if abs((day - timezone.localdate()).days) > 366:
            raise forms.ValidationError(_("开始日期须在一年之内"))
        return day

    def action_fields(self) -> dict:
        data = dict(self.cleaned_data)
        data["volunteers"] = data.get("volunteers") or 0
        return data


class VisitForm(forms.Form):
    outcome = forms.CharField(max_length=20)
    expected = forms.CharField(max_length=20, required=False)
    note = forms.CharField(max_length=200, required=False)
