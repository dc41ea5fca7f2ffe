"""Ending a campaign from its page: cadres only; afterwards no door takes a mark and the page says so."""

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from tongxin.core.models import AuditLog
from tongxin.supplies.actions.campaigns import campaign_visit_record
from tongxin.supplies.models import Campaign, CampaignVisit
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import GRID, MANAGER, VOLUNTEER

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign(world):
    campaign_world(world)
    return plan(world)


def _as(client, world, role):
    client.force_login(world.users[role])
    return client


def test_a_manager_ends_the_campaign_and_its_doors_take_no_more_marks(client, world, campaign):
    page = _as(client, world, MANAGER).get(reverse("supplies:campaign", args=[campaign.pk]))
    assert "结束发放" in page.content.decode()
    answer = client.post(reverse("supplies:campaign_close", args=[campaign.pk]), follow=True)
    assert answer.status_code == 200
    body = answer.content.decode()
    assert "不再登记上门结果" in body and "结束发放</button>" not in body
    assert Campaign.objects.get(pk=campaign.pk).closed_at is not None
    assert AuditLog.objects.filter(object_type="supplies.campaign", fields="closed_at").count() == 1
    door = CampaignVisit.objects.filter(campaign=campaign).first()
    with pytest.raises(ValidationError):
        campaign_visit_record(actor=world.users[VOLUNTEER], visit=door, outcome="delivered")
    assert CampaignVisit.objects.get(pk=door.pk).outcome == "pending"


def test_ending_twice_says_it_is_already_ended(client, world, campaign):
    url = reverse("supplies:campaign_close", args=[campaign.pk])
    _as(client, world, MANAGER).post(url)
    answer = client.post(url, follow=True)
    assert "该发放已结束" in answer.content.decode()


@pytest.mark.parametrize("role", [VOLUNTEER, GRID])
def test_only_cadres_end_a_campaign(client, world, campaign, role):
    page = _as(client, world, role).get(reverse("supplies:campaign", args=[campaign.pk]))
    assert "结束发放" not in page.content.decode()
    assert client.post(reverse("supplies:campaign_close", args=[campaign.pk])).status_code in (403, 404)
    assert Campaign.objects.get(pk=campaign.pk).closed_at is None


def test_a_get_does_not_end_it(client, world, campaign):
    answer = _as(client, world, MANAGER).get(reverse("supplies:campaign_close", args=[campaign.pk]))
    assert answer.status_code == 405
    assert Campaign.objects.get(pk=campaign.pk).closed_at is None
