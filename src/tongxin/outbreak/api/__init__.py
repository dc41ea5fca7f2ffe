"""The outbreak module's JSON endpoints, mounted under /api/v1/outbreak/ (config/api.py), one
module per topic: `status` (a resident's status), `cases` (cases, contacts, transfers,
isolations, check-ins, follow-up, transmission graph), `areas` (risk areas and compound status)."""

from ninja import Router

from tongxin.outbreak.api import areas, cases, status

router = Router(tags=["outbreak"])
router.add_router("", status.router)
router.add_router("", cases.router)
router.add_router("", areas.router)

__all__ = ["router"]
