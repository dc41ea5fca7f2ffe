"""Pages of the outbreak module, one module per topic; `urls.py` routes to them from here.

- `cases`: cases, contacts, transfers, isolations, check-ins, follow-up, transmission graph, and
  the status panel of the registry's resident page
- `areas`: the "防控" overview, risk areas and the compound's status
"""

from tongxin.outbreak.views.areas import (
    area,
    area_lift,
    area_lower,
    area_raise,
    area_screening,
    compound_status,
    index,
    overview,
)
from tongxin.outbreak.views.cases import (
    case_detail,
    case_list,
    case_new,
    case_outcome,
    case_transfer,
    contact_became_case,
    contact_detail,
    contact_list,
    contact_new,
    followup,
    followup_checkin,
    followup_sampled,
    graph,
    isolation_list,
    isolation_new,
    isolation_release,
    my_checkin,
    resident_status_panel,
    transfer_detail,
    transfer_new,
)

__all__ = [
    "area",
    "area_lift",
    "area_lower",
    "area_raise",
    "area_screening",
    "case_detail",
    "case_list",
    "case_new",
    "case_outcome",
    "case_transfer",
    "compound_status",
    "contact_became_case",
    "contact_detail",
    "contact_list",
    "contact_new",
    "followup",
    "followup_checkin",
    "followup_sampled",
    "graph",
    "index",
    "isolation_list",
    "isolation_new",
    "isolation_release",
    "my_checkin",
    "overview",
    "resident_status_panel",
    "transfer_detail",
    "transfer_new",
]
