"""Reads for the sampling tables, scoped to the acting user."""

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Compound
from tongxin.testing.models import SamplingTable


def tables_visible(user):
    """Sampling tables of the compounds the user sees."""
    return SamplingTable.objects.filter(
        compound__in=Compound.objects.filter(scope_q(user, "compound"))
    ).select_related("round", "point")
