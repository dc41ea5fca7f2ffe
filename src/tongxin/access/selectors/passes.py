"""Passes as the other modules and the passes pages read them."""

from dataclasses import dataclass

from django.db.models import Exists, F, OuterRef
from django.http import Http404
from django.utils import timezone

from tongxin.access.models import Pass
from tongxin.access.selectors.scope import through
from tongxin.access.signing import PassCodeError, looks_like_pass, read_pass
from tongxin.core.scoping import scope_q


def resident_ids_by_pass_codes(codes: list[str]) -> dict[str, int]:
    """{code: resident id} for the genuine, live, unexpired resident passes among `codes` (a
    household's pass names no one person). Not scoped: ids only, for a caller that scopes the
    residents it then reads (registered with the registry as a person-code resolver)."""
    from django.utils import timezone

    numbers: dict[str, str] = {}
    now = timezone.now()
    for code in codes:
        if not looks_like_pass(code):
            continue
        try:
            claims = read_pass(code)
        except PassCodeError:
            continue
        if claims.expires_at > now:
            numbers[claims.number] = code
    if not numbers:
        return {}
    rows = (
        Pass.objects.filter(number__in=list(numbers), revoked_at__isnull=True, resident__isnull=False)
        .order_by()
        .values_list("number", "resident_id")
    )
    return {numbers[number]: resident_id for number, resident_id in rows}


def room_label(household) -> str:
    """The room as a pass names it and a gate shows it: "3-2-301" (building-unit-room)."""
    return f"{household.building.number}-{household.unit.number}-{household.room}"


def passes_visible(user, compound=None, *, building_id: int | None = None, unit_id: int | None = None):
    """The passes of the households the user sees (revoked and expired ones too), with their
    household's building and unit and their resident, for room labels and names without more reads."""
    qs = Pass.objects.filter(through(scope_q(user, "household"), "household"))
    if compound is not None:
        qs = qs.filter(compound=compound)
    if building_id is not None:
        qs = qs.filter(household__building_id=building_id)
    if unit_id is not None:
        qs = qs.filter(household__unit_id=unit_id)
    return qs.select_related("household__building", "household__unit", "resident")


def pass_get(user, pass_id: int) -> Pass:
    """A pass of a household the user sees; 404 otherwise."""
    try:
        found = passes_visible(user).filter(pk=pass_id).first()
    except (ValueError, TypeError):
        found = None
    if found is None:
        raise Http404
    return found


def live_passes(user, compound=None, **place):
    now = timezone.now()
    return passes_visible(user, compound, **place).filter(revoked_at__isnull=True, expires_at__gt=now)


def household_passes(user, household) -> list[Pass]:
    """The household's unrevoked passes (an expired one still shown, to be renewed), its own pass
    first then its residents' in the order they are registered: for the household's residents
    and for whoever sees the household."""
    return list(
        passes_visible(user)
        .filter(household=household, revoked_at__isnull=True)
        .exclude(resident__presence="moved_out")
        .order_by(F("resident_id").asc(nulls_first=True), "pk")
    )


def print_cards(user, compound, *, building_id: int | None = None, unit_id: int | None = None):
    """Live passes to print, in building, unit and room order, then the residents' order."""
    return live_passes(user, compound, building_id=building_id, unit_id=unit_id).order_by(
        "household__building__sort_key",
        "household__building__number",
        "household__unit__sort_key",
        "household__unit__number",
        "household__room",
        F("resident_id").asc(nulls_first=True),
    )


@dataclass
class RosterRow:
    """One line of the passes page: a resident (or a household, where passes are per household)
    and their current pass, if any (unrevoked; `state` "live", "expired" or "none")."""

    resident: object | None
    household: object
    pass_: Pass | None

    @property
    def state(self) -> str:
        if self.pass_ is None:
            return "none"
        return "live" if self.pass_.expires_at > timezone.now() else "expired"

    @property
    def room(self) -> str:
        return room_label(self.household)


def _living():
    from tongxin.registry.models import Resident

    return Resident.objects.exclude(presence="moved_out")


def holders(user, compound, per: str, *, building_id: int | None = None, unit_id: int | None = None):
    """Who should hold a pass, in building, unit and room order: the residents living there (not
    moved out), or the households with someone living there; scoped to the user."""
    from tongxin.registry.models import Household

    place = {"compound": compound}
    if building_id is not None:
        place["building_id"] = building_id
    if unit_id is not None:
        place["unit_id"] = unit_id
    if per == "household":
        return (
            Household.objects.filter(
                scope_q(user, "household"), Exists(_living().filter(household=OuterRef("pk"))), **place
            )
            .select_related("building", "unit")
            .order_by(
                "building__sort_key", "building__number", "unit__sort_key", "unit__number", "room", "pk"
            )
        )
    return (
        _living()
        .filter(scope_q(user, "resident"), **place)
        .select_related("household__building", "household__unit")
        .order_by(
            "building__sort_key",
            "building__number",
            "unit__sort_key",
            "unit__number",
            "household__room",
            "pk",
        )
    )


def roster_rows(holders_page, per: str) -> list[RosterRow]:
    """The page's holders with their current pass, in one query."""
    items = list(holders_page)
    if per == "household":
        found = {
            p.household_id: p
            for p in Pass.objects.filter(
                household__in=[h.pk for h in items], resident__isnull=True, revoked_at__isnull=True
            )
        }
        rows = [RosterRow(None, h, found.get(h.pk)) for h in items]
    else:
        found = {
            p.resident_id: p
            for p in Pass.objects.filter(resident__in=[r.pk for r in items], revoked_at__isnull=True)
        }
        rows = [RosterRow(r, r.household, found.get(r.pk)) for r in items]
    for row in rows:
        if row.pass_ is not None:  # the holder's household is already read: no query per row
            row.pass_.household = row.household
            if row.resident is not None:
                row.pass_.resident = row.resident
    return rows


def missing_count(user, compound, per: str, **place) -> int:
    """How many of the holders have no live pass (none, or an expired one)."""
    live = Pass.objects.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())
    if per == "household":
        condition = Exists(live.filter(household=OuterRef("pk"), resident__isnull=True))
    else:
        condition = Exists(live.filter(resident=OuterRef("pk")))
    return holders(user, compound, per, **place).exclude(condition).order_by().count()


def roster_row(user, *, resident_id: int | None = None, household_id: int | None = None) -> RosterRow:
    """One row of the passes page, after an action changed it (HTMX)."""
    from tongxin.registry.models import Household, Resident

    if resident_id is not None:
        resident = (
            Resident.objects.filter(scope_q(user, "resident"), pk=resident_id)
            .select_related("household__building", "household__unit")
            .first()
        )
        if resident is None:
            raise Http404
        return roster_rows([resident], "resident")[0]
    household = (
        Household.objects.filter(scope_q(user, "household"), pk=household_id)
        .select_related("building", "unit")
        .first()
    )
    if household is None:
        raise Http404
    return roster_rows([household], "household")[0]
