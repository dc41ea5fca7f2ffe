"""City-scale synthetic registry data for benchmarks (`tongxin synth --residents N`).

The data set is a synthetic city (合成市, code 990100) of districts, subdistricts and communities with
compounds of about 2,000 residents each: buildings, units, households and residents with valid,
unique ID numbers (encrypted and hashed like any other), phones and tags.

Speed (1,000,000 residents in under a minute on two cores and PostgreSQL) comes from:
- rows generated, encrypted and formatted in worker processes, one compound per task;
- ids reserved up front from the sequences, so rows reference each other without round trips;
- PostgreSQL's COPY for households and residents, one transaction for everything;
- for large loads, the secondary indexes and foreign keys of both tables dropped before the COPY
  and recreated (and validated) after it, inside the same transaction, then ANALYZE.
SQLite gets the same rows through executemany (small N).

Unique ID numbers without coordination between workers: compound number g draws every sequence
number from lane g % 500 and every birth date from the dates whose ordinal is g // 500 (mod 8), so
two compounds never share (lane, date class); inside a compound a local set settles the rest. The
demo's region codes are never used here (see `fakes`), so synth and demo data can share a database.
"""

import bisect
import dataclasses
import datetime
import gc
import hmac
import math
import multiprocessing
import random
import re
import sys
import time
from collections.abc import Callable, Iterable

from django.db import connection, connections, transaction
from django.utils import timezone

from tongxin.core.crypto import FieldProtector
from tongxin.core.documents import ID_TYPE_MAINLAND
from tongxin.core.masking import mask_id_number, mask_phone
from tongxin.registry import fakes
from tongxin.registry.models import Area, Building, Compound, Household, Resident, Unit

CITY_CODE, CITY_NAME = "990100", "合成市"
CODE_PREFIX = "SYN"
CODE_RE = re.compile(rf"^{CODE_PREFIX}(\d+)-(\d+)$")
LANES = 500  # ID sequence numbers 000-999: lane * 2, +1 for men
DATE_CLASSES = 8
MAX_COMPOUNDS = LANES * DATE_CLASSES
MAX_COMPOUND_RESIDENTS = 50_000
COMPOUNDS_PER_COMMUNITY, COMMUNITIES_PER_SUBDISTRICT, SUBDISTRICTS_PER_DISTRICT = 3, 8, 10
PEOPLE_PER_HOUSEHOLD = 2.65
HOUSEHOLDS_PER_UNIT = 16
UNITS_PER_BUILDING = 4
BULK_LOAD_THRESHOLD = 50_000  # from this many new residents, drop and rebuild indexes around the load

HOUSEHOLD_COLUMNS = ("id", "unit_id", "building_id", "compound_id", "room", "note")
RESIDENT_COLUMNS = (
    "id", "household_id", "unit_id", "building_id", "compound_id", "name",
    "document_type", "document_cipher", "document_hash", "document_masked", "birth_date", "sex",
    "phone_cipher", "phone_hash", "phone_masked", "relation",
    *Resident.TAG_FIELDS,
    "presence", "presence_verified_on", "presence_verified_by_id", "mobility", "arrived_on",
    "arrived_from", "registered_address", "note", "created_at", "updated_at",
)  # fmt: skip
SUBDISTRICT_NAMES = "新华 中山 大学 昭乌达 乌兰 兴安 鄂尔多斯 丰州 金桥 如意".split()
COMMUNITY_WORDS = "阳光 幸福 和平 团结 友谊 锦绣 康乐 金川 东风 长青 春华 秋实".split()
COMPOUND_WORDS = "丁香 玫瑰 桃园 枫林 金地 绿洲 华府 万达 星河 御景 书香 滨河 铁路 电力 煤田 公交".split()
COMPOUND_SUFFIXES = "小区 花园 家园 苑 新村 公寓".split()


class SynthError(Exception):
    """A load that must not run as asked; the message says what to do."""


@dataclasses.dataclass(frozen=True)
class CompoundPlan:
    """One compound's shape, decided in the main process; ids are filled in once reserved."""

    index: int
    residents: int
    units_per_building: tuple[int, ...]
    households_per_unit: tuple[int, ...]
    floors: int


