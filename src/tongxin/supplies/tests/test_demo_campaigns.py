"""The demo's cabbage campaign at 丁香苑小区: 20,000 kg over 3 days by 10 teams, every door
visited, the vacant flats found written back to the registry, and a second run that changes
nothing."""

import datetime
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django.utils import timezone

from tongxin.registry.models import Compound, Household, Resident
from tongxin.supplies.actions.campaigns import FINAL
from tongxin.supplies.demo import campaigns as campaign_demo
from tongxin.supplies.models import Campaign, CampaignTask, CampaignVisit, Donation, StockMove

pytestmark = pytest.mark.django_db


def test_the_demo_cabbage_campaign_at_dingxiang():
    out = StringIO()
    call_command("demo", stdout=out)
    summary = json.loads(out.getvalue().splitlines()[-1])["supplies"]
    dingxiang = Compound.objects.get(code="DXY")
    campaign = Campaign.objects.get(compound=dingxiang, name=campaign_demo.CAMPAIGN)

    # The plan: 20,000 kg, 30 kg (60 斤) per household, 3 days ending yesterday, 10 teams.
    assert campaign.total_quantity == Decimal(20000)
    assert campaign.share_quantity == Decimal(30)
    assert (campaign.days, campaign.teams, campaign.volunteers) == (3, 10, 20)
    today = timezone.localdate()
    assert campaign.starts_on + datetime.timedelta(days=campaign.days - 1) == today - datetime.timedelta(
        days=1
    )
    tasks = CampaignTask.objects.filter(campaign=campaign)
    assert set(tasks.values_list("team", flat=True)) == set(range(1, 11))
    assert tasks.values("day").distinct().count() == 3
    donation = Donation.objects.get(compound=dingxiang, donor=campaign_demo.DONOR)
    assert donation.moves.get().quantity == Decimal(20000)

    # Every household of the compound visited, each with a final outcome.
    visits = CampaignVisit.objects.filter(campaign=campaign)
    households = Household.objects.filter(compound=dingxiang).count()
    assert summary["campaign_households"] == visits.count() == households == 753
    assert not visits.exclude(outcome__in=FINAL).exists()
    assert visits.filter(outcome="refused").count() > 0
    assert visits.filter(outcome="delivered", attempts=2).count() > 0  # nobody home, then the evening round

    # The vacant flats found: vacant in the registry, their residents away (none left living).
    vacant = visits.filter(outcome="vacant").values("household_id")
    assert summary["vacant_found"] == vacant.count() > 0
    assert set(Household.objects.filter(pk__in=vacant).values_list("occupancy", flat=True)) == {"vacant"}
    assert (
        not Resident.objects.filter(household__in=vacant).exclude(presence__in=["away", "moved_out"]).exists()
    )
    assert Resident.objects.filter(household__in=vacant, presence="away").exists()
    delivered_homes = visits.filter(outcome="delivered").values("household_id")
    assert set(Household.objects.filter(pk__in=delivered_homes).values_list("occupancy", flat=True)) == {
        "occupied"
    }

    # Delivered: 30 kg per delivered household, out of the store, within the 20,000 kg.
    delivered = visits.filter(outcome="delivered").count()
    kg = visits.aggregate(kg=Sum("quantity"))["kg"]
    assert kg == Decimal(30) * delivered <= Decimal(20000)
    assert summary["cabbage_kg_delivered"] == float(kg)
    moved = StockMove.objects.filter(item=campaign.item, kind="out_household").aggregate(q=Sum("quantity"))[
        "q"
    ]
    assert -moved == kg
    # Every door was visited on one of the campaign's three days (local dates).
    days = {timezone.localdate(v.visited_at) for v in visits.only("visited_at")}
    assert days <= {campaign.starts_on + datetime.timedelta(days=n) for n in range(3)} and len(days) == 3
    assert campaign.starts_on + datetime.timedelta(days=2) < today
    # The figures the README gives (the demo is deterministic).
    assert (summary["vacant_found"], kg) == (75, Decimal(19650))

    # A second run changes nothing.
    before = (visits.count(), StockMove.objects.count(), Campaign.objects.count(), Donation.objects.count())
    again = campaign_demo.load(now=timezone.now())
    assert again == {k: summary[k] for k in again}
    after = (visits.count(), StockMove.objects.count(), Campaign.objects.count(), Donation.objects.count())
    assert before == after
