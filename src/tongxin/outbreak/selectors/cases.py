"""Reads of cases, contacts, isolations, the follow-up list, the transmission graph and residents'
status, scoped to the acting user. Cases and contacts are health data: only HEALTH_ROLES see them,
and every view of a case or contact record is audited."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Prefetch, Q
from django.http import Http404
from django.utils import timezone

from tongxin.accounts.models import Role
from tongxin.core.audit import audit
from tongxin.core.scoping import NOTHING, building_ids, scope_q
from tongxin.outbreak.models import Case, Contact, HealthCheckin, Isolation, TestFact
from tongxin.outbreak.rules import active_rules
from tongxin.outbreak.status import Status, status_read
from tongxin.registry import selectors as registry_selectors
from tongxin.registry.models import Resident

# -- cases, contacts, isolations ------------------------------------------------------------------

# Where a record's building is, per model: a grid worker sees the records of their buildings only.
_BUILDING_PATHS = {
    Case: ("building_id",),
    Contact: ("building_id",),
    Isolation: ("resident__building_id", "contact__building_id"),
    HealthCheckin: (
        "isolation__resident__building_id",
        "isolation__contact__building_id",
        "resident__building_id",
    ),
}


def health_scope_q(user, model) -> Q:
    """Health records the user may see: health roles only, within their compound or area, and a
    grid worker's own buildings (a record with no building stays with the compound's managers)."""
    if user is None or not getattr(user, "sees_health_data", False):
        return NOTHING
    if user.role == Role.GRID_WORKER:
        if not user.compound_id:
            return NOTHING
        ids = building_ids(user)
        within = Q(pk__in=[])
        for path in _BUILDING_PATHS[model]:
            within |= Q(**{f"{path}__in": ids})
        return Q(compound_id=user.compound_id) & within
    return scope_q(user, "resident")  # compound-wide roles: the compound or area filter


def cases_visible(user):
    return Case.objects.filter(health_scope_q(user, Case))


def contacts_visible(user):
    return Contact.objects.filter(health_scope_q(user, Contact))


def isolations_visible(user):
    return Isolation.objects.filter(health_scope_q(user, Isolation))


def contact_cases_prefetch(user) -> Prefetch:
    """A contact's cases as the user may see them: a grid worker's contact may have been exposed to
    a case in a building that is not theirs, whose name must not show on the contact."""
    return Prefetch("cases", cases_visible(user).only("id", "name", "compound_id").order_by("id"))


def cases_of_compound(user, compound):
    """The compound's cases with the number of their contacts: two queries for any number."""
    return (
        cases_visible(user)
        .filter(compound=compound)
        .select_related("building", "household__unit__building", "from_contact")
        .annotate(contact_count=Count("contacts", distinct=True))
        .order_by("-confirmed_on", "-id")
    )


def contacts_of_compound(user, compound):
    isolated = Isolation.objects.filter(contact=OuterRef("pk"))
    return (
        contacts_visible(user)
        .filter(compound=compound)
        .select_related("household__unit__building", "became_case")
        .prefetch_related(contact_cases_prefetch(user))
        .annotate(has_isolation=Exists(isolated))
        .order_by("-identified_on", "-id")
    )


def contacts_to_transfer(user, compound):
    """Contacts with no isolation yet: who may go in a new transfer batch."""
    return contacts_of_compound(user, compound).filter(has_isolation=False, became_case__isnull=True)


def _audited_view(actor, record, ip=None) -> None:
    audit(actor=actor, action="view", obj=record, ip=ip)


def case_get(user, case_id, *, ip: str | None = None) -> Case:
    """One case, audited: every view of a case record writes an audit row."""
    case = (
        cases_visible(user)
        .filter(pk=case_id)
        .select_related("compound", "building", "unit", "household", "created_by")
        .first()
    )
    if case is None:
        raise Http404
    _audited_view(user, case, ip)
    return case


def contact_get(user, contact_id, *, ip: str | None = None) -> Contact:
    """One contact, audited."""
    contact = (
        contacts_visible(user)
        .filter(pk=contact_id)
        .select_related("compound", "building", "unit", "household", "became_case", "created_by")
        .prefetch_related(contact_cases_prefetch(user), "isolations")
        .first()
    )
    if contact is None:
        raise Http404
    _audited_view(user, contact, ip)
    return contact


def contacts_of_case(user, case):
    return (
        contacts_visible(user)
        .filter(cases=case)
        .select_related("became_case")
        .order_by("identified_on", "id")
    )


def isolation_get(user, isolation_id) -> Isolation:
    isolation = (
        isolations_visible(user)
        .filter(pk=isolation_id)
        .select_related("compound", "resident", "contact")
        .first()
    )
    if isolation is None:
        raise Http404
    return isolation