@dataclasses.dataclass(frozen=True)
class ChunkSpec:
    """Everything a worker needs to produce one compound's households and residents (picklable)."""

    seed: int
    index: int
    compound_id: int
    residents: int
    resident_base: int
    household_base: int
    units: tuple[tuple[int, int, int], ...]  # (unit id, building id, households)
    today_ordinal: int
    now: str
    copy_format: bool  # PostgreSQL COPY text; otherwise tuples for executemany


def plan_compound(seed: int, index: int, residents: int) -> CompoundPlan:
    rng = random.Random(f"tongxin-synth:{seed}:{index}:shape")
    households = max(1, round(residents / PEOPLE_PER_HOUSEHOLD))
    units = max(1, round(households / HOUSEHOLDS_PER_UNIT))
    buildings = max(1, round(units / UNITS_PER_BUILDING))
    per_building = _spread(units, buildings)
    per_unit = _spread(households, units)
    floors = max(2, math.ceil(max(per_unit) / 2)) + rng.randint(0, 2)
    return CompoundPlan(index, residents, per_building, per_unit, floors)


def _spread(total: int, parts: int) -> tuple[int, ...]:
    base, extra = divmod(total, parts)
    return tuple(base + (1 if i < extra else 0) for i in range(parts))


# ---------------------------------------------------------------------------------------------------
# Row generation (runs in the workers).


class BulkProtector(FieldProtector):
    """FieldProtector with the same keyed hash computed by hmac's one-shot C function (3x faster)."""

    def hash(self, kind: str, value: str) -> str:
        if not value:
            return ""
        return hmac.digest(self.key, f"{kind}:{value}".encode(), "sha256").hex()


_protector: FieldProtector | None = None


def _worker_init() -> None:
    global _protector
    _protector = BulkProtector()


class _Dates:
    """Per-process caches of what each birth ordinal gives: ISO text, year, ID digits and their sum."""

    iso: dict[int, str] = {}
    year: dict[int, int] = {}

    @classmethod
    def fill(cls, ordinal: int) -> None:
        day = datetime.date.fromordinal(ordinal)
        cls.iso[ordinal] = day.isoformat()
        cls.year[ordinal] = day.year


def _iso(ordinal: int) -> str:
    if ordinal not in _Dates.iso:
        _Dates.fill(ordinal)
    return _Dates.iso[ordinal]


def _given_names() -> dict[tuple[int, bool], list[str]]:
    return {
        (year, male): fakes.GIVEN_NAMES[fakes.generation(year), male]
        for year in range(1880, datetime.date.today().year + 1)  # noqa: DTZ011 - calendar years only
        for male in (True, False)
    }


def chunk_rows(spec: ChunkSpec):
    """The compound's household and resident rows, as COPY text (bytes) or as tuples.

    The hot loop of the benchmark data: plain `random()` arithmetic instead of randint/choice,
    cached date texts, and one encryption and one keyed hash per ID number and per phone.
    """
    gc_was_enabled = gc.isenabled()
    gc.disable()  # millions of small tuples: the cyclic collector would only waste time
    try:
        return _chunk_rows(spec)
    finally:
        if gc_was_enabled:
            gc.enable()


