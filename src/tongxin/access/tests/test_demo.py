"""The demo's gates: both compounds' gates and passes, 煤田公交小区's policy and its gate's day
through the gate's actions, the figures on the pages, and a second run that changes nothing."""

import datetime
import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from tongxin.access.models import AccessEvent, AccessPolicy, Gate, Outing, Pass, Visitor
from tongxin.access.selectors import activity
from tongxin.accounts.models import User
from tongxin.outbreak.status import status_read
from tongxin.registry.models import Compound, Resident

pytestmark = pytest.mark.django_db


def run_demo() -> dict:
    out = StringIO()
    call_command("demo", stdout=out)
    return json.loads(out.getvalue().splitlines()[-1])["access"]


def test_the_demo_gates_passes_and_day():
    summary = run_demo()
    meitian = Compound.objects.get(code="MTGJ")
    dingxiang = Compound.objects.get(code="DXY")

    # Gates and passes in both compounds: one live pass per resident living there, none for
    # those who moved out.
    for compound in (meitian, dingxiang):
        assert set(Gate.objects.filter(compound=compound).values_list("name", flat=True)) == {"南门", "北门"}
        living = Resident.objects.filter(compound=compound).exclude(presence="moved_out")
        live = Pass.objects.filter(compound=compound, revoked_at=None, expires_at__gt=timezone.now())
        assert live.count() == living.count() > 0
        assert set(live.values_list("resident_id", flat=True)) == set(living.values_list("pk", flat=True))
    assert summary["passes_issued"] == Pass.objects.count() - 1  # the reissued pass came after
    policy = AccessPolicy.objects.get(compound=meitian)
    assert (policy.exits_per_household, policy.exit_period_days, policy.exit_max_minutes) == (1, 2, 120)
    assert policy.sealed_no_exit and policy.exit_needs_test and policy.pass_per == "resident"

    # About 220 checks at 煤田公交小区's gates, made by its cadre on duty, stopped for the right reasons.
    events = AccessEvent.objects.filter(compound=meitian)
    assert summary["checks"] == events.count() and 215 <= events.count() <= 226
    assert set(events.values_list("on_duty__username", flat=True)) == {"manager_mt"}
    stops = dict(
        (reason, events.filter(allowed=False, reason=reason).count())
        for reason in events.filter(allowed=False).values_list("reason", flat=True).distinct()
    )
    assert stops.keys() <= {"sealed", "no_test", "revoked", "quota", "code_yellow"}
    assert stops["sealed"] == 3 and stops["no_test"] == 4 and stops["revoked"] == 1
    assert stops["code_yellow"] == 1 and 1 <= stops.get("quota", 0) <= 3
    assert summary["verdicts"] == {
        reason: events.filter(reason=reason).count() for reason in events.values_list("reason", flat=True)
    }
    emergency = events.get(emergency=True)
    assert emergency.allowed and emergency.direction == "out"
    assert events.filter(at__date__lt=timezone.localdate() - datetime.timedelta(days=1)).count() == 0

    # The sealed household's members asked to go out; the old card of the lost pass was refused.
    sealed = events.filter(reason="sealed").values_list("household_id", flat=True).distinct()
    assert len(sealed) == 1 and str(summary["sealed_household"]).endswith("室")
    assert all(
        status_read(r).risk_level
        for r in Resident.objects.filter(household_id=sealed[0]).values_list("pk", flat=True)
    )
    revoked = events.get(reason="revoked")
    old = Pass.objects.get(number=revoked.pass_number)
    assert old.number == summary["lost_pass"] and old.revoked_reason == "lost"
    assert old.revoked_at < revoked.at  # reported lost yesterday
    assert Pass.objects.get(resident_id=old.resident_id, revoked_at=None).issued_at < revoked.at

    # A visitor, a courier turned away, a returning resident who now has the arrival rule.
    visitors = Visitor.objects.filter(compound=meitian)
    assert sorted(visitors.values_list("kind", "admitted")) == [
        ("returning", True),
        ("visitor", False),
        ("visitor", True),
    ]
    returning = visitors.get(kind="returning")
    assert returning.name == summary["returning"] and "外地返回" in status_read(returning.resident_id).reasons

    # Five out now, two of them past their two hours.
    manager = User.objects.get(username="manager_mt")
    assert (
        activity.out_now_count(manager, meitian)
        == Outing.objects.filter(compound=meitian, back_at=None).count()
        == 5
    )
    over = activity.over_time(manager, meitian)
    assert len(over) == 2 and all(row.minutes_late > 0 for row in over)

    # The figures on the compound page and the access page.
    client = Client()
    client.force_login(manager)
    html = client.get(reverse("registry:compound", args=[meitian.pk])).content.decode()
    assert "今日出入" in html and "南门" in html
    # The panel counts today's checks: all of the demo's day once it is past 03:10 (its earliest
    # check is an outing of 185 minutes ago), only those since midnight just after it.
    midnight = datetime.datetime.combine(
        timezone.localdate(), datetime.time.min, tzinfo=timezone.get_current_timezone()
    )
    todays = events.filter(at__gte=midnight)
    if timezone.now() - midnight >= datetime.timedelta(hours=3, minutes=10):
        assert todays.count() == summary["checks"]  # 215 to 226, as above
    assert activity.day_counts(manager, meitian, timezone.localdate()).total.checks == todays.count()
    panel = html[html.index('class="card access-panel"') :]
    assert f"<dt>核验</dt><dd>{todays.count()}</dd>" in panel
    assert f"<dt>拦下</dt><dd>{todays.filter(allowed=False).count()}</dd>" in panel
    html = client.get(reverse("access:index")).content.decode()
    assert "超时未归" in html and over[0].resident.name in html

    # Each demo compound has a volunteer who keeps its gates: the gate's snapshot holds everyone living there.
    for username, compound in (("volunteer", dingxiang), ("volunteer_mt", meitian)):
        client.force_login(User.objects.get(username=username))
        gate = Gate.objects.get(compound=compound, name="南门")
        snapshot = client.get(f"/api/v1/access/gates/{gate.pk}/snapshot")
        living = Resident.objects.filter(compound=compound).exclude(presence="moved_out").count()
        assert snapshot.status_code == 200 and len(snapshot.json()["residents"]) == living > 0

    # A second run issues nothing and checks no one again.
    assert run_demo() == {"passes_issued": 0, "day": "already loaded"}
    assert AccessEvent.objects.filter(compound=meitian).count() == summary["checks"]
