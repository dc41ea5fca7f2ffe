"""Requests from sealed and isolated homes: the queue (urgent first, then oldest), its open and
late counts, the day's delivery list by building and unit with the stock it takes, a household's
own requests. Staff see the requests of the households in their area (a grid worker his
buildings); a resident only their own household's."""

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.scoping import scope_q
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Household
from tongxin.supplies.models import Balance, RequestState, Store, SupplyRequest, SupplyRequestLine
from tongxin.supplies.selectors.scope import HANDS_OUT, supplies_q
from tongxin.supplies.units import convert, unit_label

OPEN_STATES = (RequestState.NEW, RequestState.ACCEPTED, RequestState.BOUGHT)
TO_DELIVER = (RequestState.ACCEPTED, RequestState.BOUGHT)
# An open request is late after a day; an urgent one (medicine for the elderly) after four hours.
LATE_HOURS = settings.TONGXIN_REQUEST_LATE_HOURS
URGENT_LATE_HOURS = settings.TONGXIN_REQUEST_URGENT_LATE_HOURS
# Relation order of the household member whose (masked) phone the team calls.
CONTACT_ORDER = ("head", "spouse", "child", "child_in_law", "tenant")


def _lines_prefetch() -> Prefetch:
    return Prefetch("lines", SupplyRequestLine.objects.select_related("item").order_by("pk"))


def _contacts_prefetch(user) -> Prefetch:
    """The household's members whose masked phone the team calls: none for a volunteer, to whom
    the registry shows no phone, masked or not (`user.may_see_full_data`)."""
    members = registry_selectors.residents_visible(user).exclude(presence="moved_out").order_by("id")
    if not user.may_see_full_data:
        members = members.none()
    return Prefetch("household__residents", members, to_attr="members")


def contact_phone(request: SupplyRequest) -> str:
    """The masked phone of the household member to call (the head first), from the prefetch."""
    if not SupplyRequest.household.is_cached(request):
        return ""
    members = [m for m in getattr(request.household, "members", []) if m.phone_masked]
    members.sort(key=lambda m: CONTACT_ORDER.index(m.relation) if m.relation in CONTACT_ORDER else 99)
    return members[0].phone_masked if members else ""


def require_team(user) -> None:
    """The staff pages and lists: a resident is not found there (404), another role refused."""
    if user.role == Role.RESIDENT:
        raise Http404
    if user.role not in HANDS_OUT:
        raise PermissionDenied


def requests_visible(user):
    """The requests of the households `user` sees among the compounds whose supplies they keep."""
    return SupplyRequest.objects.filter(
        supplies_q(user), household__in=Household.objects.filter(scope_q(user, "household"))
    )


def request_get(user, request_id: int) -> SupplyRequest:
    request = (
        requests_visible(user)
        .filter(pk=request_id)
        .select_related("household__unit__building", "compound", "assignee", "delivered_by")
        .first()
    )
    if request is None:
        raise Http404
    return request


def request_row(user, request_id: int) -> SupplyRequest | None:
    """One request as a queue row shows it (lines, contact phone), whatever its state."""
    row = (
        requests_visible(user)
        .filter(pk=request_id)
        .select_related("household__unit__building", "compound", "assignee", "delivered_by")
        .prefetch_related(_lines_prefetch(), _contacts_prefetch(user))
        .first()
    )
    if row is not None:
        label_lines([row])
    return row


def label_lines(requests) -> None:
    """Set `label` on the (prefetched) lines of `requests` and `phone` (masked, when the
    household's members were prefetched) on each, as pages and exports show them."""
    for request in requests:
        request.phone = contact_phone(request)
        for line in request.lines.all():
            line.label = line_label(line)


def request_queue(
    user,
    compound,
    *,
    state: str | None = None,
    kind: str | None = None,
    building_id: int | None = None,
):
    """The compound's requests, urgent first, then the oldest; open ones unless `state` names one."""
    rows = requests_visible(user).filter(compound=compound)
    rows = rows.filter(state=state) if state in RequestState.values else rows.filter(state__in=OPEN_STATES)
    if kind:
        rows = rows.filter(kind=kind)
    if building_id is not None:
        rows = rows.filter(household__building_id=building_id)
    return (
        rows.select_related("household__unit__building", "assignee", "delivered_by")
        .prefetch_related(_lines_prefetch(), _contacts_prefetch(user))
        .order_by("-urgent", "asked_at", "pk")
    )


def request_counts(user, compound, *, now: datetime.datetime | None = None) -> dict[str, int]:
    """Open requests by state, the urgent ones, and the late ones (open past their hours), in one
    query."""
    now = now or timezone.now()
    late = Q(urgent=True, asked_at__lt=now - datetime.timedelta(hours=URGENT_LATE_HOURS)) | Q(
        asked_at__lt=now - datetime.timedelta(hours=LATE_HOURS)
    )
    open_ = Q(state__in=OPEN_STATES)
    counts = (
        requests_visible(user)
        .filter(compound=compound)
        .aggregate(
            n_open=Count("pk", filter=open_),
            n_new=Count("pk", filter=Q(state=RequestState.NEW)),
            n_accepted=Count("pk", filter=Q(state=RequestState.ACCEPTED)),
            n_bought=Count("pk", filter=Q(state=RequestState.BOUGHT)),
            n_urgent=Count("pk", filter=open_ & Q(urgent=True)),
            n_late=Count("pk", filter=open_ & late),
        )
    )
    return {key.removeprefix("n_"): value for key, value in counts.items()}


