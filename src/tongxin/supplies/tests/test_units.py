from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given
from hypothesis import strategies as st

from tongxin.supplies.models import StockUnit
from tongxin.supplies.units import checked_quantity, convert


def test_sixty_jin_is_thirty_kg():
    assert convert(Decimal("60"), from_unit="jin", to_unit="kg") == Decimal("30")
    assert convert(Decimal("30"), from_unit="kg", to_unit="jin") == Decimal("60")


@pytest.mark.parametrize("unit", [u for u in StockUnit.values])
def test_every_unit_converts_to_itself(unit):
    assert convert(Decimal("3.5"), from_unit=unit, to_unit=unit) == Decimal("3.5")


@pytest.mark.parametrize(
    ("source", "target"), [("bucket", "kg"), ("jin", "box"), ("piece", "bag"), ("bottle", "bucket")]
)
def test_other_units_are_refused_in_chinese(source, target):
    with pytest.raises(ValidationError) as refused:
        convert(Decimal(1), from_unit=source, to_unit=target)
    assert refused.value.code == "unit_mismatch"
    assert "不能换算为" in refused.value.messages[0]


def test_refusal_names_the_units():
    with pytest.raises(ValidationError) as refused:
        convert(Decimal(1), from_unit="bucket", to_unit="kg")
    assert refused.value.messages == ["单位“桶”不能换算为“公斤”"]


@given(
    st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("1000000"), places=6),
    st.sampled_from(["kg", "jin"]),
    st.sampled_from(["kg", "jin"]),
)
def test_converting_and_back_is_stable(quantity, source, target):
    there = convert(quantity, from_unit=source, to_unit=target)
    assert convert(there, from_unit=target, to_unit=source) == quantity


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (0, "not_positive"),
        (-1, "not_positive"),
        ("-0.5", "not_positive"),
        ("1000000.000001", "too_large"),
        ("1e9", "too_large"),
        ("0.0000001", "too_precise"),
        ("NaN", "invalid_quantity"),
        ("Infinity", "invalid_quantity"),
        ("abc", "invalid_quantity"),
    ],
)
def test_absurd_quantities_are_refused(value, code):
    with pytest.raises(ValidationError) as refused:
        checked_quantity(value)
    assert refused.value.code == code


def test_the_limits_themselves_are_accepted():
    assert checked_quantity("1000000") == Decimal("1000000")
    assert checked_quantity("0.000001") == Decimal("0.000001")
