"""The compound map's "coverage" colouring: each unit's share sampled in the latest round."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.registry.selectors import MAP_MEASURES, compound_map, map_measures_for
from tongxin.testing.map_measures import CoverageMeasure, register
from tongxin.testing.tests.round_helpers import make_round
from tongxin.testing.tests.test_coverage_helpers import coverage_world, sample_into


@pytest.fixture(autouse=True)
def _registered():
    """TestingConfig.ready() is to call register(); until it does, the tests register it."""
    had = MAP_MEASURES.get("coverage")
    register()
    yield
    if had is None:
        MAP_MEASURES.pop("coverage", None)
    else:
        MAP_MEASURES["coverage"] = had


@pytest.fixture
def cov(world):
    return coverage_world(world)


def cells(user, compound):
    shown = compound_map(user, compound, "coverage")
    assert shown["measure"] == "coverage" and shown["palette"] == "progress"
    return {
        cell["unit"].pk: (cell["label"], cell["band"])
        for entry in shown["buildings"]
        for cell in entry["units"]
    }


def test_each_unit_shows_its_share_sampled(cov, world):
    assert cells(cov.manager, world.compound_a) == {
        world.a1u1.pk: ("66%", "b3"),
        world.a2u1.pk: ("100%", "b4"),
    }


def test_the_latest_round_that_has_started_counts(cov, world):
    tomorrow = make_round(world, day=timezone.localdate() + datetime.timedelta(days=1))
    assert tomorrow.pk > cov.round.pk
    later_today = make_round(world, buildings=[world.a2])
    sample_into(later_today, later_today.table1, cov.manager, "T-MAP", [world.neighbour], result="negative")
    # Today's later round covers building 2 only: building 1's unit is not covered ("–"), and
    # building 2 has 1 of 4 expected sampled.
    assert cells(cov.manager, world.compound_a) == {
        world.a1u1.pk: ("–", "none"),
        world.a2u1.pk: ("25%", "b1"),
    }


def test_no_round_yet_leaves_every_unit_grey(world):
    assert cells(world.users[Role.COMPOUND_MANAGER], world.compound_a) == {
        world.a1u1.pk: ("–", "none"),
        world.a2u1.pk: ("–", "none"),
    }


def test_who_may_choose_the_measure(cov, world):
    assert "coverage" in map_measures_for(world.users[Role.VOLUNTEER])
    assert "coverage" in map_measures_for(world.users[Role.GRID_WORKER])
    assert "coverage" not in map_measures_for(world.users[Role.RESIDENT])
    assert cells(world.users[Role.GRID_WORKER], world.compound_a) == {world.a1u1.pk: ("66%", "b3")}


def test_rounding_down_never_shows_done_too_early():
    measure = CoverageMeasure()
    assert measure.cell({"coverage_percent": 99}, 0) == (0.99, "99%")
    assert measure.cell({}, 0) == (None, "–")


def test_the_map_page_with_coverage_costs_a_fixed_number_of_queries(
    cov, client, world, django_assert_max_num_queries
):
    client.force_login(cov.manager)
    url = reverse("registry:compound", args=[world.compound_a.pk]) + "?measure=coverage"
    with django_assert_max_num_queries(40) as first:
        page = client.get(url).content.decode()
    assert "66%" in page and "100%" in page and "核酸覆盖率" in page
    sample_into(
        cov.round, cov.round.table2, cov.manager, "T-MORE", [world.elder, world.child], result="negative"
    )
    with django_assert_max_num_queries(len(first.captured_queries)):
        assert "100%" in client.get(url).content.decode()
