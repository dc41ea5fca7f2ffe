"""The phone form's lines ("桶装水 2桶" one per line): what they become, and that no input at all
crashes the parser with anything but a clear ValidationError."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import given, settings
from hypothesis import strategies as st

from tongxin.supplies.forms.requests import AskForm, PhoneRequestForm, parse_lines
from tongxin.supplies.models import Item

WATER = Item(pk=1, compound_id=1, name="桶装水", unit="bucket")
CABBAGE = Item(pk=2, compound_id=1, name="白菜", unit="kg")
ITEMS = {"桶装水": WATER, "白菜": CABBAGE}


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("桶装水 2桶", [(WATER, "", Decimal(2), "bucket")]),
        ("桶装水×3", [(WATER, "", Decimal(3), "bucket")]),
        ("白菜 10斤\n白菜 1.5公斤", [(CABBAGE, "", Decimal(10), "jin"), (CABBAGE, "", Decimal("1.5"), "kg")]),
        ("白菜 2", [(CABBAGE, "", Decimal(2), "kg")]),
        ("酱油 1瓶；鸡蛋 2盒", [(None, "酱油", Decimal(1), "bottle"), (None, "鸡蛋", Decimal(2), "box")]),
        ("5号电池 4节", [(None, "5号电池", Decimal(4), "节")]),
        ("卫生纸", [(None, "卫生纸", Decimal(1), "")]),
        ("桶装水 ２桶", [(WATER, "", Decimal(2), "bucket")]),  # full-width digits
        ("\n\n  \n", []),
    ],
)
def test_lines_as_people_type_them(text, lines):
    assert parse_lines(text, ITEMS) == lines


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("桶装水 0", "第1项：数量必须大于零"),
        ("酱油 1\n桶装水 -2", "第2项：数量必须大于零"),
        ("桶装水 1000001", "第1项：数量超过上限 1,000,000"),
        ("白菜 1.0000001", "第1项：数量最多保留六位小数"),
        ("桶装水 2吨", "第1项：未知的单位“吨”"),
        ("2", "第1项：请写明物品名称"),
        ("菜" * 101, "第1项：物品名称不能超过100个字"),
        ("\n".join(["水 1"] * 21), "一次最多20项物品"),
    ],
)
def test_bad_lines_are_refused_with_their_number(text, message):
    with pytest.raises(ValidationError) as refused:
        parse_lines(text, ITEMS)
    assert refused.value.messages == [message]


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_parses_or_is_refused_clearly(text):
    try:
        lines = parse_lines(text, ITEMS)
    except ValidationError as error:
        assert error.messages and all(isinstance(m, str) and m for m in error.messages)
        return
    assert len(lines) <= 20
    for item, description, quantity, unit in lines:
        assert isinstance(quantity, Decimal) and Decimal(0) < quantity <= Decimal(1000000)
        assert item in (None, WATER, CABBAGE)
        assert (item is None) == bool(description)
        assert len(description) <= 100 and len(unit) <= 10


names = st.text(alphabet=st.characters(min_codepoint=0x4E00, max_codepoint=0x9FFF), min_size=1, max_size=20)
quantities = st.decimals(min_value=Decimal("0.5"), max_value=Decimal(100000), places=1)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.tuples(names, quantities, st.sampled_from(["", "桶", "袋", "瓶", "件"])), min_size=1, max_size=20
    )
)
def test_typed_lines_round_trip(rows):
    text = "\n".join(f"{name} {quantity:f}{unit}" for name, quantity, unit in rows)
    parsed = parse_lines(text, {})
    codes = {"": "", "桶": "bucket", "袋": "bag", "瓶": "bottle", "件": "piece"}
    assert [(p[1], p[2], p[3]) for p in parsed] == [
        (name, quantity, codes[unit]) for name, quantity, unit in rows
    ]


@given(st.dictionaries(st.sampled_from(["room", "kind", "via", "detail", "lines"]), st.text(max_size=60)))
@settings(max_examples=200, deadline=None)
def test_the_phone_form_never_crashes(data):
    form = PhoneRequestForm(data, items=ITEMS)
    if form.is_valid():
        assert isinstance(form.cleaned_data["lines"], list)
    else:
        assert form.errors


def test_a_residents_medicine_needs_its_name():
    form = AskForm({"kind": "medicine", "quantity": "1", "detail": " "})
    assert not form.is_valid() and form.errors["detail"] == ["请注明需要哪种药品"]
    assert AskForm({"kind": "water", "quantity": "2"}).is_valid()
    assert not AskForm({"kind": "water", "quantity": "99"}).is_valid()
