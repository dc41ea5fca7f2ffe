"""A compound's exit policy as the gate reads it."""

from tongxin.access import verdict
from tongxin.access.models import AccessPolicy
from tongxin.outbreak.rules import active_rules

POLICY_FIELDS = (
    "pass_per",
    "pass_valid_days",
    "exits_per_household",
    "exit_period_days",
    "exit_max_minutes",
    "sealed_no_exit",
    "exit_needs_test",
)


def policy_for(compound_id: int) -> AccessPolicy:
    """The compound's policy; when it has none yet, an unsaved one with the defaults, at version 1
    (the first edit saves it as version 2). Not scoped: a policy holds no personal data, and
    callers reach it through a gate or compound they already read within the user's scope."""
    policy = AccessPolicy.objects.filter(compound_id=compound_id).order_by().first()
    return policy if policy is not None else AccessPolicy(compound_id=compound_id)


def to_verdict_policy(policy: AccessPolicy) -> verdict.Policy:
    """What the gate's decision reads of a policy, with the test validity of the outbreak rules."""
    return verdict.Policy(
        exits_per_household=policy.exits_per_household,
        exit_period_days=policy.exit_period_days,
        exit_max_minutes=policy.exit_max_minutes,
        sealed_no_exit=policy.sealed_no_exit,
        exit_needs_test=policy.exit_needs_test,
        test_validity_hours=active_rules().test_validity_hours,
    )


def strictest_rank() -> int:
    """The rank of the strictest risk level of the active rules: a household living under it is
    "sealed" at the gate."""
    return max((level.rank for level in active_rules().levels.values()), default=0)


def policy_of(compound) -> AccessPolicy:
    """`policy_for` for a compound object."""
    return policy_for(compound.pk)
