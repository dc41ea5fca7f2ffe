"""What the portal shows a resident: his own household only.

Each part is read through the owning module's selector with the resident's own account (notices,
passes, parcels, requests, statuses), so the modules' scoping decides; the testing slot, which the
testing module shows no resident, is read here for the household's own unit. Anyone but a resident
with a household gets 404.
"""

import datetime
from dataclasses import dataclass, field

from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext_lazy

from tongxin.access.actions.passes import pass_code
from tongxin.access.selectors.passes import household_passes
from tongxin.accounts.models import Role
from tongxin.outbreak.models import ResidentStatus
from tongxin.outbreak.status import GREEN, RED, YELLOW, Status, status_from_row, status_recompute
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Household, Resident
from tongxin.supplies.selectors.parcels import Mine, my_parcels
from tongxin.testing.models import ScheduleSlot, TestRound
from tongxin.testing.selectors.planning import notice_of
from tongxin.voice.actions.portal import portal_login_own_resident_id
from tongxin.voice.selectors.notices import notice_for_household, notices_for_household
from tongxin.voice.selectors.requests import household_requests, request_detail

NOTICES_SHOWN = 20
REQUESTS_SHOWN = 30
COLOR_LABELS = {
    GREEN: gettext_lazy("绿码"),
    YELLOW: gettext_lazy("黄码"),
    RED: gettext_lazy("红码"),
}


def is_portal_user(user) -> bool:
    return bool(
        user and user.is_authenticated and user.is_active and user.role == Role.RESIDENT and user.household_id
    )


def portal_household(user) -> Household:
    """The resident's own household (with its unit, building and compound); 404 for anyone else."""
    if not is_portal_user(user):
        raise Http404
    return registry_selectors.household_get(user, user.household_id)


@dataclass
class Member:
    resident: Resident
    color: str
    color_label: str
    overdue: bool
    reasons: list[str]
    pass_number: str = ""
    pass_code: str = ""  # the signed text of the member's live pass QR ("" when none or expired)
    pass_expires_at: datetime.datetime | None = None
    is_self: bool = False

    @property
    def is_elderly(self) -> bool:
        return self.resident.is_elderly


@dataclass
class Slot:
    slot: ScheduleSlot
    text: str

    @property
    def day(self) -> datetime.date:
        return self.slot.round.day


@dataclass
class Home:
    household: Household
    members: list[Member]
    household_pass: dict | None  # {"number", "code", "expires_at"} of the household's own pass
    notices: list
    slot: Slot | None
    parcels: Mine
    requests: list = field(default_factory=list)


def statuses_of(residents: list[Resident], at: datetime.datetime) -> dict[int, Status]:
    """The status of each of the household's residents (already read through the resident's
    scope): their stored rows in one query, the missing ones computed together first (as
    `status_read` does one by one)."""
    ids = [r.pk for r in residents]

    def stored():
        return {
            row[0]: row[1:]
            for row in ResidentStatus.objects.filter(resident_id__in=ids).values_list(
                "resident_id", "holds", "last_sampled_at", "risk_level"
            )
        }

    rows = stored()
    if len(rows) < len(ids):
        status_recompute([i for i in ids if i not in rows])
        rows = stored()
    return {rid: status_from_row(*row, at) for rid, row in rows.items()}


def members_of(user, household: Household) -> tuple[list[Member], dict | None]:
    """The household's residents (not moved out), each with his status colour and live pass."""
    now = timezone.now()
    own_id = portal_login_own_resident_id(user)
    residents = [
        r
        for r in registry_selectors.residents_of_household(user, household)
        if r.presence != Resident.Presence.MOVED_OUT
    ]
    passes = {p.resident_id: p for p in household_passes(user, household)}
    statuses = statuses_of(residents, now)
    members = []
    for resident in residents:
        status = statuses[resident.pk]
        found = passes.get(resident.pk)
        live = found is not None and found.expires_at > now
        members.append(
            Member(
                resident=resident,
                color=status.color,
                color_label=str(COLOR_LABELS.get(status.color, status.color)),
                overdue=status.overdue,
                reasons=list(status.reasons),
                pass_number=found.number if found else "",
                pass_code=pass_code(found) if live else "",
                pass_expires_at=found.expires_at if found else None,
                is_self=resident.pk == own_id,
            )
        )
    own = passes.get(None)
    household_pass = None
    if own is not None:
        household_pass = {
            "number": own.number,
            "code": pass_code(own) if own.expires_at > now else "",
            "expires_at": own.expires_at,
        }
    return members, household_pass


def testing_slot(user, household: Household, *, now: datetime.datetime | None = None) -> Slot | None:
    """The next testing time of the household's unit (a round planned or sampling, not yet
    over), the soonest first."""
    portal_household(user)
    if household.pk != user.household_id:
        raise Http404
    now = now or timezone.now()
    slot = (
        ScheduleSlot.objects.filter(
            unit_id=household.unit_id,
            ends_at__gt=now,
            round__state__in=(TestRound.State.PLANNED, TestRound.State.SAMPLING),
        )
        .select_related("round", "point", "unit__building")
        .order_by("starts_at", "pk")
        .first()
    )
    if slot is None:
        return None
    return Slot(slot=slot, text=notice_of(slot).text)


def portal_home(user, *, now: datetime.datetime | None = None) -> Home:
    household = portal_household(user)
    members, household_pass = members_of(user, household)
    requests = list(household_requests(user, household.pk).select_related("resident")[:REQUESTS_SHOWN])
    for item in requests:
        answers = list(item.answers.all())
        item.last_answer = answers[-1] if answers else None
    return Home(
        household=household,
        members=members,
        household_pass=household_pass,
        notices=notices_for_household(user, household, limit=NOTICES_SHOWN),
        slot=testing_slot(user, household, now=now),
        parcels=my_parcels(user, now=now),
        requests=requests,
    )


def portal_members(user) -> list[Resident]:
    """The residents a request may be sent for (the household's, not moved out), the account's own
    first."""
    household = portal_household(user)
    own_id = portal_login_own_resident_id(user)
    residents = [
        r
        for r in registry_selectors.residents_of_household(user, household)
        if r.presence != Resident.Presence.MOVED_OUT
    ]
    return sorted(residents, key=lambda r: (r.pk != own_id, r.pk))


def portal_request(user, request_id: int):
    """One of the household's requests with its answers; 404 for another household's."""
    household = portal_household(user)
    found = request_detail(user, request_id)
    if found.household_id != household.pk:
        raise Http404
    return found


def portal_notice(user, notice_id: int):
    """One notice that reaches the household; 404 otherwise."""
    return notice_for_household(user, portal_household(user), notice_id)
