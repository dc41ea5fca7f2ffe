"""The mass-testing section of the registry's resident page (registered in TestingConfig.ready)."""

from tongxin.accounts.models import Role
from tongxin.testing.models import Retest, Sample

SHOWN = 5


def resident_samples_panel(user, resident) -> dict | None:
    """The resident's latest samples with their tube's result and any open retest: for health
    roles and for the resident's own household; nothing for volunteers, who never see results."""
    own = user.role == Role.RESIDENT and user.household_id == resident.household_id
    if not (getattr(user, "sees_health_data", False) or own):
        return None
    samples = list(
        Sample.objects.filter(resident_id=resident.pk)
        .select_related("tube", "round", "table")
        .order_by("-sampled_at")[:SHOWN]
    )
    retests = list(
        Retest.objects.filter(resident_id=resident.pk, state__in=[Retest.State.OPEN, Retest.State.SAMPLED])
        .select_related("pool_tube")
        .order_by("-created_at")
    )
    return {"template": "testing/_resident_samples.html", "samples": samples, "retests": retests}
