"""The demo: both compounds of the source report (丁香苑 and 煤田公交, 赛罕区, Hohhot) and one login per role.

Deterministic: each compound draws from its own `random.Random` seeded with its code, so the same
names land in the same rooms on every load. Ages are drawn relative to today, so the elderly share
stays at the report's 40% whatever the run date. Idempotent: a compound that already has residents
is left as it is, and existing demo accounts are kept (their passwords are not reset).
"""

import datetime
import os
import random
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from tongxin.accounts.models import Role, User
from tongxin.core.documents import make_mainland_id
from tongxin.registry import actions, fakes
from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit

DEFAULT_DEMO_PASSWORD = "tongxin2022"  # noqa: S105 - printed on purpose: it is the demo's


def demo_password() -> str:
    return os.environ.get("TONGXIN_DEMO_PASSWORD") or DEFAULT_DEMO_PASSWORD


@dataclass(frozen=True)
class Place:
    level: str
    code: str
    name: str


CITY = Place("city", "150100", "呼和浩特市")
DISTRICT = Place("district", "150105", "赛罕区")


@dataclass(frozen=True)
class DemoCompound:
    code: str
    name: str
    address: str
    subdistrict: Place
    community: Place
    units_per_building: tuple[int, ...]
    floors: int
    households: int
    residents: int
    elderly: int
    lanes: range  # ID sequence lanes of this compound: no two compounds can draw the same number
    mix: dict[str, int] = field(default_factory=dict)  # household kinds and their weights


# Names follow the fashion of the birth year as of the report (2022), so that the same names come
# out on any run date (birth dates, and so ID numbers, move with today's date to keep ages fixed).
NAME_STYLE_YEAR = 2022

# Household kinds of an old residential compound; the weights reproduce 丁香苑's 753 households.
HOUSEHOLD_MIX = {
    "elder_alone": 110,
    "elder_couple": 200,
    "elder_couple_child": 40,
    "three_generations": 50,
    "elder_with_family": 91,
    "elder_couple_grandchild": 20,
    "family_one_child": 130,
    "family_two_children": 40,
    "couple": 29,
    "single": 30,
    "tenants": 13,
}

COMPOUNDS = (
    DemoCompound(
        code="DXY",
        name="丁香苑小区",
        address="呼和浩特市赛罕区大学西路丁香苑",
        subdistrict=Place("subdistrict", "150105003", "大学西路街道"),
        community=Place("community", "150105003012", "丁香社区"),
        units_per_building=(4,) * 11 + (3, 3),
        floors=8,
        households=753,
        residents=2000,
        elderly=800,
        lanes=range(0, 250),
        mix=HOUSEHOLD_MIX,
    ),
    DemoCompound(
        code="MTGJ",
        name="煤田公交小区",
        address="呼和浩特市赛罕区昭乌达路煤田公交小区",
        subdistrict=Place("subdistrict", "150105001", "昭乌达路街道"),
        community=Place("community", "150105001008", "煤田社区"),
        units_per_building=(3,) * 8,
        floors=9,
        households=400,
        residents=1000,
        elderly=330,
        lanes=range(250, 500),
        mix=HOUSEHOLD_MIX,
    ),
)


@dataclass(frozen=True)
class DemoAccount:
    username: str
    role: str
    full_name: str
    compound: str = ""
    area: str = ""
    buildings: tuple[str, ...] = ()
    household: tuple[str, str, str] | None = None  # building, unit, room


ACCOUNTS = (
    DemoAccount("admin", Role.PLATFORM_ADMIN, "韩志刚"),
    DemoAccount("official", Role.OFFICIAL, "赵丽娟", area=DISTRICT.code),
    DemoAccount("manager", Role.COMPOUND_MANAGER, "刘建华", compound="DXY"),
    DemoAccount("grid", Role.GRID_WORKER, "王海燕", compound="DXY", buildings=("1", "2", "3")),
    DemoAccount("volunteer", Role.VOLUNTEER, "张宇航", compound="DXY"),
    DemoAccount("resident", Role.RESIDENT, "李秀英", household=("1", "1", "101")),
    DemoAccount("manager_mt", Role.COMPOUND_MANAGER, "孙立新", compound="MTGJ"),
    DemoAccount("volunteer_mt", Role.VOLUNTEER, "高雅琴", compound="MTGJ"),
)


