"""The care-visit form: when, what was brought (ticked from the usual goods or typed), notes, the
next visit's day. Parsing only; the action checks the dates and the resident."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.supplies.models import CareVisit

# What the report's visits brought, ticked on a phone rather than typed.
USUAL_GOODS = ("大米", "面粉", "食用油", "蔬菜", "牛奶", "药品")
SEPARATOR = "、"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class CareVisitForm(forms.Form):
    visited_at = forms.DateTimeField(label=_("探访时间（默认现在）"), required=False, widget=DateTimeInput)
    goods = forms.MultipleChoiceField(
        label=_("带去物品"),
        choices=[(name, name) for name in USUAL_GOODS],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    brought = forms.CharField(
        label=_("其他物品"), max_length=CareVisit._meta.get_field("brought").max_length, required=False
    )
    notes = forms.CharField(
        label=_("情况记录"),
        max_length=CareVisit._meta.get_field("notes").max_length,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    next_due = forms.DateField(label=_("下次探访（默认按探访间隔）"), required=False, widget=DateInput)

    def clean(self):
        cleaned = super().clean()
        goods = list(cleaned.get("goods") or [])
        other = (cleaned.get("brought") or "").strip()
        brought = SEPARATOR.join([*goods, *([other] if other else [])])
        limit = CareVisit._meta.get_field("brought").max_length
        if len(brought) > limit:
            self.add_error("brought", _("带去物品最多 %(max)s 个字") % {"max": limit})
        cleaned["brought_text"] = brought
        return cleaned