def isolations_of_compound(user, compound, *, open_only: bool = True):
    rows = (
        isolations_visible(user)
        .filter(compound=compound)
        .select_related("resident__household", "contact", "batch")
    )
    if open_only:
        rows = rows.filter(released_on__isnull=True)
    return rows.order_by("starts_on", "id")


def transfer_batch_get(user, batch_id):
    from tongxin.outbreak.models import TransferBatch

    batch = TransferBatch.objects.filter(pk=batch_id, compound__in=_visible_compounds(user)).first()
    if batch is None:
        raise Http404
    isolations = list(isolations_visible(user).filter(batch=batch).select_related("contact", "resident"))
    if not isolations and user.role == Role.GRID_WORKER:
        raise Http404
    return batch, isolations


def _visible_compounds(user):
    from tongxin.registry.models import Compound

    if not getattr(user, "sees_health_data", False):
        return Compound.objects.none()
    return Compound.objects.filter(scope_q(user, "compound"))


def own_isolations(user, on: datetime.date | None = None):
    """A resident's household members with an open isolation or monitoring (the self check-in page)."""
    if user.role != Role.RESIDENT or not user.household_id:
        return Isolation.objects.none()
    on = on or timezone.localdate()
    return (
        Isolation.objects.filter(
            resident__household_id=user.household_id, released_on__isnull=True, starts_on__lte=on
        )
        .select_related("resident")
        .order_by("resident_id", "starts_on")
    )


# -- the daily follow-up list -------------------------------------------------------------------


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


@dataclass
class FollowUp:
    """One open isolation on the day: what is due, what was missed, and under which rule."""

    isolation: Isolation
    day: int
    rule: str
    test_due: bool = False
    sampled_today: bool = False
    checked_in_today: bool = False
    overdue_days: list[int] = field(default_factory=list)
    lost: bool = False
    last_seen: datetime.date | None = None

    @property
    def must_test(self) -> bool:
        return self.test_due and not self.sampled_today

    @property
    def must_check_in(self) -> bool:
        return not self.checked_in_today


def followup_list(user, compound, on: datetime.date | None = None) -> dict:
    """The day's follow-up list for a compound, in three queries whatever the number of people.

    For each isolation open on the day: whether today is a test day (its day number is in
    `test_days`) and whether the person was sampled, whether they checked in, the past test days
    with no sample (overdue), and whether they are lost to follow-up: no check-in and no sample for
    the rule set's `lost_after_days` full days before today, nor today.
    """
    on = on or timezone.localdate()
    rules = active_rules()
    lost_days = rules.lost_after_days
    isolations = list(
        isolations_visible(user)
        .filter(compound=compound, starts_on__lte=on)
        .filter(Q(released_on__isnull=True) | Q(released_on__gt=on))
        .select_related("resident__household__unit__building", "contact")
        .order_by("starts_on", "id")
    )
    window_start = min((iso.starts_on for iso in isolations), default=on)
    end = _day_start(on + datetime.timedelta(days=1))
    iso_ids = [iso.pk for iso in isolations]
    resident_ids = {iso.resident_id for iso in isolations if iso.resident_id}
    checkin_days: dict[tuple[str, int], set[datetime.date]] = {}
    for isolation_id, resident_id, at in HealthCheckin.objects.filter(
        Q(isolation_id__in=iso_ids) | Q(resident_id__in=resident_ids),
        at__gte=_day_start(window_start),
        at__lt=end,
    ).values_list("isolation_id", "resident_id", "at"):
        day = timezone.localdate(at)
        if isolation_id:
            checkin_days.setdefault(("iso", isolation_id), set()).add(day)
        if resident_id:
            checkin_days.setdefault(("res", resident_id), set()).add(day)
    sampled_days: dict[int, set[datetime.date]] = {}
    # Test days ask for a nucleic-acid sample: an antigen self-test does not count for them.
    for resident_id, at in (
        TestFact.objects.filter(
            resident_id__in=resident_ids, sampled_at__gte=_day_start(window_start), sampled_at__lt=end
        )
        .exclude(method=TestFact.Method.ANTIGEN)
        .values_list("resident_id", "sampled_at")
    ):
        sampled_days.setdefault(resident_id, set()).add(timezone.localdate(at))
    rows = []
    for iso in isolations:
        day = (on - iso.starts_on).days + 1
        checked = checkin_days.get(("iso", iso.pk), set()) | checkin_days.get(("res", iso.resident_id), set())
        sampled = sampled_days.get(iso.resident_id, set()) if iso.resident_id else set()
        tested_here = iso.resident_id is not None
        seen = {d for d in checked | sampled if d >= iso.starts_on}
        row = FollowUp(
            isolation=iso,
            day=day,
            rule=f"{iso.get_rule_display()} · {iso.get_kind_display()}",
            test_due=tested_here and day in iso.test_days,
            sampled_today=on in sampled,
            checked_in_today=on in checked,
            overdue_days=[
                d
                for d in iso.test_days
                if tested_here and d < day and iso.starts_on + datetime.timedelta(days=d - 1) not in sampled
            ],
            last_seen=max(seen, default=None),
        )
        quiet_since = on - datetime.timedelta(days=lost_days)
        row.lost = iso.starts_on <= quiet_since and not any(d >= quiet_since for d in seen)
        rows.append(row)
    return {
        "on": on,
        "rules": rules,
        "rows": rows,
        "test": [r for r in rows if r.must_test],
        "checkin": [r for r in rows if r.must_check_in],
        "overdue": [r for r in rows if r.overdue_days],
        "lost": [r for r in rows if r.lost],
    }


