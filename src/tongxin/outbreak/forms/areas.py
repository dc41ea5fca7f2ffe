"""Forms of the risk area and compound status pages: parsing only; the actions check every rule."""

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.outbreak.forms.cases import DateInput
from tongxin.outbreak.models import CompoundStatusChange, RiskArea
from tongxin.outbreak.rules import active_rules
from tongxin.registry import selectors as registry_selectors


class RaiseForm(forms.Form):
    """Scope and place: the building for a building, the unit for a unit, the unit and room for a
    household; the compound needs neither."""

    scope = forms.ChoiceField(
        label=_("范围"), choices=RiskArea.Scope.choices, initial=RiskArea.Scope.BUILDING
    )
    building = forms.ModelChoiceField(label=_("楼栋"), queryset=None, required=False)
    unit = forms.ModelChoiceField(label=_("单元"), queryset=None, required=False)
    room = forms.CharField(label=_("室（划定到户时）"), max_length=20, required=False)
    level = forms.ChoiceField(label=_("风险等级"), required=False)
    on = forms.DateField(label=_("日期"), widget=DateInput, initial=timezone.localdate)
    reason = forms.CharField(label=_("原因"), max_length=300, widget=forms.TextInput)

    def __init__(self, *args, user, compound, **kwargs):
        super().__init__(*args, **kwargs)
        self.compound = compound
        self.fields["building"].queryset = registry_selectors.buildings_visible(user, compound).order_by(
            "sort_key", "number"
        )
        self.fields["unit"].queryset = registry_selectors.units_visible(user, compound).order_by(
            "building__sort_key", "building__number", "sort_key", "number"
        )
        rules = active_rules()
        self.fields["level"].choices = [(lv.code, lv.label) for lv in rules.ordered_levels()]
        self.fields["level"].initial = rules.raise_level

    def place(self) -> dict:
        """The keyword arguments of area_raise for the chosen place (the action checks they fit)."""
        data = self.cleaned_data
        place = {"building": data.get("building"), "unit": data.get("unit"), "household": None}
        if data["scope"] == RiskArea.Scope.HOUSEHOLD:
            unit, room = data.get("unit"), (data.get("room") or "").strip()
            if unit is None or not room:
                raise forms.ValidationError(_("划定到户时请选择单元并填写室号"))
            place["household"] = unit.households.filter(room=room).first()
            if place["household"] is None:
                raise forms.ValidationError(_("该单元没有这个室号"))
        return place


class ScreeningForm(forms.Form):
    on = forms.DateField(label=_("筛查日期"), widget=DateInput, initial=timezone.localdate)
    all_negative = forms.TypedChoiceField(
        label=_("结果"),
        choices=[("1", _("全员阴性")), ("0", _("发现阳性"))],
        coerce=lambda value: value == "1",
        widget=forms.RadioSelect,
        initial="1",
    )
    note = forms.CharField(label=_("备注"), max_length=300, required=False)


class LowerForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    reason = forms.CharField(label=_("备注"), max_length=300, required=False)


class LiftForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    on = forms.DateField(label=_("解除日期"), widget=DateInput, initial=timezone.localdate)
    reason = forms.CharField(label=_("解除原因"), max_length=300)


class CompoundStatusForm(forms.Form):
    status = forms.ChoiceField(label=_("小区状态"), choices=CompoundStatusChange.Status.choices)
    on = forms.DateField(label=_("日期"), widget=DateInput, initial=timezone.localdate)
    reason = forms.CharField(label=_("原因"), max_length=300, required=False)


def first_error(form: forms.Form) -> str:
    for errors in form.errors.values():
        for error in errors:
            return str(error)
    return ""