def account_scope(user: User) -> str:
    """The scope of a demo login in words, for the printed table."""
    if user.role == Role.PLATFORM_ADMIN:
        return "全部"
    if user.role == Role.OFFICIAL:
        return user.area.name if user.area else "—"
    if user.role == Role.RESIDENT:
        return str(user.household) if user.household else "—"
    scope = user.compound.name if user.compound else "—"
    numbers = [b.number for b in user.buildings.order_by("sort_key")]
    if numbers:
        scope += "（" + "、".join(f"{n}号楼" for n in numbers) + "）"
    return scope


# ---------------------------------------------------------------------------------------------------
# Households: who lives together, with ages; names and documents come later.


@dataclass
class Member:
    relation: str
    age: int
    male: bool
    family: bool = True  # carries the family's surname (the father's line)


def _spouse(rng, head: Member, *, min_age: int = 20) -> Member:
    return Member("spouse", max(min_age, head.age - rng.randint(-2, 5)), not head.male, family=False)


def _children(rng, parent_age: int, n: int, relation: str = "child") -> list[Member]:
    ages = sorted((max(0, parent_age - rng.randint(24, 34)) for _ in range(n)), reverse=True)
    return [Member(relation, age, rng.random() < 0.5) for age in ages]


def household_members(rng: random.Random, kind: str) -> list[Member]:
    if kind == "elder_alone":
        return [Member("head", rng.randint(65, 93), rng.random() < 0.35)]
    if kind == "elder_couple":
        head = Member("head", rng.randint(63, 88), True)
        return [head, _spouse(rng, head, min_age=60)]
    if kind == "elder_couple_child":
        head = Member("head", rng.randint(62, 85), True)
        return [head, _spouse(rng, head, min_age=60), *_children(rng, head.age, 1)]
    if kind == "three_generations":
        if rng.random() < 0.5:  # the grandparents own the flat
            head = Member("head", rng.randint(62, 80), True)
            son = Member("child", head.age - rng.randint(24, 30), True)
            return [
                head,
                _spouse(rng, head, min_age=60),
                son,
                Member("child_in_law", son.age - rng.randint(0, 4), False, family=False),
                *_children(rng, son.age, 1, "grandchild"),
            ]
        head = Member("head", rng.randint(36, 52), True)
        father = Member("parent", head.age + rng.randint(25, 32), True)
        mother = Member("parent", father.age - rng.randint(0, 4), False, family=False)
        return [head, _spouse(rng, head), father, mother, *_children(rng, head.age, 1)]
    if kind == "elder_with_family":
        head = Member("head", rng.randint(38, 58), True)
        parent = Member("parent", head.age + rng.randint(25, 34), rng.random() < 0.3)
        parent.family = parent.male
        kids = _children(rng, head.age, 1) if rng.random() < 0.66 else []
        return [head, _spouse(rng, head), parent, *kids]
    if kind == "elder_couple_grandchild":
        head = Member("head", rng.randint(60, 74), True)
        return [
            head,
            _spouse(rng, head, min_age=60),
            Member("grandchild", rng.randint(4, 15), rng.random() < 0.5),
        ]
    if kind in ("family_one_child", "family_two_children"):
        head = Member("head", rng.randint(29, 50), rng.random() < 0.9)
        n = 1 if kind == "family_one_child" else 2
        return [head, _spouse(rng, head), *_children(rng, head.age, n)]
    if kind == "couple":
        head = Member("head", rng.randint(24, 57), True)
        return [head, _spouse(rng, head)]
    if kind == "single":
        return [Member("head", rng.randint(22, 57), rng.random() < 0.55)]
    if kind == "tenants":
        return [
            Member("head", rng.randint(20, 40), rng.random() < 0.6),
            Member("tenant", rng.randint(20, 40), rng.random() < 0.5, family=False),
        ]
    raise ValueError(f"unknown household kind {kind!r}")


FAMILY_KINDS = ("family_one_child", "family_two_children", "three_generations", "elder_with_family")