def _chunk_rows(spec: ChunkSpec):
    protector = _protector or BulkProtector()
    encrypt, keyed_hash = protector.encrypt, protector.hash
    rng = random.Random(f"tongxin-synth:{spec.seed}:{spec.index}")
    rand = rng.random
    pg = spec.copy_format
    true, false, null = ("t", "f", "\\N") if pg else (1, 0, None)
    lane = spec.index % LANES
    date_class = (spec.index // LANES) % DATE_CLASSES
    today = spec.today_ordinal
    numbers = fakes.IdNumbers()
    used: set[tuple[str, int, bool]] = set()
    regions, n_regions = fakes.SYNTH_REGIONS, len(fakes.SYNTH_REGIONS)
    surnames, surname_cum = fakes.SURNAME_LIST, fakes.SURNAME_CUM
    surname_total = surname_cum[-1]
    mongolian = fakes.MONGOLIAN_NAMES
    prefixes, n_prefixes = fakes.MOBILE_PREFIXES, len(fakes.MOBILE_PREFIXES)
    places = fakes.PLACES
    given = _GIVEN
    years, isos = _Dates.year, _Dates.iso
    compound_id = str(spec.compound_id)
    doc_kind = f"doc:{ID_TYPE_MAINLAND}"
    now = spec.now
    sequences = {True: lane * 2 + 1, False: lane * 2}

    households, rooms = [], []
    household_id = spec.household_base
    for unit_id, building_id, count in spec.units:
        for j in range(count):
            floor, door = divmod(j, 2)
            households.append(
                (
                    str(household_id),
                    str(unit_id),
                    str(building_id),
                    compound_id,
                    f"{floor + 1}{door + 1:02d}",
                    "",
                )
            )
            rooms.append((str(household_id), str(unit_id), str(building_id)))
            household_id += 1
    n_rooms = len(rooms)
    sizes = [1] * n_rooms
    for _ in range(spec.residents - n_rooms):
        sizes[int(rand() * n_rooms)] += 1

    residents = []
    append = residents.append
    resident_id = spec.resident_base
    for (hid, uid, bid), size in zip(rooms, sizes, strict=True):
        family = "" if rand() < 0.02 else surnames[bisect.bisect(surname_cum, rand() * surname_total)]
        if size == 1:
            head_age = 22 + int(rand() * 69)
            head_male = rand() < 0.45
        else:
            head_age = 25 + int(rand() * 58)
            head_male = rand() < 0.85
        members = [("head", head_age, head_male, True)]
        if size >= 2:
            members.append(("spouse", max(20, head_age + 2 - int(rand() * 8)), not head_male, False))
        for _ in range(size - 2):
            roll = rand()
            if head_age >= 60:
                if roll < 0.5:
                    members.append(("child", head_age - 25 - int(rand() * 11), rand() < 0.5, True))
                else:
                    members.append(
                        ("grandchild", max(0, head_age - 50 - int(rand() * 13)), rand() < 0.5, True)
                    )
            elif head_age < 50 and roll < 0.2:
                members.append(("parent", head_age + 24 + int(rand() * 9), rand() < 0.4, True))
            else:
                members.append(("child", max(0, head_age - 22 - int(rand() * 14)), rand() < 0.5, True))
        household_presence = "living"
        roll = rand()
        if roll > 0.9:
            household_presence = "unverified" if roll < 0.95 else "away" if roll < 0.985 else "moved_out"
        for relation, age, male, in_family in members:
            birth = today - int((age + rand()) * 365.2425)
            birth -= (birth - date_class) % DATE_CLASSES
            region = regions[int(rand() * n_regions)]
            while (region, birth, male) in used:
                birth -= DATE_CLASSES
            used.add((region, birth, male))
            if birth not in isos:
                _Dates.fill(birth)
            number = numbers.number(region, birth, sequences[male])
            if not in_family:
                family_name = surnames[bisect.bisect(surname_cum, rand() * surname_total)]
                names = given[years[birth], male]
                name = family_name + names[int(rand() * len(names))]
            elif family:
                names = given[years[birth], male]
                name = family + names[int(rand() * len(names))]
            else:
                names = mongolian[male]
                name = names[int(rand() * len(names))]
            if age < 16 or (age >= 80 and rand() < 0.3):
                phone = phone_cipher = phone_hash = phone_masked = ""
            else:
                phone = f"{prefixes[int(rand() * n_prefixes)]}{int(rand() * 100_000_000):08d}"
                phone_cipher, phone_hash, phone_masked = (
                    encrypt(phone),
                    keyed_hash("phone", phone),
                    mask_phone(phone),
                )
            elderly = age >= 60
            presence = household_presence
            if presence == "living":
                roll = rand()
                presence = "away" if roll < 0.03 else "unverified" if roll < 0.06 else "living"
            verified_on = null if presence == "unverified" else _iso(today - int(rand() * 31))
            mobility, arrived_on, arrived_from = "", null, ""
            roll = rand()
            if roll < 0.015:
                mobility, arrived_on = "returning", _iso(today - 1 - int(rand() * 14))
                arrived_from = places[int(rand() * len(places))]
            elif roll < 0.035 and age >= 18:
                mobility, arrived_on = "mobile", _iso(today - 15 - int(rand() * 700))
                arrived_from = places[int(rand() * len(places))]
            registered = ""
            if age >= 18 and rand() < 0.03:
                registered = fakes.street_address(rng, places[int(rand() * len(places))])
            disabled = rand() < (0.04 if elderly else 0.01)
            append(
                (
                    str(resident_id), hid, uid, bid, compound_id, name,
                    ID_TYPE_MAINLAND, encrypt(number), keyed_hash(doc_kind, number), mask_id_number(number),
                    isos[birth], "M" if male else "F",
                    phone_cipher, phone_hash, phone_masked, relation,
                    true if size == 1 and elderly else false,  # lives alone
                    true if male and age >= 50 and rand() < 0.04 else false,  # veteran
                    true if rand() < (0.04 if elderly else 0.004) else false,  # serious illness
                    true if disabled else false,
                    true if not male and 22 <= age <= 40 and rand() < 0.04 else false,  # pregnant
                    true if age < 3 else false,  # infant
                    true if rand() < (0.4 if elderly else 0.05) else false,  # regular medication
                    true if disabled or (age >= 80 and rand() < 0.3) else false,  # limited mobility
                    presence, verified_on, null, mobility, arrived_on, arrived_from, registered, "", now, now,
                )
            )  # fmt: skip
            resident_id += 1
    if not pg:
        return households, residents
    return _copy_text(households), _copy_text(residents)


_GIVEN = _given_names()


def _copy_text(rows: list[tuple]) -> bytes:
    """COPY text format; generated values never hold tabs, newlines or backslashes (other than \\N)."""
    return ("\n".join("\t".join(row) for row in rows) + "\n").encode() if rows else b""


# ---------------------------------------------------------------------------------------------------
# The load (main process).


@dataclasses.dataclass
class SynthResult:
    seed: int
    residents: int
    households: int
    units: int
    buildings: int
    compounds: int
    first_compound: str
    last_compound: str
    seconds: float
    rows_per_second: int
    database: str
    workers: int
    indexes_rebuilt: bool
    phases: dict

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


def synth(
    *,
    residents: int,
    compounds: int | None = None,
    seed: int = 1,
    append: bool = False,
    reset: bool = False,
    workers: int | None = None,
    progress: Callable[[str], None] | None = None,
) -> SynthResult:
    """Generate `residents` residents in `compounds` new compounds (default: one per 2,000)."""
    started = time.perf_counter()
    say = progress or (lambda line: None)
    if residents < 1:
        raise SynthError("--residents must be at least 1")
    compounds = compounds or max(1, round(residents / 2000))
    if compounds > residents:
        raise SynthError("--compounds cannot exceed --residents")
    if math.ceil(residents / compounds) > MAX_COMPOUND_RESIDENTS:
        raise SynthError(f"at most {MAX_COMPOUND_RESIDENTS} residents per compound: raise --compounds")
    vendor = connection.vendor
    pg = vendor == "postgresql"
    if workers is None:
        workers = 2 if residents >= 20_000 else 1
    if connection.in_atomic_block:
        workers = 1  # inside a caller's transaction (tests): no fork with an open connection
    phases: dict[str, float] = {}
    mark = time.perf_counter()

    pool = None
    if workers > 1:
        connections.close_all()  # the workers are forked: they must not inherit a live connection
        pool = multiprocessing.get_context("fork").Pool(workers, initializer=_worker_init)
    try:
        with transaction.atomic():
            if pg:
                _lock_tables()
            prefix = f"{CODE_PREFIX}{seed}-"
            mine = Compound.objects.filter(code__startswith=prefix)
            if mine.exists():
                if reset:
                    say(f"synth: deleting the existing data of seed {seed}")
                    _delete_compounds(list(mine.values_list("pk", flat=True)))
                elif not append:
                    raise SynthError(
                        f"this database already has synth data for seed {seed} "
                        f"({mine.count()} compounds); use --append to add more, --reset to replace it, "
                        "or another --seed"
                    )
            first = _next_index()
            if first + compounds > MAX_COMPOUNDS:
                raise SynthError(f"at most {MAX_COMPOUNDS} synth compounds fit the ID number scheme")
            sizes = _spread(residents, compounds)
            plans = [plan_compound(seed, first + i, n) for i, n in enumerate(sizes)]
            compound_rows = _create_compounds(seed, plans)
            specs, counts = _create_structure(seed, plans, compound_rows, pg)
            phases["structure"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            existing = _estimated_rows(Resident) if pg else 0
            rebuild = pg and residents >= max(BULK_LOAD_THRESHOLD, existing // 2)
            deferred = _drop_secondary_indexes() if rebuild else []
            phases["drop_indexes"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            chunks = pool.imap(chunk_rows, specs) if pool else map(chunk_rows, specs)
            _load_rows(chunks, pg, residents, say, started)
            phases["load"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            if deferred:
                say(f"synth: rebuilding {len(deferred)} indexes and constraints")
                _recreate(deferred)
            phases["rebuild_indexes"] = round(time.perf_counter() - mark, 2)
            mark = time.perf_counter()
            if pg:
                _analyze()
            phases["analyze"] = round(time.perf_counter() - mark, 2)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()
    seconds = time.perf_counter() - started
    return SynthResult(
        seed=seed,
        residents=residents,
        households=counts["households"],
        units=counts["units"],
        buildings=counts["buildings"],
        compounds=compounds,
        first_compound=compound_rows[0].code,
        last_compound=compound_rows[-1].code,
        seconds=round(seconds, 2),
        rows_per_second=round(residents / seconds) if seconds else 0,
        database=vendor,
        workers=workers,
        indexes_rebuilt=bool(deferred),
        phases=phases,
    )


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _estimated_rows(model) -> int:
    """The planner's row estimate: counting a large table exactly would cost more than it tells."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT GREATEST(reltuples, 0)::bigint FROM pg_class WHERE oid = %s::regclass",
            [model._meta.db_table],
        )
        return cursor.fetchone()[0]


def _lock_tables() -> None:
    tables = ", ".join(_table(m) for m in (Building, Unit, Household, Resident))
    with connection.cursor() as cursor:
        cursor.execute(f"LOCK TABLE {tables} IN SHARE ROW EXCLUSIVE MODE")


def _next_index() -> int:
    """Compound numbers continue across seeds and runs, so that no two compounds share an ID lane."""
    indexes = [
        int(match.group(2))
        for code in Compound.objects.filter(code__startswith=CODE_PREFIX).values_list("code", flat=True)
        if (match := CODE_RE.match(code))
    ]
    return max(indexes, default=-1) + 1


def _delete_compounds(ids: list[int]) -> None:
    with connection.cursor() as cursor:
        for model in (Resident, Household, Unit, Building):
            for start in range(0, len(ids), 500):
                batch = ids[start : start + 500]
                marks = ", ".join(["%s"] * len(batch))
                cursor.execute(f"DELETE FROM {_table(model)} WHERE compound_id IN ({marks})", batch)  # noqa: S608
    Compound.objects.filter(pk__in=ids).delete()


def _ensure_areas(indexes: Iterable[int]) -> dict[int, Area]:
    """The synthetic city's districts, subdistricts and communities above the given compounds."""
    wanted: dict[str, tuple[str, str, str | None]] = {CITY_CODE: ("city", CITY_NAME, None)}
    community_of: dict[int, str] = {}
    for g in indexes:
        c = g // COMPOUNDS_PER_COMMUNITY
        s = c // COMMUNITIES_PER_SUBDISTRICT
        d = s // SUBDISTRICTS_PER_DISTRICT
        district = f"{CITY_CODE[:4]}{d + 1:02d}"
        street = f"{district}{s % SUBDISTRICTS_PER_DISTRICT + 1:03d}"
        community = f"{street}{c % COMMUNITIES_PER_SUBDISTRICT + 1:03d}"
        wanted[district] = ("district", f"合成{d + 1}区", CITY_CODE)
        wanted[street] = ("subdistrict", f"{SUBDISTRICT_NAMES[s % len(SUBDISTRICT_NAMES)]}路街道", district)
        wanted[community] = ("community", f"{COMMUNITY_WORDS[c % len(COMMUNITY_WORDS)]}{c + 1}社区", street)
        community_of[g] = community
    areas = {a.code: a for a in Area.objects.filter(code__in=list(wanted))}
    for level in ("city", "district", "subdistrict", "community"):
        new = []
        for code, (lvl, name, parent) in wanted.items():
            if lvl == level and code not in areas:
                parent_area = areas[parent] if parent else None
                path = (parent_area.path if parent_area else "") + code + "/"
                new.append(Area(level=level, code=code, name=name, parent=parent_area, path=path))
        Area.objects.bulk_create(new)
        if new:
            areas.update({a.code: a for a in Area.objects.filter(code__in=[a.code for a in new])})
    return {g: areas[code] for g, code in community_of.items()}


def _create_compounds(seed: int, plans: list[CompoundPlan]) -> list[Compound]:
    communities = _ensure_areas(p.index for p in plans)
    rows = []
    for plan in plans:
        rng = random.Random(f"tongxin-synth:{seed}:{plan.index}:name")
        community = communities[plan.index]
        rows.append(
            Compound(
                code=f"{CODE_PREFIX}{seed}-{plan.index:05d}",
                name=f"{rng.choice(COMPOUND_WORDS)}{rng.choice(COMPOUND_SUFFIXES)}（{plan.index + 1}）",
                community=community,
                area_path=community.path,
            )
        )
    Compound.objects.bulk_create(rows, batch_size=1000)
    if any(c.pk is None for c in rows):  # databases that do not return ids from bulk inserts
        ids = dict(Compound.objects.filter(code__in=[c.code for c in rows]).values_list("code", "pk"))
        for c in rows:
            c.pk = ids[c.code]
    return rows


def reserve_ids(model, count: int) -> int:
    """The first of `count` consecutive free ids of `model`'s table; its sequence moves past them."""
    table = _table(model)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [model._meta.db_table])
            sequence = cursor.fetchone()[0]
            cursor.execute(
                f"SELECT GREATEST(nextval(%s), (SELECT COALESCE(MAX(id), 0) + 1 FROM {table}))",  # noqa: S608
                [sequence],
            )
            start = cursor.fetchone()[0]
            cursor.execute("SELECT setval(%s, %s)", [sequence, start + max(count, 1) - 1])
        else:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {table}")  # noqa: S608
            start = cursor.fetchone()[0]
    return start


def _create_structure(seed: int, plans: list[CompoundPlan], compounds: list[Compound], pg: bool):
    """Buildings and units (few: inserted here), and the specs of the households and residents to come."""
    totals = {
        "buildings": sum(len(p.units_per_building) for p in plans),
        "units": sum(len(p.households_per_unit) for p in plans),
        "households": sum(sum(p.households_per_unit) for p in plans),
    }
    building_id = reserve_ids(Building, totals["buildings"])
    unit_id = reserve_ids(Unit, totals["units"])
    household_id = reserve_ids(Household, totals["households"])
    resident_id = reserve_ids(Resident, sum(p.residents for p in plans))
    buildings, units, specs = [], [], []
    today = timezone.localdate().toordinal()
    now = str(connection.ops.adapt_datetimefield_value(timezone.now()))
    for plan, compound in zip(plans, compounds, strict=True):
        unit_specs = []
        households = iter(plan.households_per_unit)
        for number, unit_count in enumerate(plan.units_per_building, start=1):
            buildings.append((building_id, compound.pk, str(number), plan.floors, number))
            for unit_number in range(1, unit_count + 1):
                units.append((unit_id, building_id, compound.pk, str(unit_number), unit_number))
                unit_specs.append((unit_id, building_id, next(households)))
                unit_id += 1
            building_id += 1
        specs.append(
            ChunkSpec(
                seed=seed,
                index=plan.index,
                compound_id=compound.pk,
                residents=plan.residents,
                resident_base=resident_id,
                household_base=household_id,
                units=tuple(unit_specs),
                today_ordinal=today,
                now=now,
                copy_format=pg,
            )
        )
        resident_id += plan.residents
        household_id += sum(plan.households_per_unit)
    _insert(Building, ("id", "compound_id", "number", "floors", "sort_key"), buildings, pg)
    _insert(Unit, ("id", "building_id", "compound_id", "number", "sort_key"), units, pg)
    return specs, totals


def _insert(model, columns: tuple[str, ...], rows: list[tuple], pg: bool) -> None:
    if not rows:
        return
    table, names = _table(model), ", ".join(columns)
    with connection.cursor() as cursor:
        if pg:
            with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({marks})", rows)  # noqa: S608


def _load_rows(chunks, pg: bool, total: int, say: Callable[[str], None], started: float) -> None:
    households_table, residents_table = _table(Household), _table(Resident)
    done, next_report = 0, 100_000
    load_started = time.perf_counter()

    reported = -1

    def report() -> None:
        nonlocal reported
        if done == reported:
            return
        reported = done
        elapsed = time.perf_counter() - load_started
        rate = done / elapsed if elapsed else 0
        say(f"synth: {done:,}/{total:,} residents, {rate:,.0f} rows/s, {time.perf_counter() - started:.1f} s")

    with connection.cursor() as cursor:
        if pg:
            household_parts = []
            with cursor.cursor.copy(
                f"COPY {residents_table} ({', '.join(RESIDENT_COLUMNS)}) FROM STDIN"
            ) as copy:
                for household_text, resident_text in chunks:
                    copy.write(resident_text)
                    household_parts.append(household_text)
                    done += resident_text.count(b"\n")
                    if done >= next_report:
                        report()
                        next_report += 100_000
            with cursor.cursor.copy(
                f"COPY {households_table} ({', '.join(HOUSEHOLD_COLUMNS)}) FROM STDIN"
            ) as copy:
                for part in household_parts:
                    copy.write(part)
        else:
            household_sql = _insert_sql(households_table, HOUSEHOLD_COLUMNS)
            resident_sql = _insert_sql(residents_table, RESIDENT_COLUMNS)
            for households, residents in chunks:
                cursor.executemany(household_sql, households)
                cursor.executemany(resident_sql, residents)
                done += len(residents)
                if done >= next_report:
                    report()
                    next_report += 100_000
    report()


def _insert_sql(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})"  # noqa: S608


# ---------------------------------------------------------------------------------------------------
# Indexes and constraints around a bulk load (PostgreSQL).


def _drop_secondary_indexes() -> list[str]:
    """Drop the households' and residents' secondary indexes, unique and foreign-key constraints.

    Returns the statements that recreate them. The primary keys stay. Everything happens inside
    the caller's transaction: a failure rolls the drop back with the rows.
    """
    tables = [Household._meta.db_table, Resident._meta.db_table]
    recreate_indexes, recreate_constraints, drops = [], [], []
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            """
            SELECT c.conrelid::regclass::text, c.conname, pg_get_constraintdef(c.oid), c.contype
            FROM pg_constraint c
            WHERE c.conrelid = ANY(%s::regclass[]) AND c.contype IN ('u', 'f')
            ORDER BY c.contype DESC, c.conname
            """,
            [tables],
        )
        for table, name, definition, _kind in cursor.fetchall():
            quoted = connection.ops.quote_name(name)
            drops.append(f"ALTER TABLE {table} DROP CONSTRAINT {quoted}")
            recreate_constraints.append(f"ALTER TABLE {table} ADD CONSTRAINT {quoted} {definition}")
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
            ORDER BY 1
            """,
            [tables],
        )
        for name, definition in cursor.fetchall():
            drops.append(f"DROP INDEX {name}")
            recreate_indexes.append(definition)
        for statement in drops:
            cursor.execute(statement)
    # Unique constraints before foreign keys: the order of the query above (contype 'u' > 'f').
    return recreate_indexes + recreate_constraints


def _recreate(statements: list[str]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("SET LOCAL maintenance_work_mem = '512MB'")
        cursor.execute("SET LOCAL max_parallel_maintenance_workers = 2")
        for statement in statements:
            cursor.execute(statement)


def _analyze() -> None:
    with connection.cursor() as cursor:
        for model in (Compound, Building, Unit, Household, Resident):
            cursor.execute(f"ANALYZE {_table(model)}")


def stderr_progress(line: str) -> None:
    print(line, file=sys.stderr, flush=True)
