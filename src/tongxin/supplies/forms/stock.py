"""Forms of the stock and donation pages: they parse what is typed (quantities with full-width
digits or thousands commas, a unit, a room as "3-2-301") and label it; the actions decide."""

import unicodedata
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.forms.models import ModelChoiceIterator
from django.utils.translation import gettext_lazy as _

from tongxin.registry.selectors import household_by_room, parse_room
from tongxin.supplies.models import MoveKind, StockUnit
from tongxin.supplies.units import checked_quantity

MAX_TEXT = 100


def parse_quantity(text, *, allow_zero: bool = False) -> Decimal:
    """A quantity as typed ("12", "1,000", "０.５") -> Decimal, checked like the actions check it
    (positive, at most 1,000,000, at most six decimal places); refused with the action's message."""
    cleaned = unicodedata.normalize("NFKC", "" if text is None else str(text)).strip().replace(",", "")
    if not cleaned:
        raise ValidationError(_("请填写数量"), code="required")
    try:
        value = Decimal(cleaned)
    except InvalidOperation:
        raise ValidationError(_("数量无效"), code="invalid_quantity") from None
    if allow_zero and value.is_finite() and value == 0 and value.as_tuple().exponent >= -6:
        return Decimal(0)
    return checked_quantity(value)


class QuantityField(forms.CharField):
    def __init__(self, *, allow_zero: bool = False, **kwargs):
        self.allow_zero = allow_zero
        kwargs.setdefault("max_length", 40)
        kwargs.setdefault("widget", forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}))
        super().__init__(**kwargs)

    def clean(self, value):
        text = super().clean(value)
        if text in self.empty_values:
            return None
        return parse_quantity(text, allow_zero=self.allow_zero)


def unit_choices():
    return [("", _("按物资单位")), *StockUnit.choices]


class UnitField(forms.ChoiceField):
    """A unit the quantity was counted in; empty means the item's own unit."""

    def __init__(self, **kwargs):
        kwargs.setdefault("label", _("单位"))
        kwargs.setdefault("required", False)
        super().__init__(choices=unit_choices, **kwargs)

    def clean(self, value):
        return super().clean(value) or None


class MoneyField(forms.DecimalField):
    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(
            max_digits=12,
            decimal_places=2,
            min_value=0,
            widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
            **kwargs,
        )

    def to_python(self, value):
        if isinstance(value, str):
            value = unicodedata.normalize("NFKC", value).strip().replace(",", "")
        return super().to_python(value)


class ItemForm(forms.Form):
    name = forms.CharField(label=_("物资名称"), max_length=MAX_TEXT)
    unit = forms.ChoiceField(label=_("单位"), choices=StockUnit.choices)
    minimum_stock = QuantityField(label=_("最低库存"), required=False, allow_zero=True)


class StoreForm(forms.Form):
    name = forms.CharField(label=_("仓库名称"), max_length=MAX_TEXT)


class MinimumForm(forms.Form):
    minimum_stock = QuantityField(label=_("最低库存"), allow_zero=True)


class _SharedIterator(ModelChoiceIterator):
    """Choices read from the very queryset object given, whose results Django caches: the page's
    forms share one query for the items and one for the stores, however many forms show them."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for obj in self.field.shared:
            yield self.choice(obj)

    def __len__(self):
        return len(self.field.shared) + (1 if self.field.empty_label is not None else 0)


class _Catalogue(forms.Form):
    """A form choosing among the compound's items and stores (querysets shared between forms)."""

    def __init__(self, *args, items, stores, **kwargs):
        super().__init__(*args, **kwargs)
        for name, field in self.fields.items():
            if isinstance(field, forms.ModelChoiceField):
                field.shared = items if name == "item" else stores
                field.iterator = _SharedIterator
                field.queryset = field.shared


class StockInForm(_Catalogue):
    item = forms.ModelChoiceField(label=_("物资"), queryset=None, empty_label=None)
    store = forms.ModelChoiceField(label=_("仓库"), queryset=None, empty_label=None)
    quantity = QuantityField(label=_("数量"))
    unit = UnitField()
    price = MoneyField(label=_("金额（元）"))
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


OUT_CHOICES = [
    (MoveKind.OUT_HOUSEHOLD, _("发放到户")),
    (MoveKind.OUT_TEAM, _("发放给工作人员")),
    (MoveKind.USED, _("消耗")),
]


