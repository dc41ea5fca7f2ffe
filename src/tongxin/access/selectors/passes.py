"""Passes as the other modules read them."""

from tongxin.access.models import Pass
from tongxin.access.signing import PassCodeError, looks_like_pass, read_pass


def resident_ids_by_pass_codes(codes: list[str]) -> dict[str, int]:
    """{code: resident id} for the genuine, live, unexpired resident passes among `codes` (a
    household's pass names no one person). Not scoped: ids only, for a caller that scopes the
    residents it then reads (registered with the registry as a person-code resolver)."""
    from django.utils import timezone

    numbers: dict[str, str] = {}
    now = timezone.now()
    for code in codes:
        if not looks_like_pass(code):
            continue
        try:
            claims = read_pass(code)
        except PassCodeError:
            continue
        if claims.expires_at > now:
            numbers[claims.number] = code
    if not numbers:
        return {}
    rows = (
        Pass.objects.filter(number__in=list(numbers), revoked_at__isnull=True, resident__isnull=False)
        .order_by()
        .values_list("number", "resident_id")
    )
    return {numbers[number]: resident_id for number, resident_id in rows}


def room_label(household) -> str:
    """The room as a pass names it and a gate shows it: "3-2-301" (building-unit-room)."""
    return f"{household.building.number}-{household.unit.number}-{household.room}"
