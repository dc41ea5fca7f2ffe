"""The outbreak story of the two demo compounds, played through the module's own actions.

煤田公交小区 (MTGJ), from the report: 43 quiet days from 2022-10-02, the first positive on 2022-11-14,
its 8 close contacts taken to central isolation that night, the case's building raised to high risk
and lowered when the rule allowed, the compound unsealed on 2022-11-22.

丁香苑小区 (DXY): 22 positives between 2022-11-10 and 2022-11-20 spread over several buildings, about
70 close contacts taken away in daily batches, each building's clock restarted by later cases, and
every building lowered to low risk (the last on 2022-11-25).

Then a small scene for today, so that the status, follow-up and map pages have something current:
this morning's samples for most residents, a household in home isolation after leaving a high-risk
area, a time-space overlap flag, and a pool under review.

Everything goes through actions as the system (actor None), deterministic (fixed seeds), and the
story is loaded once: a compound that already has a status history is left as it is.
"""

import datetime
import random
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from tongxin.outbreak import actions
from tongxin.outbreak.models import Case, CompoundStatusChange, Contact, Isolation, RiskArea, TestFact
from tongxin.outbreak.selectors import lowering_state
from tongxin.registry.models import Compound, Resident

# The report's dates.
MTGJ_QUIET_FROM = datetime.date(2022, 10, 2)
MTGJ_FIRST_POSITIVE = datetime.date(2022, 11, 14)
MTGJ_UNSEALED = datetime.date(2022, 11, 22)
MTGJ_CONTACTS = 8
DXY_FIRST_POSITIVE = datetime.date(2022, 11, 10)
DXY_LAST_POSITIVE = datetime.date(2022, 11, 20)
DXY_POSITIVES = 22
DXY_CONTACTS = 70
CONTACTS_TURNING_POSITIVE = (9, 14, 19)  # which of 丁香苑's positives were close contacts already isolated
# Everyone in the demo was registered before the story starts.
REGISTERED_BEFORE = datetime.datetime(2022, 9, 1, 9, 0, tzinfo=datetime.UTC)
SHELTER = "赛罕区方舱医院"
HOTEL = "呼和浩特市集中隔离点（如家酒店）"


@dataclass
class Story:
    cases: int = 0
    contacts: int = 0
    batches: int = 0
    areas: int = 0
    lowered: int = 0


