"""Notices as the compound's team and a household read them, and who a notice reaches.

The team (`voice.selectors.scope.TEAM`: supplies' HANDS_OUT roles of the compound, officials
over it) sees the compound's notices with each channel's delivery. A resident sees the published
notices whose audience includes their own household. Another compound: 404.

A household's notices (`notices_for_household`, `notice_for_household`) are found by the
database, so the portal's pages cost the same with 2 notices or 2,000.

Who a notice reaches (`audience_households`): the compound's households, those of the chosen
buildings or units, those listed, or the sealed ones — homes under the strictest risk level of the
outbreak rules (their own area, their unit's, their building's or the compound's), as
`supplies.selectors.parcels.delivery_modes` decides "at the door", read with the eyes of the
notice's author.
"""

from django.contrib.auth import get_user_model
from django.db import NotSupportedError
from django.db.models import BooleanField, Count, Exists, F, Func, Prefetch, Q
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.outbreak.models import RiskArea
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.selectors.areas import areas_visible, areas_with_outlook, sees_risk_levels
from tongxin.registry.models import Building, Compound, Household, Resident, Unit
from tongxin.voice.models import Audience, Delivery, Notice
from tongxin.voice.selectors.scope import TEAM, require_compound, voice_q


def sealed_household_ids(user, compound: Compound, households=None) -> set[int]:
    """The households of `compound` under the strictest risk level, by the areas `user` sees."""
    if user is None:
        return set()
    rules = active_rules()
    top = max((level.rank for level in rules.levels.values()), default=0)
    if top <= 0:
        return set()
    places: set[tuple[str, int]] = set()
    for area in areas_with_outlook(user, compound):
        level = area.outlook.level
        if level is None or level.rank < top:
            continue
        place = {
            "compound": area.compound_id,
            "building": area.building_id,
            "unit": area.unit_id,
            "household": area.household_id,
        }[area.scope]
        places.add((area.scope, place))
    if not places:
        return set()
    if ("compound", compound.pk) in places:
        q = Q()
    else:
        q = Q(pk__in=[])
        for scope, place in places:
            field = {"building": "building_id", "unit": "unit_id", "household": "pk"}.get(scope)
            if field:
                q |= Q(**{field: place})
    qs = households if households is not None else Household.objects.filter(compound=compound)
    return set(qs.filter(q).values_list("pk", flat=True))


def audience_queryset(notice: Notice):
    """The households `notice` reaches (a queryset)."""
    qs = Household.objects.filter(compound_id=notice.compound_id)
    ids = [int(i) for i in (notice.audience_ids or [])]
    if notice.audience == Audience.COMPOUND:
        return qs
    if notice.audience == Audience.BUILDINGS:
        return qs.filter(building_id__in=ids)
    if notice.audience == Audience.UNITS:
        return qs.filter(unit_id__in=ids)
    if notice.audience == Audience.LIST:
        return qs.filter(pk__in=ids)
    if notice.audience == Audience.SEALED:
        return qs.filter(pk__in=sealed_household_ids(notice.created_by, notice.compound, qs))
    return qs.none()


def audience_households(notice: Notice) -> list[int]:
    return list(audience_queryset(notice).values_list("pk", flat=True))


def audience_phone_ciphers(notice: Notice) -> list[str]:
    """The encrypted phones of the residents (not moved out) of the notice's audience: decrypted
    only by the SMS sender."""
    return list(
        Resident.objects.filter(household__in=audience_queryset(notice))
        .exclude(presence=Resident.Presence.MOVED_OUT)
        .exclude(phone_cipher="")
        .values_list("phone_cipher", flat=True)
    )


def notices_of_compound(user, compound: Compound):
    """The compound's notices, newest first, each with its deliveries (`.deliveries.all()`)."""
    require_compound(user, compound.pk, roles=TEAM)
    return (
        Notice.objects.filter(compound=compound)
        .prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.select_related("endpoint").order_by("pk"))
        )
        .order_by("-created_at", "-pk")
    )


def notice_get(user, notice_id: int) -> Notice:
    notice = Notice.objects.filter(voice_q(user), pk=notice_id).first()
    if notice is None:
        raise Http404
    return notice


def notice_detail(user, notice_id: int) -> Notice:
    """A notice of the user's team with its deliveries (`.deliveries.all()`, endpoints joined)."""
    notice = (
        Notice.objects.filter(voice_q(user), pk=notice_id)
        .select_related("compound", "created_by")
        .prefetch_related(
            Prefetch("deliveries", queryset=Delivery.objects.select_related("endpoint").order_by("pk"))
        )
        .first()
    )
    if notice is None:
        raise Http404
    return notice


