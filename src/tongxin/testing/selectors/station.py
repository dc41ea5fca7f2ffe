"""Reads for the sampling tables, scoped to the acting user."""

import datetime

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from tongxin.core.scoping import scope_q
from tongxin.registry.models import Compound, Resident, Unit
from tongxin.testing.actions.sampling import SAMPLING_ROLES
from tongxin.testing.models import RoundCompound, Sample, SamplingTable

AGE_BAND_YEARS = 10


def tables_visible(user):
    """Sampling tables of the compounds the user sees."""
    return SamplingTable.objects.filter(
        compound__in=Compound.objects.filter(scope_q(user, "compound"))
    ).select_related("round", "point", "compound")


def station_table_get(user, table_id: int) -> SamplingTable:
    """The table a sampler works at: 403 for a role that does not sample (residents), 404 for a
    table outside the user's area."""
    if getattr(user, "role", None) not in SAMPLING_ROLES:
        raise PermissionDenied(_("当前角色不能采样"))
    table = tables_visible(user).filter(pk=table_id).first()
    if table is None:
        raise Http404
    return table


def _age_band(birth: datetime.date | None, today: datetime.date) -> int | None:
    """The decade of a person's age (0, 10, ... 90): enough to tell two 王伟 apart, not a birth date."""
    if birth is None:
        return None
    age = today.year - birth.year - ((today.month, today.day) < (birth.month, birth.day))
    return min(max(age, 0) // AGE_BAND_YEARS * AGE_BAND_YEARS, 90)


def station_roster(user, table: SamplingTable) -> dict:
    """What a sampling table keeps on the device to work offline: its settings and the people its
    round covers in its compound (restricted to the round's buildings there, and to what the user
    sees), for the name search. No phone, no document number, no birth date: an age band only.

    People are rows `[id, name, unit, room, age band, sampled at]`, where `unit` keys `units`
    (`["3号楼2单元", "3", "2"]`: the label, the building and the unit number) and `sampled at` is the label of the table that sampled them this round (not a
    result, which volunteers never see), so the device can refuse a second sample offline. Four
    queries whatever the compound's size."""
    round_ = table.round
    cover = (
        RoundCompound.objects.filter(round_id=round_.pk, compound_id=table.compound_id)
        .prefetch_related("buildings")
        .first()
    )
    people = Resident.objects.none()
    buildings = []
    if cover is not None:
        buildings = [b.pk for b in cover.buildings.all()]
        people = Resident.objects.filter(scope_q(user, "resident"), compound_id=table.compound_id)
        if buildings:
            people = people.filter(building_id__in=buildings)
    rows = list(
        people.order_by("building__sort_key", "unit__sort_key", "household__room", "id").values_list(
            "pk", "name", "unit_id", "household__room", "birth_date"
        )
    )
    unit_ids = {row[2] for row in rows}
    units = {
        pk: [_("%(building)s号楼%(unit)s单元") % {"building": building, "unit": unit}, building, unit]
        for pk, building, unit in Unit.objects.filter(compound_id=table.compound_id).values_list(
            "pk", "building__number", "number"
        )
        if pk in unit_ids
    }
    sampled = (
        dict(
            Sample.objects.filter(
                round_id=round_.pk, compound_id=table.compound_id, is_retest=False
            ).values_list("resident_id", "table__label")
        )
        if rows
        else {}
    )
    today = timezone.localdate()
    return {
        "table": {
            "id": table.pk,
            "label": table.label,
            "point": table.point.name,
            "compound": table.compound.name,
            "pool_size": table.pool_size,
            "mode": table.mode,
            "mode_label": table.get_mode_display(),
        },
        "round": {
            "id": round_.pk,
            "name": round_.name,
            "day": round_.day.isoformat(),
            "state": round_.state,
            "state_label": round_.get_state_display(),
        },
        "bag_size": settings.TONGXIN_BAG_SIZE,
        "pool_prefixes": settings.TONGXIN_TUBE_POOL_PREFIXES,
        "max_batch": settings.TONGXIN_SYNC_MAX_BATCH,
        "units": {str(pk): unit for pk, unit in units.items()},
        "columns": ["id", "name", "unit", "room", "age_band", "sampled_at"],
        "people": [
            [pk, name, unit_id, room, _age_band(birth, today), sampled.get(pk, "") or ""]
            for pk, name, unit_id, room, birth in rows
        ],
        "generated_at": timezone.now().isoformat(),
    }


def table_samples_since(user, table: SamplingTable, since: datetime.datetime | None) -> list[list]:
    """The samples this table stored (from `since` on): `[scan id, resident id, tube code]`, so the
    device can put a name on the ID cards and passes it scanned. Only what the table itself did."""
    qs = Sample.objects.filter(
        scope_q(user, "resident"), round_id=table.round_id, compound_id=table.compound_id, table_id=table.pk
    )
    if since is not None:
        qs = qs.filter(sampled_at__gte=since)
    return [
        [str(scan_id), resident_id, code]
        for scan_id, resident_id, code in qs.order_by("sampled_at", "id").values_list(
            "scan_id", "resident_id", "tube__code"
        )
    ]
