"""Every write of the outbreak module, one module per topic; import them from here.

- `cases`: cases, contacts, transfers, isolations, check-ins, the follow-up list's samples
- `areas`: risk areas (raise, restart, screening, lower, lift) and the compound's status history
- `status`: residents' test facts and yellow flags
"""

from tongxin.outbreak.actions.areas import (
    area_lift,
    area_lower,
    area_raise,
    area_record_screening,
    area_resident_ids,
    area_restart_for_case,
    compound_status_set,
    require_health_actor,
)
from tongxin.outbreak.actions.cases import (
    CASE_EDITABLE,
    SYMPTOMS,
    TEMPERATURE_MAX,
    TEMPERATURE_MIN,
    case_register,
    case_set_outcome,
    case_transfer,
    case_update,
    checkin_record,
    contact_became_case,
    contact_register,
    followup_sampled_record,
    isolation_create,
    isolation_release,
    parse_temperature,
    transfer_batch_create,
)
from tongxin.outbreak.actions.status import (
    flag_clear,
    flag_set,
    statuses_sampled,
    test_fact_record,
    test_fact_set_result,
    test_facts_record_many,
)
from tongxin.outbreak.errors import StaleEdit

__all__ = [
    "CASE_EDITABLE",
    "SYMPTOMS",
    "TEMPERATURE_MAX",
    "TEMPERATURE_MIN",
    "StaleEdit",
    "area_lift",
    "area_lower",
    "area_raise",
    "area_record_screening",
    "area_resident_ids",
    "area_restart_for_case",
    "case_register",
    "case_set_outcome",
    "case_transfer",
    "case_update",
    "checkin_record",
    "compound_status_set",
    "contact_became_case",
    "contact_register",
    "flag_clear",
    "flag_set",
    "followup_sampled_record",
    "isolation_create",
    "isolation_release",
    "parse_temperature",
    "require_health_actor",
    "statuses_sampled",
    "test_fact_record",
    "test_fact_set_result",
    "test_facts_record_many",
    "transfer_batch_create",
]
