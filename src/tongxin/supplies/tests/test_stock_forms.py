"""Parsing what people type on the stock pages: quantities, units and rooms (hypothesis for any text),
the household found by room within the user's scope, and Excel cells that never start a formula."""

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tongxin.core.spreadsheets import FORMULA_STARTS, safe_text
from tongxin.registry.selectors import household_by_room, parse_room
from tongxin.supplies.forms.stock import StockInForm, StockOutForm, parse_quantity
from tongxin.supplies.models import StockUnit
from tongxin.supplies.selectors.stock import items_of, stores_of
from tongxin.supplies.tests.helpers import GRID, MANAGER, OFFICIAL, stock_world, user

FULL_WIDTH = str.maketrans("0123456789.", "０１２３４５６７８９．")


@given(st.text(max_size=30))
@example("1e3")
@example("Infinity")
@example("-0")
@example("0.0000000")
@example("1,000,000.000001")
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_checked_quantity_or_refused_with_a_message(text):
    try:
        quantity = parse_quantity(text)
    except ValidationError as refused:
        assert refused.messages and all(refused.messages)
        return
    assert Decimal(0) < quantity <= Decimal(1_000_000)
    assert quantity.as_tuple().exponent >= -6


@given(st.decimals(min_value=Decimal("0.000001"), max_value=Decimal(1_000_000), places=6))
@settings(max_examples=200, deadline=None)
def test_a_valid_quantity_reads_the_same_typed_plainly_with_commas_or_full_width(quantity):
    assert parse_quantity(f"{quantity}") == quantity
    assert parse_quantity(f"{quantity:,f}") == quantity
    assert parse_quantity(f" {quantity:f} ".translate(FULL_WIDTH)) == quantity


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "请填写数量"),
        ("-2", "数量必须大于零"),
        ("0", "数量必须大于零"),
        ("1000000.5", "数量超过上限 1,000,000"),
        ("0.1234567", "数量最多保留六位小数"),
        ("两桶", "数量无效"),
        ("nan", "数量无效"),
    ],
)
def test_bad_quantities_name_what_is_wrong(text, message):
    with pytest.raises(ValidationError) as refused:
        parse_quantity(text)
    assert refused.value.messages == [message]


def test_a_minimum_may_be_zero_but_not_negative():
    assert parse_quantity("0", allow_zero=True) == Decimal(0)
    with pytest.raises(ValidationError):
        parse_quantity("-1", allow_zero=True)


@pytest.fixture
def w(world):
    return stock_world(world)


@given(quantity=st.text(max_size=12), unit=st.text(max_size=8) | st.sampled_from(["", *StockUnit.values]))
@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_the_purchase_form_takes_any_quantity_and_unit_without_error(w, quantity, unit):
    manager = user(w, MANAGER)
    form = StockInForm(
        {"item": w.water.pk, "store": w.store.pk, "quantity": quantity, "unit": unit},
        items=items_of(manager, w.compound_a.pk),
        stores=stores_of(manager, w.compound_a.pk),
    )
    if form.is_valid():
        assert form.cleaned_data["unit"] in (None, *StockUnit.values)
        assert form.cleaned_data["quantity"] == parse_quantity(quantity)
    else:
        assert set(form.errors) <= {"quantity", "unit"} and form.errors


@given(
    st.tuples(
        st.text("0123456789AB", min_size=1, max_size=4),
        st.text("0123456789", min_size=1, max_size=3),
        st.text("0123456789", min_size=1, max_size=5),
    )
)
@settings(max_examples=200, deadline=None)
def test_a_room_reads_the_same_however_it_is_written(parts):
    building, unit, room = parts
    assert parse_room(f"{building}-{unit}-{room}") == parts
    assert parse_room(f"{building}号楼{unit}单元{room}室") == parts
    assert parse_room(f" {building} - {unit} - {room} ".translate(FULL_WIDTH)) == parts


@given(st.text(max_size=40))
@settings(max_examples=300, deadline=None)
def test_any_text_is_a_room_or_none(text):
    parsed = parse_room(text)
    assert parsed is None or (len(parsed) == 3 and all(parsed))


@pytest.mark.parametrize("text", ["301", "3-2", "1-1-1-1", "", "-", "三号楼"])
def test_texts_that_are_not_rooms(text):
    assert parse_room(text) is None


@pytest.mark.django_db
def test_the_household_by_room_is_the_compounds_and_within_the_users_scope(w):
    manager, grid = user(w, MANAGER), user(w, GRID)
    assert household_by_room(manager, w.compound_a.pk, "1-1-101") == w.home_a1
    assert household_by_room(manager, w.compound_a.pk, "2号楼1单元201室") == w.home_a2
    assert household_by_room(manager, w.compound_b.pk, "1-1-101") is None  # B's 1-1-101: not his
    assert household_by_room(user(w, OFFICIAL), w.compound_a.pk, "1-1-101") == w.home_a1
    assert household_by_room(grid, w.compound_a.pk, "1-1-101") == w.home_a1
    assert household_by_room(grid, w.compound_a.pk, "2-1-201") is None  # outside his building
    assert household_by_room(manager, w.compound_a.pk, "9-9-909") is None


@pytest.mark.django_db
def test_the_out_form_needs_a_room_for_a_household_and_a_team_for_workers(w):
    manager = user(w, MANAGER)
    catalogue = {"items": items_of(manager, w.compound_a.pk), "stores": stores_of(manager, w.compound_a.pk)}
    base = {"item": w.water.pk, "store": w.store.pk, "quantity": "1"}
    household = StockOutForm(
        {**base, "kind": "out_household", "room": "1-1-101"}, user=manager, compound=w.compound_a, **catalogue
    )
    assert household.is_valid() and household.cleaned_data["household"] == w.home_a1
    team = StockOutForm(
        {**base, "kind": "out_team", "team": ""}, user=manager, compound=w.compound_a, **catalogue
    )
    assert not team.is_valid() and team.errors["team"] == ["请填写领取的队伍"]
    used = StockOutForm(
        {**base, "kind": "used", "room": "whatever"}, user=manager, compound=w.compound_a, **catalogue
    )
    assert used.is_valid() and used.cleaned_data["household"] is None
    bad_kind = StockOutForm({**base, "kind": "purchase_in"}, user=manager, compound=w.compound_a, **catalogue)
    assert not bad_kind.is_valid() and "kind" in bad_kind.errors


@given(st.text(max_size=30))
@example("=1+1")
@example("@SUM(A1)")
@example("\t=cmd")
@settings(max_examples=300, deadline=None)
def test_no_cell_text_starts_a_formula(text):
    assert not safe_text(text).startswith(FORMULA_STARTS)
