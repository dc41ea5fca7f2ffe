"""JSON API of the voice module (mounted at /api/v1/voice/): one router per part. Every answer
carries residents' texts, rooms or a household's pass codes: never cached."""

from django.views.decorators.cache import never_cache
from ninja import Router

from tongxin.voice.api import groups, hotline, notices, portal, requests

router = Router(tags=["voice"])
router.add_router("/requests", requests.router)
router.add_router("/groups", groups.router)
router.add_router("/hotline", hotline.router)
router.add_router("/notices", notices.router)
router.add_router("/portal", portal.router)
router.add_decorator(never_cache, mode="view")
