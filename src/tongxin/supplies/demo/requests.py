"""The demo's requests: 煤田公交小区's sealed days replayed in the weeks before `now`, after the
stock demo's purchases. The compound was sealed for as many days as the outbreak story's (its
first positive to its unsealing, 8 days in 2022); the households of its high-risk building (3号楼)
and of the buildings next to it, 72 in all, were served door to door: a 20-litre bucket of water
at the start and another near the end, a bag of rice or flour for many, all taken out of the store
物资站. Medicines were bought for the elderly (urgent: bought, then delivered), one request could
not be done (the reason told), and today a few requests are open so that the queue and the day's
delivery list show something.

Through the module's own actions as 孙立新 (manager_mt, on the phone, accepting, buying) and
高雅琴 (volunteer_mt, at the doors); deterministic (fixed seed); loaded once (a compound that
already has requests is left as it is).
"""

import datetime
import random

from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import User
from tongxin.outbreak.selectors.areas import areas_visible, compound_status_history
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import elderly_born_on_or_before
from tongxin.supplies.actions import requests as actions
from tongxin.supplies.demo.common import MEITIAN, compound, item, manager, store
from tongxin.supplies.models import RequestKind, RequestState, SupplyRequest
from tongxin.supplies.selectors import requests as selectors

HOUSEHOLDS = 72
SEALED_DAYS = 8  # 2022-11-14 to 2022-11-22, when the outbreak story is not loaded
SEALED_FROM_DAYS_AGO = 20  # the day after the stock demo's first purchases
HIGH_RISK = ("3",)  # when the outbreak story is not loaded
MEDICINES = [
    ("硝苯地平缓释片", 2),
    ("二甲双胍片", 2),
    ("阿司匹林肠溶片", 1),
    ("速效救心丸", 1),
    ("胰岛素注射液", 1),
    ("复方丹参滴丸", 2),
    ("苯磺酸氨氯地平片", 2),
    ("阿托伐他汀钙片", 1),
]
CANNOT = ("需要购买打印机墨盒（孩子上网课）", "封控期间文具店未营业，已电话告知居民解封后购买")


def _volunteer() -> User:
    found = User.objects.filter(username="volunteer_mt", role="volunteer", is_active=True).first()
    return found or manager(MEITIAN)


def _at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _sealed_days(actor, place) -> int:
    """The outbreak story's sealed period in days (sealing to the next change), 8 without it."""
    history = compound_status_history(actor, place)
    for period in history:
        if period.change.status == "sealed" and period.ends_on is not None:
            return max(3, period.days)
    return SEALED_DAYS


def _high_risk_buildings(actor, place) -> set[str]:
    numbers = {
        area.building.number
        for area in areas_visible(actor, place, active=False)
        if area.scope == "building" and area.building_id
    }
    return numbers or set(HIGH_RISK)


def _served_households(actor, place) -> list:
    """The households with someone living there: the high-risk buildings' first, then those of
    the nearest buildings, in unit and room order, 72 in all."""
    high = _high_risk_buildings(actor, place)
    households = list(
        registry_selectors.households_visible(actor)
        .filter(compound=place, residents__presence="living")
        .distinct()
        .select_related("building", "unit")
        .order_by("building__sort_key", "unit__sort_key", "room")
    )
    anchors = [int(n) for n in high if n.isdigit()] or [0]

    def distance(household) -> tuple:
        if household.building.number in high:
            return (0, 0)
        return (1, min(abs(household.building.sort_key - a) for a in anchors), household.building.sort_key)

    households.sort(key=lambda h: (distance(h), h.unit.sort_key, h.room))
    return households[:HOUSEHOLDS]


def _elderly_households(actor, households, on: datetime.date) -> list[int]:
    ids = {h.pk for h in households}
    found = (
        registry_selectors.residents_visible(actor)
        .filter(household_id__in=ids, birth_date__lte=elderly_born_on_or_before(on))
        .exclude(presence="moved_out")
        .values_list("household_id", flat=True)
    )
    return sorted(set(found))


def _serve(manager_, volunteer, household, kind, lines, *, day, rng, station, detail="", bought=False):
    asked = _at(day, rng.randrange(7, 10), rng.randrange(0, 60))
    request = actions.supply_request_create(
        actor=manager_,
        household=household,
        kind=kind,
        detail=detail,
        lines=lines,
        via="phone",
        asked_at=asked,
    )
    actions.supply_request_accept(
        actor=manager_, request=request, assignee=volunteer, at=asked + datetime.timedelta(minutes=20)
    )
    if bought:
        actions.supply_request_bought(actor=manager_, request=request, at=asked + datetime.timedelta(hours=3))
    delivered = _at(day, rng.randrange(14, 18), rng.randrange(0, 60))
    actions.supply_request_deliver(actor=volunteer, request=request, store=station, at=delivered)
    return request


