"""JSON API of the supplies module (mounted at /api/v1/supplies/): one router per part."""

from ninja import Router

from tongxin.supplies.api import campaigns, care, parcels, requests, stock

router = Router(tags=["supplies"])
router.add_router("/", stock.router)
router.add_router("/parcels", parcels.router)
router.add_router("/requests", requests.router)
router.add_router("/campaigns", campaigns.router)
router.add_router("/care", care.router)
