"""JSON API of the access module, mounted at /api/v1/access/: one router per topic (the gates'
today; passes are managed through their pages)."""

from ninja import Router

from tongxin.access.api import gates

router = Router(tags=["access"])
router.add_router("", gates.router)
