"""Care visits at 煤田公交小区 after its unsealing: the cadre in charge (manager_mt) visits the
veterans, the elderly living alone and the seriously ill, bringing rice, flour and oil, in two
rounds over the last three weeks; a few were not visited again and are overdue today. Residents of
the other visited groups (disabled, regular medication...) have not been visited yet, so they are
on the overdue list too, never visited.

Deterministic (a fixed seed), through `care_visit_log`; loaded once: a compound with visits is
left as it is."""

import datetime
import random

from django.utils import timezone

from tongxin.registry.models import Resident
from tongxin.supplies.actions.care import care_visit_log
from tongxin.supplies.demo.common import MEITIAN, compound, manager
from tongxin.supplies.models import CareVisit
from tongxin.supplies.selectors.care import care_overdue, care_residents

STORY_GROUPS = ("veteran", "elderly_alone", "serious_illness")
FIRST_ROUND_DAYS_AGO = (20, 19, 18, 17)
SECOND_ROUND_DAYS_AGO = (6, 5, 4, 3, 2, 1)
LEFT_OVERDUE = 4  # visited in the first round only
GOODS = {
    "veteran": ("大米、面粉、食用油", "大米、面粉、食用油", "大米、食用油"),
    "elderly_alone": ("大米、面粉、食用油", "面粉、食用油、蔬菜", "大米、面粉、食用油"),
    "serious_illness": ("大米、面粉、食用油", "大米、食用油、牛奶", "面粉、食用油"),
}
NOTES = {
    "veteran": ("身体硬朗，生活物资充足", "感谢社区关心，无其他需求", "腿脚不便，已登记代购需求"),
    "elderly_alone": (
        "独居，精神状态良好，已留网格员电话",
        "血压偏高，已提醒按时服药",
        "子女在外地，已与家属电话联系",
    ),
    "serious_illness": ("卧床，家属照护，药品充足", "需定期复诊，已协调社区医生", "药品快用完，已登记代购"),
}


def _at(day: datetime.date, rng: random.Random) -> datetime.datetime:
    hour = rng.choice((9, 10, 11, 15, 16))
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, rng.randrange(0, 60))))


def _targets(actor, place) -> list[tuple[Resident, str]]:
    """(resident, the story's group that brought the visit) in building, unit and room order."""
    chosen: dict[int, tuple[Resident, str]] = {}
    for group in STORY_GROUPS:
        for person in care_residents(actor, place, group):
            chosen.setdefault(person.pk, (person, group))

    def place_of(pair):
        unit = pair[0].household.unit
        return (
            unit.building.sort_key,
            unit.building.number,
            unit.sort_key,
            pair[0].household.room,
            pair[0].pk,
        )

    return sorted(chosen.values(), key=place_of)


def _summary(actor, place) -> dict:
    return {
        "care_visits": CareVisit.objects.filter(compound=place).count(),
        "care_overdue": care_overdue(actor, place).count(),
    }


def load(*, now: datetime.datetime) -> dict:
    place = compound(MEITIAN)
    actor = manager(MEITIAN)
    if actor is None:
        return {"care_visits": 0, "care_overdue": 0}
    if CareVisit.objects.filter(compound=place).exists():
        return _summary(actor, place)
    rng = random.Random(20221123)  # the day after 煤田公交小区's unsealing
    today = timezone.localdate(now)
    targets = _targets(actor, place)
    left = {person.pk for person, _group in rng.sample(targets, min(LEFT_OVERDUE, len(targets)))}
    for index, (person, group) in enumerate(targets):
        day = today - datetime.timedelta(days=FIRST_ROUND_DAYS_AGO[index % len(FIRST_ROUND_DAYS_AGO)])
        care_visit_log(
            actor=actor,
            resident=person,
            visited_at=_at(day, rng),
            brought=rng.choice(GOODS[group]),
            notes=rng.choice(NOTES[group]),
        )
    for index, (person, group) in enumerate(targets):
        if person.pk in left:
            continue
        if group == "serious_illness":  # seen again sooner: due within the next days
            day = today - datetime.timedelta(days=1 + index % 3)
            next_due = day + datetime.timedelta(days=4)
        else:
            day = today - datetime.timedelta(days=SECOND_ROUND_DAYS_AGO[index % len(SECOND_ROUND_DAYS_AGO)])
            next_due = None  # the compound's interval
        care_visit_log(
            actor=actor,
            resident=person,
            visited_at=_at(day, rng),
            brought=rng.choice(GOODS[group]),
            notes=rng.choice(NOTES[group]),
            next_due=next_due,
        )
    return _summary(actor, place)
