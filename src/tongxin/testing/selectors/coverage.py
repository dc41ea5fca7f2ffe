"""Coverage of a round (应检尽检): who was expected, who was sampled, with what result, who is missed.

Every resident of the round's covered compounds and buildings falls in exactly one column, in this
order of precedence:

- sampled: has a sample of the round (even if their presence says away); split by result into
  awaiting, negative, under review (a positive pool whose single-tube retest is not back negative)
  and positive;
- tested elsewhere (在隔离点/医院检测): living here but kept in central isolation or taken away as
  an active case on the round's day (`outbreak.selectors.residents_tested_elsewhere`);
- exempted: the round has an `Exemption` for them (away, moved out, in hospital...);
- missed: living here, and none of the above;
- everyone else (away, moved out, unverified and not sampled) is not counted.

Expected = sampled + missed; the share shown is sampled / expected.

Scale: each column is one grouped query on an existing index, plus small ones for what is rare
(people tested elsewhere, exemptions, retests). Sampled people are counted where they were sampled,
from the samples (index (round, compound, unit)) joined to their tube; everyone else where they live
now, from the residents (compound index) with an anti-join on their samples of the round (the
resident's sample index). A person is in one column only, so the two never count anyone twice.
One compound reads its ~2,000 residents and samples through those indexes; the city-wide summary is
one pass over each table.
"""

import contextlib
import dataclasses
from collections import Counter, defaultdict

from django.conf import settings
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.accounts.models import Role
from tongxin.core import crypto
from tongxin.core.audit import audit
from tongxin.core.scoping import scope_q
from tongxin.outbreak.selectors import residents_tested_elsewhere
from tongxin.registry.models import Building, Compound, Resident, Unit
from tongxin.testing.models import Exemption, Retest, RoundCompound, Sample, TestRound, Tube

LIVING = Resident.Presence.LIVING


@dataclasses.dataclass
class Tally:
    """The counts of one place (a unit, a building, a compound, a whole round)."""

    sampled: int = 0
    awaiting: int = 0
    negative: int = 0
    under_review: int = 0
    positive: int = 0
    elsewhere: int = 0
    exempted: int = 0
    missed: int = 0
    reasons: Counter = dataclasses.field(default_factory=Counter)

    @property
    def expected(self) -> int:
        return self.sampled + self.missed

    @property
    def percent(self) -> int | None:
        """Sampled out of expected, rounded down: 99.6 % is not shown as done."""
        if not self.expected:
            return None
        return self.sampled * 100 // self.expected

    @property
    def share(self) -> float | None:
        return self.sampled / self.expected if self.expected else None

    def add(self, other: "Tally") -> None:
        for name in COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.reasons.update(other.reasons)

    def reason_items(self) -> list[tuple[str, str, int]]:
        """(reason, label, count) in the order of Exemption.Reason, only those that occur."""
        return [(value, str(label), self.reasons[value]) for value, label in REASONS if self.reasons[value]]

    def as_dict(self, *, health: bool) -> dict:
        """The figures for one role: results and people tested elsewhere only for health roles."""
        data = {
            "expected": self.expected,
            "sampled": self.sampled,
            "missed": self.missed,
            "exempted": self.exempted,
            "percent": self.percent,
        }
        if health:
            data |= {
                "awaiting": self.awaiting,
                "negative": self.negative,
                "under_review": self.under_review,
                "positive": self.positive,
                "elsewhere": self.elsewhere,
                "exempted_by_reason": {value: n for value, _label, n in self.reason_items()},
            }
        return data


COUNTS = ("sampled", "awaiting", "negative", "under_review", "positive", "elsewhere", "exempted", "missed")
REASONS = Exemption.Reason.choices


@dataclasses.dataclass
class PlaceCoverage:
    place: object  # a Compound, Building or Unit
    tally: Tally
    children: list["PlaceCoverage"] = dataclasses.field(default_factory=list)
    missed_url: str = ""  # set by the pages


@dataclasses.dataclass
class RoundCoverage:
    round: TestRound
    total: Tally
    compounds: list[PlaceCoverage]


@dataclasses.dataclass
class CompoundCoverage:
    round: TestRound
    compound: Compound
    total: Tally
    buildings: list[PlaceCoverage]  # each with its units as children


