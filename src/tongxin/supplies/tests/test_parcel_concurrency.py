"""Two volunteers marking the same parcel at once, on two real database connections: one wins,
the other is told who did it, and the parcel keeps the winner's record."""

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, connections, transaction

from tongxin.accounts.models import Role
from tongxin.registry.tests.factories import make_user
from tongxin.supplies.actions.parcels import parcel_deliver, parcel_refuse, parcels_disinfect
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.tests.parcel_helpers import _media, held, intake

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one write transaction at a time on the whole database, so two "
        "connections never hold the parcel's update at once; the stale-read tests in "
        "test_parcel_actions.py cover the same conditional update there",
    ),
]
__all__ = ["_media"]


def _race(first_action, second_action) -> dict:
    """Run the first action in a transaction that holds the row a moment, the second meanwhile."""
    first_updated = threading.Event()
    results: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                first_action()
                first_updated.set()
                threading.Event().wait(0.5)  # the second's update waits on the row's lock
            results["first"] = "ok"
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            results["first"] = error
            first_updated.set()
        finally:
            connections.close_all()

    def second():
        first_updated.wait(5)
        try:
            second_action()
            results["second"] = "ok"
        except Exception as error:  # noqa: BLE001
            results["second"] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    return results


def test_deliver_and_refuse_at_once(world):
    parcel = held(world, minutes_ago=130)
    winner = world.users[Role.VOLUNTEER]
    winner.full_name = "张志愿"
    winner.save()
    other = make_user(Role.VOLUNTEER, username="volunteer2", compound=world.compound_a)
    results = _race(
        lambda: parcel_deliver(actor=winner, parcel=parcel.pk),
        lambda: parcel_refuse(actor=other, parcel=parcel.pk, reason="不要了"),
    )
    assert results["first"] == "ok"
    assert isinstance(results["second"], ValidationError)
    assert "张志愿" in str(results["second"]) and "已送达" in str(results["second"])
    parcel.refresh_from_db()
    assert (parcel.state, parcel.handed_by_id, parcel.refusal_reason) == (
        ParcelState.DELIVERED,
        winner.pk,
        "",
    )


def test_disinfect_the_same_parcels_at_once(world):
    parcels = [intake(world).pk, intake(world, world.home_a2).pk]
    winner = world.users[Role.VOLUNTEER]
    other = world.users[Role.COMPOUND_MANAGER]
    results = _race(
        lambda: parcels_disinfect(actor=winner, parcels=parcels),
        lambda: parcels_disinfect(actor=other, parcels=parcels[::-1]),
    )
    assert results["first"] == "ok"
    assert isinstance(results["second"], ValidationError)
    assert "volunteer" in str(results["second"])
    assert set(Parcel.objects.values_list("disinfected_by", flat=True)) == {winner.pk}
