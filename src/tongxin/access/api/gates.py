"""JSON API of the access module: gates (mounted at /api/v1/access/).

`GET gates/{id}/snapshot`: what a gate device keeps to decide offline:
```
{"gate": {"id", "name", "compound": id, "compound_name"},
 "generated_at": iso, "server_time": iso,
 "key": {"id": "d43ba186", "public_key": "<base64url raw 32 bytes>"},
 "policy": {"exits_per_household", "exit_period_days", "exit_max_minutes", "sealed_no_exit",
            "exit_needs_test", "test_validity_hours"},
 "revoked": ["<pass number>", ...],       # revoked passes of the compound, not yet expired
 "passes": [["<number>", resident_id|null, household_id], ...],   # live passes
 "residents": [[id, household_id, name, room, color, status_reason, color_until_epoch|null,
                last_sampled_epoch|null, sealed 0|1], ...],
 "households": {"<household id>": {"room": "3-2-301",
                "exits": [out_epoch, ...],         # non-emergency outings in the policy's period
                "out": [[resident_id|null, out_epoch, due_epoch|null], ...]}}}   # open outings
```
Epochs are Unix seconds. `color` holds until `color_until_epoch` (green after it); the device
works out "overdue" from `last_sampled_epoch` and `test_validity_hours`. A household pass's
outing names no resident (null).
"""

import json

from django.http import HttpResponse
from ninja import Router

from tongxin.access.selectors.gates import gate_get, gate_snapshot

router = Router()


def _compact(data, status: int = 200) -> HttpResponse:
    """JSON without spaces and with Chinese as UTF-8, built without a response schema's validation:
    a snapshot is thousands of rows, a check is the gate's hot path."""
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, separators=(",", ":")),
        content_type="application/json",
        status=status,
    )
    response["Cache-Control"] = "private, no-cache"
    return response


@router.get("/gates/{gate_id}/snapshot", url_name="access_gate_snapshot")
def snapshot(request, gate_id: int):
    """What the gate device keeps to decide offline: public key, revoked and live passes, the
    residents' statuses now, the households' exits and open outings (names and rooms only)."""
    gate = gate_get(request.user, gate_id)
    return _compact(gate_snapshot(request.user, gate))
