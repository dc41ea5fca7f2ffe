"""Two workers on one request with the same stale read: one wins, the other is told who and when."""

import pytest
from django.core.exceptions import ValidationError

from tongxin.accounts.models import Role
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Answer, Request, State

from .request_helpers import make_request, manager


def test_two_acknowledge_at_once(world):
    request = make_request(world)
    first, second = Request.objects.get(pk=request.pk), Request.objects.get(pk=request.pk)
    actions.request_acknowledge(actor=manager(world), request=first)
    with pytest.raises(ValidationError) as caught:
        actions.request_acknowledge(actor=world.users[Role.VOLUNTEER], request=second)
    assert caught.value.code == "conflict"
    assert "manager" in caught.value.messages[0]
    fresh = Request.objects.get(pk=request.pk)
    assert fresh.holder == manager(world) and fresh.state == State.ACKNOWLEDGED


def test_two_answers_on_one_read_only_one_kept(world):
    request = make_request(world)
    first, second = Request.objects.get(pk=request.pk), Request.objects.get(pk=request.pk)
    actions.request_answer(actor=manager(world), request=first, text="已安排")
    with pytest.raises(ValidationError) as caught:
        actions.request_answer(actor=world.users[Role.VOLUNTEER], request=second, text="我也来答")
    assert caught.value.code == "conflict"
    assert list(Answer.objects.values_list("text", flat=True)) == ["已安排"]


def test_close_against_a_reopen(world):
    worker = manager(world)
    request = make_request(world)
    actions.request_answer(actor=worker, request=request, text="好")
    first, second = Request.objects.get(pk=request.pk), Request.objects.get(pk=request.pk)
    actions.request_reopen(actor=worker, request=first, reason="没送到")
    with pytest.raises(ValidationError) as caught:
        actions.request_close(actor=world.users[Role.VOLUNTEER], request=second)
    assert caught.value.code == "conflict"
    assert Request.objects.get(pk=request.pk).state == State.IN_PROGRESS