@contextlib.contextmanager
def index_reads():
    """One compound's reads: a few thousand rows through indexes each. On PostgreSQL the planner
    would start parallel workers for them, which costs more than the reads; one transaction with
    parallelism off (SET LOCAL ends with it). The city-wide summary keeps its parallel scans."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
        yield


# -- rounds ----------------------------------------------------------------------------------------


def sees_coverage(user) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.is_active and user.role != Role.RESIDENT


def rounds_visible(user):
    """Rounds covering a compound the user sees; none for residents."""
    if not sees_coverage(user):
        return TestRound.objects.none()
    covers = RoundCompound.objects.filter(
        round=OuterRef("pk"), compound__in=Compound.objects.filter(scope_q(user, "compound"))
    )
    return TestRound.objects.filter(Exists(covers))


def round_get(user, round_id) -> TestRound:
    try:
        found = rounds_visible(user).filter(pk=round_id).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise Http404
    return found


def round_covers(round_: TestRound, compound_ids=None) -> dict[int, frozenset[int]]:
    """{compound id: the covered building ids, empty for the whole compound}, for every compound of
    the round or only these. One query, whatever the number of compounds."""
    covers = RoundCompound.objects.filter(round_id=round_.pk)
    if compound_ids is not None:
        covers = covers.filter(compound_id__in=list(compound_ids))
    buildings: dict[int, set[int]] = {}
    for compound_id, building_id in covers.values_list("compound_id", "buildings").order_by():
        found = buildings.setdefault(compound_id, set())
        if building_id is not None:
            found.add(building_id)
    return {compound_id: frozenset(ids) for compound_id, ids in buildings.items()}


def covered_q(covers: dict[int, frozenset[int]], prefix: str = "") -> Q:
    """Residents (or anything carrying compound_id and building_id) inside the round's cover."""
    whole = [compound_id for compound_id, buildings in covers.items() if not buildings]
    condition = Q(**{f"{prefix}compound_id__in": whole}) if whole else Q(pk__in=[])
    for compound_id, buildings in covers.items():
        if buildings:
            condition |= Q(
                **{f"{prefix}compound_id": compound_id, f"{prefix}building_id__in": sorted(buildings)}
            )
    return condition


def latest_round_of(compound: Compound, on=None) -> TestRound | None:
    """The compound's latest round that has started (its day is today or earlier), or None."""
    on = on or timezone.localdate()
    cover = (
        RoundCompound.objects.filter(compound=compound, round__day__lte=on)
        .select_related("round")
        .order_by("-round__day", "-round_id")
        .first()
    )
    return cover.round if cover else None


# -- counts ----------------------------------------------------------------------------------------


def _place_q(user, covers, prefix: str = "", **filters) -> Q:
    """The places of the round's cover that the user sees, as a condition on anything carrying
    compound_id and building_id: residents (where they live now) and samples (where they were
    sampled); with a prefix such as "resident__", on a model pointing to a resident."""
    return _prefixed(scope_q(user, "resident") & covered_q(covers) & Q(**filters), prefix)


def _prefixed(condition: Q, prefix: str) -> Q:
    if not prefix:
        return condition
    children = [
        _prefixed(child, prefix) if isinstance(child, Q) else (prefix + child[0], child[1])
        for child in condition.children
    ]
    return Q(*children, _connector=condition.connector, _negated=condition.negated)


