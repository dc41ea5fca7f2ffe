"""The demo's mass testing: 丁香苑's round from plan to coverage, and tomorrow's round planned."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from tongxin.accounts.models import User
from tongxin.outbreak.models import Case
from tongxin.outbreak.status import status_read
from tongxin.testing.models import Alert, Bag, Retest, Sample, TestRound, Tube
from tongxin.testing.selectors.coverage import round_coverage
from tongxin.testing.selectors.planning import notices

pytestmark = pytest.mark.django_db


def test_demo_round_is_sampled_at_two_tables_retested_and_accounted_for():
    out = StringIO()
    call_command("demo", stdout=out)
    summary = json.loads(out.getvalue().splitlines()[-1])["testing"]
    past = TestRound.objects.get(pk=summary["past_round"]["round"])
    manager = User.objects.get(username="manager")

    # Sampled at two tables and a door-to-door team, 10 to a tube, bagged 20 a bag.
    tables = set(Sample.objects.filter(round=past, is_retest=False).values_list("table__label", flat=True))
    assert {"1号台", "2号台"} <= tables
    assert Tube.objects.filter(round=past, closed_at__isnull=True).count() == 0
    assert (
        Tube.objects.filter(round=past, bag__isnull=True)
        .exclude(kind=Tube.Kind.RETEST)
        .exclude(pool_size=1)
        .count()
        == 0
    )
    assert Bag.objects.filter(round=past).count() >= summary["past_round"]["tubes"] // 20

    # One positive pool of ten, each retested in a single tube: the case positive, nine negative.
    lab = summary["past_round"]["lab"]
    assert (lab["positive_tubes"], lab["people_under_review"], lab["errors"]) == (1, 10, 0)
    states = sorted(Retest.objects.filter(round=past).values_list("state", flat=True))
    assert states == ["negative"] * 9 + ["positive"]
    case_person = Retest.objects.get(round=past, state="positive").resident_id
    assert Case.objects.filter(resident_id=case_person).count() == 1  # not registered twice
    cleared = Retest.objects.filter(round=past, state="negative").values_list("resident_id", flat=True)
    assert all("混采阳性待复核" not in status_read(pk).reasons for pk in cleared)
    assert Alert.objects.filter(round=past, kind=Alert.Kind.POSITIVE_POOL).count() == 1

    # Everyone expected is accounted for: sampled or exempted with a reason, nobody missed.
    coverage = round_coverage(manager, past)
    assert coverage.total.missed == 0
    assert coverage.total.sampled == summary["past_round"]["samples"]
    assert coverage.total.exempted == summary["past_round"]["exempted"] > 0
    assert past.state == TestRound.State.CLOSED

    # Tomorrow's round: scheduled, one notice per unit ready to post.
    planned = TestRound.objects.get(pk=summary["planned_round"])
    posted = notices(manager, planned)
    assert planned.state == TestRound.State.PLANNED and len(posted) >= 40
    assert any("下楼检测" in str(n.text) for n in posted)

    # A second run changes nothing.
    again = StringIO()
    call_command("demo", stdout=again)
    assert json.loads(again.getvalue().splitlines()[-1])["testing"] == {"skipped": "already loaded"}
