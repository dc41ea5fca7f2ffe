"""Two volunteers at the same door at once, on two real database connections: one wins, the other
is told who marked it, and only one share leaves the store."""

import threading
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.campaigns import campaign_visit_record
from tongxin.supplies.models import Balance, CampaignVisit, StockMove
from tongxin.supplies.tests.campaign_helpers import campaign_world, plan
from tongxin.supplies.tests.helpers import VOLUNTEER

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite lets one write transaction run at a time on the whole database, so two "
        "connections never hold the door's update at once; the stale-read test in "
        "test_campaign_actions.py covers the same conditional update there",
    ),
]


def _stale(campaign, household):
    return CampaignVisit.objects.select_related("campaign__item", "campaign__store").get(
        campaign=campaign, household=household
    )


def test_two_connections_one_wins_the_other_is_told(world):
    cw = campaign_world(world)
    campaign = plan(cw)
    first = cw.users[VOLUNTEER]
    second = make_user(VOLUNTEER, username="volunteer2", compound=cw.compound_a, first_name="二")
    seen_first, seen_second = _stale(campaign, cw.home_a1), _stale(campaign, cw.home_a1)
    first_updated = threading.Event()
    results: dict[str, object] = {}

    def first_volunteer():
        try:
            with transaction.atomic():
                campaign_visit_record(actor=first, visit=seen_first, outcome="delivered")
                first_updated.set()
                # hold the row's lock while the second volunteer's update waits on it
                threading.Event().wait(0.5)
            results["first"] = "ok"
        except Exception as error:  # noqa: BLE001 - reported by the assertion below
            results["first"] = error
            first_updated.set()
        finally:
            connections.close_all()

    def second_volunteer():
        first_updated.wait(5)
        try:
            campaign_visit_record(actor=second, visit=seen_second, outcome="delivered")
            results["second"] = "ok"
        except ValidationError as error:
            results["second"] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_volunteer), threading.Thread(target=second_volunteer)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert results["first"] == "ok"
    refused = results["second"]
    assert isinstance(refused, ValidationError) and refused.code == "already_marked"
    assert first.username in refused.messages[0] or first.get_full_name() in refused.messages[0]
    visit = CampaignVisit.objects.get(pk=seen_first.pk)
    assert (visit.outcome, visit.visited_by_id, visit.attempts) == ("delivered", first.pk, 1)
    assert StockMove.objects.filter(household=cw.home_a1).count() == 1
    assert Balance.objects.get(item=cw.cabbage, store=cw.store).quantity == Decimal(970)