def delivery_get(user, notice_id: int, delivery_id: int) -> Delivery:
    """One delivery of a notice of the user's team, with its notice and endpoint; 404 otherwise."""
    found = (
        Delivery.objects.filter(voice_q(user, "notice__"), pk=delivery_id, notice_id=notice_id)
        .select_related("notice__compound", "endpoint")
        .first()
    )
    if found is None:
        raise Http404
    return found


PLACES_SHOWN = 50


def audience_places(notice: Notice) -> list[str]:
    """The buildings, units or rooms a notice names ("3号楼", "3号楼2单元", "3-2-301"), at most
    PLACES_SHOWN; none for the whole compound or the sealed homes."""
    ids = [int(i) for i in (notice.audience_ids or [])]
    if notice.audience == Audience.BUILDINGS:
        rows = Building.objects.filter(compound_id=notice.compound_id, pk__in=ids)
        return [str(b) for b in rows.order_by("sort_key", "number")[:PLACES_SHOWN]]
    if notice.audience == Audience.UNITS:
        rows = Unit.objects.filter(compound_id=notice.compound_id, pk__in=ids).select_related("building")
        return [str(u) for u in rows.order_by("building__sort_key", "sort_key", "number")[:PLACES_SHOWN]]
    if notice.audience == Audience.LIST:
        rows = Household.objects.filter(compound_id=notice.compound_id, pk__in=ids).select_related(
            "building", "unit"
        )
        rows = rows.order_by("building__sort_key", "unit__sort_key", "room")[:PLACES_SHOWN]
        return [f"{h.building.number}-{h.unit.number}-{h.room}" for h in rows]
    return []


def notice_for_files(user, notice_id: int) -> Notice:
    """A notice whose image and attachment `user` may open: its compound's team, or a resident
    whose household the published notice reaches. Anyone else: 404."""
    if user is None or not user.is_authenticated or not user.is_active:
        raise Http404
    if user.role != Role.RESIDENT:
        return notice_get(user, notice_id)
    household = Household.objects.filter(pk=user.household_id or 0).first()
    if household is None:
        raise Http404
    found = _household_notices(household, pk=notice_id)
    if not found:
        raise Http404
    return found[0]


def delivery_summary(notice: Notice) -> dict[str, int]:
    """Counts of the notice's deliveries by status (prefetched deliveries are used)."""
    counts = {status: 0 for status in Delivery.Status.values}
    for delivery in notice.deliveries.all():
        counts[delivery.status] += 1
    return counts


class _ListHolds(Func):
    """True when the JSON list in `field` (`Notice.audience_ids`) holds the id `value`, written as
    a number or as its text (as `int(i) for i in audience_ids` reads them). PostgreSQL and SQLite,
    the two databases the project runs on."""

    conditional = True
    output_field = BooleanField()

    def __init__(self, field: str, value: int):
        super().__init__(F(field))
        self.value = int(value)

    def as_sql(self, compiler, connection, **extra):
        raise NotSupportedError(f"_ListHolds is not written for {connection.vendor}")

    def _held(self, compiler, connection, template: str):
        sql, params = super().as_sql(compiler, connection, template=template)
        return sql, (*params, self.value, str(self.value))

    def as_sqlite(self, compiler, connection, **extra):
        template = "EXISTS (SELECT 1 FROM json_each(%(expressions)s) AS held WHERE held.value IN (%%s, %%s))"
        return self._held(compiler, connection, template)

    def as_postgresql(self, compiler, connection, **extra):
        template = "(%(expressions)s @> ANY (ARRAY[to_jsonb(%%s::int), to_jsonb(%%s::text)]))"
        return self._held(compiler, connection, template)


def _strictest_levels() -> list[str]:
    """The codes of the active rule set's strictest risk level (none when no level ranks above 0)."""
    levels = active_rules().levels
    top = max((level.rank for level in levels.values()), default=0)
    return [code for code, level in levels.items() if level.rank >= top] if top > 0 else []


def _covering(household: Household) -> Q:
    """The risk areas over `household`: its compound's, its building's, its unit's, its own."""
    return Q(compound_id=household.compound_id) & (
        Q(scope="compound")
        | Q(scope="building", building_id=household.building_id)
        | Q(scope="unit", unit_id=household.unit_id)
        | Q(scope="household", household_id=household.pk)
    )