def plan_households(
    rng: random.Random, spec: DemoCompound, elderly_age: int
) -> list[tuple[str, list[Member]]]:
    """Exactly spec.households households holding exactly spec.residents people, spec.elderly of them elderly."""
    total_weight = sum(spec.mix.values())
    counts = {kind: round(weight * spec.households / total_weight) for kind, weight in spec.mix.items()}
    counts["couple"] += spec.households - sum(counts.values())
    kinds = [kind for kind, n in counts.items() for _ in range(n)]
    rng.shuffle(kinds)
    plan = [(kind, household_members(rng, kind)) for kind in kinds]

    people = sum(len(members) for _kind, members in plan)
    while people != spec.residents:  # one child more (or less) per family household and pass
        for _kind, members in (p for p in plan if p[0] in FAMILY_KINDS):
            if people < spec.residents and len(members) < 6:
                head = members[0]
                members.extend(_children(rng, head.age if head.age < 60 else head.age - 28, 1))
                people += 1
            elif (
                people > spec.residents
                and members[-1].relation in ("child", "grandchild")
                and len(members) > 2
            ):
                members.pop()
                people -= 1
            if people == spec.residents:
                break

    def elderly_count() -> int:
        return sum(m.age >= elderly_age for _kind, members in plan for m in members)

    surplus = elderly_count() - spec.elderly
    for kind, members in plan:  # too many: some wives of elderly couples are not 60 yet
        if surplus <= 0:
            break
        if kind == "elder_couple" and members[1].age >= elderly_age:
            members[1].age = rng.randint(elderly_age - 5, elderly_age - 1)
            surplus -= 1
    for kind, members in plan:  # too few: some single people and couples are just retired
        if surplus >= 0:
            break
        if kind in ("single", "couple") and members[0].age < elderly_age:
            members[0].age = rng.randint(elderly_age, elderly_age + 6)
            surplus += 1
    return plan


# ---------------------------------------------------------------------------------------------------
# People: names, documents, phones, tags, presence.


class PersonMaker:
    def __init__(self, rng: random.Random, spec: DemoCompound, today: datetime.date, elderly_age: int):
        self.rng, self.spec, self.today, self.elderly_age = rng, spec, today, elderly_age
        self.numbers: set[str] = set()
        self.phones: set[str] = set()

    def region(self, age: int) -> tuple[str, str]:
        """The ID region code and, when it is not Hohhot, the registered (户籍) address it implies."""
        rng = self.rng
        roll = rng.random()
        if age >= self.elderly_age and roll < 0.03:
            return rng.choice(fakes.LATE_REGIONS), ""
        if roll < 0.84:
            return fakes.weighted(rng, fakes.HOHHOT_REGIONS), ""
        code, place = rng.choice(sorted(fakes.DEMO_OTHER_REGIONS.items()))
        return code, fakes.street_address(rng, place) if rng.random() < 0.5 else ""

    def id_number(self, region: str, birth: datetime.date, male: bool) -> str:
        while True:
            lane = self.rng.choice(self.spec.lanes)
            number = make_mainland_id(region, birth, lane * 2 + (1 if male else 0))
            if number not in self.numbers:
                self.numbers.add(number)
                return number

    def phone(self, age: int) -> str:
        if age < 16 or (age >= 80 and self.rng.random() < 0.35):
            return ""
        while True:
            phone = fakes.mobile(self.rng)
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def tags(self, member: Member) -> dict:
        rng, age, elderly = self.rng, member.age, member.age >= self.elderly_age
        disabled = rng.random() < (0.04 if elderly else 0.012)
        return {
            "veteran": member.male and age >= 50 and rng.random() < 0.07,
            "serious_illness": rng.random() < (0.04 if elderly else 0.004),
            "disabled": disabled,
            "pregnant": not member.male and 22 <= age <= 40 and rng.random() < 0.05,
            "infant": age < 3,
            "regular_medication": rng.random() < (0.45 if elderly else 0.08 if age >= 40 else 0.01),
            "limited_mobility": disabled or rng.random() < (0.3 if age >= 80 else 0.05 if elderly else 0.0),
        }


