"""Parcels as the gate, the delivery round and the household read them, scoped to the acting user.

Staff (`HANDS_OUT`) see the parcels of the households they see: the compound's whole team, a
grid worker (or a volunteer given buildings) only his buildings. A resident sees only their own
household's parcels, through `my_parcels`. A parcel outside the user's scope is not found (404).

How a household gets its parcels (`delivery_modes`): a home under the strictest risk level of the
outbreak rules (封控/高风险, "sealed" as at the gate) gets them at the door; a home under a lower,
non-zero level (管控) picks them up at its building's slot, the compound's k-th building (0-based,
in the registry's order) from `pickup_start + k * pickup_slot_minutes`; any other home as usual.
"""

import datetime
import math
import re
import unicodedata
from dataclasses import dataclass, field

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from tongxin.accounts.models import Role
from tongxin.core.documents import DocumentError, normalise, parse_mobile
from tongxin.core.scoping import scope_q
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.selectors.areas import areas_with_outlook
from tongxin.outbreak.status import status_read
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.actions import phone_lookup_hash
from tongxin.registry.models import Building, Compound, Household, Resident
from tongxin.registry.selectors import parse_room
from tongxin.supplies.models import Parcel, ParcelState
from tongxin.supplies.selectors.scope import HANDS_OUT, supplies_q
from tongxin.supplies.selectors.settings import settings_of

OPEN_STATES = (ParcelState.RECEIVED, ParcelState.DISINFECTED)
DAY_LIST_LIMIT = 500
MINE_DAYS = 14


def parse_phone(text: object) -> str:
    """The mobile number in `text`, or "" when it is none."""
    if not isinstance(text, str) or len(text) > 40:
        return ""
    try:
        return parse_mobile(normalise(text))
    except DocumentError:
        return ""


def room_label(household: Household) -> str:
    return f"{household.building.number}-{household.unit.number}-{household.room}"


def households_for_intake(user, compound: Compound, text: str) -> list[Household]:
    """The households of the compound (within the user's scope) that `text` names: a room
    ("3-2-301", "3号楼2单元301") gives one; a phone gives every household where a resident with that
    phone lives (often one, sometimes several: the page asks which). Raises ValidationError when the
    text is neither or names nobody."""
    text = (text or "").strip()
    if not text:
        raise ValidationError(_("请填写房号或手机号"), code="lookup_required")
    households = registry_selectors.households_visible(user).filter(compound_id=compound.pk)
    phone = parse_phone(text)
    if phone:
        living = registry_selectors.residents_visible(user).filter(
            compound_id=compound.pk, phone_hash=phone_lookup_hash(phone)
        )
        found = list(
            households.filter(
                pk__in=living.exclude(presence=Resident.Presence.MOVED_OUT).values("household_id")
            )
            .select_related("unit", "building")
            .order_by("building__sort_key", "unit__sort_key", "room")
        )
        if not found:
            raise ValidationError(_("找不到该手机号对应的住户"), code="unknown_phone")
        return found
    room = parse_room(text)
    if room is None:
        raise ValidationError(_("请输入房号（如3-2-301或3号楼2单元301）或手机号"), code="lookup_invalid")
    building, unit, number = room
    found = list(
        households.filter(building__number=building, unit__number=unit, room=number).select_related(
            "unit", "building"
        )
    )
    if not found:
        raise ValidationError(_("找不到该房号"), code="unknown_room")
    return found


def intake_choices(user, household_ids: list[int]) -> list[tuple[int, str]]:
    """(id, room) of the households a phone named, in the registry's order, to choose from."""
    rows = (
        registry_selectors.households_visible(user)
        .filter(pk__in=household_ids)
        .select_related("unit", "building")
        .order_by("building__sort_key", "unit__sort_key", "room")
    )
    return [(home.pk, room_label(home)) for home in rows]


def parcels_visible(user):
    """The parcels of the households the user sees (staff only; residents use `my_parcels`)."""
    if not user or not user.is_authenticated or user.role not in HANDS_OUT:
        return Parcel.objects.none()
    return Parcel.objects.filter(supplies_q(user)).filter(
        household__in=Household.objects.filter(scope_q(user, "household")).values("pk")
    )


def parcel_get(user, parcel_id) -> Parcel:
    """One parcel the user sees, with its household's place: 404 otherwise."""
    try:
        parcel = (
            parcels_visible(user)
            .select_related("compound", "household__unit", "household__building")
            .filter(pk=int(parcel_id))
            .first()
        )
    except (TypeError, ValueError, OverflowError):
        parcel = None
    if parcel is None:
        raise Http404
    return parcel


