"""Coverage in the JSON API: the same figures and rules as the pages."""

import json

import pytest

from tongxin.accounts.models import Role
from tongxin.core.models import AuditLog
from tongxin.testing.models import Exemption
from tongxin.testing.tests.test_coverage_helpers import EXPECTED_A, EXPECTED_A1, coverage_world

API = "/api/v1/testing"


@pytest.fixture
def cov(world):
    return coverage_world(world)


@pytest.fixture
def as_role(client, world):
    def login(role):
        client.force_login(world.users[role])
        return client

    return login


def test_round_and_compound_figures_for_a_manager(cov, as_role, world):
    client = as_role(Role.COMPOUND_MANAGER)
    data = client.get(f"{API}/rounds/{cov.round.pk}/coverage").json()
    assert data["total"] == EXPECTED_A
    assert [(row["code"], row["expected"], row["missed"]) for row in data["compounds"]] == [("A", 10, 2)]
    detail = client.get(f"{API}/rounds/{cov.round.pk}/coverage/compounds/{world.compound_a.pk}").json()
    assert detail["total"] == EXPECTED_A
    first = detail["buildings"][0]
    assert first["number"] == "1" and {k: first[k] for k in EXPECTED_A1} == EXPECTED_A1
    assert [unit["id"] for unit in first["units"]] == [world.a1u1.pk]


def test_a_volunteer_gets_counts_with_nulls_and_no_phones(cov, as_role, world):
    client = as_role(Role.VOLUNTEER)
    total = client.get(f"{API}/rounds/{cov.round.pk}/coverage").json()["total"]
    assert total == {
        "expected": 10,
        "sampled": 8,
        "missed": 2,
        "exempted": 1,
        "percent": 80,
        "awaiting": None,
        "negative": None,
        "under_review": None,
        "positive": None,
        "elsewhere": None,
        "exempted_by_reason": None,
    }
    missed = client.get(f"{API}/rounds/{cov.round.pk}/coverage/compounds/{world.compound_a.pk}/missed").json()
    assert missed["count"] == 2
    assert missed["people"][0] == {
        "resident": world.elder.pk,
        "name": "王秀兰",
        "building": "1",
        "unit": "1",
        "room": "101",
        "phone": None,
        "tags": ["老年人", "独居"],
    }
    assert not AuditLog.objects.filter(action="view", object_type="testing.testround").exists()
    put = client.put(
        f"{API}/rounds/{cov.round.pk}/exemptions/{world.elder.pk}",
        json.dumps({"reason": "away"}),
        content_type="application/json",
    )
    assert put.status_code == 403


def test_the_grid_worker_gets_full_phones_audited_and_exempts(cov, as_role, world):
    client = as_role(Role.GRID_WORKER)
    url = f"{API}/rounds/{cov.round.pk}/coverage/compounds/{world.compound_a.pk}/missed"
    people = client.get(url).json()["people"]
    assert [(p["name"], p["phone"]) for p in people] == [("王秀兰", "13812345678"), ("王小明", "")]
    assert AuditLog.objects.filter(action="view", object_type="testing.testround").count() == 1
    assert client.get(url + f"?building={world.a2.pk}").json()["count"] == 0
    put = client.put(
        f"{API}/rounds/{cov.round.pk}/exemptions/{world.elder.pk}",
        json.dumps({"reason": "hospital", "note": "市医院"}),
        content_type="application/json",
    )
    assert put.status_code == 200
    assert put.json() == {
        "resident": world.elder.pk,
        "reason": "hospital",
        "reason_label": "住院",
        "note": "市医院",
    }
    assert client.get(url).json()["count"] == 1
    refused = client.put(
        f"{API}/rounds/{cov.round.pk}/exemptions/{cov.negative.pk}",
        json.dumps({"reason": "away"}),
        content_type="application/json",
    )
    assert refused.status_code == 400 and refused.json()["detail"] == "阴性甲本轮已采样，不能免检"
    outside = client.put(
        f"{API}/rounds/{cov.round.pk}/exemptions/{world.neighbour.pk}",
        json.dumps({"reason": "away"}),
        content_type="application/json",
    )
    assert outside.status_code == 404  # building 2 is not the grid worker's
    assert client.delete(f"{API}/rounds/{cov.round.pk}/exemptions/{world.elder.pk}").json() == {
        "cleared": True
    }
    assert client.delete(f"{API}/rounds/{cov.round.pk}/exemptions/{world.elder.pk}").json() == {
        "cleared": False
    }
    assert not Exemption.objects.filter(resident=world.elder).exists()


def test_residents_and_other_compounds_are_not_found(cov, as_role, world):
    client = as_role(Role.RESIDENT)
    assert client.get(f"{API}/rounds/{cov.round.pk}/coverage").status_code == 404
    client = as_role(Role.COMPOUND_MANAGER)
    assert (
        client.get(f"{API}/rounds/{cov.round.pk}/coverage/compounds/{world.compound_b.pk}").status_code == 404
    )
    assert client.get(f"{API}/rounds/{cov.round.pk + 99}/coverage").status_code == 404