def _presence(rng: random.Random, household_state: str) -> str:
    if household_state != Resident.Presence.LIVING:
        return household_state
    roll = rng.random()
    return "away" if roll < 0.03 else "unverified" if roll < 0.07 else "living"


def _household_state(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.88:
        return Resident.Presence.LIVING
    if roll < 0.93:
        return Resident.Presence.UNVERIFIED
    if roll < 0.97:
        return Resident.Presence.AWAY
    return Resident.Presence.MOVED_OUT


# ---------------------------------------------------------------------------------------------------
# Loading.


def _ensure_places(spec: DemoCompound) -> Compound:
    city = actions.area_ensure(level=CITY.level, code=CITY.code, name=CITY.name)
    district = actions.area_ensure(level=DISTRICT.level, code=DISTRICT.code, name=DISTRICT.name, parent=city)
    street = actions.area_ensure(
        level=spec.subdistrict.level, code=spec.subdistrict.code, name=spec.subdistrict.name, parent=district
    )
    community = actions.area_ensure(
        level=spec.community.level, code=spec.community.code, name=spec.community.name, parent=street
    )
    return actions.compound_ensure(code=spec.code, name=spec.name, community=community, address=spec.address)


def _ensure_structure(spec: DemoCompound, compound: Compound) -> list[Household]:
    """Buildings, units and rooms (bulk, skipping what exists); the households in room order."""
    Building.objects.bulk_create(
        [
            Building(compound=compound, number=str(b), floors=spec.floors, sort_key=b)
            for b in range(1, len(spec.units_per_building) + 1)
        ],
        ignore_conflicts=True,
    )
    buildings = {b.number: b for b in Building.objects.filter(compound=compound)}
    Unit.objects.bulk_create(
        [
            Unit(building=buildings[str(b)], compound=compound, number=str(u), sort_key=u)
            for b, n in enumerate(spec.units_per_building, start=1)
            for u in range(1, n + 1)
        ],
        ignore_conflicts=True,
    )
    units = list(Unit.objects.filter(compound=compound).order_by("building__sort_key", "sort_key"))
    per_unit, extra = divmod(spec.households, len(units))
    rooms = []
    for i, unit in enumerate(units):
        for j in range(per_unit + (1 if i < extra else 0)):
            floor, door = divmod(j, 2)
            rooms.append(
                Household(
                    unit=unit,
                    building_id=unit.building_id,
                    compound=compound,
                    room=f"{floor + 1}{door + 1:02d}",
                )
            )
    Household.objects.bulk_create(rooms, ignore_conflicts=True)
    by_room = {(h.unit_id, h.room): h for h in Household.objects.filter(compound=compound)}
    return [by_room[h.unit_id, h.room] for h in rooms]


def _name(rng: random.Random, member: Member, birth_year: int, family: str) -> str:
    """Family members share the family's surname; an empty surname is a Mongolian family."""
    if not member.family:
        return fakes.full_name(rng, birth_year, member.male)
    if not family:
        return rng.choice(fakes.MONGOLIAN_NAMES[member.male])
    return family + fakes.given_name(rng, birth_year, member.male)


def load_people(
    spec: DemoCompound,
    compound: Compound,
    households: list[Household],
    *,
    today: datetime.date,
    elderly_age: int,
    verifiers: dict,
) -> int:
    """Register the compound's residents (bulk); `verifiers` maps building numbers to who checked them."""
    rng = random.Random(f"tongxin-demo:{spec.code}")
    building_numbers = dict(Building.objects.filter(compound=compound).values_list("pk", "number"))
    plan = plan_households(rng, spec, elderly_age)
    maker = PersonMaker(rng, spec, today, elderly_age)
    residents = []
    for household, (kind, members) in zip(households, plan, strict=True):
        state = _household_state(rng)
        family = "" if rng.random() < 0.03 else fakes.surname(rng)
        returning = kind != "tenants" and rng.random() < 0.02
        verifier = verifiers.get(building_numbers[household.building_id], verifiers.get("*"))
        for member in members:
            birth = fakes.birth_date_for_age(rng, member.age, today)
            region, registered = maker.region(member.age)
            document = actions.document_check("mainland_id", maker.id_number(region, birth, member.male))
            presence = _presence(rng, state)
            verified = presence != Resident.Presence.UNVERIFIED
            mobility, arrived_on, arrived_from = "", None, ""
            if kind == "tenants":
                mobility = Resident.Mobility.MOBILE
                arrived_on = today - datetime.timedelta(days=rng.randint(20, 400))
                arrived_from = rng.choice(fakes.PLACES)
            elif returning and member.age >= 18:
                mobility = Resident.Mobility.RETURNING
                arrived_on = today - datetime.timedelta(days=rng.randint(1, 10))
                arrived_from = rng.choice(fakes.PLACES)
            residents.append(
                Resident(
                    household=household,
                    unit_id=household.unit_id,
                    building_id=household.building_id,
                    compound=compound,
                    name=_name(rng, member, NAME_STYLE_YEAR - member.age, family),
                    birth_date=document.birth_date,
                    sex=document.sex,
                    **actions.protected_document_fields(document),
                    **actions.protected_phone_fields(maker.phone(member.age)),
                    relation=member.relation,
                    lives_alone=kind == "elder_alone",
                    **maker.tags(member),
                    presence=presence,
                    presence_verified_on=today - datetime.timedelta(days=rng.randint(0, 14))
                    if verified
                    else None,
                    presence_verified_by=verifier if verified else None,
                    mobility=mobility,
                    arrived_on=arrived_on,
                    arrived_from=arrived_from,
                    registered_address=registered,
                )
            )
    Resident.objects.bulk_create(residents, batch_size=500)
    return len(residents)


def ensure_accounts(password: str) -> list[tuple[User, bool]]:
    """One login per role; an existing account is kept as it is. Returns (user, created) pairs."""
    result = []
    for account in ACCOUNTS:
        user = User.objects.filter(username=account.username).first()
        if user is not None:
            result.append((user, False))
            continue
        compound = Compound.objects.get(code=account.compound) if account.compound else None
        household = None
        if account.household:
            building, unit, room = account.household
            household = Household.objects.get(
                compound__code="DXY", building__number=building, unit__number=unit, room=room
            )
        user = User.objects.create_user(
            username=account.username,
            password=password,
            role=account.role,
            full_name=account.full_name,
            area=Area.objects.get(code=account.area) if account.area else None,
            compound=compound,
            household=household,
            is_staff=account.role == Role.PLATFORM_ADMIN,
            is_superuser=account.role == Role.PLATFORM_ADMIN,
        )
        if account.buildings:
            user.buildings.set(Building.objects.filter(compound=compound, number__in=account.buildings))
        result.append((user, True))
    return result


def load_demo(*, password: str | None = None, today: datetime.date | None = None) -> dict:
    """Load both compounds and the demo logins; says what was created and what was already there."""
    from django.conf import settings

    today = today or timezone.localdate()
    summary: dict = {"compounds": {}, "accounts": {}}
    with transaction.atomic():
        compounds = {spec.code: _ensure_places(spec) for spec in COMPOUNDS}
        missing = [
            spec for spec in COMPOUNDS if not Resident.objects.filter(compound=compounds[spec.code]).exists()
        ]
        rooms = {spec.code: _ensure_structure(spec, compounds[spec.code]) for spec in missing}
        accounts = ensure_accounts(password or demo_password())
        users = {user.username: user for user, _created in accounts}
        verifiers = {
            "DXY": {"1": users["grid"], "2": users["grid"], "3": users["grid"], "*": users["manager"]},
            "MTGJ": {"*": users["manager_mt"]},
        }
        for spec in COMPOUNDS:
            created = 0
            if spec in missing:
                created = load_people(
                    spec,
                    compounds[spec.code],
                    rooms[spec.code],
                    today=today,
                    elderly_age=settings.TONGXIN_ELDERLY_AGE,
                    verifiers=verifiers[spec.code],
                )
            summary["compounds"][spec.code] = {"name": spec.name, "residents_created": created}
        summary["accounts"] = {user.username: "created" if created else "kept" for user, created in accounts}
    return summary
