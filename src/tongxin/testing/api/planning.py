"""JSON API of mass testing: planning."""

from ninja import Router

router = Router(tags=["testing"])
