"""Every read of the registry, scoped to what the acting user may see.

A record outside the user's scope is simply not found: pages and the API answer 404.
"""

from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from tongxin.core.documents import DocumentError, normalise, parse_mobile
from tongxin.core.scoping import scope_q
from tongxin.registry.models import Building, Compound, Household, Resident, Unit, elderly_born_on_or_before


def compounds_visible(user):
    return Compound.objects.filter(scope_q(user, "compound")).select_related("community")


def compound_get(user, compound_id: int) -> Compound:
    try:
        return compounds_visible(user).get(pk=compound_id)
    except (Compound.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def compound_by_code(user, code: str) -> Compound:
    compound = compounds_visible(user).filter(code=code).first()
    if compound is None:
        raise Http404
    return compound


def buildings_visible(user, compound: Compound):
    return Building.objects.filter(scope_q(user, "building"), compound=compound)


def units_visible(user, compound: Compound):
    return Unit.objects.filter(scope_q(user, "unit"), compound=compound).select_related("building")


def unit_get(user, unit_id: int) -> Unit:
    unit = (
        Unit.objects.filter(scope_q(user, "unit"), pk=unit_id).select_related("building", "compound").first()
    )
    if unit is None:
        raise Http404
    return unit


def households_visible(user):
    return Household.objects.filter(scope_q(user, "household"))


def household_get(user, household_id: int) -> Household:
    household = (
        households_visible(user).filter(pk=household_id).select_related("unit__building", "compound").first()
    )
    if household is None:
        raise Http404
    return household


def households_of_unit(user, unit: Unit):
    """The unit's households with their residents in two queries, whatever the unit's size."""
    return (
        households_visible(user)
        .filter(unit=unit)
        .prefetch_related("residents")
        .annotate(resident_count=Count("residents"))
        .order_by("room")
    )


def residents_visible(user):
    return Resident.objects.filter(scope_q(user, "resident"))


def resident_get(user, resident_id: int) -> Resident:
    resident = (
        residents_visible(user)
        .filter(pk=resident_id)
        .select_related("household__unit__building", "compound", "presence_verified_by")
        .first()
    )
    if resident is None:
        raise Http404
    return resident


def resident_search(user, query: str, *, compound: Compound | None = None, limit: int = 50):
    """Search by name (prefix or part), phone (exact), ID number (exact) or room ("3-2-301" or "301").

    Phones and ID numbers are matched through their look-up hashes: exact only, never by part.
    """
    from tongxin.registry.actions import document_lookup_hash, phone_lookup_hash

    text = normalise(query)
    qs = residents_visible(user)
    if compound is not None:
        qs = qs.filter(compound=compound)
    if not text:
        return qs.none()
    conditions = Q(name__contains=(query or "").strip())
    if len(text) in (15, 18) and text[:6].isdigit():
        conditions |= Q(document_type="mainland_id", document_hash=document_lookup_hash("mainland_id", text))
    elif len(text) >= 5 and text.isalnum() and not text.isdigit():
        conditions |= Q(
            document_hash__in=[document_lookup_hash(t, text) for t in Resident.DocumentType.values]
        )
    try:
        phone = parse_mobile(text)
    except DocumentError:
        phone = ""
    if phone:
        conditions |= Q(phone_hash=phone_lookup_hash(phone))
    room = _room_condition(text)
    if room is not None:
        conditions |= room
    return (
        qs.filter(conditions)
        .select_related("household__unit__building")
        .order_by("compound_id", "building__sort_key", "unit__sort_key", "household__room", "id")[:limit]
    )


def _room_condition(text: str) -> Q | None:
    parts = [p for p in text.replace("号楼", "-").replace("单元", "-").replace("室", "").split("-") if p]
    if len(parts) == 3:
        return Q(building__number=parts[0], unit__number=parts[1], household__room=parts[2])
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) <= 5:
        return Q(household__room=parts[0])
    return None


MAP_MEASURES = {
    "verified": "居住核实率",
    "elderly": "老年人占比",
    "vulnerable": "重点人群占比",
    "residents": "居民人数",
}


