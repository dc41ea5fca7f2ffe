"""The demo's outbreak story: 煤田公交 end to end and 丁香苑's 22 positives lowered to low risk."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tongxin.outbreak.models import (
    Case,
    CompoundStatusChange,
    Contact,
    Isolation,
    RiskArea,
    RiskAreaEvent,
    StatusFlag,
    TestFact,
    TransferBatch,
)
from tongxin.outbreak.status import status_read
from tongxin.registry.models import Resident

pytestmark = pytest.mark.django_db
D = datetime.date


@pytest.fixture
def demo():
    out = StringIO()
    call_command("demo", stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])


def test_demo_story(demo):
    """One load of the demo (about 10 s) checked for both compounds and today's scene."""
    meitian_story_end_to_end(demo)
    dingxiangyuan_22_positives_lowered_to_low_risk()
    today_scene_and_statuses(demo)


def meitian_story_end_to_end(demo):
    assert demo["outbreak"]["MTGJ"] == {"cases": 1, "contacts": 8, "batches": 1, "areas": 1, "lowered": 1}
    history = list(
        CompoundStatusChange.objects.filter(compound__code="MTGJ").order_by("on").values_list("status", "on")
    )
    assert history == [("quiet", D(2022, 10, 2)), ("sealed", D(2022, 11, 14)), ("unsealed", D(2022, 11, 22))]
    assert (history[1][1] - history[0][1]).days == 43  # 43 quiet days before the first positive
    case = Case.objects.get(compound__code="MTGJ")
    assert (case.confirmed_on, case.taken_to, case.outcome) == (D(2022, 11, 14), "shelter", "recovered")
    batch = TransferBatch.objects.get(compound__code="MTGJ")
    assert batch.departed_at.date() == D(2022, 11, 14)
    contacts = Contact.objects.filter(compound__code="MTGJ")
    assert contacts.count() == 8 and all(list(c.cases.all()) == [case] for c in contacts)
    central = Isolation.objects.filter(compound__code="MTGJ", kind="central")
    assert central.count() == 8 and {i.batch_id for i in central} == {batch.pk}
    assert {(i.starts_on, i.planned_end_on, tuple(i.test_days)) for i in central} == {
        (D(2022, 11, 14), D(2022, 11, 18), (1, 2, 3, 5))
    }
    home = Isolation.objects.filter(compound__code="MTGJ", kind="home")
    assert {(i.starts_on, i.planned_end_on, tuple(i.test_days)) for i in home} == {
        (D(2022, 11, 19), D(2022, 11, 21), (1, 3))
    }
    area = RiskArea.objects.get(compound__code="MTGJ", scope="building")  # the gates add a household today
    assert (area.scope, area.building_id, area.raised_on, area.lifted_on) == (
        "building",
        case.building_id,
        D(2022, 11, 14),
        D(2022, 11, 19),
    )
    assert list(area.events.values_list("kind", "on")) == [
        ("raise", D(2022, 11, 14)),
        ("lift", D(2022, 11, 19)),
    ]


def dingxiangyuan_22_positives_lowered_to_low_risk():
    cases = Case.objects.filter(compound__code="DXY", confirmed_on__year=2022)
    assert cases.count() == 22
    turned = cases.exclude(from_contact=None)
    assert turned.count() == 3  # close contacts who tested positive in isolation, drawn in the graph
    assert all(c.from_contact.cases.exists() for c in turned)
    dates = sorted(cases.values_list("confirmed_on", flat=True))
    assert (dates[0], dates[-1]) == (D(2022, 11, 10), D(2022, 11, 20))
    assert Contact.objects.filter(compound__code="DXY", identified_on__year=2022).count() == 70
    areas = RiskArea.objects.filter(compound__code="DXY", raised_on__year=2022)
    assert areas.count() == 4 and not areas.filter(lifted_on=None).exists()
    assert max(areas.values_list("lifted_on", flat=True)) == D(2022, 11, 25)
    for area in areas:  # each lifted exactly 5 days after the last positive of its building
        assert area.lifted_on == area.clock_from + datetime.timedelta(days=5)
        last_case = cases.filter(building_id=area.building_id).order_by("-confirmed_on").first()
        assert area.clock_from == last_case.confirmed_on
        later = sorted(
            set(
                cases.filter(building_id=area.building_id, confirmed_on__gt=area.raised_on).values_list(
                    "confirmed_on", flat=True
                )
            )
        )
        assert list(area.events.filter(kind="restart").values_list("on", flat=True)) == later
    assert not Isolation.objects.filter(
        compound__code="DXY", released_on=None, planned_end_on__lt=D(2023, 1, 1)
    )


def today_scene_and_statuses(demo):
    assert (
        demo["outbreak"]["samples_today"]
        == TestFact.objects.filter(source="demo: 今晨全员核酸").count()
        > 2000
    )
    flag = StatusFlag.objects.get(kind="overlap")
    assert status_read(flag.resident_id).color == "yellow"
    leaver = Isolation.objects.get(rule="high_risk_leaver", resident__relation="head")
    assert status_read(leaver.resident_id).color == "red"
    review = TestFact.objects.get(result="pool_positive")
    assert status_read(review.resident_id).color == "yellow"
    # Yesterday's positive: its unit high risk since yesterday, its contacts in central isolation.
    yesterday = timezone.localdate() - datetime.timedelta(days=1)
    case = Case.objects.get(pk=demo["outbreak"]["current_case"])
    assert (case.confirmed_on, status_read(case.resident_id).color) == (yesterday, "red")
    area = RiskArea.objects.get(
        lifted_on=None, compound_id=case.compound_id
    )  # the gates seal one more elsewhere
    assert (area.scope, area.unit_id, area.level, area.clock_from) == (
        "unit",
        case.unit_id,
        "high",
        yesterday,
    )
    isolated = Isolation.objects.filter(contact__cases=case, kind="central")
    assert isolated.count() == demo["outbreak"]["current_contacts"] == 4
    assert {i.starts_on for i in isolated} == {yesterday}
    assert all(status_read(i.resident_id).color == "red" for i in isolated)
    sampled = TestFact.objects.filter(source="demo: 今晨全员核酸").values_list("resident_id", flat=True)[:50]
    assert all(not status_read(pk).overdue for pk in sampled)


def test_loading_again_changes_nothing(demo):
    counts = (
        Case.objects.count(),
        Contact.objects.count(),
        TestFact.objects.count(),
        RiskAreaEvent.objects.count(),
    )
    out = StringIO()
    call_command("demo", stdout=out)
    again = json.loads(out.getvalue().splitlines()[-1])
    assert again["outbreak"] == {"skipped": "already loaded"}
    assert counts == (
        Case.objects.count(),
        Contact.objects.count(),
        TestFact.objects.count(),
        RiskAreaEvent.objects.count(),
    )
    assert Resident.objects.count() == 3000
