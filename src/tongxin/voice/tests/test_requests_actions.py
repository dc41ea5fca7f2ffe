import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Answer, Category, Channel, Request, State

from .request_helpers import make_request, manager


def _field_code(exc: ValidationError, field: str) -> str:
    return exc.error_dict[field][0].code


def test_created_with_suggested_category_urgency_and_audit(world):
    request = make_request(world, household=world.home_a2, text="  家里没菜了  ", asker="李建国")
    assert request.text == "家里没菜了"
    assert request.category == Category.SUPPLIES
    assert request.urgent is False
    assert request.state == State.NEW
    assert request.created_by == manager(world)
    assert AuditLog.objects.filter(
        object_type="voice.request", object_id=str(request.pk), action="create"
    ).exists()


def test_medical_and_elderly_alone_are_urgent(world):
    assert make_request(world, household=world.home_a2, text="降压药没了").urgent is True
    assert make_request(world, household=world.home_a1, text="什么时候解封").urgent is True
    assert make_request(world, household=world.home_a2, text="什么时候解封").urgent is False


def test_given_category_kept_and_unknown_refused(world):
    assert make_request(world, text="没菜了", category=Category.COMPLAINT).category == Category.COMPLAINT
    with pytest.raises(ValidationError) as caught:
        make_request(world, text="没菜了", category="food")
    assert _field_code(caught.value, "category") == "unknown_category"


@pytest.mark.parametrize("text", ["", "   ", "\n\t　", None])
def test_whitespace_only_refused(world, text):
    with pytest.raises(ValidationError) as caught:
        make_request(world, text=text)
    assert caught.value.error_dict["text"][0].message == "请填写诉求内容"
    assert not Request.objects.exists()


def test_text_at_most_2000(world):
    assert len(make_request(world, text="问" * 2000).text) == 2000
    with pytest.raises(ValidationError) as caught:
        make_request(world, text="问" * 2001)
    assert _field_code(caught.value, "text") == "text_too_long"


def test_long_asker_and_unknown_channel_refused(world):
    with pytest.raises(ValidationError):
        make_request(world, asker="名" * 51)
    with pytest.raises(ValidationError) as caught:
        make_request(world, channel="fax")
    assert _field_code(caught.value, "channel") == "unknown_channel"


def test_received_at_checked(world):
    now = timezone.now()
    earlier = now - datetime.timedelta(hours=3)
    assert make_request(world, received_at=earlier).received_at == earlier
    for bad, code in [
        (now + datetime.timedelta(hours=1), "future_time"),
        (now - datetime.timedelta(days=400), "too_old"),
        (datetime.datetime(2026, 1, 1, 8, 0), "naive_time"),  # noqa: DTZ001 (naive on purpose)
    ]:
        with pytest.raises(ValidationError) as caught:
            make_request(world, received_at=bad)
        assert _field_code(caught.value, "received_at") == code


def test_resident_creates_for_own_household_by_portal(world):
    resident = world.users[Role.RESIDENT]
    request = make_request(world, actor=resident, channel=Channel.PORTAL, text="想买点米")
    assert request.household == world.home_a1
    with pytest.raises(ValidationError) as caught:
        make_request(world, actor=resident, channel=Channel.GROUP, household=world.home_a1)
    assert _field_code(caught.value, "channel") == "invalid_channel"
    with pytest.raises(Http404):
        make_request(world, actor=resident, channel=Channel.PORTAL, household=world.home_a2)
    with pytest.raises(ValidationError):
        make_request(
            world,
            actor=resident,
            channel=Channel.PORTAL,
            received_at=timezone.now() - datetime.timedelta(days=1),
        )


def test_staff_cannot_use_the_portal_channel(world):
    with pytest.raises(ValidationError):
        make_request(world, channel=Channel.PORTAL)


def test_scope_of_staff(world):
    grid = world.users[Role.GRID_WORKER]
    assert make_request(world, actor=grid, household=world.home_a1).household == world.home_a1
    assert make_request(world, actor=grid).household is None  # a group message, no household yet
    with pytest.raises(Http404):
        make_request(world, actor=grid, household=world.home_a2)  # building 2 is not his
    with pytest.raises(Http404):
        make_request(world, compound=world.compound_b)
    with pytest.raises(Http404):
        make_request(world, household=world.home_b)  # another compound's household
    assert make_request(world, actor=world.users[Role.VOLUNTEER]).pk
    assert make_request(world, actor=world.users[Role.OFFICIAL]).pk


def test_resident_must_belong_to_household(world):
    with pytest.raises(ValidationError) as caught:
        make_request(world, household=world.home_a2, resident=world.elder)
    assert _field_code(caught.value, "resident") == "resident_other_household"
    request = make_request(world, resident=world.neighbour)
    assert request.household == world.home_a2


def test_anonymous_refused(world):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        make_request(world, actor=AnonymousUser())


# Transitions


