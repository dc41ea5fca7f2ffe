"""The same hand-over of a request (a voice request's `source`) sent twice at once, on two real
PostgreSQL connections: one request is made, the second call gets it back."""

import datetime
import threading

import pytest
from django.db import connection, connections, transaction
from django.utils import timezone

from tongxin.supplies.actions.requests import supply_request_create
from tongxin.supplies.models import SupplyRequest
from tongxin.supplies.tests.request_helpers import request_world

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="SQLite runs one write transaction at a time, so the two calls never overlap",
    ),
]


def test_the_same_hand_over_twice_at_once_makes_one_request(world):
    w = request_world(world)
    asked = timezone.now() - datetime.timedelta(hours=1)

    def hand_over():
        return supply_request_create(
            actor=w.manager,
            household=w.home_a1,
            kind="medicine",
            detail="硝苯地平缓释片",
            via="worker",
            source="voice:42",
            asked_at=asked,
        )

    first_made = threading.Event()
    results: dict[str, object] = {}

    def first():
        try:
            with transaction.atomic():
                results["first"] = hand_over().pk
                first_made.set()
                threading.Event().wait(0.5)  # the second reads meanwhile
        except Exception as error:  # noqa: BLE001 - reported by the assertions
            results["first"] = error
            first_made.set()
        finally:
            connections.close_all()

    def second():
        first_made.wait(5)
        try:
            results["second"] = hand_over().pk
        except Exception as error:  # noqa: BLE001
            results["second"] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert isinstance(results["first"], int)
    assert results["second"] == results["first"]
    assert SupplyRequest.objects.filter(source="voice:42").count() == 1