def _tallies(user, round_: TestRound, covers, level: str, **filters) -> dict[int, Tally]:
    """Tallies keyed by compound id or unit id, in eight queries whatever the number of people.

    Sampled people count where they were sampled (the sample's place); everyone else where they
    live now. A person is one row in one column, so the two never count anyone twice.
    """
    place = "compound_id" if level == "compound" else "unit_id"
    at_place = _place_q(user, covers, **filters)
    tallies: dict[int, Tally] = defaultdict(Tally)

    # Each person's first sample of the round, by its tube's result.
    samples = Sample.objects.filter(at_place, round_id=round_.pk)
    for key, result, pool_size, n in (
        samples.filter(is_retest=False)
        .values_list(place, "tube__result", "tube__pool_size")
        .annotate(n=Count("id"))
        .order_by()
    ):
        tally = tallies[key]
        tally.sampled += n
        if result == Tube.Result.PENDING:
            tally.awaiting += n
        elif result == Tube.Result.NEGATIVE:
            tally.negative += n
        elif pool_size == 1:
            tally.positive += n
        else:
            tally.under_review += n

    # A positive pool's person whose single-tube retest came back is negative or positive, no
    # longer under review: read from the few settled retests of these compounds (their index; a
    # retest carries the compound of the pool sample it settles), each joined to that sample.
    for key, state, n in (
        samples.filter(
            is_retest=False,
            tube__pool_size__gt=1,
            tube__result=Tube.Result.POSITIVE,
            tube__retests__round_id=round_.pk,
            tube__retests__compound_id__in=list(covers),
            tube__retests__resident_id=F("resident_id"),
            tube__retests__state__in=[Retest.State.NEGATIVE, Retest.State.POSITIVE],
        )
        .values_list(place, "tube__retests__state")
        .annotate(n=Count("id"))
        .order_by()
    ):
        tally = tallies[key]
        tally.under_review -= n
        if state == Retest.State.NEGATIVE:
            tally.negative += n
        else:
            tally.positive += n

    # Sampled in this round only as the single-tube retest of an earlier round's pool: the few
    # samples a Retest points to, found through the retests rather than by scanning the round.
    primary = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("resident_id"), is_retest=False)
    seen: set[int] = set()
    for resident_id, key, result in (
        samples.filter(is_retest=True, pk__in=Retest.objects.filter(sample__isnull=False).values("sample_id"))
        .filter(~Exists(primary))
        .values_list("resident_id", place, "tube__result")
        .order_by()
    ):
        if resident_id in seen:
            continue
        seen.add(resident_id)
        tally = tallies[key]
        tally.sampled += 1
        if result == Tube.Result.PENDING:
            tally.awaiting += 1
        elif result == Tube.Result.NEGATIVE:
            tally.negative += 1
        else:
            tally.positive += 1

    # Living here without a sample of the round: missed, until found tested elsewhere or exempted
    # below. The anti-join reads the (round, resident) unique index of first samples only; the
    # few sampled only by a retest are taken off after.
    first_sample = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("pk"), is_retest=False)
    living = Resident.objects.filter(at_place, presence=LIVING)
    for key, n in living.filter(~Exists(first_sample)).values_list(place).annotate(n=Count("id")).order_by():
        tallies[key].missed += n
    if seen:
        for key in living.filter(pk__in=seen).values_list(place, flat=True).order_by():
            tallies[key].missed -= 1

    any_sample = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("pk"))
    ids = list(residents_tested_elsewhere(list(covers), round_.day)) if covers else []
    elsewhere = set()
    if ids:
        for resident_id, key in (
            living.filter(pk__in=ids).filter(~Exists(any_sample)).values_list("pk", place).order_by()
        ):
            elsewhere.add(resident_id)
            tallies[key].elsewhere += 1
            tallies[key].missed -= 1

    # The round's exemptions of people not sampled, counted where they live, while they live in the
    # compound the exemption was made in.
    for reason, key, presence in _exemptions(user, round_, covers, place, filters, elsewhere):
        tally = tallies[key]
        tally.exempted += 1
        tally.reasons[reason] += 1
        if presence == LIVING:
            tally.missed -= 1
    return tallies


def _exemptions(user, round_, covers, place: str, filters: dict, elsewhere: set[int]):
    """(reason, place key, presence) of each exemption that counts. One compound: one query joining
    the residents. The city: the exemption index, then those people by primary key (a join would
    make the planner scan every resident)."""
    sampled = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("resident_id"))
    exemptions = Exemption.objects.filter(round_id=round_.pk).annotate(was_sampled=Exists(sampled)).order_by()
    if place == "unit_id":
        rows = exemptions.filter(
            _place_q(user, covers, "resident__", **filters), compound_id=F("resident__compound_id")
        ).values_list("resident_id", "reason", "resident__unit_id", "resident__presence", "was_sampled")
        return [
            (reason, key, presence)
            for resident_id, reason, key, presence, was_sampled in rows
            if not was_sampled and resident_id not in elsewhere
        ]
    found = {
        resident_id: (reason, compound_id)
        for resident_id, reason, compound_id, was_sampled in exemptions.filter(
            compound_id__in=list(covers)
        ).values_list("resident_id", "reason", "compound_id", "was_sampled")
        if not was_sampled and resident_id not in elsewhere
    }
    if not found:
        return []
    counted = []
    for resident_id, key, compound_id, presence in (
        Resident.objects.filter(_place_q(user, covers, **filters), pk__in=list(found))
        .values_list("pk", place, "compound_id", "presence")
        .order_by()
    ):
        reason, made_in = found[resident_id]
        if compound_id == made_in:
            counted.append((reason, key, presence))
    return counted