def compound_map(user, compound: Compound, measure: str = "verified") -> dict:
    """The compound as buildings of unit cells, each with its counts and the chosen measure's value.

    Two aggregate queries (units, then residents grouped by unit), whatever the compound's size.
    """
    if measure not in MAP_MEASURES:
        measure = "verified"
    born_before = elderly_born_on_or_before()
    units = list(
        units_visible(user, compound).order_by("building__sort_key", "building__number", "sort_key", "number")
    )
    counts = {
        row["unit_id"]: row
        for row in residents_visible(user)
        .filter(compound=compound)
        .exclude(presence="moved_out")
        .values("unit_id")
        .annotate(
            residents=Count("id"),
            verified=Count("id", filter=~Q(presence="unverified")),
            elderly=Count("id", filter=Q(birth_date__lte=born_before)),
            vulnerable=Count(
                "id",
                filter=Q(birth_date__lte=born_before)
                | Q(lives_alone=True)
                | Q(veteran=True)
                | Q(serious_illness=True),
            ),
        )
    }
    household_counts = dict(
        Household.objects.filter(unit__in=[u.pk for u in units])
        .values_list("unit_id")
        .annotate(n=Count("id"))
    )
    buildings: dict[int, dict] = {}
    peak = max((row["residents"] for row in counts.values()), default=0)
    for unit in units:
        row = counts.get(unit.pk, {"residents": 0, "verified": 0, "elderly": 0, "vulnerable": 0})
        total = row["residents"]
        if measure == "residents":
            value = total / peak if peak else None
            label = str(total)
        else:
            value = row[measure] / total if total else None
            label = f"{value:.0%}" if value is not None else "–"
        cell = {
            "unit": unit,
            "households": household_counts.get(unit.pk, 0),
            **row,
            "value": value,
            "label": label,
            "band": _band(value),
        }
        entry = buildings.setdefault(unit.building_id, {"building": unit.building, "units": []})
        entry["units"].append(cell)
    return {
        "measure": measure,
        "measure_label": MAP_MEASURES[measure],
        "measures": MAP_MEASURES,
        "buildings": list(buildings.values()),
        "bands": BANDS,
        "as_of": timezone.localdate(),
    }


BANDS = [
    (0.0, "b0", "0–20%"),
    (0.2, "b1", "20–40%"),
    (0.4, "b2", "40–60%"),
    (0.6, "b3", "60–80%"),
    (0.8, "b4", "80–100%"),
]


def _band(value: float | None) -> str:
    if value is None:
        return "none"
    band = "b0"
    for start, name, _label in BANDS:
        if value >= start:
            band = name
    return band


def compound_stats(user, compound: Compound | None = None) -> dict:
    """Counts for the stats command and the dashboard, in a fixed number of queries."""
    born_before = elderly_born_on_or_before()
    residents = residents_visible(user)
    buildings = Building.objects.filter(scope_q(user, "building"))
    units = Unit.objects.filter(scope_q(user, "unit"))
    households = households_visible(user)
    if compound is not None:
        residents = residents.filter(compound=compound)
        buildings = buildings.filter(compound=compound)
        units = units.filter(compound=compound)
        households = households.filter(compound=compound)
    people = residents.aggregate(
        residents=Count("id"),
        elderly=Count("id", filter=Q(birth_date__lte=born_before)),
        lives_alone=Count("id", filter=Q(lives_alone=True)),
        veterans=Count("id", filter=Q(veteran=True)),
        serious_illness=Count("id", filter=Q(serious_illness=True)),
        disabled=Count("id", filter=Q(disabled=True)),
        living=Count("id", filter=Q(presence="living")),
        away=Count("id", filter=Q(presence="away")),
        moved_out=Count("id", filter=Q(presence="moved_out")),
        unverified=Count("id", filter=Q(presence="unverified")),
        returning=Count("id", filter=Q(mobility="returning")),
        mobile=Count("id", filter=Q(mobility="mobile")),
    )
    return {
        "compounds": 1 if compound is not None else compounds_visible(user).count(),
        "buildings": buildings.count(),
        "units": units.count(),
        "households": households.count(),
        **people,
    }