class StockOutForm(_Catalogue):
    item = forms.ModelChoiceField(label=_("物资"), queryset=None, empty_label=None)
    store = forms.ModelChoiceField(label=_("仓库"), queryset=None, empty_label=None)
    quantity = QuantityField(label=_("数量"))
    unit = UnitField()
    kind = forms.ChoiceField(label=_("去向"), choices=OUT_CHOICES)
    room = forms.CharField(
        label=_("房号"),
        max_length=40,
        required=False,
        help_text=_("发放到户时填写，例如 3-2-301"),
    )
    team = forms.CharField(
        label=_("队伍"), max_length=MAX_TEXT, required=False, help_text=_("例如 核酸检查组")
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)

    def __init__(self, *args, user, compound, **kwargs):
        super().__init__(*args, **kwargs)
        self.user, self.compound = user, compound

    def clean(self):
        data = super().clean()
        data["household"] = None
        kind = data.get("kind")
        if kind == MoveKind.OUT_HOUSEHOLD:
            room = (data.get("room") or "").strip()
            if not room:
                self.add_error("room", _("请填写住户房号，例如 3-2-301"))
            elif parse_room(room) is None:
                self.add_error("room", _("房号格式应为“楼号-单元-房号”，例如 3-2-301"))
            else:
                household = household_by_room(self.user, self.compound.pk, room)
                if household is None:
                    self.add_error(
                        "room",
                        _("%(compound)s没有房号为%(room)s的住户")
                        % {"compound": self.compound.name, "room": room},
                    )
                data["household"] = household
        elif kind == MoveKind.OUT_TEAM and not (data.get("team") or "").strip():
            self.add_error("team", _("请填写领取的队伍"))
        return data


class TransferForm(_Catalogue):
    item = forms.ModelChoiceField(label=_("物资"), queryset=None, empty_label=None)
    from_store = forms.ModelChoiceField(label=_("调出仓库"), queryset=None, empty_label=None)
    to_store = forms.ModelChoiceField(label=_("调入仓库"), queryset=None, empty_label=None)
    quantity = QuantityField(label=_("数量"))
    unit = UnitField()
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class DonationForm(_Catalogue):
    donor = forms.CharField(label=_("捐赠方"), max_length=MAX_TEXT)
    contact = forms.CharField(label=_("联系方式"), max_length=MAX_TEXT, required=False)
    value = MoneyField(label=_("价值（元）"))
    store = forms.ModelChoiceField(label=_("入库仓库"), queryset=None, empty_label=None)
    received_at = forms.DateTimeField(
        label=_("接收时间"),
        required=False,
        input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"],
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text=_("留空为现在"),
    )
    note = forms.CharField(label=_("备注"), max_length=200, required=False)


class DonationLineForm(_Catalogue):
    item = forms.ModelChoiceField(label=_("物资"), queryset=None)
    quantity = QuantityField(label=_("数量"))
    unit = UnitField()


class BaseLineFormSet(forms.BaseFormSet):
    def __init__(self, *args, items, **kwargs):
        self.items = items
        super().__init__(*args, **kwargs)

    def get_form_kwargs(self, index):
        return {"items": self.items, "stores": None}

    @property
    def empty_form(self):
        return self.form(
            auto_id=self.auto_id,
            prefix=self.add_prefix("__prefix__"),
            empty_permitted=True,
            items=self.items,
            stores=None,
        )

    def clean(self):
        super().clean()
        if any(self.errors):
            return
        if not self.lines():
            raise ValidationError(_("请至少填写一项捐赠物资"), code="lines_required")

    def lines(self) -> list[tuple]:
        return [
            (form.cleaned_data["item"], form.cleaned_data["quantity"], form.cleaned_data.get("unit"))
            for form in self.forms
            if form.cleaned_data and form.cleaned_data.get("item")
        ]


DonationLineFormSet = forms.formset_factory(
    DonationLineForm, formset=BaseLineFormSet, extra=4, max_num=20, validate_max=True
)


def add_action_error(form, error: ValidationError) -> None:
    """An action's refusal shown on the form: a quantity's or unit's message by that field, the
    rest above the form."""
    by_code = {
        "invalid_quantity": "quantity",
        "not_positive": "quantity",
        "too_large": "quantity",
        "too_precise": "quantity",
        "unit_mismatch": "unit",
        "insufficient_stock": "quantity",
        "team_required": "team",
        "household_required": "room",
        "duplicate_item": "name",
        "duplicate_store": "name",
        "donor_required": "donor",
        "invalid_value": "value",
        "invalid_price": "price",
        "negative_price": "price",
        "received_in_future": "received_at",
        "received_too_old": "received_at",
    }
    for single in error.error_list if not hasattr(error, "error_dict") else [error]:
        field = by_code.get(getattr(single, "code", None) or "")
        form.add_error(field if field in form.fields else None, single.messages)
