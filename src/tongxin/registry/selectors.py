"""Every read of the registry, scoped to what the acting user may see.

A record outside the user's scope is simply not found: pages and the API answer 404.
"""

import math
import re
import unicodedata

from django.db.models import Count, OuterRef, Prefetch, Q, Subquery
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

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
        .select_related("unit__building")
        .prefetch_related(Prefetch("residents", Resident.objects.select_related("presence_verified_by")))
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
    # A digits-only query is a number or a room: looking for it inside names would scan every row.
    conditions = Q(pk__in=[]) if text.isdigit() else Q(name__contains=(query or "").strip())
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
    room = _room_condition(unicodedata.normalize("NFKC", query or "").replace(" ", "").upper())
    if room is not None:
        conditions |= room
    return (
        qs.filter(conditions)
        .select_related("household__unit__building", "presence_verified_by")
        .order_by("compound_id", "building__sort_key", "unit__sort_key", "household__room", "id")[:limit]
    )


def search_is_exact_number(query: str) -> str:
    """ "document" or "phone" when resident_search would look the query up as that number, else "".

    Pages never echo such a query back: a full number must not appear in the HTML.
    """
    text = normalise(query)
    if (len(text) in (15, 18) and text[:6].isdigit()) or (
        len(text) >= 5 and text.isalnum() and not text.isdigit() and text.isascii()
    ):
        return "document"
    try:
        return "phone" if parse_mobile(text) else ""
    except DocumentError:
        return ""


# "3-2-301", "3号楼2单元301", "3栋2单元301室", "A座1单元1201" (after NFKC, spaces removed).
_ROOM_PART = r"([0-9A-Z]{1,20})"
ROOM_RE = re.compile(rf"{_ROOM_PART}(?:号楼|号|栋|幢|座|-){_ROOM_PART}(?:单元|-){_ROOM_PART}(?:室|号)?")


def parse_room(text: object) -> tuple[str, str, str] | None:
    """(building, unit, room) from "3-2-301", "3/2/301", "3 2 301", "3号楼2单元301室", full-width
    alike; None when the text is not a building, a unit and a room."""
    if not isinstance(text, str) or len(text) > 80:
        return None
    cleaned = unicodedata.normalize("NFKC", text).strip().upper()
    cleaned = re.sub(r"\s*[-/—－–]\s*", "-", cleaned)
    cleaned = re.sub(r"(?<=[0-9A-Z])\s+(?=[0-9A-Z])", "-", cleaned)  # "3 2 301"
    cleaned = re.sub(r"\s+", "", cleaned)
    match = ROOM_RE.fullmatch(cleaned)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def household_by_room(user, compound, text: str) -> Household | None:
    """The household at "3-2-301" in `compound` (a compound or its id) among those the user sees;
    None when there is no such room, or the user may not see it (a grid worker's other buildings)."""
    parts = parse_room(text)
    if parts is None:
        return None
    building, unit, room = parts
    return (
        households_visible(user)
        .filter(
            compound_id=getattr(compound, "pk", compound),
            building__number=building,
            unit__number=unit,
            room=room,
        )
        .select_related("unit__building")
        .first()
    )


def _room_condition(text: str) -> Q | None:
    parts = [p for p in text.replace("号楼", "-").replace("单元", "-").replace("室", "").split("-") if p]
    if len(parts) == 3:
        return Q(building__number=parts[0], unit__number=parts[1], household__room=parts[2])
    if len(parts) == 1 and parts[0].isdigit() and len(parts[0]) <= 5:
        return Q(household__room=parts[0])
    return None


