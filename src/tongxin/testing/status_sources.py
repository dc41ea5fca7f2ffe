"""What the outbreak module's status recompute reads from mass testing (registered in apps.py).

- `samples_for_status(ids)`: each person-sample of these residents as a TestFact-shaped row; the
  result is the tube's: a positive pooled tube is "pool positive, under review" for everyone in
  it, a positive single tube is a positive.
- `household_review_holds(ids)`: the other members of a household with an open retest are kept
  home (yellow) until every retest of the household is negative.
"""

from tongxin.outbreak.models import TestFact
from tongxin.outbreak.status import YELLOW, make_hold
from tongxin.testing.models import Retest, Sample, Tube

_RESULT = {
    (Tube.Result.PENDING, False): TestFact.Result.PENDING,
    (Tube.Result.PENDING, True): TestFact.Result.PENDING,
    (Tube.Result.NEGATIVE, False): TestFact.Result.NEGATIVE,
    (Tube.Result.NEGATIVE, True): TestFact.Result.NEGATIVE,
    (Tube.Result.POSITIVE, False): TestFact.Result.POOL_POSITIVE,
    (Tube.Result.POSITIVE, True): TestFact.Result.POSITIVE,
}


def samples_for_status(resident_ids: list[int]):
    for resident_id, sampled_at, pool_size, result, result_at in Sample.objects.filter(
        resident_id__in=resident_ids
    ).values_list("resident_id", "sampled_at", "tube__pool_size", "tube__result", "tube__result_at"):
        single = pool_size == 1
        yield (
            resident_id,
            TestFact.Method.SINGLE if single else TestFact.Method.POOL,
            _RESULT[(result, single)],
            sampled_at,
            result_at,
        )


def household_review_holds(residents: list[tuple]):
    """One query: the open retests of these residents' households."""
    homes = {row[0]: row[4] for row in residents}
    open_retests = list(
        Retest.objects.filter(
            household_id__in=set(homes.values()),
            state__in=[Retest.State.OPEN, Retest.State.SAMPLED],
        ).values_list("household_id", "resident_id", "pool_sampled_at")
    )
    if not open_retests:
        return
    since: dict[int, object] = {}
    reviewed: dict[int, set[int]] = {}
    for household_id, resident_id, sampled_at in open_retests:
        if household_id not in since or sampled_at < since[household_id]:
            since[household_id] = sampled_at
        reviewed.setdefault(household_id, set()).add(resident_id)
    for resident_id, household_id in homes.items():
        if household_id in since and resident_id not in reviewed[household_id]:
            yield resident_id, make_hold(YELLOW, "household_review", since[household_id], None)