def test_acknowledge_start_answer_close(world):
    worker = manager(world)
    request = make_request(world, household=world.home_a2, channel=Channel.PRIVATE)
    actions.request_acknowledge(actor=worker, request=request)
    request.refresh_from_db()
    assert (request.state, request.holder, request.acknowledged_at is not None) == (
        State.ACKNOWLEDGED,
        worker,
        True,
    )
    actions.request_start(actor=worker, request=request)
    assert Request.objects.get(pk=request.pk).state == State.IN_PROGRESS
    answer = actions.request_answer(actor=worker, request=request, text=" 明天送到 ")
    assert (answer.text, answer.channel, answer.by) == ("明天送到", Channel.PRIVATE, worker)
    request.refresh_from_db()
    assert request.state == State.ANSWERED and request.first_answer_at == answer.at
    actions.request_close(actor=worker, request=request)
    request.refresh_from_db()
    assert request.state == State.CLOSED and request.closed_at is not None


def test_first_answer_time_set_once_and_channel_may_differ(world):
    worker = manager(world)
    request = make_request(world, channel=Channel.HOTLINE)
    first = actions.request_answer(actor=worker, request=request, text="已登记")
    request.refresh_from_db()
    second = actions.request_answer(actor=worker, request=request, text="已送到", channel=Channel.PRIVATE)
    request.refresh_from_db()
    assert request.first_answer_at == first.at != second.at
    assert [a.channel for a in Answer.objects.filter(request=request).order_by("pk")] == [
        "hotline",
        "private",
    ]


def test_empty_answer_and_unknown_channel_refused(world):
    request = make_request(world)
    with pytest.raises(ValidationError):
        actions.request_answer(actor=manager(world), request=request, text="  ")
    with pytest.raises(ValidationError):
        actions.request_answer(actor=manager(world), request=request, text="好", channel="fax")
    assert not Answer.objects.exists()
    assert Request.objects.get(pk=request.pk).state == State.NEW


def test_close_refused_without_an_answer(world):
    request = make_request(world)
    with pytest.raises(ValidationError) as caught:
        actions.request_close(actor=manager(world), request=request)
    assert caught.value.messages == ["诉求尚未答复，不能办结"]
    assert Request.objects.get(pk=request.pk).state == State.NEW


def test_reopen_needs_a_reason_and_goes_back_in_progress(world):
    worker = manager(world)
    request = make_request(world)
    with pytest.raises(ValidationError):
        actions.request_reopen(actor=worker, request=request, reason="不满意")  # still new
    actions.request_answer(actor=worker, request=request, text="已处理")
    actions.request_close(actor=worker, request=request)
    with pytest.raises(ValidationError) as caught:
        actions.request_reopen(actor=worker, request=request, reason="  ")
    assert _field_code(caught.value, "reason") == "reason_required"
    actions.request_reopen(actor=worker, request=request, reason="居民说还没送到")
    request.refresh_from_db()
    assert request.state == State.IN_PROGRESS and request.closed_at is None
    assert request.first_answer_at is not None
    assert AuditLog.objects.filter(object_id=str(request.pk), reason="居民说还没送到").exists()


def test_closed_request_is_not_answered_or_closed_again(world):
    worker = manager(world)
    request = make_request(world)
    actions.request_answer(actor=worker, request=request, text="好")
    actions.request_close(actor=worker, request=request)
    with pytest.raises(ValidationError):
        actions.request_answer(actor=worker, request=request, text="再答")
    with pytest.raises(ValidationError):
        actions.request_close(actor=worker, request=request)


def test_transitions_scoped(world):
    request = make_request(world, household=world.home_a2)
    with pytest.raises(Http404):
        actions.request_acknowledge(actor=world.users[Role.GRID_WORKER], request=request)
    with pytest.raises(PermissionDenied):
        actions.request_answer(actor=world.users[Role.RESIDENT], request=request, text="x")
    from tongxin.registry.tests.factories import make_user

    other = make_user(Role.COMPOUND_MANAGER, compound=world.compound_b)
    with pytest.raises(Http404):
        actions.request_start(actor=other, request=request)
    assert Request.objects.get(pk=request.pk).state == State.NEW


def test_an_answer_and_a_closing_written_down_afterwards_keep_when_they_happened(world):
    timedelta = datetime.timedelta
    request_answer, request_close = actions.request_answer, actions.request_close
    now = timezone.now()
    request = make_request(world, received_at=now - timedelta(hours=5))
    with pytest.raises(ValidationError) as refused:
        request_answer(actor=manager(world), request=request, text="已回电", at=now - timedelta(hours=6))
    assert refused.value.message_dict["at"][0].startswith("时间不能早于")
    answer = request_answer(actor=manager(world), request=request, text="已回电", at=now - timedelta(hours=4))
    request.refresh_from_db()
    assert answer.at == request.first_answer_at == now - timedelta(hours=4)
    with pytest.raises(ValidationError):
        request_close(actor=manager(world), request=request, at=now - timedelta(hours=4, minutes=1))
    request_close(actor=manager(world), request=request, at=now - timedelta(hours=3))
    request.refresh_from_db()
    assert request.closed_at == now - timedelta(hours=3)
    assert request.updated_at >= now