class MapMeasure:
    """One way to colour the compound map: adding a measure is adding an entry to MAP_MEASURES.

    By default a measure colours each unit by the share of its residents that the UNIT_COUNTS entry
    `key` counts (percent bands); with `share=False` by that count relative to the fullest unit. A
    measure drawn from other data (risk level, test coverage) overrides `unit_rows` (one query for
    the whole compound, keyed by unit id) and `cell`.
    """

    def __init__(self, label, key: str, *, share: bool = True, palette: str = "concern"):
        # "concern": darker is more to worry about (red); "progress": darker is more done (green).
        self.label, self.key, self.share, self.palette = label, key, share, palette

    def visible_to(self, user) -> bool:
        """Whether the user may choose this measure (health measures are for health roles only)."""
        return True

    def unit_rows(self, user, compound: Compound, unit_ids: list[int]) -> dict[int, dict]:
        return {}

    def cell(self, row: dict, peak: int) -> tuple[float | None, str]:
        """The unit's value in [0, 1] (None: nothing to show) and the text written in its cell."""
        if self.share:
            total = row["residents"]
            value = row[self.key] / total if total else None
            return value, (f"{value:.0%}" if value is not None else "–")
        count = row[self.key]
        return (count / peak if peak else None), str(count)

    def legend(self, peak: int) -> list[tuple[str, str]]:
        if self.share:
            return [(name, label) for _start, name, label in BANDS]
        legend = []
        for index, (start, name, _label) in enumerate(BANDS):
            low = math.ceil(start * peak)
            high = peak if index == len(BANDS) - 1 else math.ceil(BANDS[index + 1][0] * peak) - 1
            if peak and low <= high:
                legend.append((name, f"{low}–{high}" if low < high else str(low)))
        return legend


# Counted per unit in one grouped query, over residents who have not moved out.
UNIT_COUNTS = {
    "residents": lambda born_before: Q(),
    "verified": lambda born_before: ~Q(presence="unverified"),
    "elderly": lambda born_before: Q(birth_date__lte=born_before),
    "vulnerable": lambda born_before: (
        Q(birth_date__lte=born_before) | Q(lives_alone=True) | Q(veteran=True) | Q(serious_illness=True)
    ),
}

MAP_MEASURES = {
    "verified": MapMeasure(gettext_lazy("居住核实率"), "verified", palette="progress"),
    "elderly": MapMeasure(gettext_lazy("老年人占比"), "elderly"),
    "vulnerable": MapMeasure(gettext_lazy("重点人群占比"), "vulnerable"),
    "residents": MapMeasure(gettext_lazy("居民人数"), "residents", share=False),
}


def register_map_measure(key: str, measure: MapMeasure) -> None:
    """Let another module colour the map (the outbreak module's risk level and cases) without the
    registry knowing it: called from that app's AppConfig.ready()."""
    MAP_MEASURES[key] = measure


RESIDENT_PANELS: list = []


def register_resident_panel(panel) -> None:
    """Let another module add a section to the resident page (the outbreak module's status) without
    the registry importing it: called from that app's AppConfig.ready(). `panel(user, resident)`
    returns None (nothing to show) or a dict with the `template` to include and its context."""
    if panel not in RESIDENT_PANELS:
        RESIDENT_PANELS.append(panel)


def resident_panels(user, resident: Resident) -> list[dict]:
    return [shown for panel in RESIDENT_PANELS if (shown := panel(user, resident)) is not None]


COMPOUND_PANELS: list = []


def register_compound_panel(panel) -> None:
    """Let another module add a section to the compound page (the access module's figures of the
    day) without the registry importing it: called from that app's AppConfig.ready().
    `panel(user, compound)` returns None (nothing to show) or a dict with the `template` to include
    and its context."""
    if panel not in COMPOUND_PANELS:
        COMPOUND_PANELS.append(panel)


def compound_panels(user, compound: Compound) -> list[dict]:
    return [shown for panel in COMPOUND_PANELS if (shown := panel(user, compound)) is not None]


def map_measures_for(user) -> dict[str, MapMeasure]:
    return {key: m for key, m in MAP_MEASURES.items() if m.visible_to(user)}