def round_coverage(user, round_: TestRound) -> RoundCoverage:
    """The city-wide (or district-, compound-wide: what the user sees) summary by compound."""
    covers = round_covers(round_)
    compounds = list(
        Compound.objects.filter(scope_q(user, "compound"), pk__in=list(covers)).order_by("area_path", "code")
    )
    covers = {c.pk: covers[c.pk] for c in compounds}
    tallies = _tallies(user, round_, covers, "compound") if covers else {}
    total = Tally()
    rows = []
    for compound in compounds:
        tally = tallies.get(compound.pk, Tally())
        total.add(tally)
        rows.append(PlaceCoverage(compound, tally))
    return RoundCoverage(round_, total, rows)


def covered_compound(user, round_: TestRound, compound_id) -> Compound:
    """A compound of the round that the user sees (404 otherwise)."""
    return _covered_compound(user, round_, compound_id)[0]


def _covered_compound(user, round_: TestRound, compound_id) -> tuple[Compound, dict[int, frozenset[int]]]:
    try:
        compound_id = int(compound_id)
    except (TypeError, ValueError):
        raise Http404 from None
    compound = Compound.objects.filter(scope_q(user, "compound"), pk=compound_id).first()
    covers = round_covers(round_, [compound_id]) if compound is not None else {}
    if compound is None or compound.pk not in covers:
        raise Http404
    return compound, covers


def _covered_units(user, covers, compound: Compound, **filters) -> list[Unit]:
    units = Unit.objects.filter(scope_q(user, "unit"), covered_q(covers), compound=compound, **filters)
    return list(
        units.select_related("building").order_by(
            "building__sort_key", "building__number", "sort_key", "number"
        )
    )


def compound_coverage(user, round_: TestRound, compound_id, *, building_id=None) -> CompoundCoverage:
    """One compound of the round: totals, each building, each building's units (or one building's)."""
    with index_reads():
        compound, covers = _covered_compound(user, round_, compound_id)
        filters = {"building_id": building_id} if building_id is not None else {}
        units = _covered_units(user, covers, compound, **filters)
        if building_id is not None and not units:
            raise Http404
        tallies = _tallies(user, round_, covers, "unit", compound_id=compound.pk, **filters)
    total = Tally()
    buildings: dict[int, PlaceCoverage] = {}
    for unit in units:
        tally = tallies.get(unit.pk, Tally())
        entry = buildings.get(unit.building_id)
        if entry is None:
            entry = buildings[unit.building_id] = PlaceCoverage(unit.building, Tally())
        entry.tally.add(tally)
        entry.children.append(PlaceCoverage(unit, tally))
        total.add(tally)
    return CompoundCoverage(round_, compound, total, list(buildings.values()))


def building_get(user, round_: TestRound, building_id) -> Building:
    """A building the user sees and the round covers (404 otherwise)."""
    building = (
        Building.objects.filter(scope_q(user, "building"), pk=building_id).select_related("compound").first()
    )
    if building is None:
        raise Http404
    covers = round_covers(round_, [building.compound_id])
    if building.compound_id not in covers or (
        covers[building.compound_id] and building.pk not in covers[building.compound_id]
    ):
        raise Http404
    return building


def unit_shares(
    user, compound: Compound, unit_ids: list[int], *, on=None
) -> tuple[TestRound | None, dict[int, Tally]]:
    """The compound's latest round and each of these units' tallies in it (for the map)."""
    round_ = latest_round_of(compound, on)
    if round_ is None:
        return None, {}
    covers = round_covers(round_, [compound.pk])
    if compound.pk not in covers:
        return round_, {}
    with index_reads():
        tallies = _tallies(user, round_, covers, "unit", compound_id=compound.pk)
    return round_, {unit_id: tallies[unit_id] for unit_id in unit_ids if unit_id in tallies}


# -- the missed list -------------------------------------------------------------------------------


MISSED_FIELDS = (
    "name",
    "compound_id",
    "birth_date",
    "phone_cipher",
    "phone_masked",
    *Resident.TAG_FIELDS,
    "household__room",
    "unit__number",
    "building__number",
)


