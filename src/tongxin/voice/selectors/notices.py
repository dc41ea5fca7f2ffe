"""Notices as the compound's team and a household read them, and who a notice reaches.

The team (`voice.selectors.scope.TEAM`: supplies' HANDS_OUT roles of the compound, officials
over it) sees the compound's notices with each channel's delivery. A resident sees the published
notices whose audience includes their own household. Another compound: 404.

Who a notice reaches (`audience_households`): the compound's households, those of the chosen
buildings or units, those listed, or the sealed ones — homes under the strictest risk level of the
outbreak rules (their own area, their unit's, their building's or the compound's), as
`supplies.selectors.parcels.delivery_modes` decides "at the door", read with the eyes of the
notice's author.
"""

from django.db.models import Count, Prefetch, Q
from django.http import Http404

from tongxin.accounts.models import Role
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.selectors.areas import areas_with_outlook
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
    household = Household.objects.filter(pk=user.household_id or 0).select_related("compound").first()
    notice = Notice.objects.filter(
        pk=notice_id, compound_id=getattr(household, "compound_id", 0), published_at__isnull=False
    ).first()
    if household is None or notice is None:
        raise Http404
    sealed = None
    if notice.audience == Audience.SEALED:
        sealed = sealed_household_ids(
            notice.created_by, household.compound, Household.objects.filter(pk=household.pk)
        )
    if not _reaches(notice, household, sealed):
        raise Http404
    return notice


def delivery_summary(notice: Notice) -> dict[str, int]:
    """Counts of the notice's deliveries by status (prefetched deliveries are used)."""
    counts = {status: 0 for status in Delivery.Status.values}
    for delivery in notice.deliveries.all():
        counts[delivery.status] += 1
    return counts


def _reaches(notice: Notice, household: Household, sealed: set[int] | None) -> bool:
    ids = {int(i) for i in (notice.audience_ids or [])}
    if notice.audience == Audience.COMPOUND:
        return True
    if notice.audience == Audience.BUILDINGS:
        return household.building_id in ids
    if notice.audience == Audience.UNITS:
        return household.unit_id in ids
    if notice.audience == Audience.LIST:
        return household.pk in ids
    if notice.audience == Audience.SEALED:
        return household.pk in (sealed or set())
    return False


def notices_for_household(user, household: Household) -> list[Notice]:
    """The published notices whose audience includes `household`, newest first. A resident sees
    only their own household's; staff the households of their compound."""
    if user is None or not user.is_authenticated:
        raise Http404
    if user.role == Role.RESIDENT:
        if user.household_id != household.pk:
            raise Http404
    else:
        require_compound(user, household.compound_id, roles=TEAM)
    notices = list(
        Notice.objects.filter(compound_id=household.compound_id, published_at__isnull=False).order_by(
            "-published_at", "-pk"
        )
    )
    sealed = None
    if any(n.audience == Audience.SEALED for n in notices):
        # The sealed homes as the team sees them (a resident does not read the compound's areas).
        authors = {n.created_by_id: n.created_by for n in notices if n.audience == Audience.SEALED}
        sealed = set()
        for author in authors.values():
            sealed |= sealed_household_ids(
                author, household.compound, Household.objects.filter(pk=household.pk)
            )
    return [n for n in notices if _reaches(n, household, sealed)]


def published_counts(user) -> dict[int, int]:
    """Published notices per compound the user's team sees: {compound_id: count}."""
    rows = (
        Notice.objects.filter(voice_q(user), published_at__isnull=False)
        .values("compound_id")
        .annotate(n=Count("pk"))
    )
    return {row["compound_id"]: row["n"] for row in rows}
