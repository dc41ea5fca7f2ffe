"""Forms of the case and contact pages: parsing only; every rule is checked by the actions."""

from django import forms
from django.utils.translation import gettext_lazy as _

from tongxin.outbreak.actions import SYMPTOMS
from tongxin.outbreak.models import Case, Contact, Isolation


class DateInput(forms.DateInput):
    input_type = "date"


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class PersonForm(forms.Form):
    """A registered resident (chosen by id from the compound's residents) or a person by name."""

    resident = forms.ModelChoiceField(
        label=_("居民"), queryset=None, required=False, empty_label=_("非本小区登记居民")
    )
    name = forms.CharField(label=_("姓名（非登记居民）"), max_length=50, required=False)
    phone = forms.CharField(label=_("手机号（非登记居民）"), max_length=20, required=False)
    household = forms.ModelChoiceField(label=_("住址（可选）"), queryset=None, required=False)

    def __init__(self, *args, residents, households, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents
        self.fields["resident"].label_from_instance = lambda r: f"{r.name} · {r.household}"
        self.fields["household"].queryset = households

    def person(self) -> dict:
        data = self.cleaned_data
        if data.get("resident"):
            return {"resident": data["resident"]}
        return {
            "name": data.get("name", ""),
            "phone": data.get("phone", ""),
            "household": data.get("household"),
        }


class CaseForm(PersonForm):
    confirmed_on = forms.DateField(label=_("确诊日期"), widget=DateInput)
    source = forms.ChoiceField(label=_("阳性来源"), choices=Case.Source.choices)
    note = forms.CharField(label=_("备注"), max_length=500, required=False)


class ContactForm(PersonForm):
    cases = forms.ModelMultipleChoiceField(
        label=_("暴露的病例"), queryset=None, widget=forms.CheckboxSelectMultiple
    )
    kind = forms.ChoiceField(label=_("类别"), choices=Contact.Kind.choices, initial=Contact.Kind.CLOSE)
    identified_on = forms.DateField(label=_("判定日期"), widget=DateInput)
    last_exposure_on = forms.DateField(label=_("末次暴露日期"), widget=DateInput, required=False)
    note = forms.CharField(label=_("备注"), max_length=500, required=False)

    def __init__(self, *args, cases, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cases"].queryset = cases
        self.fields["cases"].label_from_instance = lambda c: f"{c.name}（{c.confirmed_on:%m-%d}）"


class TransferForm(forms.Form):
    vehicle = forms.CharField(label=_("车辆"), max_length=50)
    departed_at = forms.DateTimeField(label=_("出发时间"), widget=DateTimeInput)
    destination = forms.CharField(label=_("隔离点"), max_length=100)
    escort = forms.CharField(label=_("随车人员"), max_length=100, required=False)
    contacts = forms.ModelMultipleChoiceField(
        label=_("转运的密接"), queryset=None, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, contacts, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contacts"].queryset = contacts


class CaseTransferForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    taken_to = forms.ChoiceField(label=_("转运去向"), choices=[c for c in Case.TakenTo.choices if c[0]])
    place = forms.CharField(label=_("转运地点"), max_length=100, required=False)
    taken_at = forms.DateTimeField(label=_("转运时间"), widget=DateTimeInput)


class CaseOutcomeForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    outcome = forms.ChoiceField(label=_("转归"), choices=Case.Outcome.choices)
    on = forms.DateField(label=_("转归日期"), widget=DateInput, required=False)


class BecameCaseForm(forms.Form):
    confirmed_on = forms.DateField(label=_("确诊日期"), widget=DateInput)
    source = forms.ChoiceField(label=_("阳性来源"), choices=Case.Source.choices)


class ReleaseForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    released_on = forms.DateField(label=_("解除日期"), widget=DateInput)
    reason = forms.CharField(label=_("提前/延后解除原因"), max_length=200, required=False)


class IsolationForm(forms.Form):
    resident = forms.ModelChoiceField(label=_("居民"), queryset=None)
    rule = forms.ChoiceField(
        label=_("依据"),
        choices=[(v, label) for v, label in Isolation.Rule.choices if v != Isolation.Rule.CLOSE_CONTACT],
    )
    kind = forms.ChoiceField(
        label=_("方式（其他依据）"), choices=Isolation.Kind.choices, initial=Isolation.Kind.MONITORING
    )
    starts_on = forms.DateField(label=_("开始日期"), widget=DateInput)
    days = forms.IntegerField(label=_("天数（其他依据）"), min_value=1, max_value=60, required=False)

    def __init__(self, *args, residents, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resident"].queryset = residents
        self.fields["resident"].label_from_instance = lambda r: f"{r.name} · {r.household}"


class CheckinForm(forms.Form):
    temperature = forms.CharField(label=_("体温（℃）"), max_length=5)
    symptoms = forms.MultipleChoiceField(
        label=_("症状"),
        choices=[(key, _(label)) for key, label in SYMPTOMS.items()],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    symptoms_text = forms.CharField(label=_("其他症状"), max_length=100, required=False)