def missed_list(user, round_: TestRound, compound_id, *, building_id=None, unit_id=None):
    """The compound's missed people (living here, not sampled, not tested elsewhere, not exempted)
    the user sees, in building, unit and room order: a queryset (evaluate it inside
    `index_reads()`, or take a page with `missed_page`)."""
    compound, covers = _covered_compound(user, round_, compound_id)
    filters = {"compound_id": compound.pk}
    if building_id:
        filters["building_id"] = building_id
    if unit_id:
        filters["unit_id"] = unit_id
    elsewhere = list(residents_tested_elsewhere([compound.pk], round_.day))
    # First samples through the (round, resident) unique index without touching the samples
    # themselves; the rare retest-only sample checked for the few left.
    first_sample = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("pk"), is_retest=False)
    retest_sample = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("pk"), is_retest=True)
    exempted = Exemption.objects.filter(
        round_id=round_.pk, resident_id=OuterRef("pk"), compound_id=OuterRef("compound_id")
    )
    people = Resident.objects.filter(_place_q(user, covers, presence=LIVING, **filters))
    if elsewhere:
        people = people.exclude(pk__in=elsewhere)
    return (
        people.filter(~Exists(first_sample), ~Exists(retest_sample), ~Exists(exempted))
        .select_related("household", "unit", "building")
        .only(*MISSED_FIELDS)
        .order_by(
            "building__sort_key",
            "building__number",
            "unit__sort_key",
            "unit__number",
            "household__room",
            "id",
        )
    )


def missed_page(user, round_: TestRound, compound_id, *, page=1, building_id=None, unit_id=None, ip=None):
    """A page of the missed list as the user may see it (audited when it shows full phones):
    (the paginator's page, its MissedPerson rows)."""
    with index_reads():
        residents = missed_list(user, round_, compound_id, building_id=building_id, unit_id=unit_id)
        shown = Paginator(residents, settings.TONGXIN_PAGE_SIZE).get_page(page)
        rows = missed_people(user, round_, shown.object_list, ip=ip)
    return shown, rows


def phone_mode(user) -> str:
    """ "full" for the roles that may see full numbers (each view audited), "none" for volunteers,
    "masked" for anyone else who sees the list."""
    if getattr(user, "may_see_full_data", False):
        return "full"
    if user.role == Role.VOLUNTEER:
        return "none"
    return "masked"


@dataclasses.dataclass
class MissedPerson:
    resident: Resident
    building: str
    unit: str
    room: str
    phone: str
    tags: list[tuple[str, str]]  # (label, kind) as the registry's badges


def _tags(resident: Resident) -> list[tuple[str, str]]:
    items = [(_("老年人"), "elderly")] if resident.is_elderly else []
    for name in Resident.TAG_FIELDS:
        if getattr(resident, name):
            kind = "vulnerable" if name in Resident.VULNERABLE_FIELDS else "other"
            items.append((str(Resident._meta.get_field(name).verbose_name), kind))
    return items


def missed_people(
    user, round_: TestRound, residents, *, ip: str | None = None, audit_action: str = "view"
) -> list[MissedPerson]:
    """Rows of the missed list as the user may see them. Full phones are decrypted for the roles
    that may see them, and then the view is audited (one row naming the people shown)."""
    mode = phone_mode(user)
    rows = []
    for resident in residents:
        if mode == "full":
            phone = crypto.decrypt(resident.phone_cipher) if resident.phone_cipher else ""
        elif mode == "masked":
            phone = resident.phone_masked
        else:
            phone = ""
        rows.append(
            MissedPerson(
                resident=resident,
                building=resident.building.number,
                unit=resident.unit.number,
                room=resident.household.room,
                phone=phone,
                tags=_tags(resident),
            )
        )
    if mode == "full" and rows and audit_action:
        audit(
            actor=user,
            action=audit_action,
            obj=round_,
            fields="missed_list,phone",
            detail={"residents": [row.resident.pk for row in rows]},
            ip=ip,
        )
    return rows


# -- exemptions ------------------------------------------------------------------------------------


def exemptions_of_compound(user, round_: TestRound, compound_id):
    """The round's exemptions of people of this compound the user sees, in room order, each with
    whether the person was sampled after all (then the exemption does not count)."""
    compound, covers = _covered_compound(user, round_, compound_id)
    sampled = Sample.objects.filter(round_id=round_.pk, resident_id=OuterRef("resident_id"))
    return (
        Exemption.objects.filter(
            _place_q(user, covers, "resident__", compound_id=compound.pk),
            round_id=round_.pk,
            compound_id=compound.pk,
        )
        .annotate(was_sampled=Exists(sampled))
        .select_related("resident__household", "resident__unit", "resident__building", "created_by")
        .order_by(
            "resident__building__sort_key",
            "resident__building__number",
            "resident__unit__sort_key",
            "resident__unit__number",
            "resident__household__room",
            "resident_id",
        )
    )


def exemption_of(user, round_: TestRound, resident: Resident) -> Exemption | None:
    """The person's exemption from the round, if the user sees them."""
    return (
        Exemption.objects.filter(_prefixed(scope_q(user, "resident"), "resident__"))
        .filter(round_id=round_.pk, resident_id=resident.pk)
        .first()
    )
