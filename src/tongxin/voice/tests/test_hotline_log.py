import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone
from hypothesis import given
from hypothesis import strategies as st

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.models import AuditLog
from tongxin.registry.actions import phone_lookup_hash
from tongxin.voice.actions.hotline import hotline_log, normalised_phone
from tongxin.voice.models import Channel, HotlineCall, Request
from tongxin.voice.selectors.hotline import hotline_calls, hotline_counts

from .request_helpers import manager


def _log(world, **fields):
    values = {
        "actor": manager(world),
        "compound": world.compound_a,
        "caller": "李先生",
        "phone": "138 1234 5678",
        "asked": "快递能进小区吗",
    }
    values.update(fields)
    return hotline_log(**values)


def test_phone_kept_encrypted_hashed_and_masked(world):
    call = _log(world, answered="放在门口快递架", follow_up="无")
    call.refresh_from_db()
    assert call.phone_masked == "138****5678"
    assert "13812345678" not in call.phone_cipher
    assert crypto.decrypt(call.phone_cipher) == "13812345678"
    assert call.phone_hash == phone_lookup_hash("13812345678")
    assert (call.caller, call.answered, call.taken_by) == ("李先生", "放在门口快递架", manager(world))
    assert call.request is None
    assert AuditLog.objects.filter(object_type="voice.hotlinecall", object_id=str(call.pk)).exists()


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("+86 138-1234-5678", "13812345678"),
        ("0471-6912345", "04716912345"),
        ("(010)12345678", "01012345678"),
        ("6912345", "6912345"),
        ("12345", "12345"),
    ],
)
def test_phone_normalised(raw, expected):
    assert normalised_phone(raw) == expected


@pytest.mark.parametrize("raw", ["abc", "138123", "1381234567890", "０４７１６９１２３４５", "12345678901"])
def test_bad_phone_refused(raw):
    with pytest.raises(ValidationError) as caught:
        normalised_phone(raw)
    assert caught.value.error_dict["phone"][0].code == "invalid_phone"


@given(st.text(max_size=30))
def test_phone_check_never_crashes(raw):
    try:
        phone = normalised_phone(raw)
    except ValidationError:
        return
    assert phone == "" or phone.isdigit()


def test_empty_phone_allowed(world):
    call = _log(world, phone="")
    assert (call.phone_cipher, call.phone_hash, call.phone_masked) == ("", "", "")


def test_bad_input_refused(world):
    for fields, field in [
        ({"asked": "   "}, "asked"),
        ({"asked": "问" * 2001}, "asked"),
        ({"answered": "答" * 2001}, "answered"),
        ({"follow_up": "跟" * 501}, "follow_up"),
        ({"caller": "名" * 51}, "caller"),
        ({"phone": "not a phone"}, "phone"),
        ({"at": timezone.now() + datetime.timedelta(hours=2)}, "at"),
    ]:
        with pytest.raises(ValidationError) as caught:
            _log(world, **fields)
        assert field in caught.value.error_dict
    assert not HotlineCall.objects.exists()


def test_make_request_links_a_hotline_request(world):
    at = timezone.now() - datetime.timedelta(minutes=20)
    call = _log(world, asked="老人发烧了怎么办", at=at, make_request=True, household=world.home_a2)
    request = call.request
    assert request.channel == Channel.HOTLINE
    assert (request.text, request.asker, request.household) == ("老人发烧了怎么办", "李先生", world.home_a2)
    assert request.received_at == at == call.at
    assert request.category == "medical" and request.urgent


def test_a_bad_request_writes_no_call(world):
    with pytest.raises(Http404):
        _log(world, make_request=True, household=world.home_b)
    assert not HotlineCall.objects.exists() and not Request.objects.exists()


def test_scoped(world):
    with pytest.raises(Http404):
        _log(world, compound=world.compound_b)
    with pytest.raises((PermissionDenied, Http404)):
        _log(world, actor=world.users[Role.RESIDENT])
    assert _log(world, actor=world.users[Role.VOLUNTEER]).pk


def test_calls_of_a_day_and_counts(world, django_assert_max_num_queries, monkeypatch):
    noon = timezone.make_aware(datetime.datetime.combine(datetime.date(2026, 11, 29), datetime.time(12, 0)))
    monkeypatch.setattr(timezone, "now", lambda: noon)
    today = timezone.localdate(noon)
    yesterday = noon - datetime.timedelta(days=1)
    first = _log(world, at=noon - datetime.timedelta(hours=2), answered="可以")
    second = _log(world, at=noon - datetime.timedelta(hours=1))
    _log(world, at=yesterday, answered="好")
    with django_assert_max_num_queries(2):
        calls = list(hotline_calls(manager(world), world.compound_a.pk, today))
    assert [c.pk for c in calls] == [first.pk, second.pk]
    assert hotline_counts(manager(world), world.compound_a.pk) == {"calls": 3, "answered": 2}
    day_start = timezone.make_aware(datetime.datetime.combine(today, datetime.time.min))
    assert hotline_counts(manager(world), world.compound_a.pk, since=day_start) == {"calls": 2, "answered": 1}
    with pytest.raises(Http404):
        hotline_calls(manager(world), world.compound_b.pk, today)
    assert list(hotline_calls(world.users[Role.OFFICIAL], world.compound_a.pk, today)) == calls


def test_what_was_answered_on_the_phone_is_the_requests_first_answer(world):
    at = timezone.now() - datetime.timedelta(minutes=40)
    call = _log(
        world, asked="快递能进吗", answered="可以，放北门", at=at, make_request=True, household=world.home_a1
    )
    request = Request.objects.get(pk=call.request_id)
    answer = request.answers.get()
    assert (answer.text, answer.channel, answer.at) == ("可以，放北门", Channel.HOTLINE, at)
    assert (request.state, request.first_answer_at) == ("answered", at)
    unanswered = _log(world, asked="什么时候解封", make_request=True, household=world.home_a1)
    assert Request.objects.get(pk=unanswered.request_id).state == "new"


def test_a_grid_worker_reads_no_call_of_a_household_outside_his_buildings(world):
    from tongxin.accounts.models import Role
    from tongxin.voice.selectors.hotline import hotline_calls, hotline_counts, require_call

    grid = world.users[Role.GRID_WORKER]
    theirs = _log(world, asked="二号楼的事", make_request=True, household=world.home_a2)
    plain = _log(world, asked="没有房号的来电")
    assert list(grid.buildings.values_list("pk", flat=True)) == [world.home_a1.building_id]
    seen = list(hotline_calls(grid, world.compound_a.pk, timezone.localdate()))
    assert [call.pk for call in seen] == [plain.pk]
    assert hotline_counts(grid, world.compound_a.pk)["calls"] == 1
    with pytest.raises(Http404):
        require_call(grid, theirs.pk)
    assert {call.pk for call in hotline_calls(manager(world), world.compound_a.pk, timezone.localdate())} == {
        theirs.pk,
        plain.pk,
    }