def _sealed_story(place, now: datetime.datetime, rng: random.Random) -> None:
    manager_, volunteer, station = manager(MEITIAN), _volunteer(), store(MEITIAN)
    water, rice, flour = item(MEITIAN, "桶装水"), item(MEITIAN, "大米"), item(MEITIAN, "面粉")
    days = _sealed_days(manager_, place)
    first = timezone.localdate(now) - datetime.timedelta(days=SEALED_FROM_DAYS_AGO)
    sealed = [first + datetime.timedelta(days=n) for n in range(days)]
    households = _served_households(manager_, place)
    plan = (
        # (kind, item, share of households, the sealed days it falls on): a bucket at the start,
        # rice or flour in the middle, a second bucket near the end.
        (RequestKind.WATER, water, 1.0, sealed[:3]),
        (RequestKind.RICE, rice, 0.7, sealed[1:5]),
        (RequestKind.FLOUR, flour, 0.5, sealed[2:6]),
        (RequestKind.WATER, water, 1.0, sealed[-3:]),
    )
    for household in households:
        for kind, goods, share, days_of in plan:
            if share < 1 and rng.random() >= share:
                continue
            _serve(
                manager_,
                volunteer,
                household,
                kind,
                [(goods, "", 1, "")],
                day=rng.choice(days_of),
                rng=rng,
                station=station,
            )
    elderly = [h for h in households if h.pk in set(_elderly_households(manager_, households, first))]
    for household, (name, boxes) in zip(
        rng.sample(elderly, min(len(elderly), len(MEDICINES))), MEDICINES, strict=False
    ):
        _serve(
            manager_,
            volunteer,
            household,
            RequestKind.MEDICINE,
            [(None, name, boxes, "盒")],
            day=rng.choice(sealed),
            rng=rng,
            station=station,
            detail=name,
            bought=True,
        )
    cannot_home = households[len(households) // 2]
    asked = _at(sealed[3], 10, 15)
    request = actions.supply_request_create(
        actor=manager_,
        household=cannot_home,
        kind=RequestKind.OTHER,
        detail=CANNOT[0],
        via="phone",
        asked_at=asked,
    )
    actions.supply_request_cannot(
        actor=manager_, request=request, reason=CANNOT[1], at=asked + datetime.timedelta(hours=1)
    )


def _today(place, now: datetime.datetime, rng: random.Random) -> None:
    """Open requests of this morning: two new (an elder's medicine, urgent, first in the queue),
    three accepted for the delivery round, one medicine bought and waiting to be carried up."""
    manager_ = manager(MEITIAN)
    volunteer = _volunteer()
    water, rice, flour = item(MEITIAN, "桶装水"), item(MEITIAN, "大米"), item(MEITIAN, "面粉")
    homes = list(
        registry_selectors.households_visible(manager_)
        .filter(compound=place, residents__presence="living")
        .distinct()
        .order_by("building__sort_key", "unit__sort_key", "room")
    )
    elderly = set(_elderly_households(manager_, homes, timezone.localdate(now)))
    old = [h for h in homes if h.pk in elderly]
    young = [h for h in homes if h.pk not in elderly]
    old_pick, young_pick = rng.sample(old, 2), rng.sample(young, 4)

    def asked(minutes: int) -> datetime.datetime:
        return now - datetime.timedelta(minutes=minutes)

    actions.supply_request_create(
        actor=manager_,
        household=old_pick[0],
        kind=RequestKind.MEDICINE,
        detail="硝苯地平缓释片（降压药）已吃完",
        lines=[(None, "硝苯地平缓释片", 2, "盒")],
        via="phone",
        asked_at=asked(35),
    )
    actions.supply_request_create(
        actor=manager_,
        household=young_pick[0],
        kind=RequestKind.WATER,
        lines=[(water, "", 1, "")],
        asked_at=asked(50),
    )
    for household, kind, lines, minutes in (
        (young_pick[1], RequestKind.WATER, [(water, "", 2, "")], 170),
        (young_pick[2], RequestKind.RICE, [(rice, "", 1, ""), (water, "", 1, "")], 150),
        (young_pick[3], RequestKind.FLOUR, [(flour, "", 1, "")], 130),
    ):
        request = actions.supply_request_create(
            actor=manager_, household=household, kind=kind, lines=lines, asked_at=asked(minutes)
        )
        actions.supply_request_accept(
            actor=manager_, request=request, assignee=volunteer, at=asked(minutes - 15)
        )
    request = actions.supply_request_create(
        actor=manager_,
        household=old_pick[1],
        kind=RequestKind.MEDICINE,
        detail="二甲双胍片",
        lines=[(None, "二甲双胍片", 1, "盒")],
        asked_at=asked(200),
    )
    actions.supply_request_accept(actor=manager_, request=request, assignee=volunteer, at=asked(190))
    actions.supply_request_bought(actor=manager_, request=request, at=asked(60))


def load(*, now: datetime.datetime) -> dict:
    place = compound(MEITIAN)
    rng = random.Random(20221115)
    with transaction.atomic():
        if not SupplyRequest.objects.filter(compound=place).exists():
            _sealed_story(place, now, rng)
            _today(place, now, rng)
    manager_ = manager(MEITIAN)
    delivered = SupplyRequest.objects.filter(compound=place, state=RequestState.DELIVERED)
    day = selectors.day_list(manager_, place)
    counts = selectors.request_counts(manager_, place, now=now)
    return {
        "households_served": delivered.values("household_id").distinct().count(),
        "requests_delivered": delivered.count(),
        "medicines_for_elderly": delivered.filter(kind=RequestKind.MEDICINE, urgent=True).count(),
        "requests_open": counts["open"],
        "requests_urgent_open": counts["urgent"],
        "day_list": day.count,
        "day_list_stock": {need.item: int(need.need) for need in day.needs},
    }
