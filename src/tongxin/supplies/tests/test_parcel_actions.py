"""Parcel actions: intake by room or phone (one or a batch), photos checked by their bytes,
disinfection with the compound's hold time, delivery and refusal, bad input, scope, and two
people marking the same parcel at once."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.http import Http404
from django.utils import timezone
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.registry.tests.factories import make_resident
from tongxin.supplies.actions import parcels as actions
from tongxin.supplies.actions.settings import settings_update
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.selectors.parcels import households_for_intake, parse_phone, parse_room
from tongxin.supplies.tests.parcel_helpers import (
    GIF,
    JPEG,
    PNG,
    WEBP,
    _media,
    held,
    intake,
    upload,
    volunteer,
)

pytestmark = pytest.mark.django_db
__all__ = ["_media"]


def codes(error: ValidationError) -> set[str]:
    if hasattr(error, "error_dict"):
        return {e.code for errors in error.error_dict.values() for e in errors}
    return {e.code for e in error.error_list}


# -- the room and phone parser -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("3-2-301", ("3", "2", "301")),
        ("3号楼2单元301", ("3", "2", "301")),
        ("3号楼2单元301室", ("3", "2", "301")),
        ("３－２－３０１", ("3", "2", "301")),
        (" 3 - 2 - 301 ", ("3", "2", "301")),
        ("3栋2单元1201", ("3", "2", "1201")),
        ("a-1-101", ("A", "1", "101")),
        ("301", None),
        ("3-2", None),
        ("", None),
        ("3-2-301-4", None),
        ("三号楼二单元301", None),
    ],
)
def test_parse_room(text, expected):
    assert parse_room(text) == expected


def test_parse_phone():
    assert parse_phone("138 1234 5678") == "13812345678"
    assert parse_phone("+8613812345678") == "13812345678"
    assert parse_phone("3-2-301") == ""
    assert parse_phone("12345") == ""


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=60))
def test_parsers_never_crash(text):
    room = parse_room(text)
    assert room is None or (len(room) == 3 and all(room))
    phone = parse_phone(text)
    assert phone == "" or (len(phone) == 11 and phone.startswith("1"))


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    text=st.one_of(st.text(max_size=40), st.from_regex(r"[0-9]{1,3}-[0-9]{1,2}-[0-9]{3,4}", fullmatch=True))
)
def test_lookup_answers_households_or_a_clear_error(world, text):
    """Any text: the households it names, or a ValidationError with a known code; never anything else."""
    try:
        found = households_for_intake(volunteer(world), world.compound_a, text)
    except ValidationError as error:
        assert codes(error) <= {"lookup_required", "lookup_invalid", "unknown_room", "unknown_phone"}
    else:
        assert found and all(h.compound_id == world.compound_a.pk for h in found)


# -- intake ------------------------------------------------------------------------------------------


def test_intake_by_room_writes_the_parcel_and_its_audit(world):
    actor = volunteer(world)
    parcel = actions.parcel_intake(
        actor=actor,
        compound=world.compound_a,
        lookup="1号楼1单元101",
        courier=" 顺丰 ",
        tracking_number="SF1",
        pieces=2,
    )
    parcel.refresh_from_db()
    assert (parcel.household_id, parcel.courier, parcel.pieces, parcel.state) == (
        world.home_a1.pk,
        "顺丰",
        2,
        ParcelState.RECEIVED,
    )
    assert parcel.received_by == actor
    assert (
        AuditLog.objects.filter(
            object_type="supplies.parcel", object_id=str(parcel.pk), action="create"
        ).count()
        == 1
    )


def test_intake_by_phone(world):
    parcel = actions.parcel_intake(actor=volunteer(world), compound=world.compound_a, lookup="139 0000 1111")
    assert parcel.household_id == world.home_a2.pk


def test_phone_of_several_households_asks_which(world):
    make_resident(world.home_a2, name="王秀兰之女", phone="13812345678")
    with pytest.raises(ValidationError) as caught:
        actions.parcel_intake(actor=volunteer(world), compound=world.compound_a, lookup="13812345678")
    assert codes(caught.value) == {"several_households"}
    assert "1-1-101" in str(caught.value) and "2-1-201" in str(caught.value)
    item = caught.value.error_dict["lookup"][0]
    assert sorted(item.params["households"]) == sorted([world.home_a1.pk, world.home_a2.pk])
    assert Parcel.objects.count() == 0
    chosen = actions.parcel_intake(
        actor=volunteer(world), compound=world.compound_a, household=world.home_a2.pk
    )
    assert chosen.household_id == world.home_a2.pk


@pytest.mark.parametrize(
    ("lookup", "code"),
    [
        ("9-9-999", "unknown_room"),
        ("13000000000", "unknown_phone"),
        ("13700002222", "unknown_phone"),  # compound B's resident
        ("1-1-101室门口", "lookup_invalid"),
        ("", "lookup_required"),
    ],
)
def test_unknown_room_or_phone_writes_nothing(world, lookup, code):
    with pytest.raises(ValidationError) as caught:
        actions.parcel_intake(actor=volunteer(world), compound=world.compound_a, lookup=lookup)
    assert codes(caught.value) == {code}
    if code == "unknown_room":
        assert "找不到该房号" in str(caught.value)
    assert Parcel.objects.count() == 0
    assert not AuditLog.objects.filter(object_type="supplies.parcel").exists()


@pytest.mark.parametrize("pieces", [0, -1, 100, "many", None, True])
def test_bad_pieces(world, pieces):
    with pytest.raises(ValidationError) as caught:
        intake(world, pieces=pieces)
    assert codes(caught.value) == {"pieces"}
    assert Parcel.objects.count() == 0


def test_texts_too_long_and_future_times(world):
    with pytest.raises(ValidationError) as caught:
        intake(world, note="很长" * 101)
    assert codes(caught.value) == {"too_long"}
    with pytest.raises(ValidationError) as caught:
        intake(world, at=timezone.now() + datetime.timedelta(hours=1))
    assert codes(caught.value) == {"future_time"}
    assert Parcel.objects.count() == 0


def test_household_of_another_compound(world):
    with pytest.raises(ValidationError) as caught:
        actions.parcel_intake(
            actor=world.users[Role.PLATFORM_ADMIN], compound=world.compound_a, household=world.home_b
        )
    assert codes(caught.value) == {"other_compound"}


def test_scope_of_intake(world):
    with pytest.raises(Http404):
        actions.parcel_intake(actor=volunteer(world), compound=world.compound_b, lookup="1-1-101")
    with pytest.raises(Http404):  # residents see no compound's supplies
        actions.parcel_intake(actor=world.users[Role.RESIDENT], compound=world.compound_a, lookup="1-1-101")
    grid = world.users[Role.GRID_WORKER]  # building 1 only
    assert (
        actions.parcel_intake(actor=grid, compound=world.compound_a, lookup="1-1-101").household_id
        == world.home_a1.pk
    )
    with pytest.raises(ValidationError) as caught:
        actions.parcel_intake(actor=grid, compound=world.compound_a, lookup="2-1-201")
    assert codes(caught.value) == {"unknown_room"}


# -- photos --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "kind"), [(JPEG, "jpg"), (PNG, "png"), (WEBP, "webp")])
def test_photo_kinds_by_their_bytes(world, data, kind):
    parcel = intake(world, photo=upload(data, name="whatever.exe", content_type="application/x-msdownload"))
    assert parcel.photo.name.endswith(f".{kind}")
    assert "whatever" not in parcel.photo.name
    with parcel.photo.open("rb") as handle:
        assert handle.read() == data


@pytest.mark.parametrize("data", [GIF, b"<svg xmlns='http://www.w3.org/2000/svg'/>", b"MZ\x90\x00", b""])
def test_photo_other_kinds_refused(world, data):
    with pytest.raises(ValidationError) as caught:
        intake(world, photo=upload(data, name="p.jpg"))
    assert codes(caught.value) <= {"photo_type", "photo_empty"}
    assert Parcel.objects.count() == 0


def test_photo_too_large(world, settings):
    settings.TONGXIN_PHOTO_MAX_BYTES = 100
    with pytest.raises(ValidationError) as caught:
        intake(world, photo=upload(JPEG + b"\x00" * 100))
    assert codes(caught.value) == {"photo_size"}
    assert Parcel.objects.count() == 0
    assert intake(world, photo=upload(JPEG[:100])).photo


# -- a courier's batch ---------------------------------------------------------------------------------


def test_batch_parse_and_intake(world):
    lines = actions.parse_batch("1-1-101 SF001 2\n\n  2号楼1单元201  \n13900001111 YT9 备注 3\n")
    assert lines == [
        actions.BatchLine(lookup="1-1-101", tracking_number="SF001", pieces=2),
        actions.BatchLine(lookup="2号楼1单元201"),
        actions.BatchLine(lookup="13900001111", tracking_number="YT9", pieces=3, note="备注"),
    ]
    created = actions.parcels_intake(
        actor=volunteer(world), compound=world.compound_a, courier="中通", lines=lines
    )
    assert [(p.household_id, p.pieces, p.courier) for p in created] == [
        (world.home_a1.pk, 2, "中通"),
        (world.home_a2.pk, 1, "中通"),
        (world.home_a2.pk, 3, "中通"),
    ]
    assert all(p.pk for p in created)


def test_batch_with_one_bad_line_writes_nothing(world):
    lines = actions.parse_batch("1-1-101\n9-9-909\n2-1-201")
    with pytest.raises(ValidationError) as caught:
        actions.parcels_intake(actor=volunteer(world), compound=world.compound_a, lines=lines)
    assert "第2行" in str(caught.value) and "找不到该房号" in str(caught.value)
    assert Parcel.objects.count() == 0
    with pytest.raises(ValidationError):
        actions.parcels_intake(actor=volunteer(world), compound=world.compound_a, lines=[])


# -- disinfection, hold, delivery --------------------------------------------------------------------


def test_disinfect_sets_ready_after_the_default_hold(world):
    parcels = [intake(world), intake(world, world.home_a2)]
    at = timezone.now()
    done = actions.parcels_disinfect(actor=volunteer(world), parcels=[p.pk for p in parcels], at=at)
    assert [p.state for p in done] == [ParcelState.DISINFECTED] * 2
    assert all(p.ready_at == at + datetime.timedelta(minutes=120) for p in done)
    assert all(p.disinfected_by == volunteer(world) for p in done)


def test_disinfect_uses_the_compounds_setting(world):
    settings_update(
        actor=world.users[Role.COMPOUND_MANAGER],
        compound=world.compound_a,
        parcel_hold_minutes=30,
        pickup_start="10:00",
        pickup_slot_minutes=30,
        care_visit_days=7,
    )
    parcel = intake(world)
    at = timezone.now()
    done = actions.parcels_disinfect(actor=volunteer(world), parcels=[parcel.pk], at=at)
    assert done[0].ready_at == at + datetime.timedelta(minutes=30)


def test_disinfect_before_intake_refused(world):
    parcel = intake(world)
    with pytest.raises(ValidationError) as caught:
        actions.parcels_disinfect(
            actor=volunteer(world), parcels=[parcel.pk], at=parcel.received_at - datetime.timedelta(minutes=5)
        )
    assert codes(caught.value) == {"before_intake"}


def test_deliver_before_the_hold_ends_is_refused(world):
    parcel = held(world, minutes_ago=100)
    with pytest.raises(ValidationError) as caught:
        actions.parcel_deliver(actor=volunteer(world), parcel=parcel)
    assert codes(caught.value) == {"still_holding"}
    assert "还需静置20分钟" in str(caught.value)
    parcel.refresh_from_db()
    assert parcel.state == ParcelState.DISINFECTED and parcel.handed_at is None


def test_deliver_not_disinfected_is_refused(world):
    parcel = intake(world)
    with pytest.raises(ValidationError) as caught:
        actions.parcel_deliver(actor=volunteer(world), parcel=parcel)
    assert codes(caught.value) == {"not_disinfected"}
    assert Parcel.objects.get().state == ParcelState.RECEIVED


def test_deliver_once_ready(world):
    parcel = held(world, minutes_ago=121)
    done = actions.parcel_deliver(actor=world.users[Role.GRID_WORKER], parcel=parcel.pk)
    assert done.state == ParcelState.DELIVERED
    assert done.handed_by == world.users[Role.GRID_WORKER]
    assert done.handed_at - done.disinfected_at >= datetime.timedelta(minutes=120)
    with pytest.raises(ValidationError) as caught:
        actions.parcel_deliver(actor=volunteer(world), parcel=parcel.pk)
    assert codes(caught.value) == {"already_delivered"}


def test_refuse_needs_a_reason_and_disinfection(world):
    parcel = intake(world)
    with pytest.raises(ValidationError) as caught:
        actions.parcel_refuse(actor=volunteer(world), parcel=parcel, reason="不是本户的")
    assert codes(caught.value) == {"not_disinfected"}
    parcel = held(world, minutes_ago=10)
    for reason in ("", "   "):
        with pytest.raises(ValidationError) as caught:
            actions.parcel_refuse(actor=volunteer(world), parcel=parcel, reason=reason)
        assert codes(caught.value) == {"reason_required"}
    done = actions.parcel_refuse(actor=volunteer(world), parcel=parcel, reason="不是本户的")
    assert (done.state, done.refusal_reason) == (ParcelState.REFUSED, "不是本户的")
    with pytest.raises(ValidationError) as caught:
        actions.parcels_disinfect(actor=volunteer(world), parcels=[parcel.pk])
    assert codes(caught.value) == {"already_refused"}


def test_state_changes_scoped(world):
    parcel = held(world, world.home_a2, minutes_ago=130)
    with pytest.raises(Http404):  # the grid worker keeps building 1 only
        actions.parcel_deliver(actor=world.users[Role.GRID_WORKER], parcel=parcel.pk)
    with pytest.raises(Http404):
        actions.parcel_deliver(actor=world.users[Role.RESIDENT], parcel=parcel.pk)
    with pytest.raises(Http404):
        actions.parcels_disinfect(actor=world.users[Role.VOLUNTEER], parcels=[parcel.pk, 10**9])
    assert Parcel.objects.get().state == ParcelState.DISINFECTED


# -- two people at once ----------------------------------------------------------------------------


def test_two_volunteers_deliver_the_same_parcel(world, django_user_model):
    """Both read the parcel as ready; the first wins, the second is told who delivered it."""
    parcel = held(world, minutes_ago=150)
    first, second = world.users[Role.VOLUNTEER], world.users[Role.GRID_WORKER]
    first.full_name = "张志愿"
    first.save()
    stale_a, stale_b = Parcel.objects.get(pk=parcel.pk), Parcel.objects.get(pk=parcel.pk)
    real_visible = actions._visible
    stale = iter([[stale_a], [stale_b]])
    actions._visible = lambda actor, ids: next(stale)
    try:
        actions.parcel_deliver(actor=first, parcel=stale_a)
        with pytest.raises(ValidationError) as caught:
            actions.parcel_refuse(actor=second, parcel=stale_b, reason="不要了")
    finally:
        actions._visible = real_visible
    assert codes(caught.value) == {"already_delivered"}
    assert "张志愿" in str(caught.value) and "已送达" in str(caught.value)
    parcel.refresh_from_db()
    assert (parcel.state, parcel.handed_by, parcel.refusal_reason) == (ParcelState.DELIVERED, first, "")


def test_two_volunteers_disinfect_the_same_batch(world, monkeypatch):
    """Both select the same parcels while they wait; the second batch writes nothing and names who."""
    parcels = [intake(world), intake(world, world.home_a2)]
    ids = [p.pk for p in parcels]
    first, second = world.users[Role.VOLUNTEER], world.users[Role.COMPOUND_MANAGER]
    stale = list(
        Parcel.objects.filter(pk__in=ids).select_related("compound", "household__unit", "household__building")
    )
    actions.parcels_disinfect(actor=first, parcels=ids[:1])
    monkeypatch.setattr(actions, "_visible", lambda actor, wanted: stale)
    with pytest.raises(ValidationError) as caught:
        actions.parcels_disinfect(actor=second, parcels=ids)
    assert codes(caught.value) == {"already_disinfected"}
    assert "volunteer" in str(caught.value)
    states = dict(Parcel.objects.values_list("pk", "disinfected_by"))
    assert states == {ids[0]: first.pk, ids[1]: None}