def at(day: datetime.date, hour: int, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _days(start: datetime.date, end: datetime.date):
    day = start
    while day <= end:
        yield day
        day += datetime.timedelta(days=1)


def _raise_or_restart(compound: Compound, resident: Resident, on: datetime.date, story: Story) -> None:
    """A positive in a building without an active area: a person raises the building (the case's
    own registration has already restarted the clock of any area covering it)."""
    active = RiskArea.objects.filter(
        compound=compound, scope=RiskArea.Scope.BUILDING, building_id=resident.building_id, lifted_on=None
    ).exists()
    if not active:
        actions.area_raise(
            actor=None,
            compound=compound,
            scope=RiskArea.Scope.BUILDING,
            building=resident.building,
            reason=f"{resident.building}出现阳性病例",
            on=on,
        )
        story.areas += 1


def _lower_due_areas(compound: Compound, day: datetime.date, story: Story) -> None:
    """Confirm every lowering the rule allows on `day`, as the team did each morning."""
    for area in RiskArea.objects.filter(compound=compound, lifted_on=None):
        screenings = list(area.events.filter(kind="screening"))
        state = lowering_state(area, screenings, day)
        if state.possible_from is not None and state.possible_from <= day:
            actions.area_lower(
                actor=None,
                area=area,
                expected_version=area.version,
                reason="连续无新增阳性，符合降级条件",
                on=day,
            )
            story.lowered += 1


def _positive(
    compound: Compound,
    resident: Resident,
    on: datetime.date,
    rng: random.Random,
    story: Story,
    *,
    contact: Contact | None = None,
    raise_building: bool = True,
) -> Case:
    """A new positive; a close contact testing positive in isolation is linked to their contact record."""
    sampled_at = at(on - datetime.timedelta(days=1), 7, rng.randrange(0, 59))
    if contact is not None:
        case = actions.contact_became_case(
            actor=None,
            contact=contact,
            confirmed_on=on,
            source=Case.Source.SINGLE_TEST,
            sampled_at=sampled_at,
        )
    else:
        case = actions.case_register(
            actor=None,
            compound=compound,
            confirmed_on=on,
            source=rng.choice([Case.Source.POOL_RETEST, Case.Source.POOL_RETEST, Case.Source.SINGLE_TEST]),
            resident=resident,
            sampled_at=sampled_at,
        )
    actions.case_transfer(
        actor=None,
        case=case,
        version=case.version,
        taken_to=Case.TakenTo.SHELTER,
        place=SHELTER,
        taken_at=at(on, 21, 30),
    )
    story.cases += 1
    if raise_building:
        _raise_or_restart(compound, resident, on, story)
    return Case.objects.get(pk=case.pk)


def _contacts_of(
    compound: Compound, case: Case, candidates: list[Resident], n: int, on: datetime.date, story: Story
) -> list[Contact]:
    """The case's household first, then neighbours of the same unit."""
    taken = set(Contact.objects.filter(compound=compound).values_list("resident_id", flat=True))
    taken |= set(Case.objects.filter(compound=compound).values_list("resident_id", flat=True))
    household = [r for r in candidates if r.household_id == case.household_id and r.pk not in taken]
    unit = [r for r in candidates if r.unit_id == case.unit_id and r.pk not in taken and r not in household]
    chosen = (household + unit)[:n]
    contacts = []
    for person in chosen:
        contacts.append(
            actions.contact_register(
                actor=None,
                cases=[case],
                identified_on=on,
                resident=person,
                last_exposure_on=on - datetime.timedelta(days=1),
            )
        )
    story.contacts += len(contacts)
    return contacts


def _transfer(compound: Compound, contacts: list[Contact], on: datetime.date, n: int, story: Story) -> None:
    if not contacts:
        return
    actions.transfer_batch_create(
        actor=None,
        compound=compound,
        vehicle=f"蒙A·{7300 + n}转运车",
        departed_at=at(on, 23, 10),
        destination=HOTEL,
        escort="社区医生、包联干部",
        contacts=contacts,
    )
    story.batches += 1


def _release_finished(compound: Compound, today: datetime.date) -> None:
    """Isolations of the story ended as planned: release them on their planned day."""
    for isolation in Isolation.objects.filter(compound=compound, released_on=None, planned_end_on__lt=today):
        actions.isolation_release(
            actor=None, isolation=isolation, version=isolation.version, released_on=isolation.planned_end_on
        )


def _close_cases(compound: Compound, on: datetime.date) -> None:
    for case in Case.objects.filter(compound=compound, outcome=Case.Outcome.ACTIVE):
        actions.case_set_outcome(
            actor=None,
            case=case,
            version=case.version,
            outcome=Case.Outcome.RECOVERED,
            on=case.confirmed_on + datetime.timedelta(days=10),
        )


def meitian_story(compound: Compound, today: datetime.date) -> Story:
    rng = random.Random(20221114)
    story = Story()
    residents = list(
        Resident.objects.filter(compound=compound, presence="living").order_by("building__sort_key", "id")
    )
    actions.compound_status_set(
        actor=None, compound=compound, status="quiet", on=MTGJ_QUIET_FROM, reason="全市静默管理"
    )
    first = rng.choice([r for r in residents if r.building.number == "3"] or residents)
    case = _positive(compound, first, MTGJ_FIRST_POSITIVE, rng, story)
    actions.compound_status_set(
        actor=None,
        compound=compound,
        status="sealed",
        on=MTGJ_FIRST_POSITIVE,
        reason="静默43天后出现首例阳性",
    )
    contacts = _contacts_of(compound, case, residents, MTGJ_CONTACTS, MTGJ_FIRST_POSITIVE, story)
    _transfer(compound, contacts, MTGJ_FIRST_POSITIVE, 1, story)
    for day in _days(MTGJ_FIRST_POSITIVE, MTGJ_UNSEALED):
        _lower_due_areas(compound, day, story)
    actions.compound_status_set(
        actor=None, compound=compound, status="unsealed", on=MTGJ_UNSEALED, reason="无新增阳性，小区解封"
    )
    _close_cases(compound, today)
    _release_finished(compound, today)
    return story


def dingxiangyuan_story(compound: Compound, today: datetime.date) -> Story:
    rng = random.Random(20221110)
    story = Story()
    residents = list(
        Resident.objects.filter(compound=compound, presence="living")
        .select_related("building")
        .order_by("building__sort_key", "id")
    )
    # 22 positives over 11 days, clustered in four buildings, as outbreaks are.
    by_building: dict[str, list[Resident]] = {}
    for r in residents:
        by_building.setdefault(r.building.number, []).append(r)
    hot = [by_building[n] for n in ("2", "5", "7", "11") if n in by_building]
    days = list(_days(DXY_FIRST_POSITIVE, DXY_LAST_POSITIVE))
    schedule = sorted([days[0], days[-1], *(rng.choice(days) for _ in range(DXY_POSITIVES - 2))])
    per_case = [
        DXY_CONTACTS // DXY_POSITIVES + (1 if i < DXY_CONTACTS % DXY_POSITIVES else 0) for i in range(22)
    ]
    actions.compound_status_set(
        actor=None, compound=compound, status="sealed", on=DXY_FIRST_POSITIVE, reason="出现阳性病例"
    )
    used: set[int] = set()
    batch_no = 100
    index = 0
    for day in _days(DXY_FIRST_POSITIVE, DXY_LAST_POSITIVE + datetime.timedelta(days=5)):
        _lower_due_areas(compound, day, story)
        todays = []
        while index < len(schedule) and schedule[index] == day:
            building = hot[index % len(hot)] if index < len(hot) * 4 else rng.choice(hot)
            exposed = None
            if index in CONTACTS_TURNING_POSITIVE:  # a contact in isolation tests positive
                exposed = (
                    Contact.objects.filter(compound=compound, became_case=None, identified_on__lt=day)
                    .select_related("resident__building")
                    .order_by("identified_on", "id")
                    .first()
                )
            if exposed is not None:
                person = exposed.resident
            else:
                pool = [r for r in building if r.pk not in used] or [r for r in residents if r.pk not in used]
                person = rng.choice(pool)
            used.add(person.pk)
            case = _positive(compound, person, day, rng, story, contact=exposed)
            contacts = _contacts_of(compound, case, residents, per_case[index], day, story)
            used.update(c.resident_id for c in contacts)
            todays.extend(contacts)
            index += 1
        if todays:
            batch_no += 1
            _transfer(compound, todays, day, batch_no, story)
    actions.compound_status_set(
        actor=None,
        compound=compound,
        status="unsealed",
        on=DXY_LAST_POSITIVE + datetime.timedelta(days=5),
        reason="全部楼栋降为低风险",
    )
    _close_cases(compound, today)
    _release_finished(compound, today)
    return story


def today_scene(compounds: list[Compound], now: datetime.datetime) -> dict:
    """Samples from this morning, one household isolating at home, one overlap flag, one pool review."""
    rng = random.Random(20261129)
    today = timezone.localdate(now)
    morning = min(now, at(today, 6, 30))
    sampled = 0
    for compound in compounds:
        residents = list(Resident.objects.filter(compound=compound, presence="living").order_by("id"))
        # Most residents sampled this morning (or yesterday for the late ones); a few not yet.
        chosen = [r for r in residents if rng.random() < 0.93]
        sampled += actions.test_facts_record_many(
            actor=None,
            residents=chosen,
            sampled_at=morning,
            method=TestFact.Method.POOL,
            result=TestFact.Result.PENDING,
            source="demo: 今晨全员核酸",
        )
        if compound.code == "DXY" and residents:
            leaver = residents[len(residents) // 3]
            for member in Resident.objects.filter(household_id=leaver.household_id):
                actions.isolation_create(
                    actor=None,
                    compound=compound,
                    rule=Isolation.Rule.HIGH_RISK_LEAVER,
                    starts_on=today - datetime.timedelta(days=2),
                    resident=member,
                )
            overlap = residents[len(residents) // 2]
            actions.flag_set(
                actor=None,
                resident=overlap,
                kind="overlap",
                reason="与外地病例存在时空伴随",
                starts_at=now - datetime.timedelta(hours=20),
            )
            review = residents[len(residents) // 5]
            actions.test_fact_record(
                actor=None,
                resident=review,
                sampled_at=now - datetime.timedelta(hours=26),
                method=TestFact.Method.POOL,
                result=TestFact.Result.POOL_POSITIVE,
                result_at=now - datetime.timedelta(hours=8),
                source="demo: 10混1复核",
            )
    return {"samples_today": sampled, **current_positive(compounds, now)}


def current_positive(compounds: list[Compound], now: datetime.datetime) -> dict:
    """Yesterday a pool retest in 丁香苑 9号楼 came back positive: the unit is high risk since
    yesterday and the case's household and neighbours went to central isolation last night."""
    compound = next((c for c in compounds if c.code == "DXY"), None)
    if compound is None:
        return {}
    rng = random.Random(20261128)
    yesterday = timezone.localdate(now) - datetime.timedelta(days=1)
    residents = list(
        Resident.objects.filter(compound=compound, presence="living", building__number="9")
        .select_related("building", "unit")
        .order_by("unit__sort_key", "household__room", "id")
    )
    if not residents:
        return {}
    person = rng.choice(residents)
    story = Story()
    case = _positive(compound, person, yesterday, rng, story, raise_building=False)
    actions.area_raise(
        actor=None,
        compound=compound,
        scope=RiskArea.Scope.UNIT,
        building=person.building,
        unit=person.unit,
        reason=f"{person.unit}出现阳性病例（混采复核阳性）",
        on=yesterday,
    )
    contacts = _contacts_of(compound, case, residents, 4, yesterday, story)
    _transfer(compound, contacts, yesterday, 200, story)
    return {"current_case": case.pk, "current_contacts": len(contacts)}


@transaction.atomic
def load_demo(*, now: datetime.datetime | None = None) -> dict:
    now = now or timezone.now()
    today = timezone.localdate(now)
    compounds = {c.code: c for c in Compound.objects.filter(code__in=["MTGJ", "DXY"])}
    if len(compounds) < 2:
        return {"skipped": "the registry demo is not loaded"}
    if CompoundStatusChange.objects.filter(compound__in=compounds.values()).exists():
        return {"skipped": "already loaded"}
    Resident.objects.filter(compound__in=compounds.values(), created_at__gt=REGISTERED_BEFORE).update(
        created_at=REGISTERED_BEFORE
    )
    stories = {
        "MTGJ": meitian_story(compounds["MTGJ"], today),
        "DXY": dingxiangyuan_story(compounds["DXY"], today),
    }
    scene = today_scene(list(compounds.values()), now)
    return {code: vars(story) for code, story in stories.items()} | scene