def parcel_for_photo(user, parcel_id) -> Parcel:
    """A parcel whose photo the user may see: staff who see it, or a resident of its household."""
    if user and user.is_authenticated and user.role == Role.RESIDENT:
        try:
            parcel = Parcel.objects.filter(pk=int(parcel_id), household_id=user.household_id or 0).first()
        except (TypeError, ValueError, OverflowError):
            parcel = None
        if parcel is None:
            raise Http404
        return parcel
    return parcel_get(user, parcel_id)


def _with_people(qs):
    return qs.select_related(
        "household__unit", "household__building", "received_by", "disinfected_by", "handed_by"
    )


def _day_bounds(day: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(day, datetime.time.min, tzinfo=tz)
    return start, start + datetime.timedelta(days=1)


def search_room_q(text: str) -> Q | None:
    """The filter of a room search on parcels: "3-2-301" exactly, "3-2" a unit, "301" a room
    number in any building. None when the text is none of these."""
    cleaned = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()
    room = parse_room(cleaned)
    if room:
        return Q(
            household__building__number=room[0], household__unit__number=room[1], household__room=room[2]
        )
    parts = [p for p in re.split(r"号楼|栋|单元|-|室", cleaned) if p]
    if not parts or len(parts) > 2 or not all(re.fullmatch(r"[0-9A-Z]{1,20}", p) for p in parts):
        return None
    if len(parts) == 2:
        return Q(household__building__number=parts[0], household__unit__number=parts[1])
    return Q(household__room=parts[0])


@dataclass
class DayList:
    parcels: list
    counts: dict  # state -> number, every state present
    ready: int  # disinfected parcels whose hold has ended
    holding: int
    truncated: bool


def parcels_of_day(
    user, compound: Compound, day: datetime.date, *, room: str = "", state: str = ""
) -> DayList:
    """The gate's list for `day`: parcels received, disinfected or handed that day, and those
    still open from before; newest first. Optionally one room or unit ("3-2-301", "3-2", "301")
    and one state. Two queries (the parcels, the settings are not needed)."""
    start, end = _day_bounds(day)
    qs = (
        parcels_visible(user)
        .filter(compound_id=compound.pk)
        .filter(
            Q(received_at__gte=start, received_at__lt=end)
            | Q(handed_at__gte=start, handed_at__lt=end)
            | Q(state__in=OPEN_STATES, received_at__lt=end)
        )
    )
    if room:
        condition = search_room_q(room)
        qs = qs.filter(condition) if condition is not None else qs.none()
    now = timezone.now()
    rows = list(_with_people(qs).order_by("-received_at", "-pk")[: DAY_LIST_LIMIT + 1])
    truncated = len(rows) > DAY_LIST_LIMIT
    rows = rows[:DAY_LIST_LIMIT]
    counts = {value: 0 for value in ParcelState.values}
    ready = holding = 0
    for parcel in rows:
        counts[parcel.state] += 1
        annotate_parcel(parcel, now)
        if parcel.is_ready:
            ready += 1
        elif parcel.state == ParcelState.DISINFECTED:
            holding += 1
    if state in ParcelState.values:
        rows = [p for p in rows if p.state == state]
    return DayList(rows, counts, ready, holding, truncated)


def minutes_left(parcel: Parcel, now: datetime.datetime) -> int:
    """Whole minutes (rounded up) until the parcel's hold ends; 0 when ready or not held."""
    if parcel.state != ParcelState.DISINFECTED or parcel.ready_at is None or parcel.ready_at <= now:
        return 0
    return math.ceil((parcel.ready_at - now).total_seconds() / 60)


def annotate_parcel(parcel: Parcel, now: datetime.datetime) -> Parcel:
    parcel.minutes_left = minutes_left(parcel, now)
    parcel.is_ready = parcel.state == ParcelState.DISINFECTED and parcel.minutes_left == 0
    parcel.is_holding = parcel.state == ParcelState.DISINFECTED and parcel.minutes_left > 0
    return parcel


# -- how a household gets its parcels ----------------------------------------------------------------

DOOR, PICKUP, NORMAL = "door", "pickup", "normal"
MODE_LABELS = {
    DOOR: gettext_lazy("送货上门"),
    PICKUP: gettext_lazy("定时取件"),
    NORMAL: gettext_lazy("自取/送达"),
}


@dataclass(frozen=True)
class Delivery:
    mode: str  # DOOR, PICKUP or NORMAL
    level: str = ""  # the risk level's label ("" when none)
    slot_start: datetime.time | None = None
    slot_end: datetime.time | None = None

    @property
    def label(self) -> str:
        return str(MODE_LABELS[self.mode])

    @property
    def text(self) -> str:
        if self.mode == DOOR:
            return _("封控中，志愿者送货上门")
        if self.mode == PICKUP:
            return _("请于%(start)s–%(end)s到门口取件") % {
                "start": self.slot_start.strftime("%H:%M"),
                "end": self.slot_end.strftime("%H:%M"),
            }
        return _("可自取或由志愿者送达")


def _strictest_rank(rules) -> int:
    return max((level.rank for level in rules.levels.values()), default=0)


def _mode_of_rank(rank: int, top: int) -> str:
    if rank > 0 and rank >= top:
        return DOOR
    if rank > 0:
        return PICKUP
    return NORMAL


def _slots(compound: Compound) -> dict[int, tuple[datetime.time, datetime.time]]:
    """Each building's pick-up slot: the compound's buildings in the registry's order, the k-th
    (from 0) from `pickup_start + k * slot`. Read over all the compound's buildings (numbers only,
    no one's data) so that every reader, a grid worker limited to one building or the resident,
    gets the same time. Two queries (the settings, the buildings)."""
    settings_row = settings_of(compound)
    start = datetime.datetime.combine(datetime.date(2000, 1, 1), settings_row.pickup_start)
    slot = datetime.timedelta(minutes=settings_row.pickup_slot_minutes)
    ids = (
        Building.objects.filter(compound_id=compound.pk)
        .order_by("sort_key", "number")
        .values_list("pk", flat=True)
    )
    return {pk: ((start + k * slot).time(), (start + (k + 1) * slot).time()) for k, pk in enumerate(ids)}


def delivery_modes(user, compound: Compound, households: list[Household], today=None) -> dict[int, Delivery]:
    """How each household gets its parcels (see the module docstring), from the compound's
    active risk areas the user sees (`outbreak.selectors.areas.areas_with_outlook`: one query for
    the whole round) matched to each home: its own area, its unit's, its building's or the
    compound's, the strictest winning. Four queries whatever the number of households."""
    rules = active_rules()
    top = _strictest_rank(rules)
    areas = areas_with_outlook(user, compound, today) if households else []
    ranks: dict[tuple[str, int], int] = {}
    labels: dict[int, str] = {}
    for area in areas:
        level = area.outlook.level
        rank = level.rank if level else 0
        place = {
            "compound": area.compound_id,
            "building": area.building_id,
            "unit": area.unit_id,
            "household": area.household_id,
        }[area.scope]
        key = (area.scope, place)
        if rank > ranks.get(key, 0):
            ranks[key] = rank
            labels[rank] = str(level.label)
    slots = _slots(compound) if any(0 < r < top for r in ranks.values()) else {}
    modes = {}
    for home in households:
        rank = max(
            ranks.get(("compound", home.compound_id), 0),
            ranks.get(("building", home.building_id), 0),
            ranks.get(("unit", home.unit_id), 0),
            ranks.get(("household", home.pk), 0),
        )
        modes[home.pk] = _delivery(
            _mode_of_rank(rank, top), labels.get(rank, ""), slots.get(home.building_id)
        )
    return modes


def _delivery(mode: str, level: str, slot) -> Delivery:
    if mode == PICKUP and slot is not None:
        return Delivery(PICKUP, level, slot[0], slot[1])
    if mode == PICKUP:
        return Delivery(NORMAL, level)
    return Delivery(mode, level)


def own_delivery(user, household: Household) -> Delivery:
    """A resident's own household's way of getting parcels, from the stored status of one of its
    residents (its risk level is the strictest area covering the home, household areas included):
    residents do not read the compound's areas."""
    rules = active_rules()
    member = (
        registry_selectors.residents_of_household(user, household)
        .exclude(presence=Resident.Presence.MOVED_OUT)
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if member is None:
        return Delivery(NORMAL)
    status = status_read(member)
    level = rules.level(status.risk_level) if status.risk_level else None
    mode = _mode_of_rank(level.rank if level else 0, _strictest_rank(rules))
    slot = _slots(household.compound).get(household.building_id) if mode == PICKUP else None
    return _delivery(mode, status.risk_level_label, slot)


# -- the delivery round ------------------------------------------------------------------------------


@dataclass
class RoundHousehold:
    household: Household
    delivery: Delivery
    parcels: list = field(default_factory=list)


@dataclass
class RoundUnit:
    building: str
    unit: str
    households: list = field(default_factory=list)

    @property
    def parcel_count(self) -> int:
        return sum(len(h.parcels) for h in self.households)


@dataclass
class RoundBuilding:
    building: str
    units: list = field(default_factory=list)
    slot: tuple | None = None

    @property
    def parcel_count(self) -> int:
        return sum(u.parcel_count for u in self.units)


@dataclass
class Round:
    buildings: list  # RoundBuilding, in the registry's order
    holding: list  # parcels still held, soonest ready first, each with .minutes_left
    ready_count: int
    hold_minutes: int


def delivery_round(user, compound: Compound, *, now: datetime.datetime | None = None) -> Round:
    """The ready parcels (disinfected, hold ended) grouped by building, unit and household, each
    household with its delivery mode, and what is still holding with the minutes left. A fixed
    number of queries whatever the number of parcels."""
    now = now or timezone.now()
    rows = list(
        _with_people(
            parcels_visible(user).filter(compound_id=compound.pk, state=ParcelState.DISINFECTED)
        ).order_by(
            "household__building__sort_key",
            "household__building__number",
            "household__unit__sort_key",
            "household__unit__number",
            "household__room",
            "ready_at",
            "pk",
        )
    )
    ready, holding = [], []
    for parcel in rows:
        annotate_parcel(parcel, now)
        (ready if parcel.is_ready else holding).append(parcel)
    homes = {p.household_id: p.household for p in ready}
    modes = delivery_modes(user, compound, list(homes.values()), timezone.localdate(now))
    buildings: dict[str, RoundBuilding] = {}
    units: dict[tuple, RoundUnit] = {}
    households: dict[int, RoundHousehold] = {}
    for parcel in ready:
        home = parcel.household
        building = buildings.setdefault(home.building.number, RoundBuilding(home.building.number))
        unit_key = (home.building.number, home.unit.number)
        if unit_key not in units:
            units[unit_key] = RoundUnit(home.building.number, home.unit.number)
            building.units.append(units[unit_key])
        if home.pk not in households:
            delivery = modes[home.pk]
            households[home.pk] = RoundHousehold(home, delivery)
            units[unit_key].households.append(households[home.pk])
            if delivery.mode == PICKUP:
                building.slot = (delivery.slot_start, delivery.slot_end)
        households[home.pk].parcels.append(parcel)
    holding.sort(key=lambda p: (p.ready_at, p.pk))
    return Round(list(buildings.values()), holding, len(ready), settings_of(compound).parcel_hold_minutes)


def ready_parcels(
    user, compound: Compound, *, now: datetime.datetime | None = None
) -> list[tuple[Parcel, Delivery]]:
    """The ready parcels of the compound with their household's way (for the API), in the round's
    order."""
    found = delivery_round(user, compound, now=now)
    return [
        (parcel, home.delivery)
        for building in found.buildings
        for unit in building.units
        for home in unit.households
        for parcel in home.parcels
    ]


# -- a resident's own parcels --------------------------------------------------------------------------


@dataclass
class Mine:
    household: Household | None
    parcels: list
    delivery: Delivery | None


def my_parcels(user, *, now: datetime.datetime | None = None) -> Mine:
    """The resident's household's parcels: those still open and those of the last two weeks,
    newest first, with how the household gets them. Nothing for an account without a household."""
    if not user or not user.is_authenticated or user.role != Role.RESIDENT or not user.household_id:
        return Mine(None, [], None)
    now = now or timezone.now()
    household = registry_selectors.household_get(user, user.household_id)
    since = now - datetime.timedelta(days=MINE_DAYS)
    parcels = list(
        Parcel.objects.filter(household_id=household.pk)
        .filter(Q(state__in=OPEN_STATES) | Q(received_at__gte=since))
        .order_by("-received_at", "-pk")[:200]
    )
    for parcel in parcels:
        annotate_parcel(parcel, now)
    return Mine(household, parcels, own_delivery(user, household))


def who(user) -> str:
    if user is None:
        return _("他人")
    return user.full_name or user.username
