"""Reads of lab results, retests and alerts: health roles only (admin, officials, compound
managers, grid workers), scoped to the compounds they see; a grid worker sees the retests of their
own buildings. Outside that, records are not found (404)."""

from django.db.models import Count, Q
from django.http import Http404

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Compound, Household
from tongxin.testing.models import Alert, LabImport, Retest, RoundCompound, TestRound, Tube
from tongxin.testing.selectors.planning import round_fully_visible

RECENT_IMPORTS = 10
ROUND_ALERTS = 20


def _require_health(user) -> None:
    if not getattr(user, "sees_health_data", False):
        raise Http404


def _compounds(user):
    return Compound.objects.filter(scope_q(user, "compound"))


def round_for_results(user, round_id) -> TestRound:
    """The round, when the user works with results and sees one of its compounds; else 404."""
    _require_health(user)
    try:
        return TestRound.objects.filter(
            pk=round_id, pk__in=RoundCompound.objects.filter(compound__in=_compounds(user)).values("round_id")
        ).get()
    except (TestRound.DoesNotExist, ValueError, TypeError):
        raise Http404 from None


def round_compounds(user, round_: TestRound) -> list[Compound]:
    """The round's compounds the user sees, by code."""
    return list(
        _compounds(user)
        .filter(pk__in=RoundCompound.objects.filter(round=round_).values("compound_id"))
        .order_by("code")
    )


def lab_imports_of_round(user, round_: TestRound, *, limit: int = RECENT_IMPORTS) -> list[LabImport]:
    """The round's latest lab files, newest first."""
    _require_health(user)
    imports = LabImport.objects.filter(round=round_)
    if not round_fully_visible(user, round_):
        # A file of a round over several compounds tells about all of them (its positives, its
        # people under review): someone who sees only some of them sees only their own files.
        imports = imports.filter(created_by=user)
    return list(imports.select_related("created_by").order_by("-created_at")[:limit])


def tube_of_round(user, round_: TestRound, code: str) -> Tube | None:
    """A tube of the round in the user's compounds, by its code (as the sampling tables store it)."""
    _require_health(user)
    code = (code or "").strip().upper()
    if not code:
        return None
    return Tube.objects.filter(round=round_, code=code, compound__in=_compounds(user)).first()


def retests_visible(user):
    """Retests of the households the user sees (a grid worker: their buildings)."""
    if not getattr(user, "sees_health_data", False):
        return Retest.objects.none()
    return Retest.objects.filter(household__in=Household.objects.filter(scope_q(user, "household")))


def retests_of_round(user, round_: TestRound, *, compound_id=None, state: str = ""):
    """The people under review of a round: name, home, state, pool tube; by compound, building,
    unit and room. A fixed number of queries whatever the number of retests."""
    qs = retests_visible(user).filter(round=round_)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    if state in Retest.State.values:
        qs = qs.filter(state=state)
    return qs.select_related(
        "resident", "household__unit__building", "compound", "pool_tube", "sample__tube"
    ).order_by(
        "compound__code",
        "household__building__sort_key",
        "household__unit__sort_key",
        "household__room",
        "resident_id",
        "id",
    )


def retest_counts(user, round_: TestRound, *, compound_id=None) -> dict[str, int]:
    """Retests of the round per state (every state present, 0 when none), one query."""
    qs = retests_visible(user).filter(round=round_)
    if compound_id:
        qs = qs.filter(compound_id=compound_id)
    counts = qs.aggregate(
        **{state: Count("id", filter=Q(state=state)) for state in Retest.State.values}, total=Count("id")
    )
    return counts


def alerts_of_round(user, round_: TestRound, *, limit: int = ROUND_ALERTS) -> list[Alert]:
    """The round's unacknowledged alerts in the user's compounds, newest first."""
    _require_health(user)
    return list(
        Alert.objects.filter(round=round_, compound__in=_compounds(user), acknowledged_at__isnull=True)
        .select_related("compound")
        .order_by("-created_at", "-id")[:limit]
    )


def alert_get(user, alert_id) -> Alert:
    """An alert of a compound the user sees (health roles only); else 404."""
    _require_health(user)
    try:
        return Alert.objects.select_related("compound").get(pk=alert_id, compound__in=_compounds(user))
    except (Alert.DoesNotExist, ValueError, TypeError):
        raise Http404 from None
