"""JSON API of the voice module (mounted at /api/v1/voice/): one router per part."""

from ninja import Router

from tongxin.voice.api import groups, hotline, notices, portal, requests

router = Router(tags=["voice"])
router.add_router("/requests", requests.router)
router.add_router("/groups", groups.router)
router.add_router("/hotline", hotline.router)
router.add_router("/notices", notices.router)
router.add_router("/portal", portal.router)
