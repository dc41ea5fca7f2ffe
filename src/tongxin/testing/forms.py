"""Forms of the mass-testing pages: parsing only; the actions check every rule."""

import datetime

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Building
from tongxin.registry.selectors import compounds_visible
from tongxin.testing.models import POOL_SIZE_CHOICES, SamplingTable, TestRound

# Above this many buildings the create form leaves the building choice out (a district's round
# covers whole compounds); the API still takes buildings.
MAX_BUILDING_CHOICES = 300


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, **kwargs):
        super().__init__(format="%H:%M", **kwargs)


class RoundFieldsForm(forms.Form):
    name = forms.CharField(label=_("名称"), max_length=80, initial=_("全员核酸检测"))
    day = forms.DateField(label=_("日期"), widget=DateInput, initial=timezone.localdate)
    starts_at = forms.TimeField(label=_("开始时间"), widget=TimeInput, initial=datetime.time(6, 0))
    pool_size = forms.TypedChoiceField(label=_("混采人数"), choices=POOL_SIZE_CHOICES, coerce=int, initial=10)
    sealed_household_tubes = forms.BooleanField(
        label=_("高风险（封控）单元上门采样，一户一管"), required=False, initial=True
    )
    isolated_single_tubes = forms.BooleanField(label=_("隔离人员单管"), required=False, initial=True)
    note = forms.CharField(label=_("备注"), max_length=300, required=False)


class RoundForm(RoundFieldsForm):
    """A new round: its compounds and, optionally, some of their buildings only."""

    compounds = forms.ModelMultipleChoiceField(
        label=_("小区"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    buildings = forms.ModelMultipleChoiceField(
        label=_("只检测这些楼栋（不选则整个小区）"),
        queryset=None,
        required=False,
        widget=forms.SelectMultiple(attrs={"size": 8}),
    )
    field_order = ["name", "day", "starts_at", "compounds", "buildings", "pool_size"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        compounds = compounds_visible(user).order_by("code")
        self.fields["compounds"].queryset = compounds
        buildings = (
            Building.objects.filter(scope_q(user, "building"), compound__in=compounds)
            .select_related("compound")
            .order_by("compound__code", "sort_key", "number")
        )
        if buildings.count() > MAX_BUILDING_CHOICES:
            del self.fields["buildings"]
        else:
            self.fields["buildings"].queryset = buildings
            self.fields["buildings"].label_from_instance = lambda b: f"{b.compound.name} {b}"
        if len(compounds) == 1 and not self.is_bound:
            self.initial.setdefault("compounds", [compounds[0].pk])


class RoundEditForm(RoundFieldsForm):
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)

    @classmethod
    def for_round(cls, round_: TestRound) -> "RoundEditForm":
        return cls(
            initial={
                "version": round_.version,
                **{name: getattr(round_, name) for name in RoundFieldsForm.base_fields},
            }
        )


class StateForm(forms.Form):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", "state_%s")
        super().__init__(*args, **kwargs)

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=1)
    state = forms.ChoiceField(choices=TestRound.State.choices, widget=forms.HiddenInput)


class PointForm(forms.Form):
    compound = forms.TypedChoiceField(label=_("小区"), coerce=int)
    name = forms.CharField(label=_("采样点名称"), max_length=60)
    location = forms.CharField(label=_("位置"), max_length=120, required=False)

    def __init__(self, *args, covers, **kwargs):
        kwargs.setdefault("auto_id", "point_%s")
        super().__init__(*args, **kwargs)
        self.fields["compound"].choices = [(c.compound_id, c.compound.name) for c in covers]
        if len(covers) == 1:
            self.fields["compound"].widget = forms.HiddenInput()
            self.initial.setdefault("compound", covers[0].compound_id)


class TableForm(forms.Form):
    point = forms.TypedChoiceField(label=_("采样点"), coerce=int)
    label = forms.CharField(label=_("采样台名称"), max_length=40)
    pool_size = forms.TypedChoiceField(label=_("混采人数"), choices=POOL_SIZE_CHOICES, coerce=int)
    mode = forms.ChoiceField(
        label=_("方式"), choices=SamplingTable.Mode.choices, initial=SamplingTable.Mode.STATION
    )

    def __init__(self, *args, points, pool_size: int = 10, **kwargs):
        kwargs.setdefault("auto_id", "table_%s")
        super().__init__(*args, **kwargs)
        several = len({p.compound_id for p in points}) > 1
        self.fields["point"].choices = [
            (p.pk, f"{p.compound.name} {p.name}" if several else p.name) for p in points
        ]
        self.initial.setdefault("pool_size", pool_size)