def _sealed_authors(household: Household, strictest: list[str]) -> set[int]:
    """The authors of the compound's published sealed-only notices who see `household` under the
    strictest risk level now (`sealed_household_ids` by each author's eyes): the authors in one
    query, what each of them sees in one more."""
    sealed_only = Notice.objects.filter(
        compound_id=household.compound_id, published_at__isnull=False, audience=Audience.SEALED
    )
    authors = [
        author
        for author in get_user_model()
        .objects.filter(pk__in=sealed_only.values("created_by_id"))
        .select_related("area")
        if sees_risk_levels(author)
    ]
    if not authors:
        return set()
    seen = {
        f"author_{author.pk}": Exists(
            areas_visible(author).filter(_covering(household), level__in=strictest).order_by()
        )
        for author in authors
    }
    row = Household.objects.filter(pk=household.pk).values(**seen).first() or {}
    return {author.pk for author in authors if row.get(f"author_{author.pk}")}


def _household_notices(household: Household, *, pk: int | None = None, limit: int | None = None):
    """The published notices of the household's compound whose audience includes it, newest first
    (at most `limit`; only notice `pk` when given), filtered by the database: the whole compound;
    its building, unit or itself among the notice's `audience_ids`; sealed-only when the household
    is under the strictest risk level now.

    One query while no sealed-only notice is found. A sealed-only notice reaches the household as
    its author sees the compound's areas (the meaning `audience_queryset` gives it): a team member
    limited to some buildings may not see the area that seals it. So when the first read finds
    sealed-only notices, what their authors see is read (`_sealed_authors`: two queries, and one
    per author limited to some buildings for his buildings; never one per notice), and only if
    one of those authors does not see the household sealed is the list read again without his."""
    notices = Notice.objects.filter(compound_id=household.compound_id, published_at__isnull=False)
    if pk is not None:
        notices = notices.filter(pk=pk)
    notices = notices.order_by("-published_at", "-pk")
    reaches = (
        Q(audience=Audience.COMPOUND)
        | (Q(audience=Audience.BUILDINGS) & Q(_ListHolds("audience_ids", household.building_id)))
        | (Q(audience=Audience.UNITS) & Q(_ListHolds("audience_ids", household.unit_id)))
        | (Q(audience=Audience.LIST) & Q(_ListHolds("audience_ids", household.pk)))
    )
    strictest = _strictest_levels()
    if not strictest:
        return list(notices.filter(reaches)[:limit])
    sealed_now = Exists(
        RiskArea.objects.filter(_covering(household), lifted_on__isnull=True, level__in=strictest)
    )
    found = list(notices.filter(reaches | (Q(audience=Audience.SEALED) & Q(sealed_now)))[:limit])
    sealed_only = {n.created_by_id for n in found if n.audience == Audience.SEALED}
    if not sealed_only:
        return found
    authors = _sealed_authors(household, strictest)
    if sealed_only <= authors:
        return found
    return list(notices.filter(reaches | Q(audience=Audience.SEALED, created_by_id__in=authors))[:limit])


def _require_household(user, household: Household) -> None:
    """A resident reads his own household only; the team the households of its compound."""
    if user is None or not user.is_authenticated:
        raise Http404
    if user.role == Role.RESIDENT:
        if user.household_id != household.pk:
            raise Http404
    else:
        require_compound(user, household.compound_id, roles=TEAM)


def notices_for_household(user, household: Household, *, limit: int | None = None) -> list[Notice]:
    """The published notices whose audience includes `household`, newest first, at most `limit`
    (all when None). A resident sees only their own household's; staff the households of their
    compound. The queries do not grow with the notices."""
    _require_household(user, household)
    return _household_notices(household, limit=limit)


def notice_for_household(user, household: Household, notice_id: int) -> Notice:
    """One published notice whose audience includes `household` (as `notices_for_household`);
    404 otherwise."""
    _require_household(user, household)
    found = _household_notices(household, pk=notice_id)
    if not found:
        raise Http404
    return found[0]


def published_counts(user) -> dict[int, int]:
    """Published notices per compound the user's team sees: {compound_id: count}."""
    rows = (
        Notice.objects.filter(voice_q(user), published_at__isnull=False)
        .values("compound_id")
        .annotate(n=Count("pk"))
    )
    return {row["compound_id"]: row["n"] for row in rows}
