"""The demo's care visits at 煤田公交小区: manager_mt's two rounds to the veterans, the elderly
living alone and the seriously ill, a few left overdue, the overdue list's figure, and a second
run that changes nothing."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.registry.models import Compound
from tongxin.supplies.demo import care as care_demo
from tongxin.supplies.models import CareVisit
from tongxin.supplies.selectors.care import care_overdue, care_residents

pytestmark = pytest.mark.django_db


def test_the_demo_visits_at_meitian():
    out = StringIO()
    call_command("demo", stdout=out)
    summary = json.loads(out.getvalue().splitlines()[-1])["supplies"]
    meitian = Compound.objects.get(code="MTGJ")
    manager = User.objects.get(username="manager_mt")
    visits = CareVisit.objects.filter(compound=meitian)
    assert summary["care_visits"] == visits.count() > 0
    assert set(visits.values_list("visited_by__username", flat=True)) == {"manager_mt"}
    assert not CareVisit.objects.exclude(compound=meitian).exists()

    today = timezone.localdate()
    for group in ("veteran", "elderly_alone", "serious_illness"):
        people = list(care_residents(manager, meitian, group))
        assert people, group
        assert all(p.last_visited_at is not None for p in people), group
        assert all("大米" in p.last_brought or "面粉" in p.last_brought for p in people), group
    # Everyone of the story was visited twice but the few left overdue.
    story = {p.pk for g in care_demo.STORY_GROUPS for p in care_residents(manager, meitian, g)}
    assert visits.count() == 2 * len(story) - care_demo.LEFT_OVERDUE
    late = [
        p
        for g in care_demo.STORY_GROUPS
        for p in care_overdue(manager, meitian, g)
        if p.last_visited_at is not None
    ]
    assert len({p.pk for p in late}) == care_demo.LEFT_OVERDUE
    assert all(p.next_due < today for p in late)
    # The overdue list: those few, and the other groups' residents not visited yet.
    overdue = care_overdue(manager, meitian)
    assert summary["care_overdue"] == overdue.count() > care_demo.LEFT_OVERDUE
    assert overdue.filter(last_visited_at__isnull=False).count() == care_demo.LEFT_OVERDUE
    assert all(timezone.localtime(v).date() < today for v in visits.values_list("visited_at", flat=True))

    # A second run changes nothing.
    again = care_demo.load(now=timezone.now())
    assert again == {"care_visits": summary["care_visits"], "care_overdue": summary["care_overdue"]}
    assert CareVisit.objects.count() == summary["care_visits"]