# -- the transmission graph -----------------------------------------------------------------------


def transmission_graph(user, compound) -> dict:
    """Cases and contacts as nodes; exposures (contact → case) and "became a case" (contact →
    their new case) as edges. Three queries."""
    cases = list(
        cases_visible(user).filter(compound=compound).values("id", "name", "confirmed_on", "outcome")
    )
    contacts = list(
        contacts_visible(user)
        .filter(compound=compound)
        .values("id", "name", "identified_on", "became_case_id")
    )
    case_ids = {c["id"] for c in cases}
    contact_ids = [c["id"] for c in contacts]
    exposures = Contact.cases.through.objects.filter(
        contact_id__in=contact_ids, case_id__in=case_ids
    ).values_list("contact_id", "case_id")
    nodes = [
        {
            "id": f"case-{c['id']}",
            "name": c["name"],
            "category": "case",
            "date": c["confirmed_on"].isoformat(),
            "record": c["id"],
        }
        for c in cases
    ]
    nodes += [
        {
            "id": f"contact-{c['id']}",
            "name": c["name"],
            "category": "became_case" if c["became_case_id"] else "contact",
            "date": c["identified_on"].isoformat(),
            "record": c["id"],
        }
        for c in contacts
    ]
    edges = [
        {"source": f"contact-{contact}", "target": f"case-{case}", "kind": "exposure"}
        for contact, case in exposures
    ]
    edges += [
        {"source": f"contact-{c['id']}", "target": f"case-{c['became_case_id']}", "kind": "became_case"}
        for c in contacts
        if c["became_case_id"] in case_ids
    ]
    return {"compound": compound.pk, "nodes": nodes, "edges": edges}


# -- the compound map: units with active cases ------------------------------------------------------


def active_cases_by_unit(user, compound, unit_ids) -> dict[int, int]:
    return dict(
        cases_visible(user)
        .filter(compound=compound, unit_id__in=unit_ids, outcome=Case.Outcome.ACTIVE)
        .values_list("unit_id")
        .annotate(n=Count("id"))
    )


# Resident status


@dataclass(frozen=True)
class ResidentStatusView:
    """A resident's status as the acting user may see it: volunteers get the colour, not why."""

    resident: Resident
    status: Status
    shows_reasons: bool

    def as_dict(self) -> dict:
        data = self.status.to_dict()
        return data if self.shows_reasons else {"color": data["color"], "overdue": data["overdue"]}


def resident_status_get(user, resident_id: int, *, at: datetime.datetime | None = None) -> ResidentStatusView:
    """Raises Http404 for a resident outside the user's area (registry scoping)."""
    return resident_status_of(user, registry_selectors.resident_get(user, resident_id), at=at)


def resident_status_of(
    user, resident: Resident, *, at: datetime.datetime | None = None
) -> ResidentStatusView:
    """The status of a resident already read through the user's scope: one primary-key lookup."""
    own_household = user.role == Role.RESIDENT and user.household_id == resident.household_id
    return ResidentStatusView(
        resident=resident,
        status=status_read(resident.pk, at=at),
        shows_reasons=bool(user.sees_health_data or own_household),
    )


def residents_tested_elsewhere(compound_ids, on: datetime.date) -> dict[int, str]:
    """Residents of these compounds who are tested where they are kept on `on`, not at home:
    in central isolation ("central") or an active case taken away ("hospital"). Mass testing
    leaves them out of the people a round expects. Two queries, whatever the number of
    residents; not scoped: it returns ids only, for a selector that is."""
    compound_ids = list(compound_ids)
    found: dict[int, str] = {}
    for resident_id in (
        Isolation.objects.filter(
            compound_id__in=compound_ids,
            resident_id__isnull=False,
            kind=Isolation.Kind.CENTRAL,
            starts_on__lte=on,
            planned_end_on__gte=on,
        )
        .filter(Q(released_on__isnull=True) | Q(released_on__gt=on))
        .values_list("resident_id", flat=True)
    ):
        found[resident_id] = "central"
    for resident_id in (
        Case.objects.filter(
            compound_id__in=compound_ids,
            resident_id__isnull=False,
            outcome=Case.Outcome.ACTIVE,
            confirmed_on__lte=on,
        )
        .exclude(taken_to="")
        .values_list("resident_id", flat=True)
    ):
        found.setdefault(resident_id, "hospital")
    return found