def compound_map(user, compound: Compound, measure: str = "verified") -> dict:
    """The compound as buildings of unit cells, each with its counts and the chosen measure's value.

    Three queries (units, residents grouped by unit, households grouped by unit), plus one for a
    measure with its own `unit_rows`, whatever the compound's size.
    """
    measures = map_measures_for(user)
    if measure not in measures:
        measure = "verified"
    chosen = measures[measure]
    born_before = elderly_born_on_or_before()
    units = list(
        units_visible(user, compound).order_by("building__sort_key", "building__number", "sort_key", "number")
    )
    unit_ids = [u.pk for u in units]
    counts = {
        row["unit_id"]: row
        for row in residents_visible(user)
        .filter(compound=compound)
        .exclude(presence="moved_out")
        .values("unit_id")
        .annotate(
            **{
                key: Count("id", filter=condition(born_before)) if key != "residents" else Count("id")
                for key, condition in UNIT_COUNTS.items()
            }
        )
    }
    household_counts = dict(
        Household.objects.filter(unit__in=unit_ids).values_list("unit_id").annotate(n=Count("id"))
    )
    extra = chosen.unit_rows(user, compound, unit_ids)
    empty = dict.fromkeys(UNIT_COUNTS, 0)
    peak = max((row[chosen.key] for row in counts.values()), default=0)
    buildings: dict[int, dict] = {}
    for unit in units:
        row = {**empty, **counts.get(unit.pk, {}), **extra.get(unit.pk, {})}
        value, label = chosen.cell(row, peak)
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
        "measure_label": chosen.label,
        "palette": chosen.palette,
        "measures": {key: m.label for key, m in measures.items()},
        "buildings": list(buildings.values()),
        "bands": BANDS,
        "legend": chosen.legend(peak),
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


# The care list: residents who need a visit or help, by group. "all" is any of them.
CARE_GROUPS = {
    "elderly_alone": (
        gettext_lazy("独居老人"),
        lambda born_before: Q(lives_alone=True, birth_date__lte=born_before),
    ),
    "lives_alone": (gettext_lazy("独居"), lambda born_before: Q(lives_alone=True)),
    "veteran": (gettext_lazy("退役军人"), lambda born_before: Q(veteran=True)),
    "serious_illness": (gettext_lazy("重病"), lambda born_before: Q(serious_illness=True)),
    "disabled": (gettext_lazy("残疾"), lambda born_before: Q(disabled=True)),
    "limited_mobility": (gettext_lazy("行动不便"), lambda born_before: Q(limited_mobility=True)),
    "pregnant": (gettext_lazy("孕妇"), lambda born_before: Q(pregnant=True)),
    "infant": (gettext_lazy("婴幼儿"), lambda born_before: Q(infant=True)),
    "regular_medication": (gettext_lazy("长期服药"), lambda born_before: Q(regular_medication=True)),
}


def care_list(user, compound: Compound, group: str = ""):
    """The compound's vulnerable residents still living there, in building, unit and room order."""
    born_before = elderly_born_on_or_before()
    if group in CARE_GROUPS:
        condition = CARE_GROUPS[group][1](born_before)
    else:
        condition = Q()
        for _label, make in CARE_GROUPS.values():
            condition |= make(born_before)
    return (
        residents_visible(user)
        .filter(condition, compound=compound)
        .exclude(presence="moved_out")
        .select_related("household__unit__building")
        .order_by("building__sort_key", "building__number", "unit__sort_key", "household__room", "id")
    )


def residents_of_household(user, household: Household):
    return (
        residents_visible(user)
        .filter(household=household)
        .select_related("presence_verified_by")
        .order_by("id")
    )


