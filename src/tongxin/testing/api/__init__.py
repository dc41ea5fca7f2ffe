"""JSON API of mass testing (/api/v1/testing/), one router per topic."""

from ninja import Router

from tongxin.testing.api import coverage, lab, planning, station

router = Router(tags=["testing"])
router.add_router("/", planning.router)
router.add_router("/", station.router)
router.add_router("/", lab.router)
router.add_router("/", coverage.router)
