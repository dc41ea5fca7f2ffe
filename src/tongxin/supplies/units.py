"""Units of measure as data: which unit converts to which, and by what factor.

Only mass converts (1 斤 = 0.5 公斤); a bucket, a box or a bag is only ever itself.
"""

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

MAX_QUANTITY = Decimal("1000000")
DECIMAL_PLACES = 6

# Factor to kilograms, for the units that measure mass.
TO_KG = {"kg": Decimal("1"), "jin": Decimal("0.5")}


def convert(quantity: Decimal, *, from_unit: str, to_unit: str) -> Decimal:
    """`quantity` in `from_unit`, expressed in `to_unit`; refused when the units do not convert."""
    if from_unit == to_unit:
        return quantity
    if from_unit in TO_KG and to_unit in TO_KG:
        return quantity * TO_KG[from_unit] / TO_KG[to_unit]
    raise ValidationError(
        _("单位“%(from)s”不能换算为“%(to)s”") % {"from": unit_label(from_unit), "to": unit_label(to_unit)},
        code="unit_mismatch",
    )


def unit_label(unit: str) -> str:
    from tongxin.supplies.models import StockUnit

    try:
        return str(StockUnit(unit).label)
    except ValueError:
        return unit


def checked_quantity(value) -> Decimal:
    """A positive quantity of at most 1,000,000 with at most six decimal places, else refused."""
    try:
        quantity = Decimal(str(value))
    except ArithmeticError:
        quantity = None
    if quantity is None or not quantity.is_finite():
        raise ValidationError(_("数量无效"), code="invalid_quantity")
    if quantity <= 0:
        raise ValidationError(_("数量必须大于零"), code="not_positive")
    if quantity > MAX_QUANTITY:
        raise ValidationError(_("数量超过上限 1,000,000"), code="too_large")
    if -quantity.as_tuple().exponent > DECIMAL_PLACES:
        raise ValidationError(_("数量最多保留六位小数"), code="too_precise")
    return quantity