def compounds_overview(user):
    """The visible compounds, each annotated with its counts (one query, subqueries per count)."""
    born_before = elderly_born_on_or_before()

    def count(model, level: str, **conditions):
        rows = (
            model.objects.filter(scope_q(user, level), compound=OuterRef("pk"), **conditions)
            .order_by()
            .values("compound")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return Coalesce(Subquery(rows), 0)

    return compounds_visible(user).annotate(
        building_count=count(Building, "building"),
        unit_count=count(Unit, "unit"),
        household_count=count(Household, "household"),
        resident_count=count(Resident, "resident"),
        elderly_count=count(Resident, "resident", birth_date__lte=born_before),
    )


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
    conditions = {
        "elderly": Q(birth_date__lte=born_before),
        "lives_alone": Q(lives_alone=True),
        "veterans": Q(veteran=True),
        "serious_illness": Q(serious_illness=True),
        "disabled": Q(disabled=True),
        "vulnerable": UNIT_COUNTS["vulnerable"](born_before),
        "living": Q(presence="living"),
        "away": Q(presence="away"),
        "moved_out": Q(presence="moved_out"),
        "unverified": Q(presence="unverified"),
        "returning": Q(mobility="returning"),
        "mobile": Q(mobility="mobile"),
    }
    # Aliased with a prefix: an aggregate named like a field it filters on ("lives_alone") is refused.
    counted = residents.aggregate(
        n_residents=Count("id"),
        **{f"n_{key}": Count("id", filter=condition) for key, condition in conditions.items()},
    )
    people = {key.removeprefix("n_"): value for key, value in counted.items()}
    return {
        "compounds": 1 if compound is not None else compounds_visible(user).count(),
        "buildings": buildings.count(),
        "units": units.count(),
        "households": households.count(),
        **people,
    }


def import_upload_get(user, upload_id):
    """An import-wizard upload: only its uploader's, not expired, of a compound they still see."""
    import datetime

    from django.conf import settings

    from tongxin.registry.models import ImportUpload

    cutoff = timezone.now() - datetime.timedelta(hours=settings.TONGXIN_IMPORT_UPLOAD_HOURS)
    upload = (
        ImportUpload.objects.filter(
            pk=upload_id, uploader=user, created_at__gte=cutoff, compound__in=compounds_visible(user)
        )
        .select_related("compound")
        .first()
    )
    if upload is None:
        raise Http404
    return upload


PERSON_CODE_RESOLVERS: list = []


def register_person_code_resolver(resolver) -> None:
    """Let another module turn the codes people carry (the entry pass's QR) into resident ids
    without the registry knowing the format: `resolver(codes)` returns {code: resident_id} for
    the codes it recognises and ignores the rest."""
    if resolver not in PERSON_CODE_RESOLVERS:
        PERSON_CODE_RESOLVERS.append(resolver)


def resident_ids_by_codes(codes: list[str]) -> dict[str, int]:
    """Not scoped: ids only, for a caller that scopes the residents it then reads."""
    found: dict[str, int] = {}
    for resolver in PERSON_CODE_RESOLVERS:
        for code, resident_id in resolver([c for c in codes if c not in found]).items():
            found.setdefault(code, resident_id)
    return found


def resident_ids_by_documents(numbers: list[str]) -> dict[str, int]:
    """The residents holding these document numbers (as typed or scanned from the ID card), by
    look-up hash, in one query; keys are the numbers as given. Not scoped: ids only."""
    from tongxin.registry.actions import document_lookup_hash

    by_hash: dict[str, str] = {}
    for raw in numbers:
        text = normalise(raw)
        if not text:
            continue
        kinds = (
            ["mainland_id"] if len(text) in (15, 18) and text[:17].isdigit() else Resident.DocumentType.values
        )
        for kind in kinds:
            by_hash[document_lookup_hash(kind, text)] = raw
    found: dict[str, int] = {}
    # order_by(): the model's default ordering would join four tables to sort what is a lookup.
    for document_hash, resident_id in (
        Resident.objects.filter(document_hash__in=list(by_hash)).order_by().values_list("document_hash", "pk")
    ):
        found[by_hash[document_hash]] = resident_id
    return found
