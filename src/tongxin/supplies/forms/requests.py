"""Forms of the requests pages: a request logged by phone (room, kind, what, lines typed as
"桶装水 2桶" one per line), a resident's ask (a kind's big button, how many, which medicine), the
reason a request cannot be done, the store a delivery is taken from."""

import re
import unicodedata
from decimal import Decimal, InvalidOperation

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.supplies.models import RequestKind, StockUnit, SupplyRequest
from tongxin.supplies.units import checked_quantity

MAX_LINES = 20
LINE_SEPARATORS = re.compile(r"[\n;；、，,]+")
# "name", "name 2", "name 2桶", "name×2", "name x 1.5 公斤"
LINE = re.compile(
    r"^(?P<name>.*?)\s*(?:[x×*:：]\s*)?(?P<quantity>[-+]?\d+(?:\.\d+)?)\s*(?P<unit>[^\d\s]{0,10})$"
)
UNIT_WORDS = (
    {str(label): value for value, label in StockUnit.choices}
    | {value: value for value in StockUnit.values}
    | {"千克": "kg", "个": "piece", "包": "bag", "盒": "box"}
)


def _unit_code(word: str) -> str:
    return UNIT_WORDS.get(word, UNIT_WORDS.get(word.lower(), ""))


def parse_lines(text: str, items: dict | None = None) -> list[tuple]:
    """Lines typed one per line (or separated by ；、，) as (item or None, description, quantity,
    unit) tuples for `supply_request_create`. A name that is a catalogue item of `items`
    (name -> Item) becomes that item, its unit a known unit's word (桶, 公斤, 斤...) or the item's
    own; anything else is a line to buy, its unit kept as typed. No number means one."""
    items = items or {}
    lines = []
    for number, raw in enumerate(LINE_SEPARATORS.split(unicodedata.normalize("NFKC", text or "")), start=1):
        raw = " ".join(raw.split())
        if not raw:
            continue
        if len(lines) >= MAX_LINES:
            raise ValidationError(_("一次最多%(n)s项物品") % {"n": MAX_LINES}, code="too_many_lines")
        match = LINE.match(raw)
        name, quantity, unit = (
            (match["name"].strip(), match["quantity"], match["unit"]) if match else (raw, "1", "")
        )
        if not name:
            raise ValidationError(_("第%(n)s项：请写明物品名称") % {"n": number}, code="line_no_name")
        if len(name) > 100:
            raise ValidationError(
                _("第%(n)s项：物品名称不能超过100个字") % {"n": number}, code="line_too_long"
            )
        try:
            amount = checked_quantity(Decimal(quantity))
        except (InvalidOperation, ValidationError) as error:
            message = error.messages[0] if isinstance(error, ValidationError) else _("数量无效")
            raise ValidationError(
                _("第%(n)s项：%(error)s") % {"n": number, "error": message}, code="line_quantity"
            ) from error
        item = items.get(name)
        if item is not None:
            code = _unit_code(unit) if unit else item.unit
            if not code:
                raise ValidationError(
                    _("第%(n)s项：未知的单位“%(unit)s”") % {"n": number, "unit": unit}, code="line_unit"
                )
            lines.append((item, "", amount, code))
        else:
            lines.append((None, name, amount, _unit_code(unit) or unit))
    return lines


KIND_CHOICES = RequestKind.choices


class PhoneRequestForm(forms.Form):
    """A request logged by a worker, on the phone or at the door."""

    room = forms.CharField(
        label=gettext_lazy("房号"),
        max_length=40,
        help_text=gettext_lazy("楼号-单元-房号，如 3-2-301"),
    )
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=KIND_CHOICES)
    via = forms.ChoiceField(
        label=gettext_lazy("来源"),
        choices=[
            (SupplyRequest.Via.PHONE, SupplyRequest.Via.PHONE.label),
            (SupplyRequest.Via.WORKER, SupplyRequest.Via.WORKER.label),
        ],
        initial=SupplyRequest.Via.PHONE,
    )
    detail = forms.CharField(
        label=gettext_lazy("说明（药品请写明名称）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    lines = forms.CharField(
        label=gettext_lazy("物品（每行一项，如：桶装水 2桶）"),
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args, items: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.items = items or {}

    def clean_lines(self):
        return parse_lines(self.cleaned_data.get("lines", ""), self.items)


class AskForm(forms.Form):
    """A resident's ask: a kind's button, how many, and which medicine or what else."""

    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=KIND_CHOICES)
    quantity = forms.IntegerField(
        label=gettext_lazy("数量"), min_value=1, max_value=20, initial=1, required=False
    )
    detail = forms.CharField(
        label=gettext_lazy("说明（药品请写明名称）"),
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def clean(self):
        data = super().clean()
        if data.get("kind") == RequestKind.MEDICINE and not (data.get("detail") or "").strip():
            self.add_error("detail", _("请注明需要哪种药品"))
        return data


class CannotForm(forms.Form):
    reason = forms.CharField(label=gettext_lazy("无法办理的原因"), max_length=200)


class DeliverForm(forms.Form):
    store = forms.IntegerField(label=gettext_lazy("出库仓库"), required=False, min_value=1)
