import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.supplies.models import SupplyRequest
from tongxin.voice.actions import requests as actions
from tongxin.voice.models import Channel, Request, State

from .request_helpers import make_request, manager


def test_hand_over_makes_one_linked_supply_request(world):
    request = make_request(world, household=world.home_a2, text="家里没米了", channel=Channel.HOTLINE)
    supply = actions.request_hand_over_to_supplies(
        actor=manager(world), request=request, kind="rice", lines=[(None, "大米", 1, "袋")], detail="5公斤"
    )
    assert supply.household == world.home_a2
    assert supply.source == f"voice:{request.pk}"
    assert supply.via == "phone"  # it came by the hotline
    assert supply.kind == "rice"
    request.refresh_from_db()
    assert request.supply_request == supply
    assert request.state == State.IN_PROGRESS
    assert request.holder == manager(world)
    again = actions.request_hand_over_to_supplies(actor=manager(world), request=request, kind="rice")
    assert again == supply
    stale = Request.objects.get(pk=request.pk)
    stale.supply_request_id = None  # a read from before the first hand-over
    assert actions.request_hand_over_to_supplies(actor=manager(world), request=stale, kind="rice") == supply
    assert SupplyRequest.objects.count() == 1


def test_group_message_handed_over_by_a_worker(world):
    request = make_request(world, household=world.home_a2, text="药吃完了")
    supply = actions.request_hand_over_to_supplies(
        actor=manager(world), request=request, kind="medicine", detail="硝苯地平缓释片"
    )
    assert supply.via == "worker" and supply.kind == "medicine"


def test_refused_without_a_household(world):
    request = make_request(world)
    with pytest.raises(ValidationError) as caught:
        actions.request_hand_over_to_supplies(actor=manager(world), request=request, kind="rice")
    assert caught.value.code == "no_household"
    assert not SupplyRequest.objects.exists()


def test_supplies_refusal_leaves_the_request_alone(world):
    request = make_request(world, household=world.home_a2)
    with pytest.raises(ValidationError):
        actions.request_hand_over_to_supplies(
            actor=manager(world), request=request, kind="medicine"
        )  # no note
    request.refresh_from_db()
    assert request.supply_request is None and request.state == State.NEW


def test_closed_request_not_handed_over(world):
    request = make_request(world, household=world.home_a2)
    actions.request_answer(actor=manager(world), request=request, text="好")
    actions.request_close(actor=manager(world), request=request)
    with pytest.raises(ValidationError):
        actions.request_hand_over_to_supplies(actor=manager(world), request=request, kind="rice")


def test_hand_over_scoped(world):
    request = make_request(world, household=world.home_a2)
    with pytest.raises(Http404):
        actions.request_hand_over_to_supplies(
            actor=world.users[Role.GRID_WORKER], request=request, kind="rice"
        )
    with pytest.raises(PermissionDenied):
        actions.request_hand_over_to_supplies(actor=world.users[Role.RESIDENT], request=request, kind="rice")
    assert not SupplyRequest.objects.exists()
