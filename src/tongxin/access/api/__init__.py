"""JSON API of the access module, mounted at /api/v1/access/: one router per topic."""

from ninja import Router

from tongxin.access.api import gates, passes

router = Router(tags=["access"])
router.add_router("", gates.router)
router.add_router("", passes.router)
