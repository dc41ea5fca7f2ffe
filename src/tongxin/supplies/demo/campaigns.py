"""丁香苑小区's donated cabbage: 20,000 kg given by a vegetable cooperative, shared out at 60 斤
(30 kg) per household over three days ending yesterday by 20 volunteers in 10 teams, every door
visited and recorded through `campaign_visit_record`.

The flats found vacant are the households whose registered residents the registry demo has away
or moved out, plus a fixed-seed few more (about one in ten in all, as the report's team found out
with the cabbage who really lived there); a few households refuse; some doors have nobody home the
first time and are delivered on the evening round. The 20 tonnes do not cover 753 × 30 kg: the
plan says so, and the vacant and refused doors are what makes it enough.
"""

import datetime
import random
from decimal import Decimal

from django.db.models import Count, Q, Sum
from django.utils import timezone

from tongxin.accounts.models import Role, User
from tongxin.registry.models import Household, Resident
from tongxin.supplies.actions.campaigns import campaign_create, campaign_visit_record
from tongxin.supplies.actions.donations import donation_record
from tongxin.supplies.demo.common import DINGXIANG, compound, item, manager, store
from tongxin.supplies.models import Campaign, CampaignTask, CampaignVisit, Donation, VisitOutcome

DONOR = "呼和浩特市赛罕区金河蔬菜种植专业合作社"
DONOR_CONTACT = "王经理 0471-4960000"
CAMPAIGN = "爱心白菜发放"
TOTAL_KG = 20000
SHARE_JIN = 60
DAYS, TEAMS, VOLUNTEERS = 3, 10, 20
VACANT_TARGET = 0.10  # about one flat in ten found empty
REFUSED_SHARE = 0.03
NOBODY_HOME_SHARE = 0.12
SEED = 20220415


def _volunteer() -> User:
    return (
        User.objects.filter(role=Role.VOLUNTEER, compound__code=DINGXIANG, is_active=True)
        .order_by("pk")
        .first()
    )


def _at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    return timezone.make_aware(
        datetime.datetime.combine(day, datetime.time(hour)) + datetime.timedelta(minutes=minute)
    )


def _summary(campaign: Campaign | None) -> dict:
    if campaign is None:
        return {"campaign_households": 0, "vacant_found": 0, "cabbage_kg_delivered": 0}
    visits = CampaignVisit.objects.filter(campaign=campaign)
    figures = visits.aggregate(
        households=Count("id"),
        vacant=Count("id", filter=Q(outcome=VisitOutcome.VACANT)),
        delivered=Sum("quantity", filter=Q(outcome=VisitOutcome.DELIVERED)),
    )
    return {
        "campaign_households": figures["households"],
        "vacant_found": figures["vacant"],
        "cabbage_kg_delivered": float(figures["delivered"] or 0),
    }


def _choose_outcomes(households: list[int]) -> tuple[set[int], set[int], set[int]]:
    """(vacant, refused, nobody home the first time): the registry's empty flats first, then a
    fixed-seed few."""
    rng = random.Random(SEED)
    lived_in = Q(residents__presence__in=[Resident.Presence.LIVING, Resident.Presence.UNVERIFIED])
    empty = set(
        Household.objects.filter(pk__in=households)
        .annotate(lived_in=Count("residents", filter=lived_in))
        .filter(lived_in=0)
        .values_list("pk", flat=True)
    )
    vacant = set(empty)
    others = [pk for pk in households if pk not in vacant]
    extra = max(0, round(len(households) * VACANT_TARGET) - len(vacant))
    vacant.update(rng.sample(others, min(extra, len(others))))
    others = [pk for pk in households if pk not in vacant]
    refused = set(rng.sample(others, round(len(households) * REFUSED_SHARE)))
    others = [pk for pk in others if pk not in refused]
    nobody_home = set(rng.sample(others, round(len(households) * NOBODY_HOME_SHARE)))
    return vacant, refused, nobody_home


def load(*, now: datetime.datetime) -> dict:
    place = compound(DINGXIANG)
    existing = Campaign.objects.filter(compound=place, name=CAMPAIGN).first()
    if existing is not None:
        return _summary(existing)
    cadre, volunteer = manager(DINGXIANG), _volunteer()
    cabbage, station = item(DINGXIANG, "白菜"), store(DINGXIANG)
    today = timezone.localdate(now)
    starts_on = today - datetime.timedelta(days=DAYS)  # the third day was yesterday
    if not Donation.objects.filter(compound=place, donor=DONOR).exists():
        donation_record(
            actor=cadre,
            compound=place,
            donor=DONOR,
            contact=DONOR_CONTACT,
            store=station,
            lines=[(cabbage, TOTAL_KG, "kg")],
            value=Decimal("24000"),
            received_at=_at(starts_on - datetime.timedelta(days=1), 15, 0),
            note="爱心捐赠白菜 4 万斤（2 万公斤）",
        )
    campaign = campaign_create(
        actor=cadre,
        compound=place,
        name=CAMPAIGN,
        item=cabbage,
        store=station,
        total_quantity=TOTAL_KG,
        unit="kg",
        share_basis="household",
        share_quantity=SHARE_JIN,
        share_unit="jin",
        starts_on=starts_on,
        days=DAYS,
        teams=TEAMS,
        volunteers=VOLUNTEERS,
    )
    visits = {
        v.household_id: v
        for v in CampaignVisit.objects.filter(campaign=campaign).select_related(
            "campaign__item", "campaign__store"
        )
    }
    vacant, refused, nobody_home = _choose_outcomes(sorted(visits))
    from tongxin.supplies.selectors.campaigns import door_list

    tasks = list(
        CampaignTask.objects.filter(campaign=campaign).order_by("day", "team").values_list("day", "team")
    )
    come_back: list[tuple[datetime.date, CampaignVisit]] = []
    for day, team in dict.fromkeys(tasks):
        actor = volunteer if team % 2 else cadre  # two volunteers per team; the cadre records for some
        for index, door in enumerate(door_list(cadre, campaign, day=day, team=team)):
            visit = visits[door.household_id]
            at = _at(day, 9, team * 3 + index * 2)
            if visit.household_id in vacant:
                outcome = VisitOutcome.VACANT
            elif visit.household_id in refused:
                outcome = VisitOutcome.REFUSED
            elif visit.household_id in nobody_home:
                outcome = VisitOutcome.NOBODY_HOME
                come_back.append((day, visit))
            else:
                outcome = VisitOutcome.DELIVERED
            visits[visit.household_id] = campaign_visit_record(
                actor=actor,
                visit=visit,
                outcome=outcome,
                note="家中有菜，不需要" if outcome == VisitOutcome.REFUSED else "",
                at=at,
            )
    for index, (day, visit) in enumerate(come_back):  # the evening round
        campaign_visit_record(
            actor=volunteer,
            visit=visits[visit.household_id],
            outcome=VisitOutcome.DELIVERED,
            note="晚上再访送达",
            at=_at(day, 19, index % 120),
        )
    return _summary(campaign)