def is_late(request: SupplyRequest, now: datetime.datetime) -> bool:
    if request.state not in OPEN_STATES:
        return False
    hours = URGENT_LATE_HOURS if request.urgent else LATE_HOURS
    return request.asked_at < now - datetime.timedelta(hours=hours)


@dataclass
class UnitGroup:
    unit: object
    requests: list = field(default_factory=list)


@dataclass
class BuildingGroup:
    building: object
    units: list[UnitGroup] = field(default_factory=list)

    @property
    def count(self) -> int:
        return sum(len(group.requests) for group in self.units)


@dataclass(frozen=True)
class Need:
    """What the day's deliveries take of one item, in the item's unit, against the stock."""

    item_id: int
    item: str
    unit: str
    need: Decimal
    stock: Decimal

    @property
    def short(self) -> bool:
        return self.need > self.stock

    @property
    def unit_label(self) -> str:
        return unit_label(self.unit)

    @property
    def need_text(self) -> str:
        return f"{self.need:f}"

    @property
    def stock_text(self) -> str:
        return f"{self.stock:f}"


@dataclass
class DayList:
    buildings: list[BuildingGroup]
    needs: list[Need]
    count: int
    store: Store | None
    stores: list[Store]

    @property
    def short(self) -> list[Need]:
        return [need for need in self.needs if need.short]


def day_list(user, compound, *, building_id: int | None = None, store_id: int | None = None) -> DayList:
    """The open requests to deliver (accepted or bought) by building and unit, and what stock
    they take against the chosen store's (or the compound's whole) stock: four queries."""
    rows = requests_visible(user).filter(compound=compound, state__in=TO_DELIVER)
    if building_id is not None:
        rows = rows.filter(household__building_id=building_id)
    requests = list(
        rows.select_related("household__unit__building", "assignee")
        .prefetch_related(_lines_prefetch(), _contacts_prefetch(user))
        .order_by(
            "household__building__sort_key",
            "household__building__number",
            "household__unit__sort_key",
            "household__unit__number",
            "household__room",
            "-urgent",
            "asked_at",
            "pk",
        )
    )
    buildings: list[BuildingGroup] = []
    for request in requests:
        unit = request.household.unit
        if not buildings or buildings[-1].building.pk != unit.building_id:
            buildings.append(BuildingGroup(unit.building))
        groups = buildings[-1].units
        if not groups or groups[-1].unit.pk != unit.pk:
            groups.append(UnitGroup(unit))
        groups[-1].requests.append(request)
    label_lines(requests)
    stores = stores_of(user, compound)
    store = next((s for s in stores if s.pk == store_id), None)
    return DayList(buildings, stock_needed(requests, compound, store), len(requests), store, stores)


def stock_needed(requests, compound, store: Store | None) -> list[Need]:
    """The sum of the requests' item lines per item, in the item's unit, against the stock of
    `store` (of all the compound's stores when None)."""
    totals: dict[int, Decimal] = {}
    items = {}
    for request in requests:
        for line in request.lines.all():
            if line.item_id is None:
                continue
            items[line.item_id] = line.item
            amount = convert(line.quantity, from_unit=line.unit or line.item.unit, to_unit=line.item.unit)
            totals[line.item_id] = totals.get(line.item_id, Decimal(0)) + amount
    if not totals:
        return []
    balances = Balance.objects.filter(item_id__in=totals, store__compound=compound)
    if store is not None:
        balances = balances.filter(store=store)
    stock = dict(balances.values("item_id").annotate(total=Sum("quantity")).values_list("item_id", "total"))
    return sorted(
        (
            Need(
                item_id,
                items[item_id].name,
                items[item_id].unit,
                _plain(totals[item_id]),
                _plain(stock.get(item_id) or Decimal(0)),
            )
            for item_id in totals
        ),
        key=lambda need: need.item,
    )


def _plain(value: Decimal) -> Decimal:
    """12.000000 -> 12 and 10.000000 -> 10 (not 1E+1)."""
    value = value.normalize()
    return value.quantize(Decimal(1)) if value.as_tuple().exponent > 0 else value


def own_requests(user):
    """A resident's household's requests, newest first; nothing for anyone else."""
    if user.role != Role.RESIDENT or not user.household_id:
        return SupplyRequest.objects.none()
    return (
        SupplyRequest.objects.filter(household_id=user.household_id)
        .select_related("assignee")
        .prefetch_related(_lines_prefetch())
        .order_by("-asked_at", "-pk")
    )


def stores_of(user, compound) -> list[Store]:
    return list(Store.objects.filter(supplies_q(user), compound=compound).order_by("name"))


def line_label(line: SupplyRequestLine) -> str:
    name = line.item.name if line.item_id else line.description
    extra = f"（{line.description}）" if line.item_id and line.description else ""
    unit = unit_label(line.unit) if line.unit else ""
    return f"{name}{extra} {line.quantity.normalize():f}{unit}"
